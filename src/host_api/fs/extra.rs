//! The FS methods past the first sixteen (docs/ABI.md §6): base64 and
//! insert variants, links, modes and times, temp folders, MIME types,
//! moves that append or insert, zip archives and globs. The same root rules
//! as the rest of [`super`]: every path checked by `resolve`, every file
//! opened beneath the root's descriptor by `openat2`, never by host path.
//!
//! Streams do not cross the ABI: `ReadCloser` answers the file's bytes and
//! `Download` its bytes with their MIME type and name (see the ABI).

use super::*;
use base64::Engine as _;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

/// Most entries one `Unzip` extracts or one `Glob` answers.
pub const MAX_ARCHIVE_ENTRIES: usize = MAX_DIR_ENTRIES;
/// Most bytes one `Unzip` writes (all its files together): past it a 413
/// (a zip bomb stops there; what was written stays).
pub const MAX_UNZIP_BYTES: u64 = 1 << 30;
/// Bytes `MimeType` and `Download` look at to tell a type.
const SNIFF: usize = 3072;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

pub(super) fn call(root: &Root, method: &str, args: &Args, max_read: u64, deadline: Option<Instant>) -> Result<Vec<u8>> {
    let path = |i: usize| args.string(i, "path").and_then(|text| resolve(root, text));
    let perm = |i: usize, default: u64| -> Result<Mode> {
        let perm = args.opt_u64(i, "perm")?.unwrap_or(default);
        if perm > 0o7777 {
            return Err(args.bad(i, "a permission of 0o7777 or less"));
        }
        Ok(Mode::from_bits_truncate((perm & PERM_BITS) as _))
    };
    let offset = |i: usize| -> Result<u64> {
        match args.get(i) {
            Value::Integer(n) => n.as_u64(),
            Value::F64(f) if *f >= 0.0 && f.fract() == 0.0 && *f < u64::MAX as f64 => Some(*f as u64),
            _ => None,
        }
        .ok_or_else(|| args.bad(i, "the offset (an integer, 0 or more)"))
    };
    // The data of a write: a string or bytes, or base64 text for *Base64.
    let data = |i: usize, base64: bool| -> Result<Vec<u8>> {
        match (args.get(i), base64) {
            (Value::String(s), true) => {
                let text = s.as_str().ok_or_else(|| args.bad(i, "base64 text"))?;
                B64.decode(text.trim_end()).map_err(|e| Error::bad_request(format!("fs: {method}: the data is not base64: {e}")))
            }
            (_, true) => Err(args.bad(i, "the data (base64 text)")),
            (Value::String(s), false) => Ok(s.as_bytes().to_vec()),
            (Value::Binary(b), false) => Ok(b.clone()),
            _ => Err(args.bad(i, "the data (a string or bytes)")),
        }
    };
    let encode = |v: Value| -> Result<Vec<u8>> { Ok(api_args::encode(&v)) };
    let nil = || -> Result<Vec<u8>> { Ok(api_args::NIL.to_vec()) };
    match method {
        "IsLink" => {
            args.at_most(1)?;
            let p = path(0)?;
            match stat(&p, &p.link) {
                Ok(meta) => encode(Value::Boolean(meta.file_type().is_symlink())),
                Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => Err(io_error(e, &p.shown)),
                Err(_) => encode(Value::Boolean(false)),
            }
        }
        "ReadFileBase64" => {
            args.at_most(1)?;
            let p = path(0)?;
            // The text is 4/3 of the bytes: both within the guest's limit.
            let bytes = read_file(&p, max_read / 4 * 3, deadline)?;
            encode(Value::from(B64.encode(bytes)))
        }
        "ReadCloser" => {
            args.at_most(1)?;
            let p = path(0)?;
            encode(Value::Binary(read_file(&p, max_read, deadline)?))
        }
        "Download" => {
            args.at_most(1)?;
            let p = path(0)?;
            let bytes = read_file(&p, max_read, deadline)?;
            let name = p.rel.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let kind = sniff(&bytes[..bytes.len().min(SNIFF)], bytes.len() <= SNIFF);
            encode(Value::Map(vec![
                (Value::from("type"), Value::from(kind)),
                (Value::from("name"), Value::from(name)),
                (Value::from("size"), Value::from(bytes.len() as u64)),
                (Value::from("content"), Value::Binary(bytes)),
            ]))
        }
        "WriteFileBase64" | "AppendBase64" | "AppendBuffer" => {
            args.at_most(3)?;
            let p = path(0)?;
            let bytes = data(1, method.ends_with("Base64"))?;
            encode(Value::from(write_file(&p, &bytes, perm(2, 0o644)?, method != "WriteFileBase64")? as u64))
        }
        "InsertFile" | "InsertBuffer" | "InsertBase64" => {
            args.at_most(4)?;
            let p = path(0)?;
            let at = offset(1)?;
            let bytes = data(2, method == "InsertBase64")?;
            insert(&p, at, &mut &bytes[..], perm(3, 0o644)?, deadline)?;
            encode(Value::from(bytes.len() as u64))
        }
        "MoveAppend" | "MoveInsert" => {
            args.at_most(if method == "MoveAppend" { 2 } else { 3 })?;
            let (from, to) = (path(0)?, path(1)?);
            refuse_root(&from, method)?;
            let (mut source, _) = open_regular(&from)?;
            if let Ok(meta) = stat(&to, &to.rel) {
                let same = source.metadata().is_ok_and(|s| s.dev() == meta.dev() && s.ino() == meta.ino());
                if same {
                    return Err(Error::bad_request(format!("fs: {method}: {} and {} are the same file", from.shown, to.shown)));
                }
                if !meta.is_file() {
                    return Err(Error::bad_request(format!("fs: {} is not a file", to.shown)));
                }
            }
            if method == "MoveAppend" {
                refuse_root(&to, method)?;
                let mut file = open_beneath(&to, OFlags::WRONLY | OFlags::CREATE | OFlags::APPEND, Mode::from_bits_truncate(0o644))
                    .map_err(|e| io_error(e, &to.shown))?;
                pump(&mut source, &mut file, deadline, &from.shown, &to.shown)?;
            } else {
                insert(&to, offset(2)?, &mut source, Mode::from_bits_truncate(0o644), deadline)?;
            }
            let (dir, name) = parent_of(&from, &from.link)?;
            at::unlinkat(&dir, name, AtFlags::empty()).map_err(|e| io_error(e.into(), &from.shown))?;
            nil()
        }
        "MkdirTemp" => {
            args.at_most(2)?;
            let dir = match args.get(0) {
                Value::Nil => "",
                _ => args.string(0, "folder")?,
            };
            let pattern = match args.get(1) {
                Value::Nil => "",
                _ => args.string(1, "pattern")?,
            };
            if pattern.contains('/') || pattern.contains('\0') {
                return Err(Error::bad_request("fs: MkdirTemp: the pattern may not hold a '/'"));
            }
            let p = resolve(root, dir)?;
            mkdir_all(&p, Mode::from_bits_truncate(0o755)).map_err(|e| io_error(e, &p.shown))?;
            let parent =
                open_at(root.dir.as_fd(), &p.rel, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).map_err(|e| io_error(e, &p.shown))?;
            for _ in 0..100 {
                let random = format!("{:010}", random_u64() % 10_000_000_000);
                let name = match pattern.rfind('*') {
                    Some(i) => format!("{}{random}{}", &pattern[..i], &pattern[i + 1..]),
                    None => format!("{pattern}{random}"),
                };
                if name.len() > MAX_COMPONENT_LEN {
                    return Err(Error::bad_request(format!("fs: MkdirTemp: the pattern makes a name over {MAX_COMPONENT_LEN} bytes")));
                }
                match at::mkdirat(&parent, name.as_str(), Mode::from_bits_truncate(0o700)) {
                    Ok(()) => return encode(Value::from(p.rel.join(&name).to_string_lossy().into_owned())),
                    Err(Errno::EXIST) => continue,
                    Err(e) => return Err(io_error(e.into(), &p.shown)),
                }
            }
            Err(Error::internal("fs: MkdirTemp: no free name after 100 tries"))
        }
        "Chmod" => {
            args.at_most(2)?;
            let p = path(0)?;
            if args.get(1).is_nil() {
                return Err(args.bad(1, "the perm (an integer, 0o7777 or less)"));
            }
            chmod(&p, perm(1, 0)?)?;
            nil()
        }
        "Mode" | "ModTime" => {
            args.at_most(1)?;
            let p = path(0)?;
            let meta = stat(&p, &p.rel).map_err(|e| io_error(e, &p.shown))?;
            if method == "Mode" {
                return encode(Value::from(u64::from(meta.permissions().mode() & 0o7777)));
            }
            encode(Value::from(meta.mtime()))
        }
        "MimeType" => {
            args.at_most(1)?;
            let p = path(0)?;
            let (file, len) = open_regular(&p)?;
            let mut head = Vec::with_capacity(SNIFF);
            file.take(SNIFF as u64).read_to_end(&mut head).map_err(|e| io_error(e, &p.shown))?;
            encode(Value::from(sniff(&head, len <= SNIFF as u64)))
        }
        "Abs" => {
            args.at_most(1)?;
            let p = path(0)?;
            encode(Value::from(format!("/{}", p.rel.to_string_lossy())))
        }
        "Zip" => {
            args.at_most(2)?;
            let (from, to) = (path(0)?, path(1)?);
            refuse_root(&to, method)?;
            zip_to(&from, &to, deadline)?;
            nil()
        }
        "Unzip" => {
            args.at_most(2)?;
            let (from, to) = (path(0)?, path(1)?);
            let files = unzip(root, &from, &to, deadline)?;
            encode(Value::Array(files.into_iter().map(Value::from).collect()))
        }
        "Glob" => {
            args.at_most(1)?;
            let found = glob(root, args.string(0, "pattern")?, deadline)?;
            encode(Value::Array(found.into_iter().map(Value::from).collect()))
        }
        _ => Err(Error::not_found(format!("fs: no method {method:?} ({})", METHODS.join(", ")))),
    }
}

