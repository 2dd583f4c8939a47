//! Runtime configuration: every key, its default, its unit and why it exists.
//!
//! All validation happens here, once, when a runtime is made
//! (`yaowasm_runtime_new`), so a user has one place to look for mistakes.
//! Unknown keys are errors, so a typo never silently falls back to a default.

use crate::error::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The largest `max_memory_mb`: a wasm32 memory cannot exceed 4 GiB.
pub const MAX_MEMORY_MB_LIMIT: u32 = 4096;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Linear memory cap per instance, in MiB (default 64). A `memory.grow`
    /// past it ends the call with 413; a module that declares more never loads.
    /// It also sizes the instance pool's memory slots.
    pub max_memory_mb: u32,
    /// Wall-clock cap per top-level exec, in milliseconds (default 1000),
    /// shared by the nested calls it makes. Beyond it: 408.
    pub timeout_ms: u64,
    /// Folder for precompiled modules (default: none, compile on every load).
    /// Created if missing. Makes a cold start of a known module a file map.
    pub cache_dir: Option<PathBuf>,
    /// Cap on nested process calls; the top-level call is depth 1 (default 32).
    /// Guards against unbounded recursion between scripts.
    pub max_depth: u32,
    /// WASI preview 1 sandbox for modules that import it.
    pub wasi: WasiConfig,
    /// Hosts that scripts may reach through the http host API (`host:port` or
    /// `*.domain`); empty (the default) means none.
    pub http_allow: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WasiConfig {
    /// Guest path → host directory, opened read-write. Default: none, so a
    /// WASI guest sees no file system at all.
    pub preopen: BTreeMap<String, PathBuf>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_memory_mb: 64,
            timeout_ms: 1000,
            cache_dir: None,
            max_depth: 32,
            wasi: WasiConfig::default(),
            http_allow: Vec::new(),
        }
    }
}

impl Config {
    /// Parses and validates a JSON config; `None` or blank text gives the
    /// defaults. Every problem is a 400 naming the key.
    pub fn from_json(text: Option<&str>) -> Result<Config> {
        let config = match text.map(str::trim) {
            None | Some("") => Config::default(),
            // serde would also read a struct from a JSON array, by position.
            Some(text) if !text.starts_with('{') => {
                return Err(Error::bad_request("config: expected a JSON object"));
            }
            Some(text) => serde_json::from_str(text)
                .map_err(|e| Error::bad_request(format!("config: {e}")))?,
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks ranges and paths. Called by `Runtime::new` for configs built in
    /// Rust too.
    pub fn validate(&self) -> Result<()> {
        if self.max_memory_mb == 0 || self.max_memory_mb > MAX_MEMORY_MB_LIMIT {
            return Err(Error::bad_request(format!(
                "config: max_memory_mb must be 1..={MAX_MEMORY_MB_LIMIT}, got {}",
                self.max_memory_mb
            )));
        }
        if self.timeout_ms == 0 || self.timeout_ms > 24 * 3600 * 1000 {
            return Err(Error::bad_request(format!(
                "config: timeout_ms must be 1..=86400000, got {}",
                self.timeout_ms
            )));
        }
        if self.max_depth == 0 || self.max_depth > 1024 {
            return Err(Error::bad_request(format!(
                "config: max_depth must be 1..=1024, got {}",
                self.max_depth
            )));
        }
        if let Some(dir) = &self.cache_dir {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::bad_request(format!("config: cache_dir {}: {e}", dir.display()))
            })?;
        }
        for (guest, host) in &self.wasi.preopen {
            if !guest.starts_with('/') {
                return Err(Error::bad_request(format!(
                    "config: wasi.preopen key {guest:?} must be an absolute guest path"
                )));
            }
            if !host.is_dir() {
                return Err(Error::bad_request(format!(
                    "config: wasi.preopen {guest:?}: {} is not a directory",
                    host.display()
                )));
            }
        }
        for host in &self.http_allow {
            validate_http_allow(host)?;
        }
        Ok(())
    }

    pub(crate) fn max_memory_bytes(&self) -> u64 {
        u64::from(self.max_memory_mb) << 20
    }
}

fn validate_http_allow(entry: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::bad_request(format!("config: http_allow entry {entry:?}: {why}")));
    if let Some(domain) = entry.strip_prefix("*.") {
        if domain.is_empty() || domain.contains(['*', ':', '/']) {
            return bad("a wildcard must look like *.example.com");
        }
        return Ok(());
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !host.contains(['*', '/']) && port.parse::<u16>().is_ok() => Ok(()),
        _ => bad("expected host:port or *.domain"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_unknown_keys() {
        let c = Config::from_json(None).unwrap();
        assert_eq!((c.max_memory_mb, c.timeout_ms, c.max_depth), (64, 1000, 32));
        let e = Config::from_json(Some(r#"{"max_memory":1}"#)).unwrap_err();
        assert_eq!(e.code(), 400);
        assert!(e.message().contains("max_memory"), "{e}");
        assert_eq!(Config::from_json(Some(r#"{"wasi":{"pre":{}}}"#)).unwrap_err().code(), 400);
    }

    #[test]
    fn ranges_are_checked() {
        for bad in [r#"{"max_memory_mb":0}"#, r#"{"max_memory_mb":5000}"#, r#"{"timeout_ms":0}"#,
                    r#"{"max_depth":0}"#, r#"{"http_allow":["nope"]}"#, r#"{"wasi":{"preopen":{"rel":"/tmp"}}}"#,
                    r#"{"wasi":{"preopen":{"/d":"/definitely/not/here"}}}"#, "[1]"] {
            assert_eq!(Config::from_json(Some(bad)).unwrap_err().code(), 400, "{bad}");
        }
        Config::from_json(Some(r#"{"http_allow":["127.0.0.1:8080","*.example.com"]}"#)).unwrap();
    }
}
