//! HTTP routes from an app's `apis/*.http.yao` files: a documented subset of
//! Yao's API DSL (cli/README.md, "Routes").
//!
//! ```jsonc
//! // apis/user.http.yao
//! {
//!   "name": "User", "group": "user",
//!   "paths": [
//!     { "path": "/check", "method": "POST", "process": "scripts.user.Check", "in": [":payload"] },
//!     { "path": "/:id",   "method": "GET",  "process": "scripts.user.Find",  "in": ["$param.id", "$query.fields"],
//!       "out": { "status": 200, "type": "application/json" } }
//!   ]
//! }
//! ```
//! A path is served at `/api/<group><path>`. Its guards (`"guard":
//! "bearer-jwt,scripts.auth.Guard"`) are parsed here and applied by guard.rs;
//! a path with a guard serve cannot enforce (an unknown name, or a JWT guard
//! without `YAO_JWT_SECRET`) is refused (reported) unless `--ignore-guards`
//! drops that guard. Every guarded path's process is listed in `guarded`,
//! which `/api/process` refuses.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The routes of an app and the problems met reading them.
#[derive(Default, Debug)]
pub struct RouteTable {
    pub routes: Vec<Route>,
    pub problems: Vec<String>,
    /// The processes some route declares behind a guard (by `process_key`),
    /// with that route for messages: never run through `/api/process`.
    pub guarded: BTreeMap<String, String>,
}

/// A process name as the runtime resolves it (`Scripts.A.B.Check` and
/// `scripts.a.b.Check` are one process): the key of `RouteTable::guarded`.
pub fn process_key(name: &str) -> String {
    match yaowasm::names::parse_process(name) {
        Ok(p) => format!("{}.{}.{}", yaowasm::names::GROUP, p.id, p.function),
        Err(_) => name.to_string(),
    }
}

/// How routes' guards are read.
#[derive(Debug, Clone, Copy, Default)]
pub struct GuardPolicy {
    /// `--ignore-guards`: drop (and report) a guard serve cannot enforce
    /// instead of refusing its route.
    pub ignore_unknown: bool,
    /// Whether `YAO_JWT_SECRET` is set (JWT guards are enforceable).
    pub jwt: bool,
}

/// One guard of a route, applied in order before its process (guard.rs).
#[derive(Debug, Clone, PartialEq)]
pub enum Guard {
    /// `bearer-jwt`: `Authorization: Bearer <jwt>`.
    BearerJwt,
    /// `cookie-jwt`: the `__tk` cookie.
    CookieJwt,
    /// `query-jwt`: the `__tk` query parameter.
    QueryJwt,
    /// A `scripts.*` process.
    Process(String),
}