/// Every method of `yao.fs`, for the 404 of an unknown one.
pub const METHODS: [&str; 37] = [
    "ReadFile",
    "ReadFileBuffer",
    "ReadFileBase64",
    "ReadCloser",
    "Download",
    "WriteFile",
    "WriteFileBuffer",
    "WriteFileBase64",
    "AppendFile",
    "AppendBuffer",
    "AppendBase64",
    "InsertFile",
    "InsertBuffer",
    "InsertBase64",
    "Exists",
    "IsDir",
    "IsFile",
    "IsLink",
    "ReadDir",
    "Glob",
    "Mkdir",
    "MkdirAll",
    "MkdirTemp",
    "Remove",
    "RemoveAll",
    "Chmod",
    "Size",
    "Mode",
    "ModTime",
    "MimeType",
    "Abs",
    "Move",
    "Copy",
    "MoveAppend",
    "MoveInsert",
    "Zip",
    "Unzip",
];

fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(Instant::now().elapsed().as_nanos());
    hasher.finish()
}

/// Copies `from` into `to` in chunks, checking the deadline between them.
fn pump(from: &mut dyn Read, to: &mut dyn Write, deadline: Option<Instant>, src: &str, dst: &str) -> Result<u64> {
    let mut buffer = vec![0u8; 64 << 10];
    let mut total = 0u64;
    loop {
        check_deadline(deadline, || format!("{src} → {dst}"))?;
        let n = match from.read(&mut buffer) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_error(e, src)),
        };
        to.write_all(&buffer[..n]).map_err(|e| io_error(e, dst))?;
        total += n as u64;
    }
}

