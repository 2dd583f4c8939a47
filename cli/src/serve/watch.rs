//! Live reload for `serve`: watches `scripts/` and `apis/`, waits until the
//! files are quiet for 100 ms, then reloads what changed.
//!
//! A script reload is `load_dir` again, which the core makes atomic: calls in
//! flight finish on the old version, the next ones get the new one, so no
//! request fails because of a reload. Only writes, creations, removals and
//! renames count: the runtime reading files (and writing its cache, which
//! lives outside these folders) must not trigger a reload loop.

use super::routes::GuardPolicy;
use super::{load_routes, say, warn, State};
use crate::app::{self, App};
use notify::event::{EventKind, ModifyKind};
use notify::{RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

const QUIET: Duration = Duration::from_millis(100);

/// Starts watching; the watcher stops when the returned value is dropped.
pub fn start(app: &App, state: Arc<State>, policy: GuardPolicy) -> notify::Result<notify::RecommendedWatcher> {
    let (tx, rx) = channel::<notify::Event>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            let _ = tx.send(event);
        }
    })?;
    watcher.watch(&app.scripts, RecursiveMode::Recursive)?;
    if app.apis.is_dir() {
        watcher.watch(&app.apis, RecursiveMode::Recursive)?;
    }
    let scripts = app.scripts.canonicalize().unwrap_or_else(|_| app.scripts.clone());
    let apis = app.apis.canonicalize().unwrap_or_else(|_| app.apis.clone());
    let app = App { root: app.root.clone(), scripts: app.scripts.clone(), apis: app.apis.clone() };
    std::thread::Builder::new().name("yaowasm-watch".into()).spawn(move || {
        while let Ok(first) = rx.recv() {
            let (mut scripts_changed, mut apis_changed) = classify(&first, &scripts, &apis);
            // Debounce: keep collecting until nothing arrives for QUIET.
            loop {
                match rx.recv_timeout(QUIET) {
                    Ok(event) => {
                        let (s, a) = classify(&event, &scripts, &apis);
                        scripts_changed |= s;
                        apis_changed |= a;
                    }
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
            if scripts_changed {
                match state.runtime.load_dir(&app.scripts) {
                    Ok(report) => {
                        say(format!("scripts reloaded ({} loaded)", report.loaded));
                        app::print_problems(&report);
                    }
                    Err(e) => warn(format!("reload failed, scripts unchanged: {}", e.message())),
                }
            }
            if apis_changed {
                let table = load_routes(&app, policy);
                say(format!("routes reloaded ({} routes)", table.routes.len()));
                state.set_routes(table);
            }
        }
    })?;
    Ok(watcher)
}

/// Whether an event touches scripts and/or routes.
fn classify(event: &notify::Event, scripts: &Path, apis: &Path) -> (bool, bool) {
    let counts = matches!(
        event.kind,
        EventKind::Create(_) | EventKind::Remove(_) | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Name(_) | ModifyKind::Any)
    );
    if !counts {
        return (false, false);
    }
    let mut result = (false, false);
    for path in &event.paths {
        let ext = path.extension().and_then(|e| e.to_str());
        if under(path, scripts) && matches!(ext, Some("wasm") | None) {
            result.0 = true;
        }
        let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        if under(path, apis) && (name.contains(".http.") || ext.is_none()) {
            result.1 = true;
        }
    }
    result
}

fn under(path: &Path, root: &Path) -> bool {
    path.starts_with(root) || path.canonicalize().map(|p: PathBuf| p.starts_with(root)).unwrap_or(false)
}