impl Guard {
    pub fn name(&self) -> &str {
        match self {
            Guard::BearerJwt => "bearer-jwt",
            Guard::CookieJwt => "cookie-jwt",
            Guard::QueryJwt => "query-jwt",
            Guard::Process(name) => name,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Route {
    pub method: String,
    /// The full path as served, `/api/user/:id`.
    pub pattern: String,
    segments: Vec<Segment>,
    pub process: String,
    inputs: Vec<Input>,
    pub status: u16,
    pub content_type: Option<String>,
    pub headers: Vec<(String, String)>,
    /// The guards to pass first, in order (none for a public route).
    pub guards: Vec<Guard>,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// One entry of `in`.
#[derive(Debug, Clone, PartialEq)]
enum Input {
    /// `:payload`: the body as JSON (null when empty).
    Payload,
    /// `:body`: the body as text.
    Body,
    /// `:query`: every query parameter, name → array of values (Go's url.Values).
    Query,
    /// `:params`: every path parameter, name → value.
    Params,
    /// `:headers`: every header, name → array of values.
    Headers,
    /// `:fullpath`: the request path.
    FullPath,
    /// `$query.name`: the first value of one query parameter, or null.
    QueryField(String),
    /// `$param.name`: one path parameter.
    ParamField(String),
    /// `$payload.a.b`: a field of the JSON body, or null.
    PayloadField(Vec<String>),
    /// `$header.Name`: one header (case-insensitive), or null.
    HeaderField(String),
    /// Any other value: passed as it is.
    Constant(Value),
}

/// What a request brings, for building a route's args.
pub struct Request<'a> {
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl RouteTable {
    /// Reads every `*.http.yao` / `*.http.json` / `*.http.jsonc` under `dir`
    /// (a missing folder is no routes).
    pub fn load(dir: &Path, policy: GuardPolicy) -> RouteTable {
        let mut table = RouteTable::default();
        let mut files = Vec::new();
        walk(dir, &mut files);
        files.sort();
        for file in files {
            let rel = file.strip_prefix(dir).unwrap_or(&file).to_string_lossy().replace('\\', "/");
            let default_group = ["http.yao", "http.jsonc", "http.json"]
                .iter()
                .find_map(|ext| rel.strip_suffix(&format!(".{ext}")))
                .unwrap_or(&rel)
                .to_string();
            match std::fs::read_to_string(&file) {
                Err(e) => table.problems.push(format!("{}: cannot read: {e}", file.display())),
                Ok(text) => table.add_file(&file, &text, &default_group, policy),
            }
        }
        table
    }

    fn add_file(&mut self, file: &Path, text: &str, default_group: &str, policy: GuardPolicy) {
        let where_ = file.display();
        let doc: Value = match serde_json::from_str(&strip_comments(text)) {
            Ok(doc) => doc,
            Err(e) => return self.problems.push(format!("{where_}: not JSON: {e}")),
        };
        let group = match doc.get("group") {
            None => default_group.to_string(),
            Some(Value::String(g)) => g.trim_matches('/').to_string(),
            Some(_) => return self.problems.push(format!("{where_}: \"group\" must be a string")),
        };
        let file_guard = doc.get("guard").and_then(Value::as_str).unwrap_or("");
        let Some(paths) = doc.get("paths").and_then(Value::as_array) else {
            return self.problems.push(format!("{where_}: no \"paths\" array"));
        };
        for (i, entry) in paths.iter().enumerate() {
            let guard = entry.get("guard").and_then(Value::as_str).unwrap_or(file_guard);
            if let (true, Some(process)) = (is_guard(guard), entry.get("process").and_then(Value::as_str)) {
                let method = entry.get("method").and_then(Value::as_str).unwrap_or("?").to_ascii_uppercase();
                let path = entry.get("path").and_then(Value::as_str).unwrap_or("");
                self.guarded
                    .entry(process_key(process))
                    .or_insert_with(|| format!("{method} {} has guard {guard:?}", full_path(&group, path)));
            }
            match parse_path(entry, &group, file_guard, policy) {
                Err(why) => self.problems.push(format!("{where_}: paths[{i}]: {why}")),
                Ok((route, dropped)) => {
                    for why in dropped {
                        self.problems.push(format!(
                            "{where_}: paths[{i}]: {} {} is served WITHOUT its guard {why} (--ignore-guards)",
                            route.method, route.pattern
                        ));
                    }
                    if let Some(other) = self.routes.iter().find(|r| r.method == route.method && r.segments == route.segments) {
                        self.problems.push(format!(
                            "{where_}: paths[{i}]: {} {} is already served (process {})",
                            route.method, route.pattern, other.process
                        ));
                    } else {
                        self.routes.push(route);
                    }
                }
            }
        }
    }

    /// The route for a request, with its path parameters.
    pub fn find(&self, method: &str, path: &str) -> Option<(&Route, BTreeMap<String, String>)> {
        let parts: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
        self.routes.iter().filter(|r| r.method == method).find_map(|r| r.matches(&parts).map(|params| (r, params)))
    }

    /// Whether any route has this path, whatever its method (for a 405).
    pub fn has_path(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
        self.routes.iter().any(|r| r.matches(&parts).is_some())
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if path.is_dir() {
            walk(&path, out);
        } else if name.ends_with(".http.yao") || name.ends_with(".http.json") || name.ends_with(".http.jsonc") {
            out.push(path);
        }
    }
}

/// A route, and the guards `--ignore-guards` dropped (each with why).
fn parse_path(entry: &Value, group: &str, file_guard: &str, policy: GuardPolicy) -> Result<(Route, Vec<String>), String> {
    let field = |name: &str| entry.get(name).and_then(Value::as_str);
    let path = field("path").ok_or("no \"path\" string")?;
    let method = field("method").ok_or("no \"method\" string")?.to_ascii_uppercase();
    if !["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"].contains(&method.as_str()) {
        return Err(format!("method {method:?} is not an HTTP method"));
    }
    let process = field("process").ok_or("no \"process\" string")?.to_string();
    let guard = field("guard").unwrap_or(file_guard);
    let pattern = full_path(group, path);
    let mut guards = Vec::new();
    let mut dropped = Vec::new();
    for name in guard.split(',').map(str::trim).filter(|n| is_guard(n)) {
        match parse_guard(name, policy.jwt) {
            Ok(g) => guards.push(g),
            Err(why) if policy.ignore_unknown => dropped.push(format!("{name:?} ({why})")),
            Err(why) => {
                return Err(format!(
                    "route {method} {pattern} (process {process}) has guard {name:?}, which yaowasm serve cannot enforce: \
                     {why}; not served, and its process is refused on /api/process (use \"guard\": \"-\" for a public \
                     route, or --ignore-guards behind your own auth)"
                ))
            }
        }
    }
    let segments = pattern
        .split('/')
        .skip(1)
        .map(|s| match s.strip_prefix(':') {
            Some(name) if !name.is_empty() => Segment::Param(name.to_string()),
            _ => Segment::Literal(s.to_string()),
        })
        .collect();
    let inputs = match entry.get("in") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(parse_input).collect::<Result<_, _>>()?,
        Some(_) => return Err("\"in\" must be an array".into()),
    };
    let out = entry.get("out").cloned().unwrap_or(Value::Null);
    let status = match out.get("status") {
        None => 200,
        Some(s) => s.as_u64().filter(|s| (200..=599).contains(s)).ok_or("out.status must be an HTTP status 200..599")? as u16,
    };
    let content_type = out.get("type").and_then(Value::as_str).map(str::to_string);
    let headers = match out.get("headers") {
        Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect(),
        _ => Vec::new(),
    };
    Ok((Route { method, pattern, segments, process, inputs, status, content_type, headers, guards }, dropped))
}

/// One guard name: a JWT guard (enforceable with a secret) or a `scripts.*`
/// process; anything else (Yao's widget-*, cookie-trace, cross-origin, a
/// process of the Yao engine) is not enforceable here.
fn parse_guard(name: &str, jwt: bool) -> Result<Guard, String> {
    let guard = match name {
        "bearer-jwt" => Guard::BearerJwt,
        "cookie-jwt" => Guard::CookieJwt,
        "query-jwt" => Guard::QueryJwt,
        _ => {
            return match yaowasm::names::parse_process(name) {
                Ok(_) => Ok(Guard::Process(name.to_string())),
                Err(_) => Err("not a guard yaowasm serve knows (bearer-jwt, cookie-jwt, query-jwt, or a scripts.* process)".into()),
            }
        }
    };
    if !jwt {
        return Err(format!("{} is not set", super::guard::SECRET_ENV));
    }
    Ok(guard)
}

/// Whether a `guard` value asks for one (`""` and `"-"` are public).
fn is_guard(guard: &str) -> bool {
    !guard.is_empty() && guard != "-"
}

/// The path a route is served at: `/api/<group><path>`, no trailing `/`.
fn full_path(group: &str, path: &str) -> String {
    let full = if group.is_empty() { format!("/api{path}") } else { format!("/api/{group}{path}") };
    full.trim_end_matches('/').to_string()
}

fn parse_input(item: &Value) -> Result<Input, String> {
    let Some(text) = item.as_str() else { return Ok(Input::Constant(item.clone())) };
    Ok(match text {
        ":payload" => Input::Payload,
        ":body" => Input::Body,
        ":query" => Input::Query,
        ":params" => Input::Params,
        ":headers" => Input::Headers,
        ":fullpath" => Input::FullPath,
        _ => {
            if let Some(name) = text.strip_prefix("$query.") {
                Input::QueryField(name.to_string())
            } else if let Some(name) = text.strip_prefix("$param.") {
                Input::ParamField(name.to_string())
            } else if let Some(path) = text.strip_prefix("$payload.") {
                Input::PayloadField(path.split('.').map(str::to_string).collect())
            } else if let Some(name) = text.strip_prefix("$header.") {
                Input::HeaderField(name.to_string())
            } else if text.starts_with(':') || (text.starts_with('$') && text.contains('.')) {
                return Err(format!("input {text:?} is not supported by yaowasm serve (see cli/README.md)"));
            } else {
                Input::Constant(item.clone())
            }
        }
    })
}

impl Route {
    fn matches(&self, parts: &[&str]) -> Option<BTreeMap<String, String>> {
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut params = BTreeMap::new();
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment {
                Segment::Literal(l) if l == part => {}
                Segment::Literal(_) => return None,
                Segment::Param(_) if part.is_empty() => return None,
                Segment::Param(name) => {
                    params.insert(name.clone(), percent_decode(part));
                }
            }
        }
        Some(params)
    }

    /// The process args for a request. A body that `in` reads as JSON and
    /// is not JSON is a 400 (the error text).
    pub fn args(&self, req: &Request<'_>, params: &BTreeMap<String, String>) -> Result<Value, String> {
        let mut payload: Option<Value> = None;
        let mut payload = || -> Result<Value, String> {
            if let Some(p) = &payload {
                return Ok(p.clone());
            }
            let parsed = if req.body.iter().all(u8::is_ascii_whitespace) {
                Value::Null
            } else {
                serde_json::from_slice(req.body).map_err(|e| format!("the request body is not JSON: {e}"))?
            };
            payload = Some(parsed.clone());
            Ok(parsed)
        };
        let query = parse_query(req.query);
        let mut args = Vec::with_capacity(self.inputs.len());
        for input in &self.inputs {
            args.push(match input {
                Input::Payload => payload()?,
                Input::Body => Value::String(String::from_utf8_lossy(req.body).into_owned()),
                Input::Query => Value::Object(query.iter().map(|(k, v)| (k.clone(), Value::from(v.clone()))).collect::<Map<_, _>>()),
                Input::Params => Value::Object(params.iter().map(|(k, v)| (k.clone(), Value::from(v.clone()))).collect()),
                Input::Headers => {
                    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
                    for (k, v) in req.headers {
                        map.entry(k.clone()).or_default().push(v.clone());
                    }
                    Value::Object(map.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
                }
                Input::FullPath => Value::String(req.path.to_string()),
                Input::QueryField(name) => query.get(name).and_then(|v| v.first()).cloned().map(Value::String).unwrap_or(Value::Null),
                Input::ParamField(name) => params.get(name).cloned().map(Value::String).unwrap_or(Value::Null),
                Input::PayloadField(path) => {
                    let mut v = payload()?;
                    for key in path {
                        v = v.get(key).cloned().unwrap_or(Value::Null);
                    }
                    v
                }
                Input::HeaderField(name) => req
                    .headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| Value::String(v.clone()))
                    .unwrap_or(Value::Null),
                Input::Constant(v) => v.clone(),
            });
        }
        Ok(Value::Array(args))
    }
}

/// `a=1&b=x%20y&a=2` → {a: [1, 2], b: ["x y"]}.
pub fn parse_query(query: &str) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        map.entry(percent_decode(k)).or_default().push(percent_decode(v));
    }
    map
}

