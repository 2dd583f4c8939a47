//! The scripts of a runtime by ID. Every call reads it, and a (re)load or an
//! unload replaces it whole: readers take the current map without writing
//! anything another CPU's call also writes (a read lock's counter and each
//! script's reference count did, every call), and a call holds the map it
//! started with until it ends, so a reload never waits for calls in flight.

use super::script::Script;
use crate::sync::MutexAny;
use arc_swap::{ArcSwap, Guard};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub type Scripts = HashMap<String, Arc<Script>>;

#[derive(Default)]
pub struct ScriptTable {
    current: ArcSwap<Scripts>,
    /// Serializes writers: each changes a copy of the map they read.
    writer: Mutex<()>,
}

impl ScriptTable {
    /// The current map, for the length of a call or a listing.
    pub fn read(&self) -> Guard<Arc<Scripts>> {
        self.current.load()
    }

    /// Changes the map: `change` edits a copy, which then replaces it at
    /// once for every call that starts after.
    pub fn update<R>(&self, change: impl FnOnce(&mut Scripts) -> R) -> R {
        let _writer = self.writer.lock_any();
        let mut scripts = Scripts::clone(&self.current.load());
        let result = change(&mut scripts);
        self.current.store(Arc::new(scripts));
        result
    }
}
