//! `yaowasm compile <app>`: precompile every module into the cache.

use crate::app::{self, App, CacheUse, RuntimeOpts};
use crate::exit::Failure;
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;
use yaowasm::Error;

#[derive(Args, Debug)]
#[command(after_help = "Example:\n  yaowasm compile examples/app   # then `run` and `serve` start from the cache\n\n\
Exit status: 0 when every module compiled; otherwise the status of the first \
problem's code (2 for a bad module, 5 for one beyond the limits).")]
pub struct CompileArgs {
    /// The app folder (with scripts/)
    pub app: PathBuf,
    #[command(flatten)]
    pub runtime: RuntimeOpts,
}

pub fn run(args: CompileArgs) -> Result<(), Failure> {
    if args.runtime.no_cache {
        return Err(Failure::plain(Error::bad_request("compile writes the cache: --no-cache makes no sense here")));
    }
    let app = App::open(&args.app)?;
    let config = app::config_json(&args.runtime, CacheUse::Create)?;
    let runtime = app::runtime(&config)?;
    let started = Instant::now();
    let report = app::load(&runtime, &app)?;
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
