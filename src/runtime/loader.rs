//! `load_dir`: walk a scripts folder, compile every `.wasm` (in parallel),
//! and report per-file problems without stopping the others (SPEC §1).

use super::script::{Origin, Script};
use super::Inner;
use crate::error::{Error, ErrorKind, Result};
use crate::names;
use crate::sync::MutexAny;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// What a load did (the C API's load report, MessagePack with these names).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LoadReport {
    /// Scripts now served from this folder.
    pub loaded: usize,
    /// Files that were not loaded, and why.
    pub problems: Vec<Problem>,
}

/// One file that did not load.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub file: PathBuf,
    /// The script ID the file maps to, when it maps to one.
    pub id: Option<String>,
    pub code: i32,
    pub message: String,
    /// The error's [`ErrorKind`], when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ErrorKind>,
}

impl LoadReport {
    /// All problems as one text, one line per file (for `yaowasm_last_error`):
    /// `<file>: <message> (<code>)`, newlines inside a message (wasmtime's
    /// parse errors have them) folded into `; `.
    pub fn problems_text(&self) -> Option<String> {
        if self.problems.is_empty() {
            return None;
        }
        let mut text = format!("{} file(s) not loaded:", self.problems.len());
        for p in &self.problems {
            let message = p.message.split('\n').map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ");
            text.push_str(&format!("\n{}: {} ({})", p.file.display(), message, p.code));
        }
        Some(text)
    }
}

/// The files of a scripts folder, grouped by the ID they map to.
#[derive(Default)]
pub(crate) struct Scan {
    pub wasm: BTreeMap<String, Vec<PathBuf>>,
    pub sources: BTreeMap<String, Vec<PathBuf>>,
}

pub(crate) fn scan(root: &Path) -> Result<Scan> {
    let mut scan = Scan::default();
    let mut visited = HashSet::new();
    walk(root, root, &mut scan, &mut visited)
        .map_err(|e| Error::not_found(format!("cannot read scripts folder {}: {e}", root.display())))?;
    Ok(scan)
}

fn walk(root: &Path, dir: &Path, scan: &mut Scan, visited: &mut HashSet<PathBuf>) -> std::io::Result<()> {
    // A symlinked folder that loops back is walked once.
    if !visited.insert(dir.canonicalize()?) {
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(_) => continue, // a dangling symlink is not a script
        };
        if meta.is_dir() {
            walk(root, &path, scan, visited)?;
            continue;
        }
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        let bucket = match ext.as_deref() {
            Some("wasm") => &mut scan.wasm,
            Some("ts" | "js") => &mut scan.sources,
            _ => continue,
        };
        if let Some(id) = names::id_for(root, &path) {
            bucket.entry(id).or_default().push(path);
        }
    }
    Ok(())
}

/// Compiles every ID of a scan, in parallel over the machine's cores.
/// Returns the scripts that compiled and the problems of the rest. A script
/// of `current` (what the runtime serves now) whose file, bytes and shadows
/// are unchanged is kept as it is: a reload after one file changed compiles
/// that file, not the folder.
pub(crate) fn compile_all(
    runtime: &Arc<Inner>,
    scan: Scan,
    origin: &Origin,
    current: &HashMap<String, Arc<Script>>,
) -> (Vec<Arc<Script>>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut jobs = Vec::new();
    for (id, files) in scan.wasm {
        if files.len() > 1 {
            for file in &files {
                problems.push(Problem {
                    file: file.clone(),
                    id: Some(id.clone()),
                    code: crate::error::BAD_REQUEST,
                    message: format!(
                        "script id {id} is claimed by {} files ({}); none of them is loaded",
                        files.len(),
                        files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
                    ),
                    kind: None,
                });
            }
            continue;
        }
        let shadows = scan.sources.get(&id).cloned().unwrap_or_default();
        jobs.push((id, files.into_iter().next().unwrap_or_default(), shadows));
    }

    // Read and digest every file first, on this thread: on a reload most
    // are unchanged and kept, and threads are only worth starting for the
    // ones that need compiling.
    let mut results = Vec::with_capacity(jobs.len());
    let mut to_compile = Vec::new();
    for (i, (id, file, shadows)) in jobs.iter().enumerate() {
        match std::fs::read(file) {
            Err(e) => results.push((i, Err(Error::not_found(format!("cannot read: {e}"))))),
            Ok(bytes) => {
                let digest = super::cache::digest_of(&bytes);
                let unchanged =
                    current.get(id).filter(|s| s.digest == digest && s.file == *file && s.origin == *origin && s.shadows == *shadows);
                match unchanged {
                    Some(script) => results.push((i, Ok(script.clone()))),
                    None => to_compile.push((i, bytes, digest)),
                }
            }
        }
    }
    let compile = |(i, bytes, digest): &(usize, Vec<u8>, [u8; 32])| {
        let (id, file, shadows) = &jobs[*i];
        let result = Script::compile(runtime, bytes, *digest, file.clone(), id.clone(), origin.clone()).map(|mut script| {
            script.shadows = shadows.clone();
            Arc::new(script)
        });
        (*i, result)
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(to_compile.len());
    if workers <= 1 {
        results.extend(to_compile.iter().map(compile));
    } else {
        let next = AtomicUsize::new(0);
        let compiled = Mutex::new(Vec::with_capacity(to_compile.len()));
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    while let Some(job) = to_compile.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let done = compile(job);
                        compiled.lock_any().push(done);
                    }
                });
            }
        });
        results.extend(compiled.into_inner().unwrap_or_else(|p| p.into_inner()));
    }
    results.sort_by_key(|(i, _)| *i);
    let mut scripts = Vec::new();
    for (i, result) in results {
        match result {
            Ok(script) => scripts.push(script),
            Err(e) => problems.push(Problem {
                file: jobs[i].1.clone(),
                id: Some(jobs[i].0.clone()),
                code: e.code(),
                message: e.message().to_owned(),
                kind: e.kind(),
            }),
        }
    }
    (scripts, problems)
}
