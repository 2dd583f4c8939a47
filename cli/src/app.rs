//! A Yao app on disk and the runtime that serves it.
//!
//! An app is a folder with `scripts/` (every `.wasm` under it is a script)
//! and optionally `apis/` (HTTP routes for `serve`). Precompiled modules
//! live in the user's cache folder (`$XDG_CACHE_HOME/yaowasm`, else
//! `~/.cache/yaowasm`) unless told otherwise: never in the app folder, which
//! its scripts may be able to write (an `fs` root), and the cache is loaded
//! as native code.

use clap::Args;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use yaowasm::{Error, LoadReport, Runtime};

/// Options shared by every command that makes a runtime.
#[derive(Args, Debug, Clone, Default)]
pub struct RuntimeOpts {
    /// Runtime config: JSON text, or @file with JSON (the keys, listed in
    /// the help from the config itself: see `config_help`)
    #[arg(long, value_name = "JSON|@FILE", help = config_help())]
    pub config: Option<String>,
    /// Folder of precompiled modules [default: $XDG_CACHE_HOME/yaowasm or
    /// ~/.cache/yaowasm, used when it exists; `compile` creates it, 0700].
    /// Must be outside every fs root and wasi.preopen folder
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write the module cache
    #[arg(long, conflicts_with = "cache_dir")]
    pub no_cache: bool,
}

/// `--config`'s help: every key the runtime's config accepts, taken from
/// the config itself, so the list cannot go stale (README.md
/// "Configuration" says what each means).
fn config_help() -> String {
    format!(
        "Runtime config: JSON text, or @file with JSON. Keys: {}. Unknown keys are an error; \
         README.md (Configuration) says what each means",
        yaowasm::Config::keys().join(", ")
    )
}

pub struct App {
    pub root: PathBuf,
    pub scripts: PathBuf,
    pub apis: PathBuf,
}

impl App {
    /// Opens an app folder: a 404 if it or its `scripts/` is missing.
    pub fn open(root: &Path) -> Result<App, Error> {
        if !root.is_dir() {
            return Err(Error::not_found(format!("app folder {} does not exist", root.display())));
        }
        let scripts = root.join("scripts");
        if !scripts.is_dir() {
            return Err(Error::not_found(format!("{} is not a Yao app: it has no scripts/ folder", root.display())));
        }
        Ok(App { root: root.to_path_buf(), apis: root.join("apis"), scripts })
    }
}

/// The user's cache folder for compiled modules: `$XDG_CACHE_HOME/yaowasm`,
/// else `$HOME/.cache/yaowasm` (relative or empty variables are ignored, as
/// the XDG spec says). Shared by every app: entries are named by content.
pub fn user_cache_dir() -> Option<PathBuf> {
    let absolute = |var: &str| std::env::var_os(var).map(PathBuf::from).filter(|p| p.is_absolute());
    absolute("XDG_CACHE_HOME").or_else(|| absolute("HOME").map(|home| home.join(".cache"))).map(|dir| dir.join("yaowasm"))
}

/// When to use the default cache folder ([`user_cache_dir`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    /// Only if it exists (`run`, `serve`, `inspect`).
    IfPresent,
    /// Always, creating it (`compile`).
    Create,
}

/// The runtime config: `--config`, then the cache folder chosen by the
/// options (an explicit `cache_dir` in `--config` wins over the default).
pub fn config_json(opts: &RuntimeOpts, cache: CacheUse) -> Result<String, Error> {
    let mut config = match &opts.config {
        None => serde_json::Value::Object(Default::default()),
        Some(text) => {
            let text = match text.strip_prefix('@') {
                Some(file) => {
                    std::fs::read_to_string(file).map_err(|e| Error::bad_request(format!("--config: cannot read {file}: {e}")))?
                }
                None => text.clone(),
            };
            serde_json::from_str(&text).map_err(|e| Error::bad_request(format!("--config: not JSON: {e}")))?
        }
    };
    let Some(map) = config.as_object_mut() else {
        return Err(Error::bad_request("--config: must be a JSON object"));
    };
    if opts.no_cache {
        map.remove("cache_dir");
    } else if let Some(dir) = &opts.cache_dir {
        map.insert("cache_dir".into(), dir.display().to_string().into());
    } else if let Some(dir) = user_cache_dir() {
        // The runtime creates a missing cache_dir (mode 0700).
        if !map.contains_key("cache_dir") && (cache == CacheUse::Create || dir.is_dir()) {
            map.insert("cache_dir".into(), dir.display().to_string().into());
        }
    }
    Ok(config.to_string())
}

/// Makes a runtime for the standalone binary: no Yao engine behind it, so a
/// `yao.process` call the runtime cannot serve itself (anything but a loaded
/// `scripts.*`) is a 404 that says so.
pub fn runtime(config_json: &str) -> Result<Runtime, Error> {
    let runtime = Runtime::from_json(Some(config_json))?;
    runtime.set_process_handler(Some(Arc::new(|name: &str, _args: &[u8]| Err(standalone_not_found(name)))));
    Ok(runtime)
}

/// What the standalone binary serves beyond the loaded scripts: `$L`'s
/// `lang.Replace` from the app's language pack (langs.rs); any other
/// process is the standalone 404.
pub struct Fallback {
    langs: Option<crate::langs::Langs>,
}

impl Fallback {
    /// Reads the app's language pack; one that cannot be read is a warning
    /// and `$L` then translates nothing (the scripts still run).
    pub fn for_app(app: &App) -> Arc<Fallback> {
        let langs = crate::langs::Langs::load(&app.root).unwrap_or_else(|e| {
            let message = format!("language pack not loaded, $L translates nothing: {} ({})", e.message(), e.code());
            crate::logs::note(yaowasm::LogLevel::Warn, &format!("yaowasm: warning: {message}"), &message);
            None
        });
        Arc::new(Fallback { langs })
    }

    /// "language pack zh-cn: 12 words", when there is one.
    pub fn describe(&self) -> Option<String> {
        self.langs.as_ref().map(|l| format!("language pack {}: {} word(s)", l.locale, l.word_count()))
    }

    pub fn serve(&self, name: &str, args: &[u8]) -> Result<Vec<u8>, Error> {
        match &self.langs {
            Some(langs) if name.eq_ignore_ascii_case(crate::langs::PROCESS) => langs.replace(args),
            _ => Err(standalone_not_found(name)),
        }
    }

    /// Makes the runtime's process handler serve this.
    pub fn install(self: &Arc<Self>, runtime: &Runtime) {
        let fallback = self.clone();
        runtime.set_process_handler(Some(Arc::new(move |name: &str, args: &[u8]| fallback.serve(name, args))));
    }
}

/// The 404 of a process the standalone binary cannot serve.
pub fn standalone_not_found(name: &str) -> Error {
    Error::not_found(format!(
        "process {name} not found: the standalone yaowasm runtime serves only the scripts.* \
         processes of its app (and the yao host API); other Yao processes need the Yao engine"
    ))
}

/// Loads the app's scripts and prints every file that did not load.
pub fn load(runtime: &Runtime, app: &App) -> Result<LoadReport, Error> {
    let report = runtime.load_dir(&app.scripts)?;
    print_problems(&report);
    Ok(report)
}

pub fn print_problems(report: &LoadReport) {
    for p in &report.problems {
        let message = format!("{} not loaded: {} ({})", p.file.display(), p.message, p.code);
        crate::logs::note(yaowasm::LogLevel::Warn, &format!("yaowasm: warning: {message}"), &message);
    }
}
