//! K8sEventSink through the bus against the mock API server: the exact
//! requests (POST of a first event, PATCH of a series), the spam limit,
//! retries, refusals, and bad input.

use crate::support::mock_apiserver;

use std::sync::Arc;
use std::time::Duration;

use fcc::sinks::{attach, SinkHandle};
use fcc::{Event, EventBus, EventType, Outcome};
use fcc_k8s::{K8sEventSink, K8sEventSinkBuilder, K8sStatsHandle, PodRef};
use mock_apiserver::{Fault, MockApiServer};
use serde_json::json;

const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/shop/events";

fn builder(server: &MockApiServer) -> K8sEventSinkBuilder {
    K8sEventSink::builder()
        .pod(PodRef::new("checkout-7d9f", "shop").uid("0b8e6a0a-uid"))
        .reporting_controller("example.com/checkout")
        .kube_config(server.kube_config())
        .retries(3, Duration::from_millis(5))
        .request_timeout(Duration::from_millis(500))
}

struct Running {
    bus: EventBus,
    handle: Arc<SinkHandle>,
    stats: K8sStatsHandle,
}

fn run(b: K8sEventSinkBuilder) -> Running {
    let sink = b.build().expect("build");
    let stats = sink.stats();
    let bus = EventBus::new();
    let options = sink.sink_options();
    let handle = attach(&bus, Box::new(sink), options).expect("attach");
    Running { bus, handle, stats }
}

impl Running {
    fn publish(&self, e: Event) {
        self.bus.publish(&e);
    }
    fn flush(&self) {
        self.handle.flush(Duration::from_secs(10)).expect("flush");
    }
}

fn backend_warning(detail: &str) -> Event {
    Event::warn("mcpclient", "connect_attempt", detail)
        .category("backend")
        .resource("mcp_server:vendor")
        .outcome(Outcome::Failure)
        .build()
}

#[test]
fn a_first_event_is_one_valid_post() {
    let server = MockApiServer::start();
    let r = run(builder(&server));
    let e = backend_warning("dial tcp 10.0.3.7:443: connection refused");
    r.publish(e.clone());
    r.flush();
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let post = &seen[0];
    assert_eq!(
        (post.method.as_str(), post.path.as_str(), post.status),
        ("POST", EVENTS, 201)
    );
    assert_eq!(post.content_type, "application/json");
    let b = &post.body;
    assert_eq!(b["apiVersion"], "events.k8s.io/v1");
    assert_eq!(b["type"], "Warning");
    assert_eq!(b["reason"], "McpclientConnectAttemptFailure");
    assert_eq!(b["action"], "ConnectAttempt");
    assert_eq!(b["note"], "dial tcp 10.0.3.7:443: connection refused");
    assert_eq!(
        b["regarding"],
        json!({"apiVersion": "v1", "kind": "Pod", "name": "checkout-7d9f", "namespace": "shop", "uid": "0b8e6a0a-uid"})
    );
    assert_eq!(b["reportingController"], "example.com/checkout");
    assert_eq!(b["reportingInstance"], "checkout-7d9f");
    let ts = e.timestamp().format_rfc3339();
    assert_eq!(
        &b["eventTime"].as_str().unwrap()[..26],
        &ts.as_str()[..26],
        "eventTime is the event's time in µs"
    );
    assert!(b["metadata"]["name"]
        .as_str()
        .unwrap()
        .starts_with("checkout-7d9f."));
    for absent in [
        "series",
        "deprecatedCount",
        "deprecatedSource",
        "deprecatedFirstTimestamp",
        "deprecatedLastTimestamp",
    ] {
        assert!(b.get(absent).is_none(), "{absent} must be unset");
    }
    assert_eq!(r.stats.get().created, 1);
}