/// Writes `data` into the file `p` at byte `offset` (past the end: at the
/// end), shifting the rest: a temporary file beside it gets the head, the
/// data and the tail, keeps the file's permission bits, and is renamed over
/// it whole (408 or any failure leaves the file as it was). A missing file
/// is created with `perm`.
fn insert(p: &Resolved<'_>, offset: u64, data: &mut dyn Read, perm: Mode, deadline: Option<Instant>) -> Result<()> {
    refuse_root(p, "an insert")?;
    let (mut source, len) = match open_regular(p) {
        Err(e) if e.code() == NOT_FOUND => {
            let mut file = open_beneath(p, OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL, perm).map_err(|e| io_error(e, &p.shown))?;
            pump(data, &mut file, deadline, "the data", &p.shown)?;
            return Ok(());
        }
        other => other?,
    };
    let mode = source.metadata().map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o644);
    let offset = offset.min(len);
    let (dir, name) = parent_of(p, &p.rel)?;
    let (temp_name, mut temp) = create_temp(dir.as_fd()).map_err(|e| io_error(e, &p.shown))?;
    let done = (|| -> Result<()> {
        pump(&mut (&mut source).take(offset), &mut temp, deadline, &p.shown, &p.shown)?;
        pump(data, &mut temp, deadline, "the data", &p.shown)?;
        pump(&mut source, &mut temp, deadline, &p.shown, &p.shown)?;
        temp.set_permissions(fs::Permissions::from_mode(mode)).map_err(|e| io_error(e, &p.shown))?;
        at::renameat(&dir, &temp_name, &dir, name).map_err(|e| io_error(e.into(), &p.shown))
    })();
    if done.is_err() {
        let _ = at::unlinkat(&dir, &temp_name, AtFlags::empty());
    }
    done
}

