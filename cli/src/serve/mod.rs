//! `yaowasm serve <app>`: the app over HTTP.
//!
//! axum on hyper on tokio; every wasm call runs on tokio's blocking pool so
//! a long script never stalls the reactor. Routes:
//! - `GET /health`
//! - `GET /stats`: the runtime's call counters (`Runtime::stats`) as JSON
//! - `GET /metrics`: the same in Prometheus' text format (metrics.rs)
//! - `POST /api/process/<name>`: body = JSON args array, answer = JSON result;
//!   off unless `--process-api`
//! - the app's `apis/*.http.yao` routes under `/api/<group><path>`, behind
//!   their guards (guard.rs)
//!
//! The port opens before the scripts load: until they are, `/health` is a 503
//! (`"status": "starting"`) and so is every app route, so a balancer sends a
//! starting node no traffic; stdout's first line (`listening on …`) comes once
//! they are loaded. From SIGTERM on, `/health` is a 503 `"stopping"`.
//!
//! Every request passes access.rs first (Host, Origin, JSON bodies); the
//! process API, `/stats` and `/metrics` need the token when one is set and
//! answer loopback clients only when none is.
//!
//! Errors are `{"code", "message"}` JSON with the HTTP status set from the
//! code. Scripts and routes reload when their files change (watch.rs);
//! SIGTERM or Ctrl-C stops accepting, finishes requests in flight, exits 0.

mod access;
mod guard;
mod metrics;
mod routes;
mod watch;

