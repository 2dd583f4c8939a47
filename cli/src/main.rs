//! `yaowasm`: the WASM-only Yao Runtime.
//!
//! One binary that runs a Yao app's WebAssembly scripts without V8 or Go:
//! `run` one process, `serve` an app over HTTP, `inspect` modules, `compile`
//! them into the cache, `build` TypeScript/JavaScript into hook modules (or a
//! project in any language), `new` scaffold a project.
//! Exit codes follow the error codes (see `exit.rs` and cli/README.md).

mod app;
#[cfg(feature = "compiler")]
mod build;
#[cfg(feature = "compiler")]
mod compile;
mod exit;
mod inspect;
mod langs;
mod lazy;
mod logs;
#[cfg(feature = "compiler")]
mod new;
#[cfg(feature = "compiler")]
mod project;
mod run;
mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[cfg(feature = "compiler")]
const VERSION: &str = yaowasm::VERSION;
/// `yaowasm --version` says which build it is.
#[cfg(not(feature = "compiler"))]
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (runtime-only)");

#[derive(Parser)]
#[command(
    name = "yaowasm",
    version = VERSION,
    about = "The WASM-only Yao Runtime: runs a Yao app's WebAssembly scripts",
    long_about = "The WASM-only Yao Runtime: runs a Yao app's WebAssembly scripts.\n\n\
An app is a folder with scripts/ (scripts/a/b.wasm is the script a.b, its \
function Check the process scripts.a.b.Check) and optionally apis/ (HTTP \
routes, *.http.yao).\n\n\
The runtime-only build (cargo feature `runtime` without `compiler`) has no \
compiler: it runs modules precompiled into the cache by the full build's \
`yaowasm compile`, and has no compile, build or new.\n\n\
Exit codes: 0 ok, 1 internal error (500) or any other code, 2 bad input (400, \
also bad command lines), 3 not found (404), 4 timeout (408), 5 limit hit \
(413), 6 forbidden (403)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one process and print its result as JSON
    Run(run::RunArgs),
    /// Serve an app over HTTP (apis/*.http.yao routes, /health, /stats, /metrics; the process endpoint with --process-api)
    Serve(serve::ServeArgs),
    /// Describe WebAssembly modules: language, size, imports, functions, problems
    Inspect(inspect::InspectArgs),
    /// Precompile every module of an app into the cache, for fast cold starts
    #[cfg(feature = "compiler")]
    Compile(compile::CompileArgs),
    // ---- `yaowasm build`: owned by the JS/TS engineer (cli/src/build.rs). ----
    /// Build TypeScript/JavaScript scripts into WebAssembly, or a `yaowasm new` project in any language
    #[cfg(feature = "compiler")]
    Build(build::BuildArgs),
    /// Make a ready project for one script: rust, go, c, assemblyscript (as) or typescript (ts)
    #[cfg(feature = "compiler")]
    New(new::NewArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Inspect(args) => inspect::run(args),
        #[cfg(feature = "compiler")]
        Command::Compile(args) => compile::run(args),
        #[cfg(feature = "compiler")]
        Command::Build(args) => build::run(args).map_err(exit::Failure::from),
        #[cfg(feature = "compiler")]
        Command::New(args) => new::run(args).map_err(exit::Failure::from),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