/// Sets the permission bits of a file or folder (not a symlink, FIFO or
/// device: 400), on a descriptor opened beneath the root: `fchmod`, or for
/// one this process may not open for reading, the `/proc/self/fd` link of
/// an `O_PATH` descriptor (what glibc's `fchmodat` does).
fn chmod(p: &Resolved<'_>, mode: Mode) -> Result<()> {
    let handle = open_at(p.root.dir.as_fd(), &p.rel, OFlags::PATH, Mode::empty()).map_err(|e| io_error(e, &p.shown))?;
    let meta = File::from(handle.try_clone().map_err(|e| io_error(e, &p.shown))?).metadata().map_err(|e| io_error(e, &p.shown))?;
    if !meta.is_file() && !meta.is_dir() {
        return Err(Error::bad_request(format!("fs: {} is not a file or folder", p.shown)));
    }
    match open_at(p.root.dir.as_fd(), &p.rel, OFlags::RDONLY | OFlags::NONBLOCK, Mode::empty()) {
        Ok(fd) => at::fchmod(&fd, mode).map_err(|e| io_error(e.into(), &p.shown)),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            at::chmod(format!("/proc/self/fd/{}", handle.as_raw_fd()), mode).map_err(|e| io_error(e.into(), &p.shown))
        }
        Err(e) => Err(io_error(e, &p.shown)),
    }
}

