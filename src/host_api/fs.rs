//! Files under the roots named in the config: the `yao.fs` import
//! (docs/ABI.md §6).
//!
//! A guest names a root (`data`, `system`) and a path relative to it. The
//! path is refused before anything is touched when it has a `..`
//! component, is absolute, holds a NUL byte or is over-long. Then the deepest
//! existing ancestor is canonicalized and must lie inside the canonical
//! root, so a symlink that leads outside is refused (403), and a dangling
//! symlink on the path is refused too (its target cannot be proven inside).
//! That check only shapes the answer: the operation itself never goes by
//! host path. Every one works on descriptors opened with
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)`
//! relative to the root's directory descriptor (the checked path is
//! canonical, so a symlink met there was swapped in since: refused, 403),
//! and acts on the last component with the `*at` calls (`mkdirat`,
//! `unlinkat`, `renameat`) relative to the parent directory so opened.
//! `RemoveAll` and a recursive `ReadDir` walk the tree by descriptors, never
//! following a symlink (one inside is removed as a link, listed as a name).
//! Without `openat2` (Linux before 5.6) every method is refused (500), never
//! done by path.
//!
//! Long work (`Copy`, `ReadFile`, `ReadDir`, `RemoveAll`) checks the call's
//! deadline as it goes and stops there with 408; `Copy` writes a temporary
//! file beside the destination and renames it into place only when whole.
//!
//! `Roots` is `Send + Sync`; the roots are fixed when the runtime is made.

use super::args::{self as api_args, Args};
use crate::error::{Error, Result, BAD_REQUEST, FORBIDDEN, NOT_FOUND, TIMEOUT, TOO_LARGE};
use rmpv::Value;
use rustix::fs::{self as at, AtFlags, Dir, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::collections::BTreeMap;
use std::ffi::{CStr, CString, OsStr};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};
use std::time::Instant;

/// Longest path a guest may pass, in bytes (Linux's PATH_MAX).
pub const MAX_PATH_LEN: usize = 4096;
/// Longest path component, in bytes (Linux's NAME_MAX).
pub const MAX_COMPONENT_LEN: usize = 255;
/// Most entries one `ReadDir` answers.
pub const MAX_DIR_ENTRIES: usize = 100_000;
/// Deepest a recursive `ReadDir` or `RemoveAll` goes below its folder (each
/// level holds a descriptor while it is walked).
pub const MAX_DEPTH: usize = 512;
/// Bytes `Copy` and `ReadFile` move between two looks at the deadline.
const CHUNK: usize = 1 << 20;
/// HTTP-like code for "already exists".
const CONFLICT: i32 = 409;
/// How every path is resolved beneath a root: never above the descriptor it
/// starts from, through no symlink (the checked paths are canonical, so one
/// met now was swapped in since the check) and no /proc magic link.
const BENEATH: ResolveFlags = ResolveFlags::BENEATH.union(ResolveFlags::NO_SYMLINKS).union(ResolveFlags::NO_MAGICLINKS);
/// Permission bits a guest may ask for: setuid, setgid and sticky are dropped.
const PERM_BITS: u64 = 0o777;
/// Temporary files of `Copy` start with this (then a random number).
const TEMP_PREFIX: &str = ".yaowasm-tmp-";

struct Root {
    /// Canonical: no symlinks, absolute.
    path: PathBuf,
    /// The root directory, opened once; everything is opened beneath it.
    dir: File,
    /// Named in `fs_read_only`: every method of [`WRITING_METHODS`] is a 403.
    read_only: bool,
}

mod extra;

/// The methods that change what is under a root.
const WRITING_METHODS: [&str; 21] = [
    "WriteFile",
    "WriteFileBuffer",
    "AppendFile",
    "Mkdir",
    "MkdirAll",
    "Remove",
    "RemoveAll",
    "Move",
    "Copy",
    "WriteFileBase64",
    "AppendBuffer",
    "AppendBase64",
    "InsertFile",
    "InsertBuffer",
    "InsertBase64",
    "MkdirTemp",
    "Chmod",
    "MoveAppend",
    "MoveInsert",
    "Zip",
    "Unzip",
];

/// The configured roots of one runtime.
pub struct Roots {
    roots: BTreeMap<String, Root>,
}

/// A checked path, relative to the root: `rel` is what it names with a
/// last-component symlink followed (checked inside), `link` the path itself
/// (canonical parent, last component as given) for the methods that act on a
/// symlink rather than through it (Remove, RemoveAll, Move, Mkdir). Both are
/// canonical at check time. `shown` is what error messages name (never the
/// host path).
struct Resolved<'a> {
    root: &'a Root,
    rel: PathBuf,
    link: PathBuf,
    shown: String,
}

impl Roots {
    /// Opens every configured root (the config check made sure each is a
    /// directory). 400 if one vanished meanwhile.
    pub fn new(config: &BTreeMap<String, PathBuf>, read_only: &[String]) -> Result<Roots> {
        let mut roots = BTreeMap::new();
        for (name, path) in config {
            let bad = |e: io::Error| Error::bad_request(format!("config: fs.{name}: {}: {e}", path.display()));
            let path = path.canonicalize().map_err(bad)?;
            let dir = fs::OpenOptions::new().read(true).custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC).open(&path).map_err(bad)?;
            roots.insert(name.clone(), Root { path, dir, read_only: read_only.contains(name) });
        }
        Ok(Roots { roots })
    }

    /// `yao.fs(root, method, args)`: args is a checked MessagePack array; the
    /// answer is MessagePack. `max_read` caps what a read may answer.
    pub fn call(&self, root: &str, method: &str, args: &[u8], max_read: u64) -> Result<Vec<u8>> {
        let root_dir = self.root(root)?;
        if root_dir.read_only && WRITING_METHODS.contains(&method) {
            return Err(Error::new(FORBIDDEN, format!("fs: root {root:?} is read-only (fs_read_only): {method} is refused")));
        }
        let args = Args::decode(format!("fs {root}: {method}"), args)?;
        let path = |i: usize| args.string(i, "path").and_then(|text| resolve(root_dir, text));
        // Permission bits only: 400 above 0o7777, setuid/setgid/sticky dropped.
        let perm = |i: usize, default: u64| -> Result<Mode> {
            let perm = args.opt_u64(i, "perm")?.unwrap_or(default);
            if perm > 0o7777 {
                return Err(args.bad(i, "a permission of 0o7777 or less"));
            }
            Ok(Mode::from_bits_truncate((perm & PERM_BITS) as _))
        };
        let deadline = crate::runtime::nesting::current_deadline();
        let written = |n: usize| -> Result<Vec<u8>> { Ok(api_args::encode(&Value::from(n as u64))) };
        let boolean = |b: bool| -> Result<Vec<u8>> { Ok(api_args::encode(&Value::Boolean(b))) };
        let nil = || -> Result<Vec<u8>> { Ok(api_args::NIL.to_vec()) };
        match method {
            "ReadFile" | "ReadFileBuffer" => {
                args.at_most(1)?;
                let p = path(0)?;
                let bytes = read_file(&p, max_read, deadline)?;
                if method == "ReadFileBuffer" {
                    return Ok(api_args::encode(&Value::Binary(bytes)));
                }
                let text = String::from_utf8(bytes)
                    .map_err(|_| Error::bad_request(format!("fs: {} is not UTF-8 text; use ReadFileBuffer", p.shown)))?;
                Ok(api_args::encode(&Value::String(text.into())))
            }
            "WriteFile" | "WriteFileBuffer" | "AppendFile" => {
                args.at_most(3)?;
                let p = path(0)?;
                let data = match args.get(1) {
                    Value::String(s) => s.as_bytes(),
                    Value::Binary(b) => b.as_slice(),
                    _ => return Err(args.bad(1, "the data (a string or bytes)")),
                };
                written(write_file(&p, data, perm(2, 0o644)?, method == "AppendFile")?)
            }
            "Exists" | "IsDir" | "IsFile" => {
                args.at_most(1)?;
                let p = path(0)?;
                let meta = match stat(&p, &p.rel) {
                    Ok(meta) => Some(meta),
                    Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => return Err(io_error(e, &p.shown)),
                    Err(_) => None,
                };
                boolean(meta.is_some_and(|m| match method {
                    "IsDir" => m.is_dir(),
                    "IsFile" => m.is_file(),
                    _ => true,
                }))
            }
            "ReadDir" => {
                args.at_most(2)?;
                let p = path(0)?;
                let recursive = args.flag(1, "recursive")?;
                let out = read_dir(&p, recursive, deadline)?;
                Ok(api_args::encode(&Value::Array(out.into_iter().map(Value::from).collect())))
            }
            "Mkdir" | "MkdirAll" => {
                args.at_most(2)?;
                let p = path(0)?;
                let mode = perm(1, 0o755)?;
                if method == "MkdirAll" {
                    mkdir_all(&p, mode).map_err(|e| io_error(e, &p.shown))?;
                    return nil();
                }
                let (dir, name) = parent_of(&p, &p.link)?;
                at::mkdirat(&dir, name, mode).map_err(|e| io_error(e.into(), &p.shown))?;
                nil()
            }
            "Remove" | "RemoveAll" => {
                args.at_most(1)?;
                let p = path(0)?;
                refuse_root(&p, method)?;
                let (dir, name) = match parent_of(&p, &p.link) {
                    Err(e) if e.code() == NOT_FOUND && method == "RemoveAll" => return nil(),
                    other => other?,
                };
                if method == "RemoveAll" {
                    remove_all(dir.as_fd(), name, deadline).map_err(|e| io_error(e, &p.shown))?;
                    return nil();
                }
                let answer = match at::unlinkat(&dir, name, AtFlags::empty()) {
                    Err(Errno::ISDIR) => at::unlinkat(&dir, name, AtFlags::REMOVEDIR),
                    other => other,
                };
                answer.map_err(|e| io_error(e.into(), &p.shown))?;
                nil()
            }
            "Size" => {
                args.at_most(1)?;
                let p = path(0)?;
                let meta = stat(&p, &p.rel).map_err(|e| io_error(e, &p.shown))?;
                if !meta.is_file() {
                    return Err(Error::bad_request(format!("fs: {} is not a file", p.shown)));
                }
                Ok(api_args::encode(&Value::from(meta.len())))
            }
            "Move" => {
                args.at_most(2)?;
                let (from, to) = (path(0)?, path(1)?);
                refuse_root(&from, method)?;
                refuse_root(&to, method)?;
                let ((from_dir, from_name), (to_dir, to_name)) = (parent_of(&from, &from.link)?, parent_of(&to, &to.link)?);
                at::renameat(&from_dir, from_name, &to_dir, to_name)
                    .map_err(|e| io_error(e.into(), &format!("{} → {}", from.shown, to.shown)))?;
                nil()
            }
            "Copy" => {
                args.at_most(2)?;
                let (from, to) = (path(0)?, path(1)?);
                refuse_root(&to, method)?;
                copy(&from, &to, deadline)?;
                nil()
            }
            _ => extra::call(root_dir, method, &args, max_read, deadline),
        }
    }

    /// A regular file under `root` opened for reading, with its length: the
    /// path checks and codes of `ReadFile` (403 escape or root not
    /// configured, 400 bad path or not a file, 404 missing), for a host API
    /// that streams the file elsewhere (`http.Post`'s uploads) instead of
    /// answering it to the guest, so no `max_read` applies.
    pub(crate) fn open_file(&self, root: &str, path: &str) -> Result<(File, u64)> {
        let p = resolve(self.root(root)?, path)?;
        open_regular(&p)
    }

    fn root(&self, name: &str) -> Result<&Root> {
        self.roots.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.roots.keys().map(String::as_str).collect();
            Error::new(FORBIDDEN, format!("fs: root {name:?} is not configured (configured: {known:?})"))
        })
    }
}

/// 403 for the root itself, also when named through a symlink to it.
fn refuse_root(p: &Resolved<'_>, method: &str) -> Result<()> {
    if p.rel.as_os_str().is_empty() || p.link.as_os_str().is_empty() {
        return Err(Error::new(FORBIDDEN, format!("fs: {method} of the root itself is refused")));
    }
    Ok(())
}

/// Checks a guest path and resolves it inside `root` (see the module doc).
fn resolve<'a>(root: &'a Root, text: &str) -> Result<Resolved<'a>> {
    if text.contains('\0') {
        return Err(Error::bad_request("fs: the path holds a NUL byte"));
    }
    if text.len() > MAX_PATH_LEN {
        return Err(Error::bad_request(format!("fs: the path is {} bytes, the limit is {MAX_PATH_LEN}", text.len())));
    }
    if text.starts_with('/') {
        return Err(Error::new(FORBIDDEN, format!("fs: {text:?} is absolute; paths are relative to the root")));
    }
    let mut lexical = PathBuf::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(Error::new(FORBIDDEN, format!("fs: {text:?} has a '..' component"))),
            _ if part.len() > MAX_COMPONENT_LEN => {
                return Err(Error::bad_request(format!("fs: a component of the path is over {MAX_COMPONENT_LEN} bytes")))
            }
            _ => lexical.push(part),
        }
    }
    let shown = if lexical.as_os_str().is_empty() { ".".to_owned() } else { lexical.display().to_string() };
    let rel = canonical_rel(root, &lexical, &shown)?;
    // A last component that is a symlink (inside, or `rel` was refused):
    // `link` names the link itself, under its canonical parent.
    let link = match (lexical.parent(), lexical.file_name()) {
        (Some(parent), Some(name)) if fs::symlink_metadata(root.path.join(&lexical)).is_ok_and(|m| m.is_symlink()) => {
            canonical_rel(root, parent, &shown)?.join(name)
        }
        _ => rel.clone(),
    };
    Ok(Resolved { root, rel, link, shown })
}

/// `lexical` (no `..`, relative) with its deepest existing ancestor
/// canonicalized, relative to the root: 403 when that leads outside or
/// through a dangling symlink.
fn canonical_rel(root: &Root, lexical: &Path, shown: &str) -> Result<PathBuf> {
    let outside = || Error::new(FORBIDDEN, format!("fs: {shown:?} leads outside the root"));
    let mut existing = root.path.join(lexical);
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    let canonical = loop {
        match fs::symlink_metadata(&existing) {
            Ok(_) => match existing.canonicalize() {
                Ok(canonical) => break canonical,
                // It exists but does not resolve: a dangling symlink (or a
                // loop) on the path, whose target cannot be proven inside.
                Err(_) => return Err(Error::new(FORBIDDEN, format!("fs: {shown:?} goes through a broken symlink"))),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR) => {
                if existing == root.path {
                    return Err(Error::internal("fs: the root directory vanished"));
                }
                match existing.file_name() {
                    Some(name) => rest.push(name.to_owned()),
                    None => return Err(outside()),
                }
                existing.pop();
            }
            Err(e) => return Err(io_error(e, shown)),
        }
    };
    let mut rel = canonical.strip_prefix(&root.path).map_err(|_| outside())?.to_path_buf();
    for name in rest.into_iter().rev() {
        rel.push(&name);
    }
    debug_assert!(rel.components().all(|c| matches!(c, Component::Normal(_))));
    Ok(rel)
}

/// `openat2` of `path` beneath `dir` (see [`BENEATH`]); `O_NOFOLLOW` refuses
/// a symlink as the last component too, `O_CLOEXEC` always. ENOSYS (no
/// openat2) is answered as is: the callers refuse, never fall back to a path.
fn open_at(dir: BorrowedFd<'_>, path: &Path, flags: OFlags, mode: Mode) -> io::Result<OwnedFd> {
    let path: &Path = if path.as_os_str().is_empty() { Path::new(".") } else { path };
    Ok(at::openat2(dir, path, flags | OFlags::NOFOLLOW | OFlags::CLOEXEC, mode, BENEATH)?)
}

/// The root-relative `rel` opened beneath the root. `O_NONBLOCK` (no effect
/// on regular files) keeps a FIFO from blocking the call forever in open;
/// the callers then refuse what is not a regular file.
fn open_beneath(p: &Resolved<'_>, flags: OFlags, mode: Mode) -> io::Result<File> {
    Ok(File::from(open_at(p.root.dir.as_fd(), &p.rel, flags | OFlags::NONBLOCK, mode)?))
}

/// The metadata of `rel` (not following a last-component symlink), from a
/// descriptor opened beneath the root.
fn stat(p: &Resolved<'_>, rel: &Path) -> io::Result<fs::Metadata> {
    File::from(open_at(p.root.dir.as_fd(), rel, OFlags::PATH, Mode::empty())?).metadata()
}

/// The parent directory of `rel` opened beneath the root (a handle no later
/// rename can move the operation off), and the last component to act on.
fn parent_of<'r>(p: &Resolved<'_>, rel: &'r Path) -> Result<(OwnedFd, &'r OsStr)> {
    let name = rel.file_name().ok_or_else(|| Error::new(FORBIDDEN, "fs: the root itself is refused"))?;
    let parent = rel.parent().unwrap_or(Path::new(""));
    let dir = open_at(p.root.dir.as_fd(), parent, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).map_err(|e| io_error(e, &p.shown))?;
    Ok((dir, name))
}

/// Opens a checked path for reading: 400 when it is not a regular file (a
/// directory, FIFO, device). The length is the open file's own.
fn open_regular(p: &Resolved<'_>) -> Result<(File, u64)> {
    let file = open_beneath(p, OFlags::RDONLY, Mode::empty()).map_err(|e| io_error(e, &p.shown))?;
    let meta = file.metadata().map_err(|e| io_error(e, &p.shown))?;
    if !meta.is_file() {
        return Err(Error::bad_request(format!("fs: {} is not a file", p.shown)));
    }
    Ok((file, meta.len()))
}

/// 408 once `deadline` has passed.
fn check_deadline(deadline: Option<Instant>, what: impl FnOnce() -> String) -> Result<()> {
    if deadline.is_some_and(|d| Instant::now() >= d) {
        return Err(Error::new(TIMEOUT, format!("fs: {}: stopped at the call's deadline (timeout_ms)", what())));
    }
    Ok(())
}

fn read_file(p: &Resolved<'_>, max_read: u64, deadline: Option<Instant>) -> Result<Vec<u8>> {
    let (file, _) = open_regular(p)?;
    let mut bytes = Vec::new();
    let mut file = file.take(max_read + 1);
    loop {
        check_deadline(deadline, || format!("ReadFile {}", p.shown))?;
        let n = (&mut file).take(CHUNK as u64).read_to_end(&mut bytes).map_err(|e| io_error(e, &p.shown))?;
        if n == 0 {
            break;
        }
    }
    if bytes.len() as u64 > max_read {
        return Err(Error::new(TOO_LARGE, format!("fs: {} is larger than the guest's memory limit ({max_read} bytes)", p.shown)));
    }
    Ok(bytes)
}

fn write_file(p: &Resolved<'_>, data: &[u8], perm: Mode, append: bool) -> Result<usize> {
    refuse_root(p, "a write")?;
    let mode = if append { OFlags::APPEND } else { OFlags::TRUNC };
    let mut file = open_beneath(p, OFlags::WRONLY | OFlags::CREATE | mode, perm).map_err(|e| io_error(e, &p.shown))?;
    file.write_all(data).map_err(|e| io_error(e, &p.shown))?;
    Ok(data.len())
}

/// Creates every missing folder of `rel`, one `mkdirat` at a time, each
/// level opened beneath the last (no symlink followed); fine when the whole
/// path is already a folder, 409 when its last component is something else.
fn mkdir_all(p: &Resolved<'_>, mode: Mode) -> io::Result<()> {
    let mut dir = open_at(p.root.dir.as_fd(), Path::new(""), OFlags::PATH | OFlags::DIRECTORY, Mode::empty())?;
    let last = p.rel.iter().count();
    for (i, part) in p.rel.iter().enumerate() {
        let existed = match at::mkdirat(&dir, part, mode) {
            Ok(()) => false,
            Err(Errno::EXIST) => true,
            Err(e) => return Err(e.into()),
        };
        dir = match open_at(dir.as_fd(), Path::new(part), OFlags::PATH | OFlags::DIRECTORY, Mode::empty()) {
            Err(e) if existed && i + 1 == last && e.raw_os_error() == Some(libc::ENOTDIR) => return Err(Errno::EXIST.into()),
            other => other?,
        };
    }
    Ok(())
}

/// A folder `name` of `parent` opened for reading its entries, not through
/// a symlink.
fn open_dir(parent: BorrowedFd<'_>, name: &OsStr) -> io::Result<Dir> {
    let fd = open_at(parent, Path::new(name), OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty())?;
    Ok(Dir::new(fd)?)
}

/// The next entry of `dir` other than `.` and `..`.
fn next_entry(dir: &mut Dir) -> io::Result<Option<(CString, FileType)>> {
    while let Some(entry) = dir.read() {
        let entry = entry?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        return Ok(Some((name.to_owned(), entry.file_type())));
    }
    Ok(None)
}

fn too_deep() -> io::Error {
    io::Error::new(io::ErrorKind::FileTooLarge, format!("more than {MAX_DEPTH} levels of folders"))
}

fn name_of(c: &CStr) -> &OsStr {
    OsStr::from_bytes(c.to_bytes())
}

/// The root-relative paths under `p`, sorted; a recursive walk goes by
/// descriptors and lists a symlink as a name, never following it.
fn read_dir(p: &Resolved<'_>, recursive: bool, deadline: Option<Instant>) -> Result<Vec<String>> {
    let shown = |e: io::Error| io_error(e, &p.shown);
    let top = File::from(open_at(p.root.dir.as_fd(), &p.rel, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).map_err(shown)?);
    let mut stack = vec![(Dir::new(OwnedFd::from(top)).map_err(|e| shown(e.into()))?, p.rel.clone())];
    let mut out = Vec::new();
    loop {
        let depth = stack.len();
        let Some((dir, rel)) = stack.last_mut() else { break };
        let Some((name, kind)) = next_entry(dir).map_err(shown)? else {
            stack.pop();
            continue;
        };
        if out.len() >= MAX_DIR_ENTRIES {
            return Err(shown(io::Error::new(io::ErrorKind::FileTooLarge, format!("more than {MAX_DIR_ENTRIES} entries"))));
        }
        check_deadline(deadline, || format!("ReadDir {}", p.shown))?;
        let path = rel.join(name_of(&name));
        out.push(path.to_string_lossy().into_owned());
        if !recursive {
            continue;
        }
        let is_dir = match kind {
            FileType::Directory => true,
            FileType::Unknown => at::statat(dir.fd().map_err(|e| shown(e.into()))?, name.as_c_str(), AtFlags::SYMLINK_NOFOLLOW)
                .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory),
            _ => false,
        };
        if is_dir {
            if depth >= MAX_DEPTH {
                return Err(shown(too_deep()));
            }
            let child = open_dir(dir.fd().map_err(|e| shown(e.into()))?, name_of(&name)).map_err(shown)?;
            stack.push((child, path));
        }
    }
    out.sort();
    Ok(out)
}

/// Removes `name` of `parent` and, for a folder, everything under it,
/// walking by descriptors: a symlink is removed as a link, never followed.
/// Fine when it is absent.
fn remove_all(parent: BorrowedFd<'_>, name: &OsStr, deadline: Option<Instant>) -> io::Result<()> {
    let timeout = |_| io::Error::new(io::ErrorKind::TimedOut, "stopped at the call's deadline (timeout_ms); part may be removed");
    match at::unlinkat(parent, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => return Ok(()),
        Err(Errno::ISDIR) => {}
        Err(e) => return Err(e.into()),
    }
    // Each open folder with its name in the one below it.
    let mut stack: Vec<(Dir, CString)> = vec![(open_dir(parent, name)?, CString::new(name.as_bytes())?)];
    loop {
        let depth = stack.len();
        let Some((dir, _)) = stack.last_mut() else { break };
        check_deadline(deadline, String::new).map_err(timeout)?;
        match next_entry(dir)? {
            Some((entry, _)) => match at::unlinkat(dir.fd()?, entry.as_c_str(), AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(Errno::ISDIR) => {
                    if depth >= MAX_DEPTH {
                        return Err(too_deep());
                    }
                    let child = open_dir(dir.fd()?, name_of(&entry))?;
                    stack.push((child, entry));
                }
                Err(e) => return Err(e.into()),
            },
            None => {
                let (_, done) = stack.pop().expect("the loop holds one");
                let below = match stack.last() {
                    Some((dir, _)) => dir.fd()?,
                    None => parent,
                };
                match at::unlinkat(below, done.as_c_str(), AtFlags::REMOVEDIR) {
                    Ok(()) | Err(Errno::NOENT) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Ok(())
}

/// Copies one file: into a temporary file beside the destination, checking
/// the deadline between chunks, then renamed over it whole (so the copy is a
/// new file, 0o644 less the umask, and a hard link to the old one keeps the
/// old content). On any failure
/// (408 included) the temporary file is removed and the destination is as
/// it was.
fn copy(from: &Resolved<'_>, to: &Resolved<'_>, deadline: Option<Instant>) -> Result<()> {
    let (mut source, len) = open_regular(from)?;
    let (dir, name) = parent_of(to, &to.rel)?;
    // Only a regular file is replaced (a FIFO, folder or device is a 400).
    match at::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile => {
            return Err(Error::bad_request(format!("fs: {} is not a file", to.shown)))
        }
        Ok(_) | Err(Errno::NOENT) => {}
        Err(e) => return Err(io_error(e.into(), &to.shown)),
    }
    let (temp_name, mut temp) = create_temp(dir.as_fd()).map_err(|e| io_error(e, &to.shown))?;
    let copied = (|| -> Result<()> {
        let mut buffer = vec![0u8; usize::try_from(len).unwrap_or(CHUNK).clamp(8 << 10, CHUNK)];
        loop {
            check_deadline(deadline, || format!("Copy {} → {}", from.shown, to.shown))?;
            let n = match source.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_error(e, &from.shown)),
            };
            temp.write_all(&buffer[..n]).map_err(|e| io_error(e, &to.shown))?;
        }
        at::renameat(&dir, &temp_name, &dir, name).map_err(|e| io_error(e.into(), &to.shown))
    })();
    if copied.is_err() {
        let _ = at::unlinkat(&dir, &temp_name, AtFlags::empty());
    }
    copied
}

/// A new file `.yaowasm-tmp-<random>` in `dir` (0o644 less the umask).
fn create_temp(dir: BorrowedFd<'_>) -> io::Result<(CString, File)> {
    use std::hash::{BuildHasher, Hasher};
    let mut tries = 0;
    loop {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(Instant::now().elapsed().as_nanos());
        let name = CString::new(format!("{TEMP_PREFIX}{:016x}", hasher.finish()))?;
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL;
        match open_at(dir, Path::new(name_of(&name)), flags, Mode::from_bits_truncate(0o644)) {
            Ok(fd) => return Ok((name, File::from(fd))),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 8 => tries += 1,
            Err(e) => return Err(e),
        }
    }
}

/// An I/O error as a Yao error that names the guest's path, never the host's.
fn io_error(error: io::Error, shown: &str) -> Error {
    let code = match (error.kind(), error.raw_os_error()) {
        (_, Some(libc::EXDEV)) | (_, Some(libc::ELOOP)) => {
            return Error::new(FORBIDDEN, format!("fs: {shown}: refused, the path leads outside the root or through a symlink"))
        }
        (_, Some(libc::ENOSYS)) => {
            return Error::internal(format!(
                "fs: {shown}: refused: this kernel has no openat2 (Linux 5.6 or later), without which nothing is done beneath a root safely"
            ))
        }
        (io::ErrorKind::TimedOut, _) => TIMEOUT,
        (io::ErrorKind::NotFound, _) => NOT_FOUND,
        (io::ErrorKind::PermissionDenied, _) => FORBIDDEN,
        (io::ErrorKind::AlreadyExists, _) | (io::ErrorKind::DirectoryNotEmpty, _) => CONFLICT,
        (io::ErrorKind::NotADirectory, _) | (io::ErrorKind::IsADirectory, _) | (io::ErrorKind::InvalidInput, _) => BAD_REQUEST,
        // A FIFO (or socket, device) with no peer where a file is needed.
        (_, Some(libc::ENXIO)) => BAD_REQUEST,
        // Within MAX_PATH_LEN, but too long once under the root's own path.
        (_, Some(libc::ENAMETOOLONG)) => BAD_REQUEST,
        (io::ErrorKind::FileTooLarge, _) => TOO_LARGE,
        _ => crate::error::INTERNAL,
    };
    let text = error.to_string();
    // std's messages never hold the path; the OS text is enough.
    Error::new(code, format!("fs: {shown}: {text}"))
}