fn percent_decode(text: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Removes `//` and `/* */` comments outside strings (Yao's .yao files allow
/// them), keeping line breaks so JSON errors point at the right line.
pub fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => {
                    if let Some(next) = chars.next() {
                        out.push(next);
                    }
                }
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                    }
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const USER_API: &str = r#"
    /* The user API. */
    {
      "name": "User", // shown in logs
      "group": "user",
      "paths": [
        {"path": "/check", "method": "POST", "process": "scripts.user.Check", "in": [":payload"]},
        {"path": "/:id/tags", "method": "get", "process": "scripts.user.Tags",
         "in": ["$param.id", "$query.limit", ":query", "$payload.x", "$header.X-Trace", 7, "text // not a comment"],
         "out": {"status": 201, "type": "text/plain"}},
        {"path": "/secret", "method": "GET", "process": "scripts.user.Secret", "guard": "bearer-jwt"},
        {"path": "/check", "method": "POST", "process": "scripts.user.Other"}
      ]
    }"#;

    #[test]
    fn reads_the_dsl_with_comments() {
        let mut table = RouteTable::default();
        table.add_file(Path::new("apis/user.http.yao"), USER_API, "user", GuardPolicy::default());
        assert_eq!(table.routes.len(), 2, "{:?}", table.problems);
        assert_eq!(table.problems.len(), 2, "{:?}", table.problems);
        assert!(
            table.problems[0].contains("GET /api/user/secret (process scripts.user.Secret) has guard \"bearer-jwt\"")
                && table.problems[0].contains("YAO_JWT_SECRET is not set"),
            "{}",
            table.problems[0]
        );
        assert_eq!(table.guarded.keys().collect::<Vec<_>>(), ["scripts.user.Secret"]);
        assert_eq!(table.guarded["scripts.user.Secret"], "GET /api/user/secret has guard \"bearer-jwt\"");
        assert_eq!(process_key("Scripts.USER.Secret"), "scripts.user.Secret");
        assert!(table.problems[1].contains("already served"), "{}", table.problems[1]);

        let (route, params) = table.find("GET", "/api/user/42/tags").unwrap();
        assert_eq!(route.status, 201);
        assert_eq!(params["id"], "42");
        let headers = vec![("x-trace".to_string(), "t1".to_string())];
        let req = Request { path: "/api/user/42/tags", query: "limit=5&a=x%20y&a=2", headers: &headers, body: br#"{"x": [1]}"# };
        let args = route.args(&req, &params).unwrap();
        assert_eq!(args, json!(["42", "5", {"limit": ["5"], "a": ["x y", "2"]}, [1], "t1", 7, "text // not a comment"]));

        assert!(table.find("POST", "/api/user/42/tags").is_none());
        assert!(table.has_path("/api/user/42/tags"));
        assert!(table.find("POST", "/api/user/check/").is_some());
        assert!(table.find("POST", "/api/user").is_none());
    }

    #[test]
    fn guards_can_be_ignored_and_bad_inputs_are_reported() {
        let mut table = RouteTable::default();
        table.add_file(Path::new("a.http.yao"), USER_API, "user", GuardPolicy { ignore_unknown: true, jwt: false });
        assert_eq!(table.routes.len(), 3);
        assert!(table.guarded.contains_key("scripts.user.Secret"), "listed even when served");
        assert!(table.problems.iter().any(|p| p.contains("GET /api/user/secret is served WITHOUT its guard")), "{:?}", table.problems);
        // A file-wide guard covers every path that does not say "-".
        let mut file_wide = RouteTable::default();
        file_wide.add_file(Path::new("f.http.yao"), r#"{"guard":"bearer-jwt","paths":[{"path":"/a","method":"GET","process":"scripts.f.A"},{"path":"/b","method":"GET","process":"scripts.f.B","guard":"-"}]}"#, "f", GuardPolicy::default());
        assert_eq!(file_wide.guarded.keys().collect::<Vec<_>>(), ["scripts.f.A"]);
        assert_eq!(file_wide.routes.len(), 1);
        let mut bad = RouteTable::default();
        bad.add_file(
            Path::new("b.http.yao"),
            r#"{"paths":[{"path":"/x","method":"GET","process":"p","in":[":session"]}]}"#,
            "b",
            GuardPolicy::default(),
        );
        assert!(bad.routes.is_empty());
        assert!(bad.problems[0].contains(":session"), "{:?}", bad.problems);
        let mut broken = RouteTable::default();
        broken.add_file(Path::new("c.http.yao"), "{", "c", GuardPolicy::default());
        assert!(broken.problems[0].contains("not JSON"));
    }

    #[test]
    fn guards_are_parsed_in_order_and_unknown_ones_refused() {
        let doc = r#"{"paths":[
          {"path":"/a","method":"GET","process":"scripts.g.A","guard":"bearer-jwt, scripts.auth.Guard"},
          {"path":"/b","method":"GET","process":"scripts.g.B","guard":"query-jwt,cookie-jwt"},
          {"path":"/c","method":"GET","process":"scripts.g.C","guard":"widget-table"},
          {"path":"/d","method":"GET","process":"scripts.g.D","guard":"bearer-jwt,models.user.Find"},
          {"path":"/e","method":"GET","process":"scripts.g.E","guard":"-"}]}"#;
        let jwt = GuardPolicy { ignore_unknown: false, jwt: true };
        let mut table = RouteTable::default();
        table.add_file(Path::new("g.http.yao"), doc, "g", jwt);
        let guards = |t: &RouteTable, p: &str| t.find("GET", p).map(|(r, _)| r.guards.clone());
        assert_eq!(guards(&table, "/api/g/a"), Some(vec![Guard::BearerJwt, Guard::Process("scripts.auth.Guard".into())]));
        assert_eq!(guards(&table, "/api/g/b"), Some(vec![Guard::QueryJwt, Guard::CookieJwt]));
        assert_eq!(guards(&table, "/api/g/c"), None, "an unknown guard: not served");
        assert_eq!(guards(&table, "/api/g/d"), None, "a process of the Yao engine: not served");
        assert_eq!(guards(&table, "/api/g/e"), Some(vec![]));
        assert!(table.problems.iter().any(|p| p.contains("\"widget-table\"") && p.contains("not a guard")), "{:?}", table.problems);
        assert_eq!(table.guarded.len(), 4, "{:?}", table.guarded);
        // --ignore-guards drops only what serve cannot enforce.
        let mut ignoring = RouteTable::default();
        ignoring.add_file(Path::new("g.http.yao"), doc, "g", GuardPolicy { ignore_unknown: true, jwt: true });
        assert_eq!(guards(&ignoring, "/api/g/c"), Some(vec![]));
        assert_eq!(guards(&ignoring, "/api/g/d"), Some(vec![Guard::BearerJwt]));
    }

    #[test]
    fn a_non_json_body_is_refused_only_when_read() {
        let mut table = RouteTable::default();
        table.add_file(Path::new("u.http.yao"), USER_API, "user", GuardPolicy::default());
        let (route, params) = table.find("POST", "/api/user/check").unwrap();
        let req = Request { path: "/api/user/check", query: "", headers: &[], body: b"not json" };
        assert!(route.args(&req, &params).unwrap_err().contains("not JSON"));
        let empty = Request { body: b"", ..req };
        assert_eq!(route.args(&empty, &params).unwrap(), json!([null]));
    }
}
