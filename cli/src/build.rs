//! `yaowasm build <app|file|project>`: TypeScript / JavaScript → hook `.wasm`,
//! or a `yaowasm new` project in any language (cli/src/project.rs).
//!
//! The front end: which files, where their `.wasm` goes, progress, exit
//! status. Building one file (esbuild, then the engine's own compiler) is
//! `yaowasm_cli::esbuild` (cli/src/esbuild.rs), shared with the tests.

use clap::Args;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;
use yaowasm::{Config, Error, Runtime};
use yaowasm_cli::esbuild::{Built, Bundler};

#[derive(Args)]
pub struct BuildArgs {
    /// An app folder (its scripts/ folder is built, or the folder itself when
    /// it has none), one .ts / .js file, or a project made by `yaowasm new`
    /// (any language: built with its own toolchain into the app)
    pub path: PathBuf,
    /// Write the .wasm files here instead of beside their sources: a folder
    /// (the source tree is mirrored under it), or a .wasm file when building
    /// one source file
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The esbuild binary [default: $YAOWASM_ESBUILD, then the app's own
    /// (node_modules/.bin/esbuild in the path or a folder above it), then
    /// js/node_modules of the yaowasm checkout this binary was built from,
    /// then `esbuild` on PATH]
    #[arg(long)]
    pub esbuild: Option<PathBuf>,
    /// Only print errors and the closing line
    #[arg(long, short)]
    pub quiet: bool,
    /// The smallest hooks: no source map and no line tables in the bytecode,
    /// so an uncaught error is `Name: message` with no source place
    #[arg(long)]
    pub strip_debug: bool,
}

/// The sources to build and where each one's `.wasm` goes.
fn plan(args: &BuildArgs) -> Result<Vec<(PathBuf, PathBuf)>, Error> {
    let path = &args.path;
    let meta = std::fs::metadata(path).map_err(|e| Error::not_found(format!("cannot read {}: {e}", path.display())))?;
    if meta.is_file() {
        if !is_source(path) {
            return Err(Error::bad_request(format!("{} is not a .ts or .js file", path.display())));
        }
        let out = match &args.out {
            Some(out) if out.extension().is_some_and(|e| e == "wasm") => out.clone(),
            Some(dir) => dir.join(path.file_name().unwrap_or_default()).with_extension("wasm"),
            None => path.with_extension("wasm"),
        };
        return Ok(vec![(path.clone(), out)]);
    }
    let root = if path.join("scripts").is_dir() { path.join("scripts") } else { path.clone() };
    let mut sources = Vec::new();
    walk(&root, &mut sources).map_err(|e| Error::not_found(format!("cannot read {}: {e}", root.display())))?;
    sources.sort();
    Ok(sources
        .into_iter()
        .map(|src| {
            let out = match &args.out {
                Some(dir) => dir.join(src.strip_prefix(&root).unwrap_or(&src)).with_extension("wasm"),
                None => src.with_extension("wasm"),
            };
            (src, out)
        })
        .collect())
}

fn is_source(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    (name.ends_with(".ts") || name.ends_with(".js")) && !name.ends_with(".d.ts")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "node_modules" {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            walk(&path, out)?;
        } else if is_source(&path) {
            out.push(path);
        }
    }
    Ok(())
}

pub fn run(args: BuildArgs) -> Result<(), Error> {
    // A project made by `yaowasm new`: its language's own toolchain.
    if crate::project::is_project(&args.path) {
        return crate::project::build(&args.path, args.out.as_deref(), args.esbuild.clone());
    }
    // The app's own esbuild (node_modules above the path) before the defaults.
    let own =
        std::path::absolute(&args.path).ok().and_then(|p| p.ancestors().map(|d| d.join("node_modules/.bin/esbuild")).find(|e| e.is_file()));
    let explicit = args.esbuild.clone().or_else(|| std::env::var_os("YAOWASM_ESBUILD").map(PathBuf::from));
    let esbuild = yaowasm_cli::esbuild::find_esbuild(explicit.or(own))?;
    let jobs = plan(&args)?;
    if jobs.is_empty() {
        return Err(Error::not_found(format!("no .ts or .js files under {}", args.path.display())));
    }
    let runtime = build_runtime()?;
    let total = jobs.len();
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let failed = Mutex::new(Vec::new());
    // (source, its exports) of each library; (source, app files bundled) of each hook.
    let libraries = Mutex::new(Vec::new());
    let hooks = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(total);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                // One bundler (node) per worker, for all its files.
                let mut bundler = Bundler::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((src, out)) = jobs.get(i) else { return };
                    let t = Instant::now();
                    let options = yaowasm_cli::esbuild::Options { strip_debug: args.strip_debug };
                    let result = yaowasm_cli::esbuild::build_file_opts(&mut bundler, &runtime, &esbuild, src, out, &options);
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    match result {
                        Ok(Built::Hook { size, inputs }) => {
                            if !args.quiet {
                                println!(
                                    "[{n}/{total}] {} -> {} ({} B, {} ms)",
                                    src.display(),
                                    out.display(),
                                    size,
                                    t.elapsed().as_millis()
                                );
                            }
                            hooks.lock().unwrap_or_else(|p| p.into_inner()).push(inputs);
                        }
                        Ok(Built::Library { exports }) => {
                            libraries.lock().unwrap_or_else(|p| p.into_inner()).push((src.clone(), exports));
                        }
                        Err(e) => {
                            eprintln!("[{n}/{total}] {}", e.message());
                            failed.lock().unwrap_or_else(|p| p.into_inner()).push(src.clone());
                        }
                    }
                }
            });
        }
    });
    let failed = failed.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut libraries = libraries.into_inner().unwrap_or_else(|p| p.into_inner());
    let hooks = hooks.into_inner().unwrap_or_else(|p| p.into_inner());
    libraries.sort();
    if !args.quiet {
        for (src, exports) in &libraries {
            let abs = std::fs::canonicalize(src).unwrap_or_else(|_| src.clone());
            let users = hooks.iter().filter(|inputs| inputs.contains(&abs)).count();
            let exports = if exports.is_empty() { "types only".to_string() } else { format!("exports {}", exports.join(", ")) };
            println!(
                "library {} ({exports}; imported by {users} script(s)): no top-level function, nothing to call, no .wasm",
                src.display()
            );
        }
    }
    println!(
        "built {}, library {}, failed {} of {total} file(s) in {} ms",
        total - failed.len() - libraries.len(),
        libraries.len(),
        failed.len(),
        started.elapsed().as_millis()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::bad_request(format!("{} file(s) not built; nothing was written for them", failed.len())))
    }
}

/// A runtime only used to compile: a long timeout for big bundles, and the
/// user's cache so the engine is compiled once across builds.
pub(crate) fn build_runtime() -> Result<Runtime, Error> {
    let cache = crate::app::user_cache_dir();
    let mut config = Config::from_json(None)?;
    config.timeout_ms = 60_000;
    if let Some(dir) = cache {
        // Private, as the runtime wants a cache folder (0700).
        if std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700).create(&dir).is_ok() {
            config.cache_dir = Some(dir);
        }
    }
    Runtime::new(config)
}
