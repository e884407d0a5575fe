//! The HTTP face of the simulated API server: routing, discovery, list, get, watch and writes.

use super::faults::Injected;
use super::metrics;
use super::registry::ResourceDef;
use super::selector::{FieldSelector, LabelSelector};
use super::shard::ShardSelector;
use super::status::{Cause, Details, Status, json_response, not_found_text, proxy_page, text_response};
use super::store::{AtError, Core, Filter, ListView, OpError, Stored, WriteMode, field_supported, qualified};
use super::watch::{Start, WatchSpec, push_object, serve_watch};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// The user named in 403 messages (the kubeconfig's user).
pub const SIM_USER: &str = "sim";
/// Largest accepted request body.
const MAX_BODY: usize = 64 * 1024 * 1024;
/// How long a list waits for a resourceVersion ahead of the server before the 504.
const TOO_LARGE_WAIT: Duration = Duration::from_secs(3);
/// List bodies are streamed in chunks of about this size.
const LIST_CHUNK: usize = 64 * 1024;

pub fn router(core: Arc<Core>) -> Router {
    Router::new().fallback(handle).with_state(core)
}

/// Query parameters, decoded tolerantly (kube-rs sends `?&a=b`).
#[derive(Debug, Default, Clone)]
pub struct Query(Vec<(String, String)>);

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Query {
    pub fn parse(q: &str) -> Query {
        Query(
            q.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (percent_decode(k), percent_decode(v)),
                    None => (percent_decode(p), String::new()),
                })
                .collect(),
        )
    }

    /// First value of `k`, if present and non-empty.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(qk, _)| qk == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn flag(&self, k: &str) -> Option<bool> {
        self.0
            .iter()
            .find(|(qk, _)| qk == k)
            .map(|(_, v)| matches!(v.as_str(), "true" | "1" | "True" | "TRUE"))
    }
}

struct Ctx {
    method: Method,
    query: Query,
    meta_only: bool,
    content_type: String,
    body: Bytes,
}

fn header_str(headers: &axum::http::HeaderMap, h: header::HeaderName) -> String {
    headers.get(h).and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
}

async fn handle(State(core): State<Arc<Core>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = Query::parse(req.uri().query().unwrap_or(""));
    let accept = header_str(req.headers(), header::ACCEPT);
    let content_type = header_str(req.headers(), header::CONTENT_TYPE);
    let meta_only = accept.contains("as=PartialObjectMetadata");
    let body = if matches!(method, Method::POST | Method::PUT | Method::PATCH) {
        match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
            Ok(b) => b,
            Err(e) => {
                return Status::failure(400, "BadRequest", format!("unable to read the request body: {e}"))
                    .into_response();
            }
        }
    } else {
        Bytes::new()
    };
    let ctx = Ctx {
        method,
        query,
        meta_only,
        content_type,
        body,
    };
    route(core, &path, ctx).await
}

/// A resource request after path parsing.
struct Target {
    res: usize,
    ns: Option<String>,
    name: Option<String>,
    sub: Option<String>,
    watch_path: bool,
}

pub fn unknown_resource() -> Response {
    Status::failure(404, "NotFound", "the server could not find the requested resource")
        .with_details(Details::default())
        .into_response()
}

pub fn method_not_allowed() -> Response {
    Status::failure(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
    )
    .with_details(Details::default())
    .into_response()
}

fn parse_target(core: &Core, group: &str, version: &str, rest: &[&str]) -> Result<Target, Box<Response>> {
    let (watch_path, rest) = match rest.split_first() {
        Some((&"watch", tail)) => (true, tail),
        _ => (false, rest),
    };
    let (ns, plural, tail) = match rest {
        ["namespaces", ns, plural, tail @ ..] if !matches!(*plural, "status" | "finalize") => {
            (Some(ns.to_string()), *plural, tail)
        }
        [plural, tail @ ..] => (None, *plural, tail),
        [] => return Err(Box::new(unknown_resource())),
    };
    let Some(res) = core.reg.by_path(group, version, plural) else {
        // Custom resource paths go through the CRD handler, which hands what it does not serve
        // (an unknown or deleted CRD) to the plain-text not-found handler.
        if core.reg.is_custom_group_version(group, version) {
            return Err(Box::new(not_found_text()));
        }
        return Err(Box::new(unknown_resource()));
    };
    let def = core.reg.def(res);
    if ns.is_some() && !def.namespaced {
        return Err(Box::new(unknown_resource()));
    }
    let (name, sub) = match tail {
        [] => (None, None),
        [name] => (Some(name.to_string()), None),
        [name, sub] => (Some(name.to_string()), Some(sub.to_string())),
        _ => return Err(Box::new(unknown_resource())),
    };
    if name.is_some() && def.namespaced && ns.is_none() {
        return Err(Box::new(unknown_resource()));
    }
    if let Some(s) = &sub
        && !(s == "status" && def.status_subresource)
    {
        return Err(Box::new(unknown_resource()));
    }
    Ok(Target {
        res,
        ns,
        name,
        sub,
        watch_path,
    })
}