#[test]
fn repeats_become_one_series_patched_not_new_objects() {
    let server = MockApiServer::start();
    let r = run(builder(&server));
    for _ in 0..5 {
        r.publish(backend_warning("refused"));
    }
    r.flush();
    let seen = server.seen();
    let methods: Vec<&str> = seen.iter().map(|s| s.method.as_str()).collect();
    assert_eq!(methods, ["POST", "PATCH", "PATCH"], "{seen:?}");
    let name = seen[0].body["metadata"]["name"].as_str().unwrap();
    assert_eq!(seen[1].path, format!("{EVENTS}/{name}"));
    assert_eq!(seen[1].content_type, "application/merge-patch+json");
    assert_eq!(
        seen[1].body["series"]["count"], 2,
        "the first repeat is PATCHed at once"
    );
    assert!(seen[1].body["series"]["lastObservedTime"].is_string());
    assert_eq!(
        seen[2].body["series"]["count"], 5,
        "flush sends the running count"
    );
    assert!(seen.iter().all(|s| s.status / 100 == 2), "{seen:?}");
    let stored = server.events();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["series"]["count"], 5);
    let s = r.stats.get();
    assert_eq!((s.created, s.repeats, s.series_patches), (1, 4, 2));
    // A different outcome is a different reason: its own object.
    r.publish(
        Event::info("mcpclient", "connect_attempt", "ok")
            .category("backend")
            .outcome(Outcome::Success)
            .build(),
    );
    r.flush();
    assert_eq!(server.events().len(), 2);
}

#[test]
fn the_spam_limit_allows_25_new_objects_then_counts() {
    let server = MockApiServer::start();
    let r = run(builder(&server));
    for i in 0..30 {
        r.publish(Event::warn("gateway", &format!("route {i}"), "upstream reset").build());
    }
    r.flush();
    assert_eq!(server.events().len(), 25);
    let s = r.stats.get();
    assert_eq!((s.created, s.spam_dropped), (25, 5));
    // Repeats of an existing series spend no token.
    r.publish(Event::warn("gateway", "route 0", "upstream reset").build());
    r.flush();
    assert_eq!(r.stats.get().repeats, 1);
}

#[test]
fn transport_errors_timeouts_and_5xx_are_retried_a_bounded_number_of_times() {
    let server = MockApiServer::start();
    let r = run(builder(&server));
    server.fail_next([
        Fault::Status(500),
        Fault::Silence(Duration::from_millis(900)),
    ]);
    r.publish(backend_warning("first"));
    r.flush();
    let statuses: Vec<u16> = server.seen().iter().map(|s| s.status).collect();
    assert_eq!(statuses, [500, 0, 201], "500, no answer, then created");
    assert_eq!(r.stats.get().retries, 2);
    assert_eq!(r.stats.get().created, 1);

    server.fail_next([
        Fault::Status(503),
        Fault::Status(502),
        Fault::Status(500),
        Fault::Status(500),
    ]);
    r.publish(Event::error("runtime", "pod_create", "quota").build());
    r.flush();
    let s = r.stats.get();
    assert_eq!(
        (s.failed, s.retries),
        (1, 4),
        "3 tries in all, then given up"
    );
    let statuses: Vec<u16> = server.seen().iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        [500, 0, 201, 503, 502, 500],
        "{:?}",
        server
            .seen()
            .iter()
            .map(|s| (
                s.method.clone(),
                s.body["note"].clone(),
                s.body["metadata"]["name"].clone()
            ))
            .collect::<Vec<_>>()
    );
}

fn refused(setup: impl Fn(&MockApiServer), counter: impl Fn(&fcc_k8s::K8sStats) -> u64) {
    let server = MockApiServer::start();
    setup(&server);
    let r = run(builder(&server));
    for i in 0..3 {
        r.publish(Event::warn("gateway", &format!("a{i}"), "x").build());
    }
    r.flush();
    let s = r.stats.get();
    assert_eq!(counter(&s), 3, "{s:?}");
    assert_eq!(s.retries, 0);
    assert_eq!(server.seen().len(), 3, "one request each, no retry");
    assert!(server.events().is_empty());
}

#[test]
fn forbidden_missing_rbac_is_counted_and_never_retried() {
    refused(|s| s.forbid("shop"), |st| st.forbidden);
}

#[test]
fn a_missing_namespace_is_counted_and_never_retried() {
    refused(|s| s.namespaces(&["prod"]), |st| st.not_found);
}

#[test]
fn an_invalid_answer_is_counted_and_never_retried() {
    refused(
        |s| s.fail_next([Fault::Status(422), Fault::Status(422), Fault::Status(422)]),
        |st| st.invalid,
    );
}

