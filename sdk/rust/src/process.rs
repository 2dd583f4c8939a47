//! Calling Yao processes from a script: `yao.process` made safe and typed.

use crate::Error;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Calls the Yao process `name` with `args` (a tuple: `(id,)`, `(a, b)`, or
/// `()` for none; a `Vec` works too) and decodes its result into `R`
/// (`Value` to take whatever comes).
///
/// An error answer comes back as `Err` with the process's own code and
/// message, so `?` passes it on unchanged. Args that do not encode as an
/// array are a 400; a result that does not decode into `R` is a 500.
pub fn process<A: Serialize, R: DeserializeOwned>(name: &str, args: A) -> Result<R, Error> {
    let mut encoded = rmp_serde::to_vec_named(&args).map_err(|e| Error::bad_request(format!("{name}: cannot encode the args: {e}")))?;
    if encoded == [0xc0] {
        encoded = vec![0x90]; // `()` encodes as nil: no args.
    }
    if !matches!(encoded.first(), Some(0x90..=0x9f | 0xdc | 0xdd)) {
        return Err(Error::bad_request(format!("{name}: process args must encode as an array (use a tuple)")));
    }
    let result = call_raw(name, &encoded)?;
    rmp_serde::from_slice(result.as_deref().unwrap_or(&[0xc0]))
        .map_err(|e| Error::internal(format!("{name} returned an unexpected value: {e}")))
}

/// Calls a process with already encoded args (a MessagePack array) and
/// gives back its encoded result (`None` for nil).
pub fn process_raw(name: &str, args: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    call_raw(name, args)
}

#[cfg(target_arch = "wasm32")]
fn call_raw(name: &str, args: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    // SAFETY: both slices are valid for their lengths during the call; the
    // host answers with a packed result written through yao_alloc.
    let (bytes, is_error) = unsafe {
        let raw = crate::sys::process(name.as_ptr(), name.len() as u32, args.as_ptr(), args.len() as u32);
        crate::memory::take(raw)
    };
    if is_error {
        return Err(Error::from_wire(bytes.as_deref().unwrap_or(&[])));
    }
    Ok(bytes)
}

/// Outside wasm (unit tests on the build machine) processes are served by
/// the handler set with [`crate::testing::set_process_handler`].
#[cfg(not(target_arch = "wasm32"))]
fn call_raw(name: &str, args: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    let answer = crate::testing::serve_process(name, args);
    // Round-trip the error through its wire form, as the host would send it.
    answer.map(Some).map_err(|e| Error::from_wire(&e.to_wire()))
}