/// The MIME type of a file from its first bytes (`whole`: they are all of
/// it), as gou's content sniffing answers the common kinds; text that is
/// not one of them is `text/plain; charset=utf-8`, other bytes
/// `application/octet-stream`.
pub(crate) fn sniff(head: &[u8], whole: bool) -> &'static str {
    const MAGIC: [(&[u8], &str); 12] = [
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"%PDF-", "application/pdf"),
        (b"PK\x03\x04", "application/zip"),
        (b"PK\x05\x06", "application/zip"),
        (b"\x1f\x8b", "application/gzip"),
        (b"\x00asm", "application/wasm"),
        (b"ID3", "audio/mpeg"),
        (b"OggS", "application/ogg"),
        (b"BZh", "application/x-bzip2"),
    ];
    if head.is_empty() {
        return "text/plain";
    }
    if let Some((_, kind)) = MAGIC.iter().find(|(magic, _)| head.starts_with(magic)) {
        return kind;
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return "image/webp";
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return "video/mp4";
    }
    // Text: UTF-8 (a character cut at the end is fine) with no NUL.
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) if !whole && e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default(),
        Err(_) => return "application/octet-stream",
    };
    if text.contains('\0') {
        return "application/octet-stream";
    }
    let start = text.trim_start().to_ascii_lowercase();
    if start.starts_with("<!doctype html") || start.starts_with("<html") {
        return "text/html; charset=utf-8";
    }
    if start.starts_with("<svg") || (start.starts_with("<?xml") && start.contains("<svg")) {
        return "image/svg+xml";
    }
    if start.starts_with("<?xml") {
        return "text/xml; charset=utf-8";
    }
    if whole && (start.starts_with('{') || start.starts_with('[')) && serde_json::from_str::<serde_json::Value>(text).is_ok() {
        return "application/json";
    }
    "text/plain; charset=utf-8"
}

// ------------------------------------------------------------------ zip

/// Zips the folder (its contents, named relative to it) or the file (by its
/// name) `from` into `to`: a temporary file beside `to`, renamed into place
/// when whole. Symlinks inside are left out (never followed); folders are
/// kept as entries, so empty ones survive.
fn zip_to(from: &Resolved<'_>, to: &Resolved<'_>, deadline: Option<Instant>) -> Result<()> {
    let root = from.root;
    let top = stat(from, &from.rel).map_err(|e| io_error(e, &from.shown))?;
    let listed: Vec<String> = if top.is_dir() {
        read_dir(from, true, deadline)?
    } else if top.is_file() {
        vec![from.rel.to_string_lossy().into_owned()]
    } else {
        return Err(Error::bad_request(format!("fs: Zip: {} is not a file or folder", from.shown)));
    };
    let base: &Path = if top.is_dir() { &from.rel } else { from.rel.parent().unwrap_or(Path::new("")) };
    let (dir, name) = parent_of(to, &to.rel)?;
    let (temp_name, temp) = create_temp(dir.as_fd()).map_err(|e| io_error(e, &to.shown))?;
    let done = (|| -> Result<()> {
        let fail = |e: zip::result::ZipError| Error::internal(format!("fs: Zip {}: {e}", to.shown));
        let mut writer = zip::ZipWriter::new(temp);
        for rel in &listed {
            check_deadline(deadline, || format!("Zip {}", from.shown))?;
            let rel = Path::new(rel);
            let entry = rel.strip_prefix(base).unwrap_or(rel).to_string_lossy().into_owned();
            let handle = File::from(open_at(root.dir.as_fd(), rel, OFlags::PATH, Mode::empty()).map_err(|e| io_error(e, &entry))?);
            let meta = handle.metadata().map_err(|e| io_error(e, &entry))?;
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .unix_permissions(meta.permissions().mode() & 0o777)
                .large_file(meta.len() >= u64::from(u32::MAX));
            if meta.is_dir() {
                writer.add_directory(format!("{entry}/"), options).map_err(fail)?;
            } else if meta.is_file() {
                let mut file = File::from(
                    open_at(root.dir.as_fd(), rel, OFlags::RDONLY | OFlags::NONBLOCK, Mode::empty()).map_err(|e| io_error(e, &entry))?,
                );
                writer.start_file(entry.as_str(), options).map_err(fail)?;
                pump(&mut file, &mut writer, deadline, &entry, &to.shown)?;
            }
        }
        writer.finish().map_err(fail)?;
        at::renameat(&dir, &temp_name, &dir, name).map_err(|e| io_error(e.into(), &to.shown))
    })();
    if done.is_err() {
        let _ = at::unlinkat(&dir, &temp_name, AtFlags::empty());
    }
    done
}

