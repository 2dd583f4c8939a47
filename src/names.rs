//! How files and process names map to script IDs (SPEC §1).

use crate::error::{Error, Result};
use std::path::Path;

/// The only process group yaowasm serves in v1.
pub const GROUP: &str = "scripts";

/// A parsed `scripts.<id>.<Function>` process name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessName<'a> {
    /// The script ID, lower-cased (`a.b.c`).
    pub id: std::borrow::Cow<'a, str>,
    /// The function name, case kept (`Check`).
    pub function: &'a str,
}

/// Splits a process name. Another group is a 404 (the host routes those);
/// a malformed name is a 400.
pub fn parse_process(name: &str) -> Result<ProcessName<'_>> {
    let (group, rest) =
        name.split_once('.').ok_or_else(|| Error::bad_request(format!("bad process name {name:?}: expected scripts.<id>.<Function>")))?;
    if !group.eq_ignore_ascii_case(GROUP) {
        return Err(Error::not_found(format!("process {name:?} is not served by yaowasm: only scripts.* names are")));
    }
    let (id, function) =
        rest.rsplit_once('.').ok_or_else(|| Error::bad_request(format!("bad process name {name:?}: expected scripts.<id>.<Function>")))?;
    if id.is_empty() || function.is_empty() || id.split('.').any(str::is_empty) {
        return Err(Error::bad_request(format!("bad process name {name:?}: empty part")));
    }
    // Borrowed unless it has capitals: a call's name costs no allocation.
    let id = match id.bytes().any(|b| b.is_ascii_uppercase()) {
        true => std::borrow::Cow::Owned(id.to_ascii_lowercase()),
        false => std::borrow::Cow::Borrowed(id),
    };
    Ok(ProcessName { id, function })
}

/// Whether `name` is in the `scripts` group, without parsing the rest.
pub fn is_script_process(name: &str) -> bool {
    name.len() > GROUP.len() && name.as_bytes()[GROUP.len()] == b'.' && name[..GROUP.len()].eq_ignore_ascii_case(GROUP)
}

/// Normalizes an ID given by a user (`load_file`, `unload`): lower case, no
/// empty segments.
pub fn normalize_id(id: &str) -> Result<String> {
    if id.is_empty() || id.split('.').any(str::is_empty) || id.contains(['/', '\\', '\0']) {
        return Err(Error::bad_request(format!("bad script id {id:?}")));
    }
    Ok(id.to_ascii_lowercase())
}

/// The ID for `file` under `root`: `root/a/b/c.wasm` → `a.b.c`.
pub fn id_for(root: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(root).ok()?.with_extension("");
    let parts: Vec<&str> = relative.iter().map(|c| c.to_str()).collect::<Option<_>>()?;
    if parts.is_empty() || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    Some(parts.join(".").to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_names() {
        let p = parse_process("Scripts.A.B.Check").unwrap();
        assert_eq!((&*p.id, p.function), ("a.b", "Check"));
        assert_eq!(parse_process("studio.a.Check").unwrap_err().code(), 404);
        assert_eq!(parse_process("scripts.Check").unwrap_err().code(), 400);
        assert_eq!(parse_process("scripts..x.Check").unwrap_err().code(), 400);
        assert_eq!(parse_process("scripts.a.").unwrap_err().code(), 400);
        assert_eq!(parse_process("nothing").unwrap_err().code(), 400);
        assert!(is_script_process("SCRIPTS.x.Y") && !is_script_process("scriptsx.y") && !is_script_process("models.user.Find"));
    }

    #[test]
    fn ids_from_paths() {
        let root = Path::new("/app/scripts");
        assert_eq!(id_for(root, Path::new("/app/scripts/A/b/Hook.wasm")).as_deref(), Some("a.b.hook"));
        assert_eq!(id_for(root, Path::new("/elsewhere/x.wasm")), None);
        assert_eq!(normalize_id("Foo.Bar").unwrap(), "foo.bar");
        assert!(normalize_id("a..b").is_err() && normalize_id("../x").is_err());
    }
}
