//! Stand-ins for the host when a script's Rust code runs outside wasm (unit
//! tests with `cargo test` on the build machine). Not compiled for wasm.

use crate::log::Level;
use crate::Error;
use std::cell::RefCell;

type Handler = Box<dyn FnMut(&str, &[u8]) -> Result<Vec<u8>, Error>>;

thread_local! {
    static PROCESS: RefCell<Option<Handler>> = RefCell::new(None);
    static LOGS: RefCell<Vec<(Level, String)>> = const { RefCell::new(Vec::new()) };
    static CONTEXT: RefCell<Option<crate::Context>> = const { RefCell::new(None) };
}

/// The context [`crate::context`] answers on this thread (None: the empty
/// one, as for a call without a context).
pub fn set_context(context: Option<crate::Context>) {
    CONTEXT.with(|c| *c.borrow_mut() = context);
}

pub(crate) fn context_bytes() -> Vec<u8> {
    let context = CONTEXT.with(|c| c.borrow().clone()).unwrap_or_default();
    rmp_serde::to_vec_named(&context).expect("a Context always encodes")
}

/// Serves `process` calls on this thread: gets the name and the encoded args
/// array, answers with an encoded result or an error.
pub fn set_process_handler(handler: impl FnMut(&str, &[u8]) -> Result<Vec<u8>, Error> + 'static) {
    PROCESS.with(|p| *p.borrow_mut() = Some(Box::new(handler)));
}

/// Takes the log records this thread emitted so far.
pub fn take_logs() -> Vec<(Level, String)> {
    LOGS.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

pub(crate) fn serve_process(name: &str, args: &[u8]) -> Result<Vec<u8>, Error> {
    PROCESS.with(|p| match p.borrow_mut().as_mut() {
        Some(handler) => handler(name, args),
        None => Err(Error::internal(format!("{name}: no process handler outside wasm (yao_guest::testing)"))),
    })
}

pub(crate) fn record_log(level: Level, message: &str) {
    LOGS.with(|l| l.borrow_mut().push((level, message.to_owned())));
}