use crate::app::{self, App, CacheUse, RuntimeOpts};
use crate::exit::Failure;
use crate::logs::{self, LogFormat};
use access::Access;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path as UrlPath, Request as HttpRequest, State as Shared};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use clap::Args;
use routes::{GuardPolicy, Request, RouteTable};
use std::future::IntoFuture;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, RwLock};
use yaowasm::{value, CallContext, Error, ExecOptions, LogLevel, Runtime};

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  yaowasm serve examples/app\n  \
yaowasm serve examples/app --process-api\n  \
curl -s localhost:5099/api/process/scripts.user.Check -H 'Content-Type: application/json' -d '[{\"name\":\"Ada\"}]'\n  \
yaowasm serve my-app --listen 0.0.0.0:8080 --allow-host api.example.com --config '{\"timeout_ms\": 5000}'\n    \
(every network this machine is on can then call the app's apis/*.http.yao routes and /health; \
the process API stays off, /stats and /metrics answer loopback only)\n  \
YAOWASM_PROCESS_API_TOKEN=$(cat token) yaowasm serve my-app --listen 0.0.0.0:8080 --process-api\n    \
(any process, for clients sending `Authorization: Bearer <token>`; the token also opens /stats and /metrics)\n\n\
Every request must name this server in Host (localhost, an IP address, or an --allow-host name: 421 otherwise), \
come from no web page or this server's own origin (403), and send its body as Content-Type: application/json (415).\n\
The first line on stdout is `listening on http://<addr>` (useful with --listen 127.0.0.1:0).")]
pub struct ServeArgs {
    /// The app folder (with scripts/ and optionally apis/)
    pub app: PathBuf,
    /// Address to listen on (port 0 picks a free port). The default answers
    /// this machine only; 0.0.0.0 (or ::) exposes the app's routes and
    /// /health to every network this machine is on
    #[arg(long, default_value = "127.0.0.1:5099")]
    pub listen: SocketAddr,
    /// Turn on POST /api/process/<name>, which runs any script function. With
    /// a token (--process-api-token-file or YAOWASM_PROCESS_API_TOKEN) callers
    /// must send `Authorization: Bearer <token>`; without one it is allowed
    /// only when --listen is a loopback address
    #[arg(long)]
    pub process_api: bool,
    /// A file whose content (trimmed, at least 16 characters) is the bearer
    /// token of the process API, /stats and /metrics; wins over
    /// YAOWASM_PROCESS_API_TOKEN
    #[arg(long, value_name = "PATH")]
    pub process_api_token_file: Option<PathBuf>,
    /// Also answer requests whose Host is this name (`name` for any port,
    /// `name:port` for one); localhost and IP addresses are always answered.
    /// Repeatable
    #[arg(long, value_name = "HOST")]
    pub allow_host: Vec<String>,
    /// Largest request body, in bytes
    #[arg(long, default_value_t = 4 << 20)]
    pub max_body: usize,
    /// Threads that run wasm calls at most (tokio's blocking pool)
    #[arg(long, default_value_t = 64)]
    pub blocking_threads: usize,
    /// Serve routes whose guard yaowasm serve cannot enforce (a guard name it
    /// does not know, or a JWT guard without YAO_JWT_SECRET) without that
    /// guard (only behind your own authentication); the guards it knows are
    /// still applied
    #[arg(long)]
    pub ignore_guards: bool,
    /// Do not reload scripts and routes when their files change
    #[arg(long)]
    pub no_watch: bool,
    /// How stderr's log lines look: text (`yaowasm [info] scripts.a.F:
    /// message`) or json (one object per line: time, level, script, message)
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub runtime: RuntimeOpts,
}

/// What every request handler shares.
pub struct State {
    runtime: Runtime,
    routes: RwLock<Arc<RouteTable>>,
    max_body: usize,
    access: Access,
    /// The key of the JWT guards (`YAO_JWT_SECRET`), if set.
    jwt: Option<guard::JwtKey>,
    /// STARTING, READY or STOPPING: what `/health` says.
    phase: AtomicU8,
}

const STARTING: u8 = 0;
const READY: u8 = 1;
const STOPPING: u8 = 2;

impl State {
    fn routes(&self) -> Arc<RouteTable> {
        self.routes.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Swaps in reloaded routes. A process once behind a guard stays refused
    /// on /api/process until restart: a route file caught broken or
    /// half-written must not open it.
    fn set_routes(&self, mut table: RouteTable) {
        let mut slot = self.routes.write().unwrap_or_else(|p| p.into_inner());
        for (process, route) in &slot.guarded {
            table.guarded.entry(process.clone()).or_insert_with(|| route.clone());
        }
        *slot = Arc::new(table);
    }
}

pub fn run(args: ServeArgs) -> Result<(), Failure> {
    let access = Access::new(
        args.process_api,
        args.process_api_token_file.as_deref(),
        std::env::var(access::TOKEN_ENV).ok(),
        &args.allow_host,
        args.listen,
    )?;
    let app = App::open(&args.app)?;
    let runtime = app::runtime(&app::config_json(&args.runtime, CacheUse::IfPresent)?)?;
    logs::init(args.log_format, &runtime);
    let asked_fallback = runtime.config().memory_reset == yaowasm::MemoryReset::Fallback;
    if runtime.stats().memory_reset == "fallback" && !asked_fallback {
        warn("this kernel has no PAGEMAP_SCAN (Linux 6.7+): memory is reset between calls by the fallback, under which Go and TS calls take ~3-5x longer (docs/DEPLOY.md)".into());
    }
    let fallback = app::Fallback::for_app(&app);
    fallback.install(&runtime);
    if let Some(pack) = fallback.describe() {
        say(pack);
    }
    let jwt = guard::JwtKey::from_env();
    let policy = GuardPolicy { ignore_unknown: args.ignore_guards, jwt: jwt.is_some() };
    let state = Arc::new(State {
        runtime,
        routes: RwLock::new(Arc::new(RouteTable::default())),
        max_body: args.max_body,
        access,
        jwt,
        phase: AtomicU8::new(STARTING),
    });
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(args.blocking_threads.max(1))
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))?;
    tokio.block_on(serve(state, app, args.listen, policy, !args.no_watch))
}

/// One of serve's own lines on stderr: `yaowasm serve: …`, or JSON.
pub(crate) fn say(message: String) {
    logs::note(LogLevel::Info, &format!("yaowasm serve: {message}"), &message);
}

/// A warning of serve's own: `yaowasm serve: warning: …`, or JSON.
pub(crate) fn warn(message: String) {
    logs::note(LogLevel::Warn, &format!("yaowasm serve: warning: {message}"), &message);
}

fn load_routes(app: &App, policy: GuardPolicy) -> RouteTable {
    let table = RouteTable::load(&app.apis, policy);
    for problem in &table.problems {
        warn(problem.to_string());
    }
    table
}

