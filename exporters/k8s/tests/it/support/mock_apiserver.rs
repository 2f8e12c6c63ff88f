//! A stand-in for the Kubernetes API server's `events.k8s.io/v1` Events, on
//! loopback HTTP/1.1, enforcing the server's validation rules
//! (`pkg/apis/core/validation/events.go`: `ValidateEventCreate` with the
//! strict v1 rules, `ValidateEventUpdate`) and answering as it does: 201 on
//! create, 200 on patch, and `Status` bodies for 400, 403, 404, 409, 415 and
//! 422. Tests can also script faults: any status, or no answer at all.
//!
//! No Kubernetes API server can run on the machines fcc is built on; this is
//! the one part of fcc tested against a model of its peer, so the model
//! follows the documented rules closely and is itself tested
//! (`tests/it/mock_apiserver_rules.rs`).
#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

/// A scripted answer for the next request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status (a `Status` body).
    Status(u16),
    /// Read the request, then say nothing for this long and close.
    Silence(Duration),
}

/// One request as the server saw it, with its answer.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub content_type: String,
    pub body: Value,
    pub status: u16,
}

#[derive(Default)]
struct State {
    events: HashMap<(String, String), Value>,
    seen: Vec<Seen>,
    faults: VecDeque<Fault>,
    forbidden: HashSet<String>,
    namespaces: Option<HashSet<String>>,
    rv: u64,
}

/// The running mock. Stops accepting when dropped.
pub struct MockApiServer {
    addr: std::net::SocketAddr,
    state: Arc<Mutex<State>>,
}

impl MockApiServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { break };
                let st = st.clone();
                std::thread::spawn(move || serve(conn, st));
            }
        });
        Self { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kube config for this server (no auth).
    pub fn kube_config(&self) -> kube::Config {
        kube::Config::new(self.url().parse().expect("uri"))
    }

    /// The next requests get these answers, in order.
    pub fn fail_next(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().unwrap().faults.extend(faults);
    }

    /// Requests in `namespace` are refused with 403, as without RBAC.
    pub fn forbid(&self, namespace: &str) {
        self.state
            .lock()
            .unwrap()
            .forbidden
            .insert(namespace.to_owned());
    }

    /// Only these namespaces exist (others answer 404).
    pub fn namespaces(&self, names: &[&str]) {
        self.state.lock().unwrap().namespaces = Some(names.iter().map(|s| s.to_string()).collect());
    }

    /// Deletes every stored Event (as their one-hour TTL would).
    pub fn expire_all(&self) {
        self.state.lock().unwrap().events.clear();
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// Stored Events, oldest first.
    pub fn events(&self) -> Vec<Value> {
        let st = self.state.lock().unwrap();
        let mut v: Vec<Value> = st.events.values().cloned().collect();
        v.sort_by_key(|e| {
            e["metadata"]["resourceVersion"]
                .as_str()
                .and_then(|s| s.parse::<u64>().ok())
        });
        v
    }
}

fn serve(conn: TcpStream, state: Arc<Mutex<State>>) {
    let mut reader = BufReader::new(conn.try_clone().expect("clone"));
    let mut out = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (
            parts.next().unwrap_or("").to_owned(),
            parts.next().unwrap_or("").to_owned(),
        );
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let path = target.split('?').next().unwrap_or("").to_owned();
        let content_type = headers.get("content-type").cloned().unwrap_or_default();
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let fault = state.lock().unwrap().faults.pop_front();
        let (status, reply) = match fault {
            Some(Fault::Silence(d)) => {
                record(&state, &method, &path, &content_type, &body, 0);
                std::thread::sleep(d);
                return;
            }
            Some(Fault::Status(code)) => (code, status_body(code, "Scripted", "scripted failure")),
            None => handle(&state, &method, &path, &content_type, &body),
        };
        record(&state, &method, &path, &content_type, &body, status);
        let text = reply.to_string();
        let head = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            reason_phrase(status),
            text.len()
        );
        if out
            .write_all(head.as_bytes())
            .and_then(|_| out.write_all(text.as_bytes()))
            .is_err()
        {
            return;
        }
    }
}

fn record(state: &Mutex<State>, method: &str, path: &str, ct: &str, body: &Value, status: u16) {
    state.lock().unwrap().seen.push(Seen {
        method: method.to_owned(),
        path: path.to_owned(),
        content_type: ct.to_owned(),
        body: body.clone(),
        status,
    });
}

