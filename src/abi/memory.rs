//! Guest memory: the only place that reads or writes a guest's linear memory.
//!
//! Every pointer and length a guest hands over is checked against the
//! memory's current size with 64-bit arithmetic, so negative, wrapping and
//! past-the-end values are refused (500), never followed.

use crate::error::{Error, Result};
use wasmtime::{AsContext, AsContextMut, Memory, TypedFunc};

/// The exports the host needs to move bytes in and out of one instance.
#[derive(Clone)]
pub struct Guest {
    pub memory: Memory,
    pub alloc: TypedFunc<i32, i32>,
}

/// Borrows `len` bytes at `ptr` of the guest's memory, checked.
pub fn slice(memory: &[u8], ptr: u32, len: u32, what: &str) -> Result<std::ops::Range<usize>> {
    let end = u64::from(ptr) + u64::from(len);
    if end > memory.len() as u64 {
        return Err(Error::internal(format!(
            "guest passed an out-of-bounds {what}: {len} bytes at {ptr:#x}, memory is {} bytes",
            memory.len()
        )));
    }
    Ok(ptr as usize..end as usize)
}

/// Copies `len` bytes at `ptr` (as the guest's i32 values) out of guest memory.
pub fn read<T: 'static>(store: impl AsContext<Data = T>, guest: &Guest, ptr: i32, len: i32, what: &str) -> Result<Vec<u8>> {
    if len < 0 {
        return Err(Error::internal(format!("guest passed a negative {what} length ({len})")));
    }
    let memory = guest.memory.data(&store);
    let range = slice(memory, ptr as u32, len as u32, what)?;
    Ok(memory[range].to_vec())
}

/// Asks the guest's `yao_alloc` for room and copies `bytes` in. Returns the
/// guest pointer. `yao_alloc` answering 0 is a 413 (the guest is out of
/// memory); a pointer that does not fit is a 500.
pub fn write<T: 'static>(mut store: impl AsContextMut<Data = T>, guest: &Guest, bytes: &[u8]) -> wasmtime::Result<u32> {
    let len = i32::try_from(bytes.len())
        .map_err(|_| Error::too_large(format!("value of {} bytes is too large for a wasm32 guest", bytes.len())))?;
    let ptr = guest.alloc.call(&mut store, len)? as u32;
    if ptr == 0 && len > 0 {
        return Err(Error::too_large(format!("guest yao_alloc({len}) returned 0: out of memory")).into());
    }
    let memory = guest.memory.data_mut(&mut store);
    let range = slice(memory, ptr, len as u32, "yao_alloc result")
        .map_err(|e| Error::internal(format!("guest yao_alloc({len}) returned a pointer outside its memory: {}", e.message())))?;
    memory[range].copy_from_slice(bytes);
    Ok(ptr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        let mem = [0u8; 16];
        assert_eq!(slice(&mem, 4, 12, "x").unwrap(), 4..16);
        assert_eq!(slice(&mem, 4, 13, "x").unwrap_err().code(), 500);
        assert_eq!(slice(&mem, u32::MAX, 2, "x").unwrap_err().code(), 500);
        assert_eq!(slice(&mem, 16, 0, "x").unwrap(), 16..16);
    }
}