/// Opens the port, loads the app (answering 503 meanwhile), then serves
/// until SIGTERM or Ctrl-C.
async fn serve(state: Arc<State>, app: App, addr: SocketAddr, policy: GuardPolicy, watch: bool) -> Result<(), Failure> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| Error::bad_request(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr().map_err(|e| Error::internal(e.to_string()))?;
    let router = Router::new()
        .route("/health", get(health))
        .route("/stats", get(stats))
        .route("/metrics", get(prometheus))
        .route("/api/process/{name}", post(process))
        .fallback(api_route)
        .layer(middleware::from_fn_with_state(state.clone(), check_access))
        .with_state(state.clone());
    let server = tokio::spawn(
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown_signal(state.clone()))
            .into_future(),
    );

    let (runtime, scripts) = (state.runtime.clone(), App { root: app.root.clone(), scripts: app.scripts.clone(), apis: app.apis.clone() });
    let report = tokio::task::spawn_blocking(move || app::load(&runtime, &scripts))
        .await
        .map_err(|e| Error::internal(format!("loading the scripts did not finish: {e}")))??;
    // The runtime-only build cannot compile: a module missing from the cache
    // is a deployment error, not a script to skip (its message, printed
    // above, names the file and the `yaowasm compile` to run).
    let missing = report.problems.iter().filter(|p| p.kind == Some(yaowasm::ErrorKind::NotPrecompiled)).count();
    if missing > 0 {
        return Err(Failure::plain(Error::bad_request(format!(
            "{missing} module(s) of {} not precompiled (listed above): not serving",
            app.root.display()
        ))));
    }
    let table = load_routes(&app, policy);
    say(format!("{} script(s), {} route(s) from {}", report.loaded, table.routes.len(), app.root.display()));
    say(format!(
        "process API {}; /stats and /metrics {}",
        match (state.access.process_api, state.access.has_token()) {
            (false, _) => "off (--process-api turns it on)",
            (true, true) => "on, for bearer-token holders",
            (true, false) => "on, for loopback clients (no token)",
        },
        if state.access.has_token() { "need the token" } else { "answer loopback clients only" }
    ));
    for route in table.routes.iter() {
        let guards: Vec<&str> = route.guards.iter().map(routes::Guard::name).collect();
        let guards = if guards.is_empty() { String::new() } else { format!(" (guard {})", guards.join(",")) };
        say(format!("{} {} -> {}{guards}", route.method, route.pattern, route.process));
    }
    state.set_routes(table);
    let _watcher = if watch {
        Some(
            watch::start(&app, state.clone(), policy)
                .map_err(|e| Error::internal(format!("cannot watch {} for changes: {e} (use --no-watch)", app.root.display())))?,
        )
    } else {
        None
    };
    let _ = state.phase.compare_exchange(STARTING, READY, Ordering::SeqCst, Ordering::SeqCst);
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{local}");
        let _ = out.flush();
    }
    server.await.map_err(|e| Error::internal(format!("server: {e}")))?.map_err(|e| Error::internal(format!("server: {e}")))?;
    say("stopped".into());
    Ok(())
}

async fn shutdown_signal(state: Arc<State>) {
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
    state.phase.store(STOPPING, Ordering::SeqCst);
    say("shutting down, finishing requests in flight".into());
}

/// `GET /health`: 200 `"ok"` once the scripts are loaded; 503 `"starting"`
/// before, `"stopping"` from SIGTERM on.
async fn health(Shared(state): Shared<Arc<State>>) -> Response {
    let (status, word) = match state.phase.load(Ordering::SeqCst) {
        READY => (StatusCode::OK, "ok"),
        STARTING => (StatusCode::SERVICE_UNAVAILABLE, "starting"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "stopping"),
    };
    let body = serde_json::json!({
        "status": word,
        "version": yaowasm::VERSION,
        "scripts": state.runtime.list().len(),
        "routes": state.routes().routes.len(),
    });
    json_response(status, body.to_string())
}

