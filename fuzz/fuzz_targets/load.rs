//! Loading arbitrary bytes as a script (`Runtime::load_file`), then calling
//! every function of whatever loads. Input that starts with `(module` is
//! WAT text (so text seeds and their mutations reach deep into loading and
//! calling); anything else is taken as module bytes as they are.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use yaowasm::{value, Runtime};

fn runtime() -> &'static (Runtime, PathBuf) {
    static RT: OnceLock<(Runtime, PathBuf)> = OnceLock::new();
    RT.get_or_init(|| {
        let rt = Runtime::from_json(Some(r#"{"timeout_ms": 50, "max_memory_mb": 16, "max_depth": 4}"#)).unwrap();
        rt.set_log_handler(Some(Arc::new(|_, _: &str| {})));
        rt.set_process_handler(Some(Arc::new(|_: &str, args: &[u8]| Ok(args.to_vec()))));
        let dir = std::env::temp_dir().join(format!("yaowasm-fuzz-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        (rt, dir)
    })
}

fuzz_target!(|data: &[u8]| {
    let bytes = if data.starts_with(b"(module") {
        match wat::parse_bytes(data) {
            Ok(bytes) => bytes.into_owned(),
            Err(_) => return,
        }
    } else {
        data.to_vec()
    };
    let (rt, dir) = runtime();
    let path = dir.join("f.wasm");
    std::fs::write(&path, &bytes).unwrap();
    match rt.load_file(&path, Some("f")) {
        Ok(()) => {
            let functions = rt.list().into_iter().find(|s| s.id == "f").expect("loaded script is listed").functions;
            for function in functions.iter().take(8) {
                match rt.exec(&format!("scripts.f.{function}"), &[0x91, 0x01]) {
                    Ok(result) => {
                        value::validate(&result).expect("exec answers one valid MessagePack value");
                    }
                    Err(e) => assert!((100..=599).contains(&e.code()), "code {}", e.code()),
                }
            }
            rt.unload("f").unwrap();
        }
        Err(e) => assert!((100..=599).contains(&e.code()), "code {}", e.code()),
    }
});
