//! Script functions: what `export!` expands to.
//!
//! A script function is an ordinary Rust function whose parameters decode
//! from the args array (see `args.rs`) and that returns
//! `Result<impl Serialize, impl Into<Error>>`. [`ScriptFunction`] is
//! implemented for such functions of 0 to 8 parameters, and for functions
//! that take the whole args array as one [`Variadic`] parameter.

use crate::{args, memory, Error};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// All arguments of a call as one value: `fn echo(args: Variadic<Vec<Value>>)`
/// receives the args array as it came, however many there are.
#[derive(Debug, Clone, PartialEq)]
pub struct Variadic<T>(pub T);

/// A Rust function that can serve as a script function. `Args` is the tuple
/// of its parameter types (or `Variadic<T>`); it only guides inference.
pub trait ScriptFunction<Args> {
    /// Decodes `args`, calls the function, encodes what it returned.
    fn call_encoded(self, args: &[u8]) -> Result<Vec<u8>, Error>;
}

/// Encodes a result value: structs become maps with string keys.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    rmp_serde::to_vec_named(value).map_err(|e| Error::internal(format!("cannot encode the result: {e}")))
}

macro_rules! script_function {
    ($($ty:ident $var:ident),*) => {
        impl<Func, Out, Fail, $($ty,)*> ScriptFunction<($($ty,)*)> for Func
        where
            Func: FnOnce($($ty),*) -> Result<Out, Fail>,
            Out: Serialize,
            Fail: Into<Error>,
            $($ty: DeserializeOwned,)*
        {
            #[allow(unused_variables)]
            fn call_encoded(self, args: &[u8]) -> Result<Vec<u8>, Error> {
                let ($($var,)*): ($($ty,)*) = args::decode(args)?;
                encode(&self($($var),*).map_err(Into::into)?)
            }
        }
    };
}

script_function!();
script_function!(A1 a1);
script_function!(A1 a1, A2 a2);
script_function!(A1 a1, A2 a2, A3 a3);
script_function!(A1 a1, A2 a2, A3 a3, A4 a4);
script_function!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5);
script_function!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6);
script_function!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7);
script_function!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8);

impl<Func, Out, Fail, T> ScriptFunction<Variadic<T>> for Func
where
    Func: FnOnce(Variadic<T>) -> Result<Out, Fail>,
    Out: Serialize,
    Fail: Into<Error>,
    T: DeserializeOwned,
{
    fn call_encoded(self, args: &[u8]) -> Result<Vec<u8>, Error> {
        encode(&self(Variadic(args::decode_all(args)?)).map_err(Into::into)?)
    }
}

/// Runs `function` on the encoded args and gives the encoded result or
/// error value. The part of a call that does not touch guest memory, so it
/// can be tested on any target.
pub fn call<Args, F: ScriptFunction<Args>>(function: F, args: &[u8]) -> Result<Vec<u8>, Error> {
    function.call_encoded(args)
}

/// The body of every exported function: args from guest memory, the call,
/// the packed result.
///
/// # Safety
/// `ptr`/`len` must be the args the host wrote through `yao_alloc` (SPEC §3).
#[doc(hidden)]
pub unsafe fn dispatch<Args, F: ScriptFunction<Args>>(function: F, ptr: i32, len: i32) -> i64 {
    match call(function, memory::args(ptr, len)) {
        Ok(bytes) => memory::pack(bytes, false),
        Err(error) => memory::pack(error.to_wire(), true),
    }
}

/// Exports Rust functions as script functions, each under the name its
/// process uses (`scripts.<id>.<Name>`):
///
/// ```ignore
/// use yao_guest::{export, Error};
///
/// fn add(a: i64, b: i64) -> Result<i64, Error> { Ok(a + b) }
/// fn deny() -> Result<(), Error> { Err(Error::forbidden("denied")) }
///
/// export!(Add => add, Deny => deny);
/// ```
///
/// The args array decodes into the function's parameters (missing trailing
/// arguments are nil, extra ones are ignored); an argument that does not
/// decode is a 400 error result. `Ok(v)` is encoded with named fields;
/// `Err(e)` becomes the error result `{code, message}`.
#[macro_export]
macro_rules! export {
    ($($name:ident => $function:path),+ $(,)?) => {
        $(
            #[allow(non_snake_case)]
            #[cfg_attr(target_arch = "wasm32", unsafe(no_mangle))]
            pub extern "C" fn $name(args_ptr: i32, args_len: i32) -> i64 {
                // SAFETY: the host calls a script function with the args it
                // wrote through yao_alloc (SPEC §3).
                unsafe { $crate::export::dispatch($function, args_ptr, args_len) }
            }
        )+
    };
}