async fn route(core: Arc<Core>, path: &str, ctx: Ctx) -> Response {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let target = match segs.as_slice() {
        ["version"] => return version(),
        ["healthz" | "livez" | "readyz"] => return text_response(200, "ok"),
        ["api"] => return api_versions(&core),
        ["api", v, rest @ ..] => {
            if !core.reg.serves_group_version("", v) {
                return not_found_text();
            }
            if rest.is_empty() {
                return resource_list(&core, "", v);
            }
            parse_target(&core, "", v, rest)
        }
        ["apis"] => return api_group_list(&core),
        ["apis", g] => {
            if !core.reg.serves_group(g) || metrics::group_hidden(&core, g) {
                return not_found_text();
            }
            return api_group(&core, g);
        }
        ["apis", g, v, rest @ ..] => {
            if !core.reg.serves_group_version(g, v) {
                return not_found_text();
            }
            if *g == metrics::GROUP {
                return metrics::serve(core.clone(), v, rest, &ctx.method, &ctx.query).await;
            }
            if rest.is_empty() {
                return resource_list(&core, g, v);
            }
            parse_target(&core, g, v, rest)
        }
        _ => return not_found_text(),
    };
    let t = match target {
        Ok(t) => t,
        Err(resp) => return *resp,
    };
    match (&ctx.method, &t.name) {
        (&Method::GET, None) => {
            let stall = core.stall_for(t.res);
            if !stall.is_zero() {
                tokio::time::sleep(stall).await;
            }
            let is_watch = t.watch_path || ctx.query.flag("watch").unwrap_or(false);
            let verb = if is_watch { "watch" } else { "list" };
            match core.on_list_or_watch(t.res) {
                Injected::None => {}
                Injected::Forbidden | Injected::Status(403) => {
                    return forbidden(core.reg.def(t.res), verb, t.ns.as_deref()).into_response();
                }
                Injected::Status(code) => {
                    return Status::for_code(code, &format!("{verb} {}", qualified(core.reg.def(t.res))))
                        .into_response();
                }
                Injected::ProxyPage(code) => return proxy_page(code),
            }
            if is_watch {
                return watch(core, &t, &ctx);
            }
            let response = list(core.clone(), &t, &ctx).await;
            if !response.status().is_success() {
                return response;
            }
            match core.take_list_body_fault(t.res) {
                Some(fault) => super::cut::break_list_body(response, fault),
                None => response,
            }
        }
        (&Method::GET, Some(name)) => {
            let stall = core.stall_for(t.res);
            if !stall.is_zero() {
                tokio::time::sleep(stall).await;
            }
            get(&core, &t, name, ctx.meta_only)
        }
        (&Method::POST, None) => {
            let def = core.reg.def(t.res);
            if def.namespaced && t.ns.is_none() {
                return method_not_allowed();
            }
            let obj = match parse_body(&ctx) {
                Ok(v) => v,
                Err(r) => return *r,
            };
            match core.create(t.res, obj, t.ns.as_deref(), true) {
                Ok(v) => object_response(201, &v),
                Err(e) => e.to_status(&core.reg).into_response(),
            }
        }
        (&Method::PUT, Some(name)) => {
            let obj = match parse_body(&ctx) {
                Ok(v) => v,
                Err(r) => return *r,
            };
            let mode = if t.sub.is_some() {
                WriteMode::Status
            } else {
                WriteMode::Main
            };
            match core.update(t.res, t.ns.as_deref(), Some(name), obj, mode, true) {
                Ok(v) => object_response(200, &v),
                Err(e) => e.to_status(&core.reg).into_response(),
            }
        }
        (&Method::PATCH, Some(name)) => {
            let ct = ctx
                .content_type
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if !matches!(
                ct.as_str(),
                "application/merge-patch+json" | "application/strategic-merge-patch+json"
            ) {
                return Status::failure(
                    415,
                    "UnsupportedMediaType",
                    format!(
                        "the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json (got {ct:?})"
                    ),
                )
                .into_response();
            }
            let patch: Value = match serde_json::from_slice(&ctx.body) {
                Ok(v) => v,
                Err(e) => {
                    return Status::failure(400, "BadRequest", format!("error decoding patch: {e}")).into_response();
                }
            };
            let mode = if t.sub.is_some() {
                WriteMode::Status
            } else {
                WriteMode::Main
            };
            match core.patch(t.res, t.ns.as_deref(), name, &patch, mode) {
                Ok(v) => object_response(200, &v),
                Err(e) => e.to_status(&core.reg).into_response(),
            }
        }
        (&Method::DELETE, Some(name)) if t.sub.is_none() => match core.delete(t.res, t.ns.as_deref(), name) {
            Ok((v, gone)) => {
                let def = core.reg.def(t.res);
                if gone && !def.graceful_delete {
                    Status::success(Details {
                        name: Some(name.clone()),
                        group: (!def.group.is_empty()).then(|| def.group.to_string()),
                        kind: Some(def.plural.to_string()),
                        uid: v.pointer("/metadata/uid").and_then(Value::as_str).map(str::to_string),
                        ..Details::default()
                    })
                    .into_response()
                } else {
                    object_response(200, &v)
                }
            }
            Err(e) => e.to_status(&core.reg).into_response(),
        },
        _ => method_not_allowed(),
    }
}

