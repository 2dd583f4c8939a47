//! The guards of `apis/` routes, as Yao applies them (cli/README.md,
//! "Guards").
//!
//! - `bearer-jwt`, `cookie-jwt`, `query-jwt`: an HS256 JWT from the
//!   `Authorization: Bearer` header, the `__tk` cookie or the `__tk` query
//!   parameter, verified with `YAO_JWT_SECRET` as Yao's `helper.JwtValidate`
//!   does: no token is a 403 "Not Authorized", a token that does not verify
//!   (signature, `exp`, `nbf`, `iat` in the future, not HS256) a 401
//!   "Invalid token". The token's `sid` becomes the call's session id.
//! - a process (`scripts.auth.Guard`): runs first with gou's guard args
//!   `[path, params, query, payload, headers]`; an error ends the request
//!   with its code; a map answer's `sid` and `__global` become the call's
//!   session id and globals (gou's `ProcessGuard`).
//!
//! What the guards establish is the [`CallContext`] of the route's process:
//! `authorized` is `{session_id}` as gou builds it from the session, plus the
//! token's `user_id` (its `id` claim), `sub` and `data` when a JWT guard
//! verified one.

use super::routes::{self, Guard, Route};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use yaowasm::{CallContext, Error};

/// The environment variable with the app's JWT secret (Yao's `YAO_JWT_SECRET`).
pub const SECRET_ENV: &str = "YAO_JWT_SECRET";

/// The key JWT guards verify with.
pub struct JwtKey {
    key: DecodingKey,
    validation: Validation,
}

impl JwtKey {
    /// The key from `YAO_JWT_SECRET`; `None` when it is unset or empty (JWT
    /// guards are then not enforceable, and their routes not served).
    pub fn from_env() -> Option<JwtKey> {
        std::env::var(SECRET_ENV).ok().filter(|s| !s.is_empty()).map(|s| JwtKey::new(s.as_bytes()))
    }

    pub fn new(secret: &[u8]) -> JwtKey {
        let mut validation = Validation::new(Algorithm::HS256);
        // As golang-jwt v3's StandardClaims.Valid, which Yao uses: exp and
        // nbf are checked when present (none is required), no leeway, and
        // the audience is not checked (Yao's tokens carry one).
        validation.set_required_spec_claims::<&str>(&[]);
        validation.leeway = 0;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        JwtKey { key: DecodingKey::from_secret(secret), validation }
    }

    /// The claims of a token that verifies, or Yao's 401 "Invalid token".
    pub fn verify(&self, token: &str) -> Result<Map<String, Value>, Error> {
        let invalid = |why: String| Error::new(401, format!("Invalid token: {why}"));
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &self.key, &self.validation).map_err(|e| invalid(e.to_string()))?;
        let claims = data.claims;
        if let Some(iat) = claims.get("iat").and_then(Value::as_f64) {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
            if iat > now {
                return Err(invalid("issued in the future (iat)".into()));
            }
        }
        Ok(claims)
    }
}

/// What a request brings to its route's guards.
pub struct GuardRequest<'a> {
    pub query: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    pub params: &'a BTreeMap<String, String>,
}

