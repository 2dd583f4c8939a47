//! The raw `yao` imports of SPEC §3, and nothing else. Everything in the SDK
//! that talks to the host goes through the safe wrappers in `process.rs` and
//! `log.rs`; this is the only file that declares the imports.

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "yao")]
extern "C" {
    /// Calls a Yao process. Returns a packed result (`ptr << 32 | len`, bit 31
    /// of `len` = error value) whose bytes the host wrote through `yao_alloc`.
    pub fn process(name_ptr: *const u8, name_len: u32, args_ptr: *const u8, args_len: u32) -> i64;
    /// Emits one log record: level 0 trace … 4 error.
    pub fn log(level: i32, msg_ptr: *const u8, msg_len: u32);
}
