//! Files under the roots the runtime's config names, as Yao's `FS`
//! (docs/ABI.md §6): `Fs::root("data").read_file("notes/today.txt")`.
//!
//! Paths are relative to the root (`"a/b.txt"`, `""` for the root itself);
//! `..`, absolute paths and symlinks that lead outside are refused with 403.

use crate::host::{self, Import};
use crate::{Error, Value};
use serde::de::DeserializeOwned;

/// One root (`data`, `system`, or another the config names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fs {
    root: String,
}

impl Fs {
    pub fn root(name: impl Into<String>) -> Fs {
        Fs { root: name.into() }
    }

    /// Any method with positional args, decoded into `R`.
    pub fn call<R: DeserializeOwned>(&self, method: &str, args: Vec<Value>) -> Result<R, Error> {
        host::call(Import::Fs { root: &self.root, method }, args)
    }

    /// The file as text (400 when it is not UTF-8).
    pub fn read_file(&self, path: &str) -> Result<String, Error> {
        self.call("ReadFile", vec![Value::from(path)])
    }

    /// The file as bytes.
    pub fn read_file_buffer(&self, path: &str) -> Result<Vec<u8>, Error> {
        let value: Value = self.call("ReadFileBuffer", vec![Value::from(path)])?;
        match value {
            Value::Binary(bytes) => Ok(bytes),
            other => Err(Error::internal(format!("ReadFileBuffer returned {other} instead of bytes"))),
        }
    }

    /// Creates or truncates `path` with `data`; answers the bytes written.
    pub fn write_file(&self, path: &str, data: &str) -> Result<u64, Error> {
        self.call("WriteFile", vec![Value::from(path), Value::from(data)])
    }

    /// `write_file` with bytes.
    pub fn write_file_buffer(&self, path: &str, data: &[u8]) -> Result<u64, Error> {
        self.call("WriteFileBuffer", vec![Value::from(path), Value::Binary(data.to_vec())])
    }

    /// Appends (creating the file if missing); answers the bytes written.
    pub fn append_file(&self, path: &str, data: &[u8]) -> Result<u64, Error> {
        self.call("AppendFile", vec![Value::from(path), Value::Binary(data.to_vec())])
    }

    pub fn exists(&self, path: &str) -> Result<bool, Error> {
        self.call("Exists", vec![Value::from(path)])
    }

    pub fn is_dir(&self, path: &str) -> Result<bool, Error> {
        self.call("IsDir", vec![Value::from(path)])
    }

    pub fn is_file(&self, path: &str) -> Result<bool, Error> {
        self.call("IsFile", vec![Value::from(path)])
    }

    /// Paths under `path`, relative to the root, sorted.
    pub fn read_dir(&self, path: &str, recursive: bool) -> Result<Vec<String>, Error> {
        self.call("ReadDir", vec![Value::from(path), Value::Boolean(recursive)])
    }

    /// One directory; its parent must exist.
    pub fn mkdir(&self, path: &str) -> Result<(), Error> {
        self.call::<Value>("Mkdir", vec![Value::from(path)]).map(drop)
    }

    /// A directory and its missing parents.
    pub fn mkdir_all(&self, path: &str) -> Result<(), Error> {
        self.call::<Value>("MkdirAll", vec![Value::from(path)]).map(drop)
    }

    /// A file or an empty directory.
    pub fn remove(&self, path: &str) -> Result<(), Error> {
        self.call::<Value>("Remove", vec![Value::from(path)]).map(drop)
    }

    /// A file or a directory with everything in it; fine when absent.
    pub fn remove_all(&self, path: &str) -> Result<(), Error> {
        self.call::<Value>("RemoveAll", vec![Value::from(path)]).map(drop)
    }

    /// Bytes of a file.
    pub fn size(&self, path: &str) -> Result<u64, Error> {
        self.call("Size", vec![Value::from(path)])
    }

    /// Yao's `Move`: renames `from` to `to`.
    pub fn move_to(&self, from: &str, to: &str) -> Result<(), Error> {
        self.call::<Value>("Move", vec![Value::from(from), Value::from(to)]).map(drop)
    }

    /// Yao's `Copy`: copies one file, overwriting `to`.
    pub fn copy(&self, from: &str, to: &str) -> Result<(), Error> {
        self.call::<Value>("Copy", vec![Value::from(from), Value::from(to)]).map(drop)
    }
}
