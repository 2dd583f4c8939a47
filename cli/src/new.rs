//! `yaowasm new <lang> <name>`: a ready project for one script, in any of
//! the five languages, that `yaowasm build <name>` turns into
//! `<app>/scripts/<name>.wasm`.
//!
//! The SDK the project needs is written beside its code (the binary embeds
//! the SDKs, see cli/build.rs): Rust's yao-guest, the Go SDK and the
//! AssemblyScript SDK are not in a registry yet, and a project must build
//! on a machine that has the `yaowasm` binary and no yaowasm checkout.

use crate::project::{Language, Project, PROJECT_FILE};
use clap::Args;
use std::path::{Component, Path, PathBuf};
use yaowasm::Error;

include!(concat!(env!("OUT_DIR"), "/sdk_files.rs"));

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  yaowasm new rust orders            # ./orders, building into ./app/scripts/orders.wasm\n  \
yaowasm new ts orders --app my-app  # ./orders, building into ./my-app/scripts/orders.wasm\n\n\
Then: yaowasm build orders && yaowasm run app scripts.orders.Total '{\"items\":[{\"price\":10,\"qty\":2}],\"coupon\":5}'")]
pub struct NewArgs {
    /// The script's language
    #[arg(value_enum)]
    pub language: Language,
    /// The script's name: scripts.<name>.Total (letters, digits, _; starts with a letter)
    pub name: String,
    /// The Yao app the script is built into (its scripts/ folder is created)
    #[arg(long, default_value = "app")]
    pub app: PathBuf,
    /// The project folder [default: ./<name>]
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// One template file: its path in the project and its text, with
/// `{{name}}`, `{{ident}}` and `{{out}}` to fill in.
type Template = (&'static str, &'static str);

fn templates(language: Language) -> &'static [Template] {
    match language {
        Language::Rust => {
            &[("Cargo.toml", include_str!("../templates/rust/Cargo.toml")), ("src/lib.rs", include_str!("../templates/rust/src/lib.rs"))]
        }
        Language::Go => &[
            ("go.mod", include_str!("../templates/go/go.mod")),
            ("main.go", include_str!("../templates/go/main.go")),
            ("main_test.go", include_str!("../templates/go/main_test.go")),
        ],
        Language::C => &[("main.c", include_str!("../templates/c/main.c")), ("test.c", include_str!("../templates/c/test.c"))],
        Language::AssemblyScript => &[
            ("package.json", include_str!("../templates/assemblyscript/package.json")),
            ("assembly/index.ts", include_str!("../templates/assemblyscript/assembly/index.ts")),
            ("test.mjs", include_str!("../templates/assemblyscript/test.mjs")),
        ],
        Language::TypeScript => &[
            ("main.ts", include_str!("../templates/typescript/main.ts")),
            ("tsconfig.json", include_str!("../templates/typescript/tsconfig.json")),
            ("package.json", include_str!("../templates/typescript/package.json")),
        ],
    }
}

/// Which embedded SDK a project gets, and the folder it goes to.
fn sdk_of(language: Language) -> (&'static str, &'static str) {
    match language {
        Language::Rust => ("rust", "yao-guest"),
        Language::Go => ("go", "yao-sdk-go"),
        Language::C => ("c", "."),
        Language::AssemblyScript => ("assemblyscript", "yaowasm-as"),
        Language::TypeScript => ("typescript", "."),
    }
}

/// A script name that is a valid process segment, Go module, Rust crate and
/// file name at once.
fn check_name(name: &str) -> Result<(), Error> {
    let mut chars = name.chars();
    let ok =
        chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') && name.len() <= 64;
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request(format!(
            "script name {name:?}: use letters, digits and _ (starting with a letter, at most 64): it becomes scripts.{name}.Total"
        )))
    }
}

