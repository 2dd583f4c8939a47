//! WASI preview 1 for guests that import it, sandboxed per SPEC §3: no
//! environment, no preopened directory unless configured, stdout and stderr
//! sent line by line to the log handler.

use crate::config::WasiConfig;
use crate::error::{Error, Result};
use crate::log::{LogLevel, LogSink};
use crate::sync::MutexAny;
use bytes::Bytes;
use std::sync::{Arc, Mutex};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{FsPerms, HostMonotonicClock, WasiCtxBuilder};

/// Lines longer than this are cut and sent in pieces, so a guest printing
/// without newlines cannot grow the buffer without bound.
const MAX_LINE: usize = 16 << 10;

pub(crate) fn context(config: &WasiConfig, log: &Arc<dyn LogSink>) -> Result<WasiP1Ctx> {
    let mut builder = WasiCtxBuilder::new();
    builder
        .stdout(LogLines::new(log.clone(), LogLevel::Info))
        .stderr(LogLines::new(log.clone(), LogLevel::Error))
        .allow_blocking_current_thread(true)
        .monotonic_clock(ProcessClock);
    for (guest, host) in &config.preopen {
        let perms = if config.read_only.contains(guest) { FsPerms::ReadOnly } else { FsPerms::ReadWrite };
        builder
            .preopened_dir(host, guest, perms)
            .map_err(|e| Error::internal(format!("wasi preopen {guest} -> {}: {e}", host.display())))?;
    }
    Ok(builder.build_p1())
}

/// One monotonic clock for every instance the process makes. wasmtime's
/// default starts at 0 in each new WASI context, so a pre-initialized image
/// (preinit.rs), whose runtime read the clock at load, would see it run
/// backwards in every call; this one never does.
struct ProcessClock;

static PROCESS_CLOCK_ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

impl HostMonotonicClock for ProcessClock {
    fn resolution(&self) -> u64 {
        wasmtime_wasi::clocks::MonotonicClock::default().resolution()
    }

    fn now(&self) -> u64 {
        let origin = PROCESS_CLOCK_ORIGIN.get_or_init(std::time::Instant::now);
        u64::try_from(origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// A guest output stream that turns bytes into log records, one per line.
#[derive(Clone)]
struct LogLines {
    sink: Arc<dyn LogSink>,
    level: LogLevel,
    pending: Arc<Mutex<Vec<u8>>>,
}

impl LogLines {
    fn new(sink: Arc<dyn LogSink>, level: LogLevel) -> LogLines {
        LogLines { sink, level, pending: Arc::default() }
    }

    fn push(&self, bytes: &[u8]) {
        let mut pending = self.pending.lock_any();
        pending.extend_from_slice(bytes);
        while let Some(end) = pending.iter().position(|b| *b == b'\n').or((pending.len() >= MAX_LINE).then_some(MAX_LINE)) {
            let cut = end.min(pending.len());
            let line: Vec<u8> = pending.drain(..cut).collect();
            if pending.first() == Some(&b'\n') {
                pending.remove(0);
            }
            self.emit(&line);
        }
    }

    fn emit(&self, line: &[u8]) {
        let line = String::from_utf8_lossy(line);
        self.sink.log(self.level, line.trim_end_matches('\r'));
    }
}

impl Drop for LogLines {
    fn drop(&mut self) {
        // The last clone (the call is over) sends what never got a newline.
        if Arc::strong_count(&self.pending) == 1 {
            let rest = std::mem::take(&mut *self.pending.lock_any());
            if !rest.is_empty() {
                self.emit(&rest);
            }
        }
    }
}

impl IsTerminal for LogLines {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogLines {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for LogLines {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(MAX_LINE)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogLines {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for LogLines {
    fn poll_write(self: std::pin::Pin<&mut Self>, _cx: &mut std::task::Context<'_>, buf: &[u8]) -> std::task::Poll<std::io::Result<usize>> {
        self.push(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: std::pin::Pin<&mut Self>, _cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: std::pin::Pin<&mut Self>, _cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
