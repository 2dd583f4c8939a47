//! Files under the roots named in the config: the `yao.fs` import
//! (docs/ABI.md §6).
//!
//! A guest names a root (`data`, `system`) and a path relative to it. The
//! path is refused before anything is touched when it has a `..`
//! component, is absolute, holds a NUL byte or is over-long. Then the deepest
//! existing ancestor is canonicalized and must lie inside the canonical
//! root, so a symlink that leads outside is refused (403), and a dangling
//! symlink on the path is refused too (its target cannot be proven inside).
//! Files are then opened with `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`
//! relative to the root's directory descriptor, with `O_NOFOLLOW`, so a path
//! swapped for a symlink between the check and the open still cannot reach
//! outside (the kernel refuses it). Directory operations (mkdir, rename,
//! remove) work on the checked path; a concurrent swap of a directory on that
//! path for a symlink by another process with write access to the root is the
//! remaining window, and `RemoveAll` is std's symlink-safe removal.
//!
//! `Roots` is `Send + Sync`; the roots are fixed when the runtime is made.

use super::args::{self as api_args, Args};
use crate::error::{Error, Result, BAD_REQUEST, FORBIDDEN, NOT_FOUND, TOO_LARGE};
use rmpv::Value;
use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// Longest path a guest may pass, in bytes (Linux's PATH_MAX).
pub const MAX_PATH_LEN: usize = 4096;
/// Longest path component, in bytes (Linux's NAME_MAX).
pub const MAX_COMPONENT_LEN: usize = 255;
/// Most entries one `ReadDir` answers.
pub const MAX_DIR_ENTRIES: usize = 100_000;
/// HTTP-like code for "already exists".
const CONFLICT: i32 = 409;

struct Root {
    /// Canonical: no symlinks, absolute.
    path: PathBuf,
    /// The root directory, opened once; files are opened beneath it.
    dir: File,
    /// Named in `fs_read_only`: every method of [`WRITING_METHODS`] is a 403.
    read_only: bool,
}

/// The methods that change what is under a root.
const WRITING_METHODS: [&str; 9] =
    ["WriteFile", "WriteFileBuffer", "AppendFile", "Mkdir", "MkdirAll", "Remove", "RemoveAll", "Move", "Copy"];

/// The configured roots of one runtime.
pub struct Roots {
    roots: BTreeMap<String, Root>,
}

/// A checked path: `full` is inside the root, `rel` is `full` relative to
/// the root, `shown` is what error messages name (never the host path).
struct Resolved<'a> {
    root: &'a Root,
    full: PathBuf,
    rel: PathBuf,
    shown: String,
}

impl Resolved<'_> {
    fn is_root(&self) -> bool {
        self.rel.as_os_str().is_empty()
    }
}

