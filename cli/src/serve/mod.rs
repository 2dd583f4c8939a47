//! `yaowasm serve <app>`: the app over HTTP.
//!
//! axum on hyper on tokio; every wasm call runs on tokio's blocking pool so
//! a long script never stalls the reactor. Routes:
//! - `GET /health`
//! - `GET /stats`: the runtime's call counters (`Runtime::stats`) as JSON
//! - `GET /metrics`: the same in Prometheus' text format (metrics.rs)
//! - `POST /api/process/<name>`: body = JSON args array, answer = JSON result
//! - the app's `apis/*.http.yao` routes under `/api/<group><path>`
//!
//! Errors are `{"code", "message"}` JSON with the HTTP status set from the
//! code. Scripts and routes reload when their files change (watch.rs);
//! SIGTERM or Ctrl-C stops accepting, finishes requests in flight, exits 0.

mod metrics;
mod routes;
mod watch;

use crate::app::{self, App, CacheUse, RuntimeOpts};
use crate::exit::Failure;
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State as Shared};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use clap::Args;
use routes::{Request, RouteTable};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use yaowasm::{value, Error, Runtime};

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  yaowasm serve examples/app\n  \
yaowasm serve my-app --listen 0.0.0.0:8080 --config '{\"timeout_ms\": 5000}'\n  \
curl -s -X POST localhost:5099/api/process/scripts.user.Check -d '[{\"name\":\"Ada\"}]'\n\n\
The first line on stdout is `listening on http://<addr>` (useful with --listen 127.0.0.1:0).")]
pub struct ServeArgs {
    /// The app folder (with scripts/ and optionally apis/)
    pub app: PathBuf,
    /// Address to listen on (port 0 picks a free port)
    #[arg(long, default_value = "127.0.0.1:5099")]
    pub listen: SocketAddr,
    /// Largest request body, in bytes
    #[arg(long, default_value_t = 4 << 20)]
    pub max_body: usize,
    /// Threads that run wasm calls at most (tokio's blocking pool)
    #[arg(long, default_value_t = 64)]
    pub blocking_threads: usize,
    /// Serve routes that declare a guard, without enforcing it (only behind
    /// your own authentication)
    #[arg(long)]
    pub ignore_guards: bool,
    /// Do not reload scripts and routes when their files change
    #[arg(long)]
    pub no_watch: bool,
    #[command(flatten)]
    pub runtime: RuntimeOpts,
}

/// What every request handler shares.
pub struct State {
    runtime: Runtime,
    routes: RwLock<Arc<RouteTable>>,
    max_body: usize,
}

impl State {
    fn routes(&self) -> Arc<RouteTable> {
        self.routes.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_routes(&self, table: RouteTable) {
        *self.routes.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(table);
    }
}

pub fn run(args: ServeArgs) -> Result<(), Failure> {
    let app = App::open(&args.app)?;
    let runtime = app::runtime(&app::config_json(&args.runtime, Some(&app), CacheUse::IfPresent)?)?;
    let report = app::load(&runtime, &app)?;
    let table = load_routes(&app, args.ignore_guards);
    eprintln!(
        "yaowasm serve: {} script(s), {} route(s) from {}",
        report.loaded,
        table.routes.len(),
        app.root.display()
    );
    let state = Arc::new(State { runtime, routes: RwLock::new(Arc::new(table)), max_body: args.max_body });

    let _watcher = if args.no_watch {
        None
    } else {
        Some(watch::start(&app, state.clone(), args.ignore_guards).map_err(|e| {
            Error::internal(format!("cannot watch {} for changes: {e} (use --no-watch)", app.root.display()))
        })?)
    };

    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(args.blocking_threads.max(1))
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))?;
    tokio.block_on(serve(state, args.listen)).map_err(Failure::plain)
}

fn load_routes(app: &App, ignore_guards: bool) -> RouteTable {
    let table = RouteTable::load(&app.apis, ignore_guards);
    for problem in &table.problems {
        eprintln!("yaowasm serve: warning: {problem}");
    }
    table
}

async fn serve(state: Arc<State>, addr: SocketAddr) -> Result<(), Error> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::bad_request(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr().map_err(|e| Error::internal(e.to_string()))?;
    for route in state.routes().routes.iter() {
        eprintln!("yaowasm serve: {} {} -> {}", route.method, route.pattern, route.process);
    }
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{local}");
        let _ = out.flush();
    }
    let router = Router::new()
        .route("/health", get(health))
        .route("/stats", get(stats))
        .route("/metrics", get(prometheus))
        .route("/api/process/{name}", post(process))
        .fallback(api_route)
        .with_state(state);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| Error::internal(format!("server: {e}")))?;
    eprintln!("yaowasm serve: stopped");
    Ok(())
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    eprintln!("yaowasm serve: shutting down, finishing requests in flight");
}

