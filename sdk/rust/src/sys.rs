//! The raw `yao` imports of SPEC §3 and docs/ABI.md, and nothing else.
//! Everything in the SDK that talks to the host goes through the safe
//! wrappers (`process.rs`, `log.rs`, `host.rs` for store, fs, http,
//! query and tasks); this is the only file that declares the imports.

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "yao")]
extern "C" {
    /// Calls a Yao process. Returns a packed result (`ptr << 32 | len`, bit 31
    /// of `len` = error value) whose bytes the host wrote through `yao_alloc`.
    pub fn process(name_ptr: *const u8, name_len: u32, args_ptr: *const u8, args_len: u32) -> i64;
    /// Emits one log record: level 0 trace … 4 error.
    pub fn log(level: i32, msg_ptr: *const u8, msg_len: u32);
    /// Any Store method on store `name` (docs/ABI.md §5): args is the encoded
    /// args array. Packed result.
    pub fn store(name_ptr: *const u8, name_len: u32, method_ptr: *const u8, method_len: u32, args_ptr: *const u8, args_len: u32) -> i64;
    /// Store fast path: the encoded value of `key`, or 0 (nil).
    pub fn store_get(name_ptr: *const u8, name_len: u32, key_ptr: *const u8, key_len: u32) -> i64;
    /// Store fast path: `value` is ONE encoded value; `ttl_seconds` ≤ 0 = no expiry.
    pub fn store_set(
        name_ptr: *const u8,
        name_len: u32,
        key_ptr: *const u8,
        key_len: u32,
        value_ptr: *const u8,
        value_len: u32,
        ttl_seconds: i64,
    ) -> i64;
    /// Store fast path: removes `key`.
    pub fn store_del(name_ptr: *const u8, name_len: u32, key_ptr: *const u8, key_len: u32) -> i64;
    /// Any FS method under root `root` (docs/ABI.md §6).
    pub fn fs(root_ptr: *const u8, root_len: u32, method_ptr: *const u8, method_len: u32, args_ptr: *const u8, args_len: u32) -> i64;
    /// An HTTP request (docs/ABI.md §7): method Get, Post, Put, Patch, Delete, Head, Send.
    pub fn http(method_ptr: *const u8, method_len: u32, args_ptr: *const u8, args_len: u32) -> i64;
    /// A QueryDSL query, served by the host as `query.Run` (docs/ABI.md §8).
    pub fn query(args_ptr: *const u8, args_len: u32) -> i64;
    /// The call context `{sid, global, authorized}` (docs/ABI.md `context`).
    pub fn context() -> i64;
    /// Concurrency (docs/ABI.md §10): method All, Any, Race, Job, Running,
    /// Data, Cancel, After. Packed result.
    pub fn tasks(method_ptr: *const u8, method_len: u32, args_ptr: *const u8, args_len: u32) -> i64;
    /// Blocks `ms` milliseconds; past the call's deadline the call ends (408).
    pub fn sleep(ms: i64) -> i64;
}