impl Roots {
    /// Opens every configured root (the config check made sure each is a
    /// directory). 400 if one vanished meanwhile.
    pub fn new(config: &BTreeMap<String, PathBuf>, read_only: &[String]) -> Result<Roots> {
        let mut roots = BTreeMap::new();
        for (name, path) in config {
            let bad = |e: io::Error| Error::bad_request(format!("config: fs.{name}: {}: {e}", path.display()));
            let path = path.canonicalize().map_err(bad)?;
            let dir = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
                .open(&path)
                .map_err(bad)?;
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
        let written = |n: usize| -> Result<Vec<u8>> { Ok(api_args::encode(&Value::from(n as u64))) };
        let boolean = |b: bool| -> Result<Vec<u8>> { Ok(api_args::encode(&Value::Boolean(b))) };
        let nil = || -> Result<Vec<u8>> { Ok(api_args::NIL.to_vec()) };
        match method {
            "ReadFile" | "ReadFileBuffer" => {
                args.at_most(1)?;
                let p = path(0)?;
                let bytes = read_file(&p, max_read)?;
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
                let perm = args.opt_u64(2, "perm")?.unwrap_or(0o644);
                if perm > 0o7777 {
                    return Err(args.bad(2, "a permission of 0o7777 or less"));
                }
                written(write_file(&p, data, perm as u32, method == "AppendFile")?)
            }
            "Exists" => {
                args.at_most(1)?;
                boolean(fs::symlink_metadata(&path(0)?.full).is_ok())
            }
            "IsDir" => {
                args.at_most(1)?;
                boolean(fs::metadata(&path(0)?.full).is_ok_and(|m| m.is_dir()))
            }
            "IsFile" => {
                args.at_most(1)?;
                boolean(fs::metadata(&path(0)?.full).is_ok_and(|m| m.is_file()))
            }
            "ReadDir" => {
                args.at_most(2)?;
                let p = path(0)?;
                let recursive = args.flag(1, "recursive")?;
                let mut out = Vec::new();
                read_dir(&p.full, &p.rel, recursive, &mut out).map_err(|e| io_error(e, &p.shown))?;
                out.sort();
                Ok(api_args::encode(&Value::Array(out.into_iter().map(Value::from).collect())))
            }
            "Mkdir" | "MkdirAll" => {
                args.at_most(2)?;
                let p = path(0)?;
                let perm = args.opt_u64(1, "perm")?.unwrap_or(0o755);
                if perm > 0o7777 {
                    return Err(args.bad(1, "a permission of 0o7777 or less"));
                }
                if p.is_root() && method == "MkdirAll" {
                    return nil();
                }
                fs::DirBuilder::new()
                    .recursive(method == "MkdirAll")
                    .mode(perm as u32)
                    .create(&p.full)
                    .map_err(|e| io_error(e, &p.shown))?;
                nil()
            }
            "Remove" | "RemoveAll" => {
                args.at_most(1)?;
                let p = path(0)?;
                refuse_root(&p, method)?;
                let answer = match fs::symlink_metadata(&p.full) {
                    Ok(m) if m.is_dir() && method == "RemoveAll" => fs::remove_dir_all(&p.full),
                    Ok(m) if m.is_dir() => fs::remove_dir(&p.full),
                    Ok(_) => fs::remove_file(&p.full),
                    Err(e) if e.kind() == io::ErrorKind::NotFound && method == "RemoveAll" => Ok(()),
                    Err(e) => Err(e),
                };
                answer.map_err(|e| io_error(e, &p.shown))?;
                nil()
            }
            "Size" => {
                args.at_most(1)?;
                let p = path(0)?;
                let meta = fs::metadata(&p.full).map_err(|e| io_error(e, &p.shown))?;
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
                fs::rename(&from.full, &to.full).map_err(|e| io_error(e, &format!("{} → {}", from.shown, to.shown)))?;
                nil()
            }
            "Copy" => {
                args.at_most(2)?;
                let (from, to) = (path(0)?, path(1)?);
                refuse_root(&to, method)?;
                let (mut source, _) = open_regular(&from)?;
                let mut target = open_beneath(&to, libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC, 0o644)
                    .map_err(|e| io_error(e, &to.shown))?;
                io::copy(&mut source, &mut target).map_err(|e| io_error(e, &to.shown))?;
                nil()
            }
            _ => Err(Error::not_found(format!(
                "fs: no method {method:?} (ReadFile, ReadFileBuffer, WriteFile, WriteFileBuffer, AppendFile, Exists, IsDir, IsFile, ReadDir, Mkdir, MkdirAll, Remove, RemoveAll, Size, Move, Copy)"
            ))),
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

fn refuse_root(p: &Resolved<'_>, method: &str) -> Result<()> {
    if p.is_root() {
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
    let outside = || Error::new(FORBIDDEN, format!("fs: {shown:?} leads outside the root"));

    // The deepest ancestor that exists, canonicalized; the rest is appended.
    let mut existing = root.path.join(&lexical);
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
            Err(e) => return Err(io_error(e, &shown)),
        }
    };
    let rel = canonical.strip_prefix(&root.path).map_err(|_| outside())?.to_path_buf();
    let mut full = canonical;
    let mut rel = rel;
    for name in rest.into_iter().rev() {
        full.push(&name);
        rel.push(&name);
    }
    debug_assert!(rel.components().all(|c| matches!(c, Component::Normal(_))));
    Ok(Resolved { root, full, rel, shown })
}

/// `openat2` beneath the root's directory: the kernel refuses any path that
/// would leave it (EXDEV), whatever changed since `resolve`; `O_NOFOLLOW`
/// refuses a symlink as the last component (ELOOP). `O_NONBLOCK` (no effect
/// on regular files) keeps a FIFO from blocking the call forever in open;
/// the callers then refuse what is not a regular file.
fn open_beneath(p: &Resolved<'_>, flags: i32, mode: u32) -> io::Result<File> {
    let flags = flags | libc::O_NONBLOCK;
    let rel: &Path = if p.rel.as_os_str().is_empty() { Path::new(".") } else { &p.rel };
    let c_path = CString::new(rel.as_os_str().as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: open_how is plain integers (non_exhaustive, so zeroed first).
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_NOFOLLOW | libc::O_CLOEXEC) as u64;
    how.mode = if flags & libc::O_CREAT != 0 { u64::from(mode) } else { 0 };
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: the directory fd is open for the life of `p.root`; the path is
    // a NUL-terminated C string; `how` is a valid open_how of the size passed.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            p.root.dir.as_raw_fd(),
            c_path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd >= 0 {
        // SAFETY: the kernel just gave us this descriptor; nothing else owns it.
        return Ok(unsafe { File::from_raw_fd(fd as i32) });
    }
    let error = io::Error::last_os_error();
    if error.raw_os_error() != Some(libc::ENOSYS) {
        return Err(error);
    }
    // Kernels before 5.6: the checked path, still refusing a final symlink.
    let mut options = fs::OpenOptions::new();
    options.custom_flags(flags & !(libc::O_ACCMODE | libc::O_CREAT | libc::O_TRUNC | libc::O_APPEND) | libc::O_NOFOLLOW);
    match flags & libc::O_ACCMODE {
        libc::O_RDONLY => options.read(true),
        _ => options.write(true),
    };
    options.create(flags & libc::O_CREAT != 0).truncate(flags & libc::O_TRUNC != 0).append(flags & libc::O_APPEND != 0).mode(mode);
    options.open(&p.full)
}

/// Opens a checked path for reading: 400 when it is not a regular file (a
/// directory, FIFO, device). The length is the open file's own.
fn open_regular(p: &Resolved<'_>) -> Result<(File, u64)> {
    let file = open_beneath(p, libc::O_RDONLY, 0).map_err(|e| io_error(e, &p.shown))?;
    let meta = file.metadata().map_err(|e| io_error(e, &p.shown))?;
    if !meta.is_file() {
        return Err(Error::bad_request(format!("fs: {} is not a file", p.shown)));
    }
    Ok((file, meta.len()))
}

fn read_file(p: &Resolved<'_>, max_read: u64) -> Result<Vec<u8>> {
    let (file, _) = open_regular(p)?;
    let mut bytes = Vec::new();
    file.take(max_read + 1).read_to_end(&mut bytes).map_err(|e| io_error(e, &p.shown))?;
    if bytes.len() as u64 > max_read {
        return Err(Error::new(TOO_LARGE, format!("fs: {} is larger than the guest's memory limit ({max_read} bytes)", p.shown)));
    }
    Ok(bytes)
}

fn write_file(p: &Resolved<'_>, data: &[u8], perm: u32, append: bool) -> Result<usize> {
    refuse_root(p, "a write")?;
    let mode = if append { libc::O_APPEND } else { libc::O_TRUNC };
    let mut file = open_beneath(p, libc::O_WRONLY | libc::O_CREAT | mode, perm).map_err(|e| io_error(e, &p.shown))?;
    file.write_all(data).map_err(|e| io_error(e, &p.shown))?;
    Ok(data.len())
}

/// Appends the root-relative paths under `dir` to `out`; recursion does not
/// follow symlinks (DirEntry::file_type does not).
fn read_dir(dir: &Path, rel: &Path, recursive: bool, out: &mut Vec<String>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if out.len() >= MAX_DIR_ENTRIES {
            return Err(io::Error::new(io::ErrorKind::FileTooLarge, format!("more than {MAX_DIR_ENTRIES} entries")));
        }
        let path = rel.join(entry.file_name());
        out.push(path.to_string_lossy().into_owned());
        if recursive && entry.file_type()?.is_dir() {
            read_dir(&entry.path(), &path, true, out)?;
        }
    }
    Ok(())
}

/// An I/O error as a Yao error that names the guest's path, never the host's.
fn io_error(error: io::Error, shown: &str) -> Error {
    let code = match (error.kind(), error.raw_os_error()) {
        (_, Some(libc::EXDEV)) | (_, Some(libc::ELOOP)) => {
            return Error::new(FORBIDDEN, format!("fs: {shown}: refused, the path leads outside the root or through a symlink"))
        }
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
