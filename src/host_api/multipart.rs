//! `multipart/form-data` request bodies (RFC 7578) for `http.Post` uploads
//! (docs/ABI.md §7): text fields and files, sent as one [`Read`] whose
//! length is known before the first byte, so the request carries a
//! Content-Length and the files are streamed from disk, never held in memory.
//!
//! A file is opened only when its part starts being sent (through the
//! opener the [`FormReader`] is given, which checks the path again) and
//! closed when its part ends, so an upload of many files holds one file
//! descriptor at a time, not one per file for the whole request.
//!
//! Written here rather than with ureq's `multipart` feature, which is
//! unversioned, pulls in `mime_guess`, and writes field and file names into
//! the part headers unescaped: a guest's `"` or CR LF in a name would forge
//! part headers. Names are escaped as browsers do (WHATWG HTML, "multipart/
//! form-data encoding algorithm": `"` → `%22`, CR → `%0D`, LF → `%0A`; other
//! bytes, UTF-8 included, as they are).
//!
//! A `Form` is built and sent by one call on one thread.

use std::collections::hash_map::RandomState;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Cursor, Read};
use std::time::Instant;

/// One piece of the body, in order.
enum Segment {
    /// Boundaries, part headers and text fields.
    Bytes(Cursor<Vec<u8>>),
    /// A file's content: exactly `left` more bytes of the file at `path`
    /// (what the opener is given), open once its first byte is asked for;
    /// `shown` names it in an error.
    File { path: String, file: Option<io::Take<File>>, left: u64, shown: String },
}

/// Opens an upload's file by the path given to [`Form::file`].
pub type Opener<'a> = Box<dyn FnMut(&str) -> io::Result<File> + Send + 'a>;

/// A multipart/form-data body being put together.
pub struct Form {
    boundary: String,
    segments: Vec<Segment>,
    len: u64,
}

impl Form {
    /// An empty form with a fresh random boundary.
    pub fn new() -> Form {
        Form { boundary: random_boundary(), segments: Vec::new(), len: 0 }
    }

    /// The request's Content-Type, naming the boundary.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// A text (or bytes) field.
    pub fn text(&mut self, name: &str, value: Vec<u8>) {
        let head = format!("--{}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n", self.boundary, escape(name));
        self.push_bytes(head.into_bytes());
        self.push_bytes(value);
        self.push_bytes(b"\r\n".to_vec());
    }

    /// A file field: `len` bytes of the file at `path`, opened by the
    /// reader's opener when the part is sent, sent as `filename`; `shown`
    /// names the file in an error (never a host path).
    pub fn file(&mut self, name: &str, filename: &str, path: &str, len: u64, shown: String) {
        let head = format!(
            "--{}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
            self.boundary,
            escape(name),
            escape(filename),
            content_type_of(filename)
        );
        self.push_bytes(head.into_bytes());
        self.len += len;
        self.segments.push(Segment::File { path: path.to_owned(), file: None, left: len, shown });
        self.push_bytes(b"\r\n".to_vec());
    }

    /// The body's length once [`Form::finish`] adds the closing boundary.
    pub fn len(&self) -> u64 {
        self.len + closing(&self.boundary).len() as u64
    }

    /// The whole body as a reader of exactly [`Form::len`] bytes, opening
    /// each file with `open` as its part starts, and failing with
    /// `TimedOut` once `deadline` has passed. A file that shrank since it
    /// was added (or cannot be opened again) is an error, not a short body;
    /// one that grew is sent as long as it was.
    pub fn finish<'a>(mut self, open: Opener<'a>, deadline: Instant) -> FormReader<'a> {
        let end = closing(&self.boundary).into_bytes();
        self.push_bytes(end);
        FormReader { segments: self.segments.into_iter(), open, deadline }
    }

    fn push_bytes(&mut self, bytes: Vec<u8>) {
        self.len += bytes.len() as u64;
        self.segments.push(Segment::Bytes(Cursor::new(bytes)));
    }
}

fn closing(boundary: &str) -> String {
    format!("--{boundary}--\r\n")
}

/// The body of a finished [`Form`].
pub struct FormReader<'a> {
    segments: std::vec::IntoIter<Segment>,
    open: Opener<'a>,
    deadline: Instant,
}