/// An archive entry's name as a path below the target, or a 403: an
/// absolute name, a `..`, a drive letter or a backslash (a Windows path)
/// would leave the target (zip slip).
fn entry_path(name: &str) -> Result<PathBuf> {
    let refuse =
        || Error::new(FORBIDDEN, format!("fs: Unzip: the entry {name:?} would leave the target folder (zip slip); nothing was extracted"));
    if name.starts_with('/') || name.contains('\\') || name.contains('\0') || name.as_bytes().get(1) == Some(&b':') {
        return Err(refuse());
    }
    let mut path = PathBuf::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(refuse()),
            _ if part.len() > MAX_COMPONENT_LEN => {
                return Err(Error::bad_request(format!("fs: Unzip: an entry name part is over {MAX_COMPONENT_LEN} bytes")))
            }
            _ => path.push(part),
        }
    }
    Ok(path)
}

/// Extracts the archive `from` into the folder `to` (made when missing);
/// answers the root-relative paths of the files written. Every entry is
/// checked before anything is written: a name that would leave `to`, or a
/// symlink entry, refuses the whole archive (403). Each file is then
/// written through `resolve` and `openat2` beneath the root like any write,
/// so a symlink already inside cannot redirect it. Past
/// [`MAX_ARCHIVE_ENTRIES`] entries or [`MAX_UNZIP_BYTES`] written: 413.
fn unzip(root: &Root, from: &Resolved<'_>, to: &Resolved<'_>, deadline: Option<Instant>) -> Result<Vec<String>> {
    let (source, _) = open_regular(from)?;
    let bad = |e: zip::result::ZipError| Error::bad_request(format!("fs: Unzip: {} is not a readable zip archive: {e}", from.shown));
    let mut archive = zip::ZipArchive::new(source).map_err(bad)?;
    if archive.len() > MAX_ARCHIVE_ENTRIES {
        return Err(Error::too_large(format!(
            "fs: Unzip: {} has {} entries, the limit is {MAX_ARCHIVE_ENTRIES}",
            from.shown,
            archive.len()
        )));
    }
    let mut plan = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(bad)?;
        let name = entry.name().map_err(bad)?.into_owned();
        let path = entry_path(&name)?;
        if entry.is_symlink() {
            return Err(Error::new(FORBIDDEN, format!("fs: Unzip: the entry {name:?} is a symlink; archives with symlinks are refused")));
        }
        plan.push((path, entry.is_dir()));
    }
    mkdir_all(to, Mode::from_bits_truncate(0o755)).map_err(|e| io_error(e, &to.shown))?;
    let target = to.rel.to_string_lossy().into_owned();
    let mut written = 0u64;
    let mut files = Vec::new();
    for (i, (path, is_dir)) in plan.into_iter().enumerate() {
        check_deadline(deadline, || format!("Unzip {}", from.shown))?;
        if path.as_os_str().is_empty() {
            continue;
        }
        let text = if target.is_empty() { path.to_string_lossy().into_owned() } else { format!("{target}/{}", path.to_string_lossy()) };
        let p = resolve(root, &text)?;
        if is_dir {
            mkdir_all(&p, Mode::from_bits_truncate(0o755)).map_err(|e| io_error(e, &p.shown))?;
            continue;
        }
        if let Some(parent) = p.rel.parent().filter(|d| !d.as_os_str().is_empty()) {
            let dir = resolve(root, &parent.to_string_lossy())?;
            mkdir_all(&dir, Mode::from_bits_truncate(0o755)).map_err(|e| io_error(e, &dir.shown))?;
        }
        refuse_root(&p, "Unzip")?;
        let mut entry = archive.by_index(i).map_err(bad)?;
        let mode = entry.unix_mode().map_or(0o644, |m| m & 0o777);
        let mut file = open_beneath(&p, OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC, Mode::from_bits_truncate(mode as _))
            .map_err(|e| io_error(e, &p.shown))?;
        let left = MAX_UNZIP_BYTES - written;
        let n = pump(&mut (&mut entry).take(left + 1), &mut file, deadline, &from.shown, &p.shown)?;
        if n > left {
            return Err(Error::too_large(format!("fs: Unzip: {} holds more than {MAX_UNZIP_BYTES} bytes", from.shown)));
        }
        written += n;
        files.push(p.rel.to_string_lossy().into_owned());
    }
    Ok(files)
}