fn parse_body(ctx: &Ctx) -> Result<Value, Box<Response>> {
    if ctx.body.is_empty() {
        return Err(Box::new(
            Status::failure(400, "BadRequest", "the body of the request was empty").into_response(),
        ));
    }
    let parsed = if ctx.content_type.contains("yaml") {
        std::str::from_utf8(&ctx.body)
            .map_err(|e| e.to_string())
            .and_then(|s| serde_saphyr::from_str::<Value>(s).map_err(|e| e.to_string()))
    } else {
        serde_json::from_slice::<Value>(&ctx.body).map_err(|e| e.to_string())
    };
    parsed.map_err(|e| {
        Box::new(
            Status::failure(400, "BadRequest", format!("the object provided is unrecognized: {e}")).into_response(),
        )
    })
}

fn object_response(code: u16, v: &Value) -> Response {
    let Some(obj) = v.as_object() else {
        return json_response(code, b"{}\n".to_vec());
    };
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let api = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let prefix = format!(r#"{{"kind":{},"apiVersion":{}"#, Value::from(kind), Value::from(api));
    let (json, _) = super::json::encode_object(obj);
    let mut out = Vec::with_capacity(json.len() + prefix.len() + 1);
    super::json::splice_type(&mut out, prefix.as_bytes(), &json);
    out.push(b'\n');
    json_response(code, out)
}

/// 403 as a real server's authorizer answers (list-nodes-403-reader.http).
pub fn forbidden(def: &ResourceDef, verb: &str, ns: Option<&str>) -> Status {
    let scope = match ns {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_string(),
    };
    Status::failure(
        403,
        "Forbidden",
        format!(
            "{} is forbidden: User \"{SIM_USER}\" cannot {verb} resource \"{}\" in API group \"{}\" {scope}",
            qualified(def),
            def.plural,
            def.group
        ),
    )
    .with_details(Details {
        group: (!def.group.is_empty()).then(|| def.group.to_string()),
        kind: Some(def.plural.to_string()),
        ..Details::default()
    })
}

/// 422 for invalid ListOptions (list-pods-notolderthan-no-rv-422.http).
fn invalid_list_options(causes: Vec<Cause>) -> Response {
    let parts: Vec<String> = causes
        .iter()
        .map(|c| format!("{}: {}", c.field.as_deref().unwrap_or(""), c.message))
        .collect();
    let joined = if parts.len() == 1 {
        parts[0].clone()
    } else {
        format!("[{}]", parts.join(", "))
    };
    Status::failure(
        422,
        "Invalid",
        format!("ListOptions.meta.k8s.io \"\" is invalid: {joined}"),
    )
    .with_details(Details {
        group: Some("meta.k8s.io".into()),
        kind: Some("ListOptions".into()),
        causes,
        ..Details::default()
    })
    .into_response()
}

fn forbidden_cause(field: &str, detail: &str) -> Cause {
    Cause {
        reason: Some("FieldValueForbidden".into()),
        message: format!("Forbidden: {detail}"),
        field: Some(field.into()),
    }
}

fn not_supported_cause(field: &str, value: &str, supported: &[&str]) -> Cause {
    let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
    Cause {
        reason: Some("FieldValueNotSupported".into()),
        message: format!("Unsupported value: {value:?}: supported values: {}", list.join(", ")),
        field: Some(field.into()),
    }
}

fn bad_request(msg: impl Into<String>) -> Response {
    Status::failure(400, "BadRequest", msg).into_response()
}

fn parse_filter(core: &Core, def: &ResourceDef, t: &Target, q: &Query) -> Result<Filter, Box<Response>> {
    let labels = match q.get("labelSelector") {
        Some(s) => LabelSelector::parse(s).map_err(|m| Box::new(bad_request(m)))?,
        None => LabelSelector::default(),
    };
    let fields = match q.get("fieldSelector") {
        Some(s) => FieldSelector::parse(s).map_err(|m| Box::new(bad_request(m)))?,
        None => FieldSelector::default(),
    };
    if let Some(r) = fields.reqs.iter().find(|r| !field_supported(def, &r.field)) {
        return Err(Box::new(bad_request(format!("field label not supported: {}", r.field))));
    }
    let shard = match q.get("shardSelector") {
        Some(s) if core.config.sharded_list_and_watch => {
            Some(ShardSelector::parse(s).map_err(|m| Box::new(bad_request(m)))?)
        }
        _ => None,
    };
    Ok(Filter {
        ns: t.ns.clone(),
        labels,
        fields,
        shard,
    })
}

fn get(core: &Core, t: &Target, name: &str, meta_only: bool) -> Response {
    match core.get(t.res, t.ns.as_deref(), name) {
        Some(obj) => {
            let prefix = &core.reg.type_prefix(t.res);
            let mut out = Vec::with_capacity(obj.json.len() + prefix.len() + 1);
            push_object(&mut out, prefix, meta_only, &obj.json, obj.meta_end);
            out.push(b'\n');
            json_response(200, out)
        }
        None => OpError::NotFound {
            res: t.res,
            name: name.to_string(),
        }
        .to_status(&core.reg)
        .into_response(),
    }
}

#[derive(Serialize, Deserialize)]
struct ContinueToken {
    v: String,
    rv: i64,
    start: String,
}

/// A continue token as a real server writes it: base64url (no padding) of
/// `{"v":"meta.k8s.io/v1","rv":N,"start":"<key>\u0000"}`.
pub fn encode_continue(rv: i64, start: &str) -> String {
    let tok = ContinueToken {
        v: "meta.k8s.io/v1".into(),
        rv,
        start: start.into(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&tok).unwrap_or_default())
}

fn decode_continue(s: &str) -> Result<ContinueToken, String> {
    let trimmed = s.trim_end_matches('=');
    let raw = URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| STANDARD.decode(s))
        .map_err(|e| format!("continue key is not valid: {e}"))?;
    let tok: ContinueToken = serde_json::from_slice(&raw).map_err(|e| format!("continue key is not valid: {e}"))?;
    if tok.v != "meta.k8s.io/v1" {
        return Err(format!(
            "continue key is not valid: incorrect encoded start resourceVersion (version {})",
            tok.v
        ));
    }
    Ok(tok)
}