/// Host, Origin and body type, before any handler (access.rs).
async fn check_access(Shared(state): Shared<Arc<State>>, request: HttpRequest, next: Next) -> Response {
    let authority = request.uri().authority().map(|a| a.as_str().to_string());
    if let Err(e) = state.access.check_request(request.method(), authority.as_deref(), request.headers()) {
        return error_response(&e);
    }
    if state.phase.load(Ordering::SeqCst) == STARTING && !matches!(request.uri().path(), "/health" | "/stats" | "/metrics") {
        let mut response = error_response(&Error::new(503, "starting: the app's scripts are still loading"));
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    }
    next.run(request).await
}

/// `GET /stats`: the one runtime's counters, as `yaowasm::RuntimeStats`
/// serializes them.
async fn stats(Shared(state): Shared<Arc<State>>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap) -> Response {
    if let Err(e) = state.access.check_ops(peer, &headers, "/stats") {
        return error_response(&e);
    }
    match serde_json::to_string(&state.runtime.stats()) {
        Ok(json) => json_response(StatusCode::OK, json),
        Err(e) => error_response(&Error::internal(format!("stats: {e}"))),
    }
}

/// `GET /metrics`: the counters of `/stats` for a Prometheus scraper.
async fn prometheus(Shared(state): Shared<Arc<State>>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap) -> Response {
    if let Err(e) = state.access.check_ops(peer, &headers, "/metrics") {
        return error_response(&e);
    }
    let text = metrics::render(&state.runtime.stats());
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static(metrics::CONTENT_TYPE))], text).into_response()
}

/// `POST /api/process/<name>` with a JSON args array (an empty body is `[]`):
/// only with `--process-api`, and never a process a guarded route declares.
async fn process(
    Shared(state): Shared<Arc<State>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    UrlPath(name): UrlPath<String>,
    body: Body,
) -> Response {
    if let Err(e) = state.access.check_process_api(peer, &headers) {
        return error_response(&e);
    }
    if let Some(route) = state.routes().guarded.get(&routes::process_key(&name)) {
        return error_response(&Error::new(
            403,
            format!("{name} is behind a guard ({route} in apis/), so the process API does not run it"),
        ));
    }
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
    match exec(&state, name, args, None).await {
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
            "no route {method} {path}: the app's apis/*.http.yao declare the routes (and POST /api/process/<name> runs a process when serve has --process-api)"
        )));
    };
    let body = match read_body(body, state.max_body).await {
        Ok(b) => b,
        Err(e) => return error_response(&e),
    };
    let headers: Vec<(String, String)> =
        headers.iter().map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
    let query = uri.query().unwrap_or("");
    // The guards first: nothing of the request is looked at for an unauthorized caller.
    let context = if route.guards.is_empty() {
        None
    } else {
        let guarded = guard::GuardRequest { query, headers: &headers, body: &body, params: &params };
        let run = |name: String, args: serde_json::Value, context: CallContext| {
            let state = state.clone();
            async move {
                let args = value::json_to_msgpack(&args).map_err(Error::bad_request)?;
                let answer = exec(&state, name, args, Some(context)).await?;
                serde_json::from_str(&answer).map_err(|e| Error::internal(format!("guard result: {e}")))
            }
        };
        match guard::apply(route, state.jwt.as_ref(), &guarded, run).await {
            Ok(context) => Some(context),
            Err(e) => return error_response(&e),
        }
    };
    let request = Request { path, query, headers: &headers, body: &body };
    let args = match route.args(&request, &params).and_then(|a| value::json_to_msgpack(&a)) {
        Ok(a) => a,
        Err(why) => return error_response(&Error::bad_request(why)),
    };
    let result = match exec(&state, route.process.clone(), args, context).await {
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

/// Runs a process on the blocking pool, with the call context its guards
/// established; the answer is JSON text.
async fn exec(state: &Arc<State>, process: String, args: Vec<u8>, context: Option<CallContext>) -> Result<String, Error> {
    let runtime = state.runtime.clone();
    let options = ExecOptions { context: context.map(Arc::new), ..Default::default() };
    let result = tokio::task::spawn_blocking(move || runtime.exec_with(&process, &args, &options))
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
    let mut response = json_response(status, body.to_string());
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}
