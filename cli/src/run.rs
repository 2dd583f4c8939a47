//! `yaowasm run <app> <process> [args...]`: one process, its result on stdout.

use crate::app::{self, App, CacheUse, RuntimeOpts};
use crate::exit::Failure;
use crate::lazy::Lazy;
use clap::Args;
use std::io::{Read, Write};
use std::path::PathBuf;
use yaowasm::{value, Error};

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
yaowasm run examples/app scripts.rust.user.Check '{\"name\":\"Ada\",\"email\":\"ada@example.com\"}'\n  \
echo '[1, 2]' | yaowasm run my-app scripts.math.Add -\n\n\
On failure stdout is empty and stderr holds one JSON line {\"code\":..,\"message\":..}.")]
pub struct RunArgs {
    /// The app folder (with scripts/)
    pub app: PathBuf,
    /// The process, e.g. scripts.user.Check
    pub process: String,
    /// The arguments, one JSON value each (quote strings: '"Ada"'); a single
    /// `-` reads the whole args array as JSON from stdin
    #[arg(allow_negative_numbers = true)]
    pub args: Vec<String>,
    /// Print the result as raw MessagePack instead of JSON
    #[arg(long)]
    pub msgpack: bool,
    #[command(flatten)]
    pub runtime: RuntimeOpts,
}

pub fn run(args: RunArgs) -> Result<(), Failure> {
    execute(&args).map_err(Failure::json)
}

fn execute(args: &RunArgs) -> Result<(), Error> {
    let app = App::open(&args.app)?;
    let call_args = encode_args(&args.args)?;
    let runtime = app::runtime(&app::config_json(&args.runtime, CacheUse::IfPresent)?)?;
    // Only the scripts this run calls are compiled (lazy.rs).
    let lazy = Lazy::attach(&runtime, &app, &args.process, app::Fallback::for_app(&app))?;
    let result = runtime.exec(&args.process, &call_args);
    lazy.detach();
    let result = result?;
    let mut out = std::io::stdout().lock();
    let written = if args.msgpack {
        out.write_all(&result)
    } else {
        let json = value::msgpack_to_json_text(&result).map_err(|e| Error::internal(format!("result: {e}")))?;
        writeln!(out, "{json}")
    };
    written.and_then(|()| out.flush()).map_err(|e| Error::internal(format!("cannot write the result: {e}")))
}

/// The command-line args as one MessagePack array.
fn encode_args(args: &[String]) -> Result<Vec<u8>, Error> {
    let array = if args.len() == 1 && args[0] == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| Error::bad_request(format!("cannot read args from stdin: {e}")))?;
        let array: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::bad_request(format!("stdin is not JSON: {e}")))?;
        if !array.is_array() {
            return Err(Error::bad_request("stdin must hold a JSON array of args, e.g. [\"Ada\", 1]"));
        }
        array
    } else {
        let mut values = Vec::with_capacity(args.len());
        for (i, arg) in args.iter().enumerate() {
            let v: serde_json::Value = serde_json::from_str(arg)
                .map_err(|e| Error::bad_request(format!("argument {} is not JSON ({e}): {arg:?}; quote a string as '\"{arg}\"'", i + 1)))?;
            values.push(v);
        }
        serde_json::Value::Array(values)
    };
    value::json_to_msgpack(&array).map_err(Error::bad_request)
}