/// The continue `start` key after `obj`: `/<ns>/<name>\0` for a cluster-wide list of a
/// namespaced resource (list-pods-limit2-page1.http), `/<name>\0` otherwise.
fn start_key(def: &ResourceDef, scope_ns: Option<&str>, obj: &Stored) -> String {
    if def.namespaced && scope_ns.is_none() {
        format!("/{}/{}\u{0}", obj.ns, obj.name)
    } else {
        format!("/{}\u{0}", obj.name)
    }
}

/// Index of the first item at or after the token's start key.
fn start_index(def: &ResourceDef, scope_ns: Option<&str>, items: &[Arc<Stored>], start: &str) -> usize {
    let (s, exclusive) = match start.strip_suffix('\u{0}') {
        Some(s) => (s, true),
        None => (start, false),
    };
    let s = s.strip_prefix('/').unwrap_or(s);
    let (kns, kname) = if def.namespaced && scope_ns.is_none() {
        s.split_once('/').unwrap_or((s, ""))
    } else {
        (scope_ns.unwrap_or(""), s)
    };
    items.partition_point(|o| {
        let k = (o.ns.as_str(), o.name.as_str());
        if exclusive { k <= (kns, kname) } else { k < (kns, kname) }
    })
}

async fn wait_for_rv(core: &Core, rv: u64) -> bool {
    let mut rx = core.any_signal.subscribe();
    let deadline = tokio::time::Instant::now() + TOO_LARGE_WAIT;
    loop {
        if core.lock().rv >= rv {
            return true;
        }
        match tokio::time::timeout_at(deadline, rx.changed()).await {
            Ok(Ok(())) => continue,
            _ => return core.lock().rv >= rv,
        }
    }
}

