//! `yaowasm compile <app>`: precompile every module into the cache.

use crate::app::{self, App, CacheUse, RuntimeOpts};
use crate::exit::Failure;
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;
use yaowasm::Error;

#[derive(Args, Debug)]
#[command(after_help = "Example:\n  yaowasm compile examples/app   # then `run` and `serve` start from the cache\n  \
yaowasm compile examples/app --target aarch64-unknown-linux-gnu --cache-dir dist/cache-arm64\n\n\
With --target, the modules are compiled for that machine and only saved: \
they are checked (exports, imports, limits) when the runtime there loads them. \
`pulley64` is wasmtime's portable interpreter, run by a build with the `pulley` \
feature given `\"target\": \"pulley64\"` in its --config (docs/DEPLOY.md).\n\n\
Exit status: 0 when every module compiled; otherwise the status of the first \
problem's code (2 for a bad module, 5 for one beyond the limits).")]
pub struct CompileArgs {
    /// The app folder (with scripts/)
    pub app: PathBuf,
    /// Compile for this target triple instead of this machine (the config's
    /// `target`): e.g. aarch64-unknown-linux-gnu, x86_64-unknown-linux-gnu
    /// (no CPU features beyond the baseline), pulley64
    #[arg(long)]
    pub target: Option<String>,
    #[command(flatten)]
    pub runtime: RuntimeOpts,
}

pub fn run(args: CompileArgs) -> Result<(), Failure> {
    if args.runtime.no_cache {
        return Err(Failure::plain(Error::bad_request("compile writes the cache: --no-cache makes no sense here")));
    }
    let app = App::open(&args.app)?;
    let mut config = app::config_json(&args.runtime, CacheUse::Create)?;
    if let Some(target) = &args.target {
        let mut map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&config).unwrap_or_default();
        map.insert("target".into(), target.clone().into());
        config = serde_json::Value::Object(map).to_string();
    }
    let runtime = app::runtime(&config)?;
    let started = Instant::now();
    let mut report = runtime.load_dir(&app.scripts)?;
    // Modules for another machine are saved, not loaded: each answers the
    // error that says so (src/runtime/cache.rs), which here means done.
    let before = report.problems.len();
    report.problems.retain(|p| p.kind != Some(yaowasm::ErrorKind::PrecompiledOnly));
    report.loaded += before - report.problems.len();
    app::print_problems(&report);
    let cache = runtime.config().cache_dir.clone().unwrap_or_default();
    println!(
        "compiled {} script(s) of {} into {} in {} ms",
        report.loaded,
        app.root.display(),
        cache.display(),
        started.elapsed().as_millis()
    );
    match report.problems.first() {
        None => Ok(()),
        Some(first) => {
            Err(Failure::plain(Error::new(first.code, format!("{} module(s) did not compile (listed above)", report.problems.len()))))
        }
    }
}