/// Runs a route's guards in order; `run_process` runs a guard process with
/// the context established so far and answers its JSON result. The context
/// of the route's process, or the error that ends the request.
pub async fn apply<F, Fut>(route: &Route, key: Option<&JwtKey>, req: &GuardRequest<'_>, run_process: F) -> Result<CallContext, Error>
where
    F: Fn(String, Value, CallContext) -> Fut,
    Fut: std::future::Future<Output = Result<Value, Error>>,
{
    let mut context = CallContext::default();
    let mut claims: Option<Map<String, Value>> = None;
    for guard in &route.guards {
        match guard {
            Guard::Process(name) => {
                let answer = run_process(name.clone(), process_args(route, req), context.clone()).await?;
                if let Value::Object(map) = answer {
                    if let Some(Value::String(sid)) = map.get("sid") {
                        context.sid = sid.clone();
                    }
                    if let Some(Value::Object(global)) = map.get("__global") {
                        context.global = global.clone();
                    }
                }
            }
            jwt => {
                // A route with a JWT guard is served only with a key (routes.rs).
                let key = key.ok_or_else(|| Error::internal(format!("{} without {SECRET_ENV}", jwt.name())))?;
                let token = token(jwt, req).filter(|t| !t.is_empty()).ok_or_else(|| Error::new(403, "Not Authorized"))?;
                let verified = key.verify(&token)?;
                if let Some(Value::String(sid)) = verified.get("sid") {
                    context.sid = sid.clone();
                }
                claims = Some(verified);
            }
        }
    }
    if !context.sid.is_empty() || claims.is_some() {
        let mut authorized = Map::new();
        if !context.sid.is_empty() {
            authorized.insert("session_id".into(), Value::String(context.sid.clone()));
        }
        if let Some(claims) = claims {
            for (from, to) in [("id", "user_id"), ("sub", "sub"), ("data", "data")] {
                if let Some(v) = claims.get(from).filter(|v| !v.is_null()) {
                    authorized.insert(to.into(), v.clone());
                }
            }
        }
        context.authorized = Some(authorized);
    }
    Ok(context)
}

/// Where each JWT guard reads its token (Yao's service/guard.go).
fn token(guard: &Guard, req: &GuardRequest<'_>) -> Option<String> {
    match guard {
        Guard::BearerJwt => {
            let value = req.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("authorization"))?.1.as_str();
            Some(value.strip_prefix("Bearer ").unwrap_or(value).trim().to_string())
        }
        Guard::QueryJwt => routes::parse_query(req.query).remove("__tk").and_then(|v| v.into_iter().next()),
        Guard::CookieJwt => req
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| v.split(';'))
            .find_map(|pair| pair.trim().strip_prefix("__tk=").map(|v| v.trim_matches('"').to_string())),
        Guard::Process(_) => None,
    }
}

/// gou's guard args: the route's path, its path params, the query (name →
/// values), the payload (JSON when the body is JSON, else the text), the
/// headers (name → values).
fn process_args(route: &Route, req: &GuardRequest<'_>) -> Value {
    let is_json = req
        .headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v.trim_start().to_ascii_lowercase().starts_with("application/json"));
    let payload = if req.body.is_empty() {
        Value::Null
    } else if is_json {
        serde_json::from_slice(req.body).unwrap_or(Value::Null)
    } else {
        Value::String(String::from_utf8_lossy(req.body).into_owned())
    };
    let params: Map<String, Value> = req.params.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    let query: Map<String, Value> = routes::parse_query(req.query).into_iter().map(|(k, v)| (k, Value::from(v))).collect();
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in req.headers {
        headers.entry(canonical_header(k)).or_default().push(v.clone());
    }
    let headers: Map<String, Value> = headers.into_iter().map(|(k, v)| (k, Value::from(v))).collect();
    Value::Array(vec![Value::String(route.pattern.clone()), Value::Object(params), Value::Object(query), payload, Value::Object(headers)])
}

/// `x-trace-id` → `X-Trace-Id`, as Go's http.Header keys are.
fn canonical_header(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    fn sign(claims: Value, secret: &[u8], alg: Algorithm) -> String {
        encode(&Header::new(alg), &claims, &EncodingKey::from_secret(secret)).unwrap()
    }

    #[test]
    fn verifies_like_yao() {
        let key = JwtKey::new(b"secret");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let good =
            json!({"id": 7, "sid": "S", "data": {"a": 1}, "aud": "Yao Process utils.jwt.Make", "exp": now + 60, "nbf": now, "iat": now});
        assert_eq!(key.verify(&sign(good.clone(), b"secret", Algorithm::HS256)).unwrap()["sid"], "S");
        assert_eq!(key.verify(&sign(json!({"sid": "no exp"}), b"secret", Algorithm::HS256)).unwrap()["sid"], "no exp");
        let bad = [
            sign(good.clone(), b"other", Algorithm::HS256),
            sign(good.clone(), b"secret", Algorithm::HS512),
            sign(json!({"exp": now - 1}), b"secret", Algorithm::HS256),
            sign(json!({"nbf": now + 60}), b"secret", Algorithm::HS256),
            sign(json!({"iat": now + 60}), b"secret", Algorithm::HS256),
            "not.a.token".into(),
        ];
        for token in bad {
            let e = key.verify(&token).unwrap_err();
            assert_eq!(e.code(), 401, "{token}: {e}");
            assert!(e.message().starts_with("Invalid token"), "{e}");
        }
        // alg "none": header {"alg":"none"}, claims {"sid":"x"}, no signature.
        assert_eq!(key.verify("eyJhbGciOiJub25lIn0.eyJzaWQiOiJ4In0.").unwrap_err().code(), 401);
        assert_eq!(canonical_header("x-trace-id"), "X-Trace-Id");
    }
}