pub fn run(args: NewArgs) -> Result<(), Error> {
    check_name(&args.name)?;
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(&args.name));
    if dir.exists() && std::fs::read_dir(&dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(Error::bad_request(format!("{} already exists and is not empty: nothing was written", dir.display())));
    }
    let scripts = args.app.join("scripts");
    std::fs::create_dir_all(&scripts).map_err(|e| Error::internal(format!("cannot create {}: {e}", scripts.display())))?;
    std::fs::create_dir_all(&dir).map_err(|e| Error::internal(format!("cannot create {}: {e}", dir.display())))?;
    let out = relative(&absolute(&dir)?, &absolute(&scripts)?.join(format!("{}.wasm", args.name)));
    let project = Project { language: args.language, name: args.name.clone(), out: out.clone() };
    let fill =
        |text: &str| text.replace("{{name}}", &args.name).replace("{{ident}}", &args.name).replace("{{out}}", &out.display().to_string());
    for (path, text) in templates(args.language) {
        write(&dir.join(path), fill(text).as_bytes())?;
    }
    let (sdk, into) = sdk_of(args.language);
    for (_, path, bytes) in SDK_FILES.iter().filter(|(s, _, _)| *s == sdk) {
        // C gets the header only, TypeScript the declarations only.
        if (sdk == "c" && *path != "yao.h") || (sdk == "typescript" && !path.ends_with(".d.ts")) {
            continue;
        }
        if sdk == "rust" && *path == "Cargo.toml" {
            // Inside the project the SDK is a member of the project's
            // workspace, not a workspace root of its own.
            let manifest = String::from_utf8_lossy(bytes);
            let manifest: Vec<&str> =
                manifest.lines().filter(|l| l.trim() != "[workspace]" && !l.starts_with("# A crate of its own")).collect();
            write(&dir.join(into).join(path), (manifest.join("\n") + "\n").as_bytes())?;
            continue;
        }
        write(&dir.join(into).join(path), bytes)?;
    }
    if args.language == Language::Go {
        // The SDK's dependencies are the project's: listed in its go.mod (as
        // `go mod tidy` would) and their checksums in go.sum, so the first
        // `go build` needs no tidy step.
        let sdk_file = |name: &str| SDK_FILES.iter().find(|(s, p, _)| *s == "go" && *p == name).map(|(_, _, b)| String::from_utf8_lossy(b));
        if let Some(sum) = sdk_file("go.sum") {
            write(&dir.join("go.sum"), sum.as_bytes())?;
        }
        let requires = go_requires(&sdk_file("go.mod").unwrap_or_default());
        if !requires.is_empty() {
            let go_mod = fill(templates(Language::Go)[0].1) + &format!("\nrequire (\n{requires})\n");
            write(&dir.join("go.mod"), go_mod.as_bytes())?;
        }
    }
    write(&dir.join(".gitignore"), b"target/\nnode_modules/\n*.wasm\ntest\n")?;
    write(&dir.join(PROJECT_FILE), project.to_json().as_bytes())?;
    println!("created {} ({} script {}), building into {}", dir.display(), args.language.label(), args.name, scripts.display());
    println!("next:");
    println!("  yaowasm build {}", dir.display());
    println!(
        "  yaowasm run {} scripts.{}.Total '{{\"items\":[{{\"price\":10,\"qty\":2}}],\"coupon\":5}}'   # 15",
        args.app.display(),
        args.name
    );
    Ok(())
}

/// The modules a go.mod requires, one `\t<path> <version> // indirect` line each.
fn go_requires(go_mod: &str) -> String {
    let mut out = String::new();
    let mut in_block = false;
    for line in go_mod.lines().map(str::trim) {
        let spec = if in_block {
            if line == ")" {
                in_block = false;
                continue;
            }
            line
        } else if line == "require (" {
            in_block = true;
            continue;
        } else if let Some(spec) = line.strip_prefix("require ") {
            spec
        } else {
            continue;
        };
        let mut parts = spec.split_whitespace();
        if let (Some(path), Some(version)) = (parts.next(), parts.next()) {
            out.push_str(&format!("\t{path} {version} // indirect\n"));
        }
    }
    out
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::internal(format!("cannot create {}: {e}", parent.display())))?;
    }
    std::fs::write(path, bytes).map_err(|e| Error::internal(format!("cannot write {}: {e}", path.display())))
}

/// `path` made absolute against the working folder, `.` and `..` resolved
/// by name (the folders may not exist yet).
fn absolute(path: &Path) -> Result<PathBuf, Error> {
    let cwd = std::env::current_dir().map_err(|e| Error::internal(format!("no working folder: {e}")))?;
    let mut out = PathBuf::new();
    for part in cwd.join(path).components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// `to` relative to the folder `from` (both absolute).
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for part in &to[common..] {
        out.push(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_then_descend() {
        assert_eq!(relative(Path::new("/w/orders"), Path::new("/w/app/scripts/orders.wasm")), PathBuf::from("../app/scripts/orders.wasm"));
        assert_eq!(relative(Path::new("/w"), Path::new("/w/app/x.wasm")), PathBuf::from("app/x.wasm"));
    }

    #[test]
    fn go_requirements_are_copied_as_indirect() {
        let go_mod = "module x\n\ngo 1.24\n\nrequire a.b/c v1.2.3\n\nrequire (\n\td.e/f/v2 v2.0.0 // indirect\n\tg.h v0.1.0\n)\n";
        assert_eq!(go_requires(go_mod), "\ta.b/c v1.2.3 // indirect\n\td.e/f/v2 v2.0.0 // indirect\n\tg.h v0.1.0 // indirect\n");
    }

    #[test]
    fn names_must_be_process_segments() {
        assert!(check_name("orders").is_ok());
        assert!(check_name("order_v2").is_ok());
        for bad in ["", "2orders", "or-ders", "a.b", "../x", "orders!"] {
            assert_eq!(check_name(bad).unwrap_err().code(), 400, "{bad}");
        }
    }

    #[test]
    fn every_sdk_is_embedded() {
        for (sdk, must) in [
            ("rust", "src/lib.rs"),
            ("go", "handle.go"),
            ("assemblyscript", "transform.js"),
            ("c", "yao.h"),
            ("typescript", "types/yao.d.ts"),
        ] {
            assert!(SDK_FILES.iter().any(|(s, p, _)| *s == sdk && *p == must), "{sdk}/{must} is not embedded");
        }
        assert!(!SDK_FILES.iter().any(|(_, p, _)| p.ends_with("_test.go") || p.contains("node_modules")));
    }
}
