//! `run` compiles only what it calls: the script its process names, then
//! each script a nested `yao.process("scripts.…")` call reaches, on first
//! use. An app with a 4 MB Go module beside a 40 KB C script runs the C
//! script without ever reading the Go module.
//!
//! Files map to IDs exactly as `Runtime::load_dir` maps them (SPEC §1): the
//! folder is walked (names only, no file is read), dot-files are skipped,
//! `a/B.wasm` and `a.b.wasm` are both `a.b`, and an ID that two files claim
//! loads neither. A file that does not load is reported as `load_dir`
//! reports it (a warning on stderr) and its processes stay 404, as before.

use crate::app::{self, App};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use yaowasm::{names, Error, ErrorKind, LoadReport, Problem, Runtime};

/// The `.wasm` files under an app's `scripts/`, by script ID.
pub struct ScriptFiles {
    by_id: BTreeMap<String, Vec<PathBuf>>,
}

impl ScriptFiles {
    /// Walks `scripts/` (a 404 if it cannot be read, as `load_dir` says it).
    pub fn scan(scripts: &Path) -> Result<ScriptFiles, Error> {
        let unreadable = |e: std::io::Error| Error::not_found(format!("cannot read scripts folder {}: {e}", scripts.display()));
        let root = scripts.canonicalize().map_err(unreadable)?;
        let mut by_id = BTreeMap::new();
        walk(&root, &root, &mut by_id, &mut HashSet::new()).map_err(unreadable)?;
        Ok(ScriptFiles { by_id })
    }
}

fn walk(root: &Path, dir: &Path, by_id: &mut BTreeMap<String, Vec<PathBuf>>, visited: &mut HashSet<PathBuf>) -> std::io::Result<()> {
    if !visited.insert(dir.canonicalize()?) {
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = std::fs::metadata(&path) else { continue };
        if meta.is_dir() {
            walk(root, &path, by_id, visited)?;
        } else if path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("wasm")) {
            if let Some(id) = names::id_for(root, &path) {
                by_id.entry(id).or_default().push(path);
            }
        }
    }
    Ok(())
}

/// Loads scripts of one app into one runtime on first use.
pub struct Lazy {
    runtime: Runtime,
    files: ScriptFiles,
    /// IDs already tried (loaded or not): each is read at most once.
    tried: Mutex<HashSet<String>>,
    /// What is not a script.
    fallback: Arc<app::Fallback>,
}

impl Lazy {
    /// Loads the script `process` names, if the app has it, and makes every
    /// nested `scripts.*` call load its script the same way. A malformed name
    /// or another group loads nothing: `exec` then says what is wrong.
    ///
    /// The runtime's process handler holds the runtime; [`Lazy::detach`]
    /// breaks that cycle.
    pub fn attach(runtime: &Runtime, app: &App, process: &str, fallback: Arc<app::Fallback>) -> Result<Arc<Lazy>, Error> {
        let files = ScriptFiles::scan(&app.scripts)?;
        let lazy = Arc::new(Lazy { runtime: runtime.clone(), files, tried: Mutex::default(), fallback });
        if let Ok(name) = names::parse_process(process) {
            lazy.load(&name.id)?;
        }
        let handler = lazy.clone();
        runtime.set_process_handler(Some(Arc::new(move |name: &str, args: &[u8]| handler.dispatch(name, args))));
        Ok(lazy)
    }

    pub fn detach(&self) {
        self.runtime.set_process_handler(None);
    }

    /// A process the runtime has no loaded script for: a `scripts.*` one
    /// whose file loads now runs; anything else goes to the fallback.
    fn dispatch(&self, name: &str, args: &[u8]) -> Result<Vec<u8>, Error> {
        if names::is_script_process(name) {
            if let Ok(parsed) = names::parse_process(name) {
                if self.load(&parsed.id)? {
                    return self.runtime.exec(name, args);
                }
            }
        }
        self.fallback.serve(name, args)
    }

    /// Loads script `id` unless tried before; whether it is loaded now.
    /// A module the runtime-only build finds no precompiled code for is
    /// the call's error (not a 404): it names the file and what to run.
    fn load(&self, id: &str) -> Result<bool, Error> {
        let first = self.tried.lock().unwrap_or_else(PoisonError::into_inner).insert(id.to_owned());
        if first {
            let problems = self.load_now(id);
            app::print_problems(&LoadReport { loaded: 0, problems: problems.clone() });
            if let Some(p) = problems.iter().find(|p| p.kind == Some(ErrorKind::NotPrecompiled)) {
                return Err(Error::new(p.code, format!("{}: {}", p.file.display(), p.message)));
            }
        }
        Ok(self.runtime.script_file(id).is_some())
    }

    /// Loads `id`'s file; the problems, worded as `load_dir` words them, if
    /// it does not load. An ID no file maps to is no problem (a 404 later).
    fn load_now(&self, id: &str) -> Vec<Problem> {
        let Some(files) = self.files.by_id.get(id) else { return Vec::new() };
        let problem = |file: &Path, code: i32, message: String, kind: Option<ErrorKind>| Problem {
            file: file.to_path_buf(),
            id: Some(id.to_owned()),
            code,
            message,
            kind,
        };
        if files.len() > 1 {
            let all = files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ");
            let message = format!("script id {id} is claimed by {} files ({all}); none of them is loaded", files.len());
            return files.iter().map(|f| problem(f, yaowasm::error::BAD_REQUEST, message.clone(), None)).collect();
        }
        let file = &files[0];
        let Err(e) = self.runtime.load_file(file, Some(id)) else { return Vec::new() };
        // load_file puts the path in front; the warning names the file already.
        let prefix = format!("{}: ", file.display());
        let message = e.message().strip_prefix(&prefix).unwrap_or(e.message()).to_owned();
        vec![problem(file, e.code(), message, e.kind())]
    }
}