// ------------------------------------------------------------------ glob

/// The root-relative paths that match `pattern` (Go's `filepath.Match`
/// syntax per component: `*`, `?`, `[a-z]`, `[^x]`, `\` escapes), sorted.
/// Refused like any path when absolute or with a `..` (403); folders are
/// listed beneath the root by descriptor, and a candidate through a symlink
/// that leads outside is left out, so no match is ever outside the root.
fn glob(root: &Root, pattern: &str, deadline: Option<Instant>) -> Result<Vec<String>> {
    // The same refusals as any path (absolute, `..`, NUL, length).
    resolve_text_only(pattern)?;
    let parts: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    let mut found: Vec<String> = vec![String::new()];
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let mut next = Vec::new();
        for base in &found {
            check_deadline(deadline, || format!("Glob {pattern}"))?;
            let join = |name: &str| if base.is_empty() { name.to_owned() } else { format!("{base}/{name}") };
            if !has_meta(part) {
                let candidate = join(part);
                if let Ok(p) = resolve(root, &candidate) {
                    if stat(&p, &p.link).is_ok() && (last || stat(&p, &p.rel).is_ok_and(|m| m.is_dir())) {
                        next.push(candidate);
                    }
                }
                continue;
            }
            let Ok(p) = resolve(root, if base.is_empty() { "." } else { base }) else { continue };
            let Ok(names) = read_dir(&p, false, deadline) else { continue };
            for listed in names {
                let name = Path::new(&listed).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if glob_match(part, &name)? {
                    next.push(join(&name));
                }
            }
        }
        if next.len() > MAX_ARCHIVE_ENTRIES {
            return Err(Error::too_large(format!("fs: Glob {pattern:?}: more than {MAX_ARCHIVE_ENTRIES} matches")));
        }
        found = next;
    }
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    // Only what resolves inside the root: no symlink out, none broken.
    found.retain(|path| resolve(root, path).is_ok());
    found.sort();
    found.dedup();
    Ok(found)
}

/// The checks `resolve` makes on the text of a path, without resolving it.
fn resolve_text_only(text: &str) -> Result<()> {
    if text.contains('\0') {
        return Err(Error::bad_request("fs: the pattern holds a NUL byte"));
    }
    if text.len() > MAX_PATH_LEN {
        return Err(Error::bad_request(format!("fs: the pattern is {} bytes, the limit is {MAX_PATH_LEN}", text.len())));
    }
    if text.starts_with('/') {
        return Err(Error::new(FORBIDDEN, format!("fs: {text:?} is absolute; patterns are relative to the root")));
    }
    if text.split('/').any(|p| p == "..") {
        return Err(Error::new(FORBIDDEN, format!("fs: {text:?} has a '..' component")));
    }
    Ok(())
}

fn has_meta(part: &str) -> bool {
    part.contains(['*', '?', '[', '\\'])
}