fn reason_phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn status_body(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

fn handle(state: &Mutex<State>, method: &str, path: &str, ct: &str, body: &Value) -> (u16, Value) {
    let rest = path.strip_prefix("/apis/events.k8s.io/v1/namespaces/");
    let Some((ns, tail)) = rest.and_then(|r| r.split_once('/')) else {
        return (
            404,
            status_body(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        );
    };
    let name = tail.strip_prefix("events/").filter(|n| !n.is_empty());
    if tail != "events" && name.is_none() {
        return (
            404,
            status_body(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        );
    }
    let mut st = state.lock().unwrap();
    if st.forbidden.contains(ns) {
        let verb = if method == "POST" { "create" } else { "patch" };
        let msg = format!(
            "events.events.k8s.io is forbidden: User \"system:serviceaccount:{ns}:default\" cannot {verb} \
             resource \"events\" in API group \"events.k8s.io\" in the namespace \"{ns}\""
        );
        return (403, status_body(403, "Forbidden", &msg));
    }
    if st.namespaces.as_ref().is_some_and(|n| !n.contains(ns)) {
        return (
            404,
            status_body(404, "NotFound", &format!("namespaces \"{ns}\" not found")),
        );
    }
    match (method, name) {
        ("POST", None) => {
            if ct != "application/json" {
                return (
                    415,
                    status_body(
                        415,
                        "UnsupportedMediaType",
                        &format!("the body of the request was in an unknown format: {ct}"),
                    ),
                );
            }
            if let Some(obj_ns) = body["metadata"]["namespace"].as_str() {
                if obj_ns != ns {
                    return (400, status_body(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request"));
                }
            }
            let errs = validate_create(body, ns);
            if !errs.is_empty() {
                return invalid(body, errs);
            }
            let name = body["metadata"]["name"].as_str().unwrap_or("").to_owned();
            let key = (ns.to_owned(), name.clone());
            if st.events.contains_key(&key) {
                return (
                    409,
                    status_body(
                        409,
                        "AlreadyExists",
                        &format!("events.events.k8s.io \"{name}\" already exists"),
                    ),
                );
            }
            st.rv += 1;
            let mut stored = body.clone();
            stored["metadata"]["namespace"] = json!(ns);
            stored["metadata"]["resourceVersion"] = json!(st.rv.to_string());
            stored["metadata"]["uid"] = json!(format!("uid-{}", st.rv));
            st.events.insert(key, stored.clone());
            (201, stored)
        }
        ("PATCH", Some(name)) => {
            if ct != "application/merge-patch+json" {
                return (
                    415,
                    status_body(
                        415,
                        "UnsupportedMediaType",
                        &format!("the body of the request was in an unknown format: {ct}"),
                    ),
                );
            }
            let key = (ns.to_owned(), name.to_owned());
            let Some(old) = st.events.get(&key).cloned() else {
                return (
                    404,
                    status_body(
                        404,
                        "NotFound",
                        &format!("events.events.k8s.io \"{name}\" not found"),
                    ),
                );
            };
            let mut new = old.clone();
            merge_patch(&mut new, body);
            let errs = validate_update(&new, &old, ns);
            if !errs.is_empty() {
                return invalid(&new, errs);
            }
            st.rv += 1;
            new["metadata"]["resourceVersion"] = json!(st.rv.to_string());
            st.events.insert(key, new.clone());
            (200, new)
        }
        _ => (
            405,
            status_body(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            ),
        ),
    }
}

fn invalid(obj: &Value, errs: Vec<String>) -> (u16, Value) {
    let name = obj["metadata"]["name"].as_str().unwrap_or("");
    let msg = format!(
        "Event.events.k8s.io \"{name}\" is invalid: [{}]",
        errs.join(", ")
    );
    (422, status_body(422, "Invalid", &msg))
}

/// RFC 7386 JSON merge patch.
fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            let t = target.as_object_mut().expect("object");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

fn is_micro_time(v: &Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    let b = s.as_bytes();
    b.len() == 27
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[26] == b'Z'
        && [
            0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22, 23, 24, 25,
        ]
        .iter()
        .all(|&i| b[i].is_ascii_digit())
}

fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

fn is_qualified_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    let name = match parts.as_slice() {
        [n] => n,
        [p, n] if is_dns_subdomain(p) => n,
        _ => return false,
    };
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn str_len(v: &Value) -> usize {
    v.as_str().map_or(0, str::len)
}

/// `ValidateEventCreate` for `events.k8s.io/v1`.
fn validate_create(e: &Value, ns: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if e["apiVersion"] != "events.k8s.io/v1" || e["kind"] != "Event" {
        errs.push("apiVersion/kind: must be events.k8s.io/v1 Event".to_owned());
    }
    match e["metadata"]["name"].as_str() {
        Some(n) if is_dns_subdomain(n) => {}
        Some(n) => errs.push(format!("metadata.name: Invalid value: \"{n}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'")),
        None => errs.push("metadata.name: Required value: name or generateName is required".to_owned()),
    }
    errs.extend(validate_series(e));
    if e["eventTime"].is_null() {
        errs.push("eventTime: Required value".to_owned());
    } else if !is_micro_time(&e["eventTime"]) {
        errs.push(format!(
            "eventTime: Invalid value: {}: not a MicroTime",
            e["eventTime"]
        ));
    }
    if e["type"] != "Normal" && e["type"] != "Warning" {
        errs.push(format!(
            "type: Invalid value: \"\": has invalid value: {}",
            e["type"].as_str().unwrap_or("")
        ));
    }
    for f in [
        "deprecatedFirstTimestamp",
        "deprecatedLastTimestamp",
        "deprecatedCount",
        "deprecatedSource",
    ] {
        if !e[f].is_null() {
            errs.push(format!("{f}: Invalid value: \"\": needs to be unset"));
        }
    }
    errs.extend(legacy(e, ns));
    errs
}

/// `ValidateEventUpdate`: the series rules when it changed, immutable fields.
fn validate_update(new: &Value, old: &Value, ns: &str) -> Vec<String> {
    let mut errs = legacy(new, ns);
    if new["series"] != old["series"] {
        errs.extend(validate_series(new));
    }
    for f in [
        "regarding",
        "related",
        "reason",
        "note",
        "type",
        "eventTime",
        "action",
        "reportingController",
        "reportingInstance",
    ] {
        if new[f] != old[f] {
            errs.push(format!("{f}: Invalid value: field is immutable"));
        }
    }
    errs
}

fn validate_series(e: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    if let Some(s) = e.get("series").filter(|s| !s.is_null()) {
        if s["count"].as_i64().unwrap_or(0) < 2 {
            errs.push("series.count: Invalid value: \"\": should be at least 2".to_owned());
        }
        if !is_micro_time(&s["lastObservedTime"]) {
            errs.push("series.lastObservedTime: Required value".to_owned());
        }
    }
    errs
}

/// `legacyValidateEvent` for an Event with `eventTime` set.
fn legacy(e: &Value, ns: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let regarding_ns = e["regarding"]["namespace"].as_str().unwrap_or("");
    if regarding_ns.is_empty() {
        if ns != "default" && ns != "kube-system" {
            errs.push(
                "regarding.namespace: Invalid value: \"\": does not match event.namespace"
                    .to_owned(),
            );
        }
    } else if regarding_ns != ns {
        errs.push(format!("regarding.namespace: Invalid value: \"{regarding_ns}\": does not match event.namespace"));
    }
    let controller = e["reportingController"].as_str().unwrap_or("");
    if controller.is_empty() {
        errs.push("reportingController: Required value".to_owned());
    } else if !is_qualified_name(controller) {
        errs.push(format!("reportingController: Invalid value: \"{controller}\": name part must consist of alphanumeric characters, '-', '_' or '.'"));
    }
    for (f, limit) in [("reportingInstance", 128), ("action", 128), ("reason", 128)] {
        match str_len(&e[f]) {
            0 => errs.push(format!("{f}: Required value")),
            n if n > limit => errs.push(format!(
                "{f}: Invalid value: \"\": can have at most {limit} characters"
            )),
            _ => {}
        }
    }
    if str_len(&e["note"]) > 1024 {
        errs.push("note: Invalid value: \"\": can have at most 1024 characters".to_owned());
    }
    if !is_dns_subdomain(ns) {
        errs.push(format!("namespace: Invalid value: \"{ns}\""));
    }
    errs
}