fn too_large(requested: u64, current: u64) -> Response {
    Status::failure(
        504,
        "Timeout",
        format!("Timeout: Too large resource version: {requested}, current: {current}"),
    )
    .with_details(Details {
        causes: vec![Cause {
            reason: Some("ResourceVersionTooLarge".into()),
            message: "Too large resource version".into(),
            field: None,
        }],
        retry_after_seconds: Some(1),
        ..Details::default()
    })
    .into_response()
}

fn parse_rv(s: &str) -> Result<u64, Box<Response>> {
    s.parse::<u64>()
        .map_err(|_| Box::new(bad_request(format!("invalid resource version: {s:?}"))))
}

async fn list(core: Arc<Core>, t: &Target, ctx: &Ctx) -> Response {
    let def = core.reg.def(t.res);
    let q = &ctx.query;
    let rv = q.get("resourceVersion");
    let rv_match = q.get("resourceVersionMatch");
    let cont = q.get("continue");

    let mut causes = Vec::new();
    if let Some(m) = rv_match {
        if rv.is_none() {
            causes.push(forbidden_cause(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
            ));
        }
        if cont.is_some() {
            causes.push(forbidden_cause(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden when continue is provided",
            ));
        }
        if m != "Exact" && m != "NotOlderThan" {
            causes.push(not_supported_cause(
                "resourceVersionMatch",
                m,
                &["Exact", "NotOlderThan", ""],
            ));
        }
        if m == "Exact" && rv == Some("0") {
            causes.push(forbidden_cause(
                "resourceVersionMatch",
                "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
            ));
        }
    }
    if q.flag("sendInitialEvents").is_some() {
        causes.push(forbidden_cause(
            "sendInitialEvents",
            "sendInitialEvents is forbidden for list",
        ));
    }
    if !causes.is_empty() {
        return invalid_list_options(causes);
    }
    let filter = match parse_filter(&core, def, t, q) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let limit = match q.get("limit").map(str::parse::<i64>) {
        None => None,
        Some(Ok(n)) if n > 0 => Some(n as usize),
        Some(Ok(_)) => None,
        Some(Err(_)) => return bad_request("invalid limit"),
    };
    if cont.is_some() && rv.is_some_and(|r| r != "0") {
        return bad_request("specifying resource version is not allowed when using continue");
    }
    let ns = t.ns.as_deref();

    let (view, start): (ListView, usize) = if let Some(tok) = cont {
        let tok = match decode_continue(tok) {
            Ok(t) => t,
            Err(m) => return bad_request(m),
        };
        let mut st = core.lock();
        let view = if tok.rv < 0 {
            st.view_current(t.res, ns)
        } else {
            match st.view_at(t.res, ns, tok.rv as u64) {
                Ok(v) => v,
                Err(AtError::Expired) => {
                    drop(st);
                    return Status::failure(
                        410,
                        "Expired",
                        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
                    )
                    .with_continue(encode_continue(-1, &tok.start))
                    .into_response();
                }
                Err(AtError::TooLarge { .. }) => {
                    return bad_request("continue key is not valid: resourceVersion is ahead of the server");
                }
            }
        };
        let start = start_index(def, ns, &view.items, &tok.start);
        (view, start)
    } else {
        match (rv, rv_match) {
            (None, _) | (Some("0"), _) => (core.lock().view_current(t.res, ns), 0),
            (Some(r), Some("Exact")) => {
                let r = match parse_rv(r) {
                    Ok(r) => r,
                    Err(resp) => return *resp,
                };
                let at = core.lock().view_at(t.res, ns, r);
                match at {
                    Ok(v) => (v, 0),
                    Err(AtError::Expired) => {
                        return Status::failure(
                            410,
                            "Expired",
                            "The resourceVersion for the provided list is too old.",
                        )
                        .into_response();
                    }
                    Err(AtError::TooLarge { current }) => return too_large(r, current),
                }
            }
            (Some(r), _) => {
                let r = match parse_rv(r) {
                    Ok(r) => r,
                    Err(resp) => return *resp,
                };
                if !wait_for_rv(&core, r).await {
                    let current = core.lock().rv;
                    return too_large(r, current);
                }
                (core.lock().view_current(t.res, ns), 0)
            }
        }
    };

    let items = &view.items;
    let mut page = Vec::new();
    let mut idx = start;
    while idx < items.len() {
        let o = &items[idx];
        idx += 1;
        if filter.matches(def, o) {
            page.push(o.clone());
            if limit.is_some_and(|l| page.len() >= l) {
                break;
            }
        }
    }
    let more = limit.is_some_and(|l| page.len() >= l) && idx < items.len();
    let (token, remaining) = if more {
        core.lock().remember(t.res, ns, view.rv, view.items.clone());
        if core.take_expire_after_page(t.res) {
            core.lock().expire();
            core.wake_watches();
        }
        let last = &items[idx - 1];
        let remaining = (!filter.has_selectors()).then(|| items.len() - idx);
        (
            Some(encode_continue(view.rv as i64, &start_key(def, ns, last))),
            remaining,
        )
    } else {
        (None, None)
    };
    let shard_info = filter.shard.as_ref().map(|s| s.text.as_str());
    list_response(
        &core,
        t.res,
        ctx.meta_only,
        view.rv,
        (token, remaining, shard_info),
        page,
    )
}

