//! Locks that outlive a panic.
//!
//! A panic while a lock is held poisons it. Every value this crate guards is
//! valid between statements (a table swapped in one assignment, a handler
//! replaced whole), and a panic never leaves the FFI boundary, so a poisoned
//! lock is used as it is rather than turned into a second panic.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub(crate) trait RwLockAny<T> {
    fn read_any(&self) -> RwLockReadGuard<'_, T>;
    fn write_any(&self) -> RwLockWriteGuard<'_, T>;
}

impl<T> RwLockAny<T> for RwLock<T> {
    fn read_any(&self) -> RwLockReadGuard<'_, T> {
        self.read().unwrap_or_else(|p| p.into_inner())
    }
    fn write_any(&self) -> RwLockWriteGuard<'_, T> {
        self.write().unwrap_or_else(|p| p.into_inner())
    }
}

pub(crate) trait MutexAny<T> {
    fn lock_any(&self) -> MutexGuard<'_, T>;
}

impl<T> MutexAny<T> for Mutex<T> {
    fn lock_any(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(|p| p.into_inner())
    }
}