impl Read for FormReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if Instant::now() >= self.deadline {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "the upload ran past the call's deadline"));
        }
        while let Some(segment) = self.segments.as_mut_slice().first_mut() {
            let n = match segment {
                Segment::Bytes(cursor) => cursor.read(buf)?,
                Segment::File { path, file, left, shown } => {
                    if file.is_none() && *left > 0 {
                        let opened = (self.open)(path).map_err(|e| io::Error::other(format!("{shown}: {e}")))?;
                        *file = Some(opened.take(*left));
                    }
                    let n = match file {
                        Some(file) => file.read(buf)?,
                        None => 0,
                    };
                    *left -= n as u64;
                    if n == 0 && *left > 0 {
                        // Not UnexpectedEof: that is read as the server's
                        // connection closing early.
                        return Err(io::Error::other(format!("{shown} got shorter while it was being sent")));
                    }
                    n
                }
            };
            if n > 0 {
                return Ok(n);
            }
            // Done with this part: a file is closed here.
            self.segments.next();
        }
        Ok(0)
    }
}

/// 32 hex digits of OS-seeded randomness: std's `RandomState` keys SipHash
/// with random per-thread keys (a fresh state per call), so a guest cannot
/// predict the boundary and put it in a file it uploads.
fn random_boundary() -> String {
    let mut out = String::from("yaowasm-");
    for _ in 0..2 {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u8(0);
        out.push_str(&format!("{:016x}", hasher.finish()));
    }
    out
}

/// A name inside a quoted part-header parameter (see the module doc).
fn escape(name: &str) -> String {
    name.replace('"', "%22").replace('\r', "%0D").replace('\n', "%0A")
}

/// The part's Content-Type, guessed from a few common extensions;
/// `application/octet-stream` for the rest.
fn content_type_of(filename: &str) -> &'static str {
    let ext = filename.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "txt" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, Write};

    #[test]
    fn body_is_as_long_as_said_and_names_are_escaped() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"\x00\xffbin").unwrap();
        file.rewind().unwrap();
        let mut form = Form::new();
        form.text("a\"b\r\nX-Evil: 1", b"v".to_vec());
        form.file("f", "x.png", "dir/x.png", 5, "x.png".into());
        let boundary = form.boundary.clone();
        let len = form.len();
        let mut body = Vec::new();
        let mut file = Some(file);
        let open: Opener = Box::new(move |path| {
            assert_eq!(path, "dir/x.png");
            Ok(file.take().expect("opened once"))
        });
        form.finish(open, far()).read_to_end(&mut body).unwrap();
        assert_eq!(body.len() as u64, len);
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("name=\"a%22b%0D%0AX-Evil: 1\"\r\n\r\nv\r\n"), "{text}");
        assert!(text.contains("filename=\"x.png\"\r\nContent-Type: image/png\r\n\r\n"), "{text}");
        assert!(body.windows(7).any(|w| w == b"\x00\xffbin\r\n"));
        assert!(text.ends_with(&format!("\r\n--{boundary}--\r\n")));
        assert_ne!(Form::new().boundary, boundary, "a fresh boundary per form");
    }

    #[test]
    fn a_file_that_shrank_is_an_error() {
        let mut form = Form::new();
        form.file("f", "x", "x", 3, "x".into());
        let err = form.finish(Box::new(|_| tempfile::tempfile()), far()).read_to_end(&mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("x got shorter"), "{err}");
    }

    #[test]
    fn files_are_opened_one_at_a_time_and_the_deadline_holds() {
        let mut form = Form::new();
        for i in 0..5 {
            form.file(&format!("f{i}"), "x", &i.to_string(), 2, "x".into());
        }
        let opened = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = opened.clone();
        let mut reader = form.finish(
            Box::new(move |path| {
                seen.lock().unwrap().push(path.to_owned());
                let mut f = tempfile::tempfile()?;
                f.write_all(b"ab")?;
                f.rewind()?;
                Ok(f)
            }),
            far(),
        );
        let mut first = [0u8; 200];
        let n = reader.read(&mut first).unwrap();
        assert!(n > 0);
        assert!(opened.lock().unwrap().len() <= 1, "{:?}", opened.lock().unwrap());
        reader.read_to_end(&mut Vec::new()).unwrap();
        assert_eq!(*opened.lock().unwrap(), ["0", "1", "2", "3", "4"]);
        let mut past = Form::new().finish(Box::new(|_| tempfile::tempfile()), Instant::now());
        let err = past.read(&mut first).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    fn far() -> Instant {
        Instant::now() + std::time::Duration::from_secs(3600)
    }
}