#[test]
fn a_conflict_means_it_is_already_there() {
    let server = MockApiServer::start();
    let r = run(builder(&server));
    server.fail_next([Fault::Status(409)]);
    r.publish(backend_warning("x"));
    r.publish(backend_warning("x"));
    r.flush();
    let s = r.stats.get();
    assert_eq!((s.already_existed, s.repeats), (1, 1), "{s:?}");
}

#[test]
fn an_expired_series_object_is_recreated_with_its_series() {
    let server = MockApiServer::start();
    let r = run(builder(&server));
    r.publish(backend_warning("x"));
    r.flush();
    server.expire_all();
    r.publish(backend_warning("x"));
    r.flush();
    let seen = server.seen();
    let summary: Vec<(&str, u16)> = seen.iter().map(|s| (s.method.as_str(), s.status)).collect();
    assert_eq!(summary, [("POST", 201), ("PATCH", 404), ("POST", 201)]);
    assert_eq!(seen[2].body["series"]["count"], 2);
    assert_eq!(r.stats.get().series_recreated, 1);
    assert_eq!(server.events().len(), 1);
}

#[test]
fn bad_input_becomes_a_valid_event() {
    let server = MockApiServer::start();
    let r = run(builder(&server));
    let long = "ü".repeat(1500);
    r.publish(Event::error("runtime.k8s", "pod create!! (retry #3)", long.clone()).build());
    r.publish(Event::warn("backend", &"x".repeat(500), "").build());
    r.flush();
    let seen = server.seen();
    assert!(seen.iter().all(|s| s.status == 201), "{seen:?}");
    let note = seen[0].body["note"].as_str().unwrap();
    assert!(
        note.len() <= 1024 && note.ends_with('…') && long.starts_with(note.trim_end_matches('…'))
    );
    assert_eq!(seen[0].body["action"], "PodCreateRetry3");
    assert_eq!(seen[1].body["action"].as_str().unwrap().len(), 128);
    assert!(seen[1].body["reason"].as_str().unwrap().len() <= 128);
}

#[test]
fn only_infra_facing_events_by_default() {
    let server = MockApiServer::start();
    let r = run(builder(&server));
    r.publish(Event::builder(EventType::SimulationStep, "engine").build());
    r.publish(Event::info("orchestrator", "objective_started", "o1").build());
    r.publish(Event::builder(EventType::PluginError, "loader").build());
    r.publish(
        Event::info("gateway", "started", "listening")
            .severity(fcc::Severity::Debug)
            .build(),
    );
    r.flush();
    let reasons: Vec<String> = server
        .events()
        .iter()
        .map(|e| e["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(reasons, ["PluginError"]);
}

#[test]
fn an_unreachable_api_server_never_blocks_the_emitter() {
    let b = K8sEventSink::builder()
        .pod(PodRef::new("p", "shop").uid("u"))
        .kube_config(kube::Config::new("http://127.0.0.1:9".parse().unwrap()))
        .retries(2, Duration::from_millis(5))
        .request_timeout(Duration::from_millis(300));
    let r = run(b);
    for _ in 0..3 {
        r.publish(backend_warning("x"));
    }
    r.flush();
    let s = r.stats.get();
    // Nothing is cached after a failure: each repeat tries as a new object.
    assert_eq!(
        (s.failed, s.retries, s.created, s.repeats),
        (3, 3, 0, 0),
        "{s:?}"
    );
}

#[test]
fn the_queue_is_bounded_and_drops_are_counted_while_the_server_is_slow() {
    let server = MockApiServer::start();
    server.fail_next([Fault::Silence(Duration::from_millis(400))]);
    let r = run(builder(&server).queue_capacity(4));
    for i in 0..50 {
        r.publish(Event::warn("gateway", &format!("route {i}"), "reset").build());
    }
    r.flush();
    let runtime = r.handle.stats();
    assert!(runtime.dropped > 0, "{runtime:?}");
    assert_eq!(
        runtime.written + runtime.dropped + runtime.failed,
        50,
        "{runtime:?}"
    );
    let s = r.stats.get();
    assert_eq!(s.created + s.spam_dropped, runtime.written, "{s:?}");
}