fn list_response(
    core: &Core,
    res: usize,
    meta_only: bool,
    rv: u64,
    (token, remaining, shard_info): (Option<String>, Option<usize>, Option<&str>),
    items: Vec<Arc<Stored>>,
) -> Response {
    let def = core.reg.def(res);
    let mut head = if meta_only {
        br#"{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{"#.to_vec()
    } else {
        format!(
            r#"{{"kind":"{}","apiVersion":"{}","metadata":{{"#,
            def.list_kind, def.api_version
        )
        .into_bytes()
    };
    let mut meta_fields = Vec::new();
    if def.list_resource_version {
        meta_fields.push(format!(r#""resourceVersion":"{rv}""#));
    }
    if let Some(tok) = token {
        meta_fields.push(format!(r#""continue":"{tok}""#));
    }
    if let Some(n) = remaining {
        meta_fields.push(format!(r#""remainingItemCount":{n}"#));
    }
    if let Some(selector) = shard_info {
        let quoted = serde_json::to_string(selector).unwrap_or_default();
        meta_fields.push(format!(r#""shardInfo":{{"selector":{quoted}}}"#));
    }
    head.extend_from_slice(meta_fields.join(",").as_bytes());
    head.extend_from_slice(br#"},"items":["#);
    let prefix = core.reg.type_prefix(res);
    let approx: usize = head.len() + items.iter().map(|o| o.json.len() + prefix.len() + 2).sum::<usize>() + 4;
    if approx <= super::status::CHUNKING_THRESHOLD {
        let mut body = head;
        for (i, o) in items.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            push_list_item(&mut body, &prefix, meta_only, o);
        }
        body.extend_from_slice(b"]}\n");
        return json_response(200, body);
    }
    struct Chunker {
        head: Option<Vec<u8>>,
        items: std::vec::IntoIter<Arc<Stored>>,
        first: bool,
        done: bool,
        prefix: Arc<[u8]>,
        meta_only: bool,
    }
    let chunker = Chunker {
        head: Some(head),
        items: items.into_iter(),
        first: true,
        done: false,
        prefix,
        meta_only,
    };
    let stream = futures::stream::unfold(chunker, |mut c| async move {
        if c.done {
            return None;
        }
        let mut buf = c.head.take().unwrap_or_default();
        buf.reserve(LIST_CHUNK);
        while buf.len() < LIST_CHUNK {
            match c.items.next() {
                Some(o) => {
                    if !c.first {
                        buf.push(b',');
                    }
                    c.first = false;
                    push_list_item(&mut buf, &c.prefix, c.meta_only, &o);
                }
                None => {
                    buf.extend_from_slice(b"]}\n");
                    c.done = true;
                    break;
                }
            }
        }
        Some((Ok::<Bytes, Infallible>(Bytes::from(buf)), c))
    });
    super::status::json_stream_response(Body::from_stream(stream))
}

/// List items carry no apiVersion/kind (list-pods-limit2-page1.http); metadata-only items do.
fn push_list_item(out: &mut Vec<u8>, prefix: &[u8], meta_only: bool, o: &Stored) {
    if meta_only {
        push_object(out, prefix, true, &o.json, o.meta_end);
    } else {
        out.extend_from_slice(&o.json);
    }
}

fn watch(core: Arc<Core>, t: &Target, ctx: &Ctx) -> Response {
    let def = core.reg.def(t.res);
    if !def.watchable {
        return method_not_allowed();
    }
    let q = &ctx.query;
    let rv = q.get("resourceVersion");
    let rv_match = q.get("resourceVersionMatch");
    let send_initial = q.flag("sendInitialEvents");
    let mut causes = Vec::new();
    if send_initial.is_some() && !core.config.watch_list {
        causes.push(forbidden_cause(
            "sendInitialEvents",
            "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled",
        ));
    }
    if send_initial.is_some() && rv_match != Some("NotOlderThan") {
        causes.push(forbidden_cause(
            "resourceVersionMatch",
            "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        ));
    }
    if let Some(m) = rv_match {
        if send_initial.is_none() {
            causes.push(forbidden_cause(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            ));
        }
        if m != "NotOlderThan" {
            causes.push(not_supported_cause("resourceVersionMatch", m, &["NotOlderThan"]));
        }
        if q.get("continue").is_some() {
            causes.push(forbidden_cause(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden when continue is provided",
            ));
        }
    }
    if !causes.is_empty() {
        return invalid_list_options(causes);
    }
    let filter = match parse_filter(&core, def, t, q) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let bookmarks = q.flag("allowWatchBookmarks").unwrap_or(false);
    let timeout = match q.get("timeoutSeconds").map(str::parse::<u64>) {
        Some(Ok(n)) if n > 0 => Duration::from_secs(n),
        Some(Err(_)) => return bad_request("invalid timeoutSeconds"),
        // A real server picks a random timeout in [minRequestTimeout, 2*minRequestTimeout).
        _ => Duration::from_secs(1800 + fastrand::u64(..1800)),
    };
    let from_rv = match rv {
        None | Some("0") => None,
        Some(r) => match parse_rv(r) {
            Ok(r) => Some(r),
            Err(resp) => return *resp,
        },
    };
    let start = match (send_initial, from_rv) {
        (Some(true), _) => Start::Initial {
            end_bookmark: bookmarks,
        },
        (None, None) => Start::Initial { end_bookmark: false },
        (Some(false), None) => Start::Now,
        (_, Some(r)) => Start::From(r),
    };
    serve_watch(
        core.clone(),
        WatchSpec {
            res: t.res,
            filter,
            meta_only: ctx.meta_only,
            bookmarks,
            timeout,
            start,
        },
    )
}

// ---- discovery ----

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VersionInfo {
    major: &'static str,
    minor: &'static str,
    emulation_major: &'static str,
    emulation_minor: &'static str,
    min_compatibility_major: &'static str,
    min_compatibility_minor: &'static str,
    git_version: &'static str,
    git_commit: &'static str,
    git_tree_state: &'static str,
    build_date: &'static str,
    go_version: &'static str,
    compiler: &'static str,
    platform: &'static str,
}

/// `/version` (version.http): pretty-printed, no trailing newline.
fn version() -> Response {
    let info = VersionInfo {
        major: "1",
        minor: "36",
        emulation_major: "1",
        emulation_minor: "36",
        min_compatibility_major: "1",
        min_compatibility_minor: "35",
        git_version: "v1.36.2",
        git_commit: "98b35193b2ac7a23a673325f5e9b830ecd5ba406",
        git_tree_state: "clean",
        build_date: "2026-11-24T04:42:18Z",
        go_version: "go1.27.3",
        compiler: "gc",
        platform: "linux/amd64",
    };
    json_response(200, serde_json::to_vec_pretty(&info).unwrap_or_default())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupVersion {
    group_version: String,
    version: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiGroup {
    name: &'static str,
    versions: Vec<GroupVersion>,
    preferred_version: GroupVersion,
}

fn api_group_of(core: &Core, g: &'static str) -> ApiGroup {
    let versions: Vec<GroupVersion> = core
        .reg
        .group_versions(g)
        .into_iter()
        .map(|v| GroupVersion {
            group_version: format!("{g}/{v}"),
            version: v,
        })
        .collect();
    let preferred = versions
        .first()
        .map(|gv| GroupVersion {
            group_version: gv.group_version.clone(),
            version: gv.version,
        })
        .unwrap_or(GroupVersion {
            group_version: String::new(),
            version: "",
        });
    ApiGroup {
        name: g,
        versions,
        preferred_version: preferred,
    }
}

fn to_json_line<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec(v).unwrap_or_default();
    out.push(b'\n');
    out
}

/// `/api` (api.http).
fn api_versions(core: &Core) -> Response {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Cidr {
        #[serde(rename = "clientCIDR")]
        client_cidr: &'static str,
        server_address: String,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ApiVersions {
        kind: &'static str,
        versions: Vec<&'static str>,
        #[serde(rename = "serverAddressByClientCIDRs")]
        server_address_by_client_cidrs: Vec<Cidr>,
    }
    json_response(
        200,
        to_json_line(&ApiVersions {
            kind: "APIVersions",
            versions: core.reg.group_versions(""),
            server_address_by_client_cidrs: vec![Cidr {
                client_cidr: "0.0.0.0/0",
                server_address: core.addr.to_string(),
            }],
        }),
    )
}

/// `/apis` (apis.http).
fn api_group_list(core: &Core) -> Response {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ApiGroupList {
        kind: &'static str,
        api_version: &'static str,
        groups: Vec<ApiGroup>,
    }
    let groups = core
        .reg
        .groups()
        .into_iter()
        .filter(|g| !metrics::group_hidden(core, g))
        .map(|g| api_group_of(core, g))
        .collect();
    json_response(
        200,
        to_json_line(&ApiGroupList {
            kind: "APIGroupList",
            api_version: "v1",
            groups,
        }),
    )
}

/// `/apis/{group}`.
fn api_group(core: &Core, g: &str) -> Response {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ApiGroupDoc {
        kind: &'static str,
        api_version: &'static str,
        #[serde(flatten)]
        group: ApiGroup,
    }
    let Some(g) = core.reg.groups().into_iter().find(|x| *x == g) else {
        return not_found_text();
    };
    json_response(
        200,
        to_json_line(&ApiGroupDoc {
            kind: "APIGroup",
            api_version: "v1",
            group: api_group_of(core, g),
        }),
    )
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiResource {
    name: String,
    singular_name: &'static str,
    namespaced: bool,
    kind: &'static str,
    verbs: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    short_names: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    categories: Vec<&'static str>,
}

/// `/api/v1`, `/apis/{group}/{version}`: APIResourceList (core without apiVersion, as real servers).
pub fn resource_list(core: &Core, g: &str, v: &str) -> Response {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ApiResourceList {
        kind: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        api_version: Option<&'static str>,
        group_version: String,
        resources: Vec<ApiResource>,
    }
    let mut resources = Vec::new();
    for i in core.reg.resources_of(g, v) {
        let d = core.reg.def(i);
        let verbs = if d.custom {
            // The CRD discovery controller's order.
            vec![
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "create",
                "update",
                "watch",
            ]
        } else if d.watchable {
            vec![
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ]
        } else {
            vec!["get", "list"]
        };
        resources.push(ApiResource {
            name: d.plural.to_string(),
            singular_name: d.singular,
            namespaced: d.namespaced,
            kind: d.kind,
            verbs,
            short_names: d.short_names.to_vec(),
            categories: d.categories.to_vec(),
        });
        if d.status_subresource {
            resources.push(ApiResource {
                name: format!("{}/status", d.plural),
                singular_name: "",
                namespaced: d.namespaced,
                kind: d.kind,
                verbs: vec!["get", "patch", "update"],
                short_names: Vec::new(),
                categories: Vec::new(),
            });
        }
    }
    let doc = ApiResourceList {
        kind: "APIResourceList",
        api_version: (!g.is_empty()).then_some("v1"),
        group_version: if g.is_empty() {
            v.to_string()
        } else {
            format!("{g}/{v}")
        },
        resources,
    };
    let mut resp = json_response(200, to_json_line(&doc));
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, private"));
    resp
}
