//! Guest memory: the `yao_alloc` / `yao_free` exports the host writes through,
//! and the packed results of SPEC §3.
//!
//! Every block is allocated with alignment 1 and a size of at least one byte,
//! so `yao_free(ptr, size)` can rebuild the exact layout `yao_alloc(size)`
//! used. Results a script returns are leaked on purpose: the host reads them
//! after the function returned, and every call runs in a fresh instance whose
//! memory is dropped with it.

use std::alloc::{alloc, dealloc, Layout};

/// Bit 31 of the packed length: the bytes are an error value.
pub const ERROR_BIT: u32 = 0x8000_0000;

fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.max(1), 1).ok()
}

/// Gives the host `size` bytes to write into; 0 means out of memory.
#[cfg_attr(target_arch = "wasm32", unsafe(no_mangle))]
pub extern "C" fn yao_alloc(size: i32) -> i32 {
    if size < 0 {
        return 0;
    }
    match layout(size as usize) {
        // SAFETY: the layout has a non-zero size.
        Some(layout) => unsafe { alloc(layout) as usize as i32 },
        None => 0,
    }
}

/// Gives back a block from `yao_alloc` (size as asked). Null does nothing.
#[cfg_attr(target_arch = "wasm32", unsafe(no_mangle))]
pub extern "C" fn yao_free(ptr: i32, size: i32) {
    if ptr == 0 || size < 0 {
        return;
    }
    if let Some(layout) = layout(size as usize) {
        // SAFETY: the host hands back what yao_alloc(size) returned (SPEC §3).
        unsafe { dealloc(ptr as usize as *mut u8, layout) }
    }
}

/// Leaks `bytes` and packs their address and length, with the error bit
/// when `is_error`. A result of 2 GiB or more cannot be described, so it
/// becomes a 413 error value.
pub fn pack(bytes: Vec<u8>, is_error: bool) -> i64 {
    if bytes.len() >= ERROR_BIT as usize {
        return pack(crate::Error::new(413, "result is larger than 2 GiB").to_wire(), true);
    }
    let len = bytes.len() as u32 | if is_error { ERROR_BIT } else { 0 };
    let ptr = Box::into_raw(bytes.into_boxed_slice()) as *mut u8 as usize as u64;
    (((ptr & 0xffff_ffff) << 32) | u64::from(len)) as i64
}

/// Splits a packed result into (address, length, is_error).
pub fn unpack(raw: i64) -> (u32, u32, bool) {
    let raw = raw as u64;
    let len = raw as u32;
    ((raw >> 32) as u32, len & !ERROR_BIT, len & ERROR_BIT != 0)
}

/// Copies the bytes of a packed result the host wrote through `yao_alloc`
/// and frees them. `None` for the nil result (0).
///
/// # Safety
/// `raw` must come from the host (SPEC §3): its pointer was returned by
/// `yao_alloc(len)` and `len` bytes were written there.
#[cfg(target_arch = "wasm32")]
pub unsafe fn take(raw: i64) -> (Option<Vec<u8>>, bool) {
    let (ptr, len, is_error) = unpack(raw);
    if ptr == 0 {
        return (None, is_error);
    }
    let bytes = std::slice::from_raw_parts(ptr as usize as *const u8, len as usize).to_vec();
    yao_free(ptr as i32, len as i32);
    (Some(bytes), is_error)
}

/// The argument bytes the host passed to a script function.
///
/// # Safety
/// `ptr`/`len` must describe memory the host wrote (SPEC §3).
pub unsafe fn args<'a>(ptr: i32, len: i32) -> &'a [u8] {
    if ptr == 0 || len <= 0 {
        return &[];
    }
    std::slice::from_raw_parts(ptr as usize as *const u8, len as usize)
}