async fn health(Shared(state): Shared<Arc<State>>) -> Response {
    let body = serde_json::json!({
        "status": "ok",
        "version": yaowasm::VERSION,
        "scripts": state.runtime.list().len(),
        "routes": state.routes().routes.len(),
    });
    json_response(StatusCode::OK, body.to_string())
}

/// `GET /stats`: the one runtime's counters, as `yaowasm::RuntimeStats`
/// serializes them.
async fn stats(Shared(state): Shared<Arc<State>>) -> Response {
    match serde_json::to_string(&state.runtime.stats()) {
        Ok(json) => json_response(StatusCode::OK, json),
        Err(e) => error_response(&Error::internal(format!("stats: {e}"))),
    }
}

/// `GET /metrics`: the counters of `/stats` for a Prometheus scraper.
async fn prometheus(Shared(state): Shared<Arc<State>>) -> Response {
    let text = metrics::render(&state.runtime.stats());
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static(metrics::CONTENT_TYPE))], text).into_response()
}

/// `POST /api/process/<name>` with a JSON args array (an empty body is `[]`).
async fn process(Shared(state): Shared<Arc<State>>, UrlPath(name): UrlPath<String>, body: Body) -> Response {
    let body = match read_body(body, state.max_body).await {
        Ok(b) => b,
        Err(e) => return error_response(&e),
    };
    let args = if body.iter().all(u8::is_ascii_whitespace) {
        value::EMPTY_ARRAY.to_vec()
    } else {
        match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(v @ serde_json::Value::Array(_)) => match value::json_to_msgpack(&v) {
                Ok(m) => m,
                Err(e) => return error_response(&Error::bad_request(e)),
            },
            Ok(_) => return error_response(&Error::bad_request("the body must be a JSON array of args, e.g. [{\"name\": \"Ada\"}]")),
            Err(e) => return error_response(&Error::bad_request(format!("the body is not JSON: {e}"))),
        }
    };
    match exec(&state, name, args).await {
        Ok(json) => json_response(StatusCode::OK, json),
        Err(e) => error_response(&e),
    }
}

/// Every other request: an `apis/*.http.yao` route, or a 404 / 405.
async fn api_route(Shared(state): Shared<Arc<State>>, method: Method, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    let table = state.routes();
    let path = uri.path();
    let Some((route, params)) = table.find(method.as_str(), path) else {
        if table.has_path(path) {
            return error_response(&Error::new(405, format!("{method} is not allowed on {path}")));
        }
        return error_response(&Error::not_found(format!(
            "no route {method} {path}: POST /api/process/<name> runs a process; the app's apis/*.http.yao declare the other routes"
        )));
    };
    let body = match read_body(body, state.max_body).await {
        Ok(b) => b,
        Err(e) => return error_response(&e),
    };
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let request = Request { path, query: uri.query().unwrap_or(""), headers: &headers, body: &body };
    let args = match route.args(&request, &params).and_then(|a| value::json_to_msgpack(&a)) {
        Ok(a) => a,
        Err(why) => return error_response(&Error::bad_request(why)),
    };
    let result = match exec(&state, route.process.clone(), args).await {
        Ok(json) => json,
        Err(e) => return error_response(&e),
    };
    let status = StatusCode::from_u16(route.status).unwrap_or(StatusCode::OK);
    let mut response = match route.content_type.as_deref() {
        Some(t) if !t.contains("json") => {
            // A text answer: a string result is sent as it is.
            let text = match serde_json::from_str::<serde_json::Value>(&result) {
                Ok(serde_json::Value::String(s)) => s,
                _ => result,
            };
            let mut r = (status, text).into_response();
            if let Ok(v) = HeaderValue::from_str(t) {
                r.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            r
        }
        _ => json_response(status, result),
    };
    for (k, v) in &route.headers {
        if let (Ok(k), Ok(v)) = (header::HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
            response.headers_mut().insert(k, v);
        }
    }
    response
}

/// Runs a process on the blocking pool; the answer is JSON text.
async fn exec(state: &Arc<State>, process: String, args: Vec<u8>) -> Result<String, Error> {
    let runtime = state.runtime.clone();
    let result = tokio::task::spawn_blocking(move || runtime.exec(&process, &args))
        .await
        .map_err(|e| Error::internal(format!("the call did not finish: {e}")))??;
    value::msgpack_to_json_text(&result).map_err(|e| Error::internal(format!("result: {e}")))
}

async fn read_body(body: Body, limit: usize) -> Result<Bytes, Error> {
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|e| Error::too_large(format!("cannot read the request body (at most {limit} bytes): {e}")))
}

fn json_response(status: StatusCode, json: String) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], json).into_response()
}

/// `{code, message}` with the HTTP status of the code (a code that is not
/// an HTTP error status, 400–599, is sent as 500 with the code kept in the body).
fn error_response(error: &Error) -> Response {
    let status = u16::try_from(error.code())
        .ok()
        .filter(|c| (400..=599).contains(c))
        .and_then(|c| StatusCode::from_u16(c).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({"code": error.code(), "message": error.message()});
    json_response(status, body.to_string())
}