/// Go's `filepath.Match` for one component: 400 for a malformed pattern.
fn glob_match(pattern: &str, name: &str) -> Result<bool> {
    let bad = || Error::bad_request(format!("fs: Glob: malformed pattern {pattern:?}"));
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // One class or char at p[i] against c: Some((matched, next i)).
    let one = |i: usize, c: char| -> Result<(bool, usize)> {
        match p[i] {
            '?' => Ok((true, i + 1)),
            '\\' => {
                let e = *p.get(i + 1).ok_or_else(bad)?;
                Ok((e == c, i + 2))
            }
            '[' => {
                let mut j = i + 1;
                let negate = p.get(j) == Some(&'^');
                if negate {
                    j += 1;
                }
                let mut matched = false;
                let mut first = true;
                loop {
                    let mut lo = *p.get(j).ok_or_else(bad)?;
                    if lo == ']' && !first {
                        j += 1;
                        break;
                    }
                    first = false;
                    if lo == '\\' {
                        j += 1;
                        lo = *p.get(j).ok_or_else(bad)?;
                    }
                    j += 1;
                    let mut hi = lo;
                    if p.get(j) == Some(&'-') && p.get(j + 1).is_some_and(|c| *c != ']') {
                        hi = p[j + 1];
                        if hi == '\\' {
                            hi = *p.get(j + 2).ok_or_else(bad)?;
                            j += 1;
                        }
                        j += 2;
                        if hi < lo {
                            return Err(bad());
                        }
                    }
                    if lo <= c && c <= hi {
                        matched = true;
                    }
                }
                Ok((matched != negate, j))
            }
            other => Ok((other == c, i + 1)),
        }
    };
    // Backtracking over the last star.
    let (mut i, mut k) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while k < n.len() {
        if i < p.len() && p[i] == '*' {
            star = Some((i, k));
            i += 1;
            continue;
        }
        if i < p.len() {
            let (ok, next) = one(i, n[k])?;
            if ok {
                i = next;
                k += 1;
                continue;
            }
        }
        match star {
            Some((si, sk)) => {
                star = Some((si, sk + 1));
                i = si + 1;
                k = sk + 1;
            }
            None => return Ok(false),
        }
    }
    while i < p.len() && p[i] == '*' {
        i += 1;
    }
    // A malformed rest of the pattern is still a 400, as Go checks it.
    if i < p.len() {
        let _ = one(i, '\0')?;
    }
    Ok(i == p.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matching_as_go() {
        let m = |p: &str, n: &str| glob_match(p, n).unwrap();
        assert!(m("*.txt", "a.txt") && m("*", ".hidden") && m("a?c", "abc") && m("[a-c]x", "bx"));
        assert!(!m("*.txt", "a.txt.bak") && !m("[^a-c]x", "bx") && m("[^a-c]x", "dx") && m("a\\*", "a*") && !m("a\\*", "ab"));
        assert!(m("a*b*c", "aXXbYYc") && !m("a*b*c", "aXXbYY") && m("**", "x"));
        assert!(glob_match("[", "x").is_err() && glob_match("[z-a]", "x").is_err() && glob_match("a\\", "a").is_err());
    }

    #[test]
    fn zip_slip_names_are_refused() {
        for bad in ["../x", "a/../../x", "/etc/passwd", "a/..", "c:\\x", "a\\..\\x", "C:x"] {
            assert_eq!(entry_path(bad).unwrap_err().code(), FORBIDDEN, "{bad}");
        }
        assert_eq!(entry_path("a/./b/").unwrap(), PathBuf::from("a/b"));
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n....", true), "image/png");
        assert_eq!(sniff(b"hello", true), "text/plain; charset=utf-8");
        assert_eq!(sniff(b"{\"a\":1}", true), "application/json");
        assert_eq!(sniff(b"{\"a\":", true), "text/plain; charset=utf-8");
        assert_eq!(sniff(b"<!DOCTYPE html><html>", true), "text/html; charset=utf-8");
        assert_eq!(sniff(b"\x00\x01\x02", true), "application/octet-stream");
        assert_eq!(sniff(b"", true), "text/plain");
    }
}
