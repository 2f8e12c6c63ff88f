//! The mock API server enforces the API server's Event rules: each rule is
//! broken once here, through kube-rs as the sink talks, and must be refused
//! with the status the real server gives. (If the mock accepted anything,
//! the sink's tests would prove nothing.)

use crate::support::mock_apiserver;

use k8s_openapi::api::events::v1::Event;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use mock_apiserver::{Fault, MockApiServer};
use serde_json::{json, Value};

fn valid(name: &str) -> Value {
    json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": name, "namespace": "shop"},
        "eventTime": "2026-11-22T10:00:00.000000Z",
        "type": "Warning", "reason": "BackendDown", "action": "Connect", "note": "refused",
        "regarding": {"apiVersion": "v1", "kind": "Pod", "name": "api-1", "namespace": "shop", "uid": "u1"},
        "reportingController": "example.com/checkout", "reportingInstance": "api-1"
    })
}

struct Harness {
    rt: tokio::runtime::Runtime,
    client: Client,
    api: Api<Event>,
    server: MockApiServer,
}

impl Harness {
    fn new() -> Self {
        let server = MockApiServer::start();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = {
            let _g = rt.enter();
            Client::try_from(server.kube_config()).unwrap()
        };
        Self {
            rt,
            api: Api::namespaced(client.clone(), "shop"),
            client,
            server,
        }
    }

    /// POSTs `body` as it is (typed Events cannot hold some invalid shapes)
    /// and returns the status code (201 on success).
    fn create(&self, body: Value) -> (u16, String) {
        let req = http::Request::post("/apis/events.k8s.io/v1/namespaces/shop/events")
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&body).unwrap())
            .unwrap();
        match self.rt.block_on(self.client.request::<Value>(req)) {
            Ok(_) => (201, String::new()),
            Err(kube::Error::Api(s)) => (s.code, s.message.clone()),
            Err(e) => panic!("transport: {e}"),
        }
    }

    fn patch(&self, name: &str, patch: Value) -> (u16, String) {
        match self.rt.block_on(
            self.api
                .patch(name, &PatchParams::default(), &Patch::Merge(patch)),
        ) {
            Ok(_) => (200, String::new()),
            Err(kube::Error::Api(s)) => (s.code, s.message.clone()),
            Err(e) => panic!("transport: {e}"),
        }
    }
}

#[test]
fn a_valid_event_is_created_once() {
    let h = Harness::new();
    assert_eq!(h.create(valid("api-1.1")).0, 201);
    let (code, msg) = h.create(valid("api-1.1"));
    assert_eq!(code, 409, "{msg}");
    assert!(msg.contains("already exists"));
    assert_eq!(h.server.events().len(), 1);
}

#[test]
fn each_create_rule_is_enforced() {
    let h = Harness::new();
    type Breaker = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Breaker)> = vec![
        (
            "eventTime: Required",
            Box::new(|e| {
                e.as_object_mut().unwrap().remove("eventTime");
            }),
        ),
        ("type: Invalid", Box::new(|e| e["type"] = json!("Info"))),
        (
            "reason: Required",
            Box::new(|e| {
                e.as_object_mut().unwrap().remove("reason");
            }),
        ),
        (
            "reason: Invalid value: \"\": can have at most 128",
            Box::new(|e| e["reason"] = json!("R".repeat(129))),
        ),
        ("action: Required", Box::new(|e| e["action"] = json!(""))),
        (
            "action: Invalid value: \"\": can have at most 128",
            Box::new(|e| e["action"] = json!("A".repeat(129))),
        ),
        (
            "note: Invalid value: \"\": can have at most 1024",
            Box::new(|e| e["note"] = json!("é".repeat(513))),
        ),
        (
            "reportingController: Invalid",
            Box::new(|e| e["reportingController"] = json!("my controller")),
        ),
        (
            "reportingController: Required",
            Box::new(|e| e["reportingController"] = json!("")),
        ),
        (
            "reportingInstance: Invalid value: \"\": can have at most 128",
            Box::new(|e| e["reportingInstance"] = json!("i".repeat(129))),
        ),
        (
            "series.count: Invalid value: \"\": should be at least 2",
            Box::new(|e| {
                e["series"] = json!({"count": 1, "lastObservedTime": "2026-11-22T10:00:00.000000Z"})
            }),
        ),
        (
            "series.lastObservedTime: Required",
            Box::new(|e| e["series"] = json!({"count": 2})),
        ),
        (
            "deprecatedCount: Invalid value: \"\": needs to be unset",
            Box::new(|e| e["deprecatedCount"] = json!(3)),
        ),
        (
            "deprecatedSource: Invalid value: \"\": needs to be unset",
            Box::new(|e| e["deprecatedSource"] = json!({"component": "x"})),
        ),
        (
            "regarding.namespace: Invalid value: \"prod\": does not match",
            Box::new(|e| e["regarding"]["namespace"] = json!("prod")),
        ),
        (
            "regarding.namespace: Invalid value: \"\": does not match",
            Box::new(|e| {
                e["regarding"].as_object_mut().unwrap().remove("namespace");
            }),
        ),
        (
            "metadata.name: Invalid",
            Box::new(|e| e["metadata"]["name"] = json!("Api_1")),
        ),
    ];
    for (i, (expected, break_it)) in cases.iter().enumerate() {
        let mut body = valid(&format!("api-1.{i}"));
        break_it(&mut body);
        let (code, msg) = h.create(body);
        assert_eq!(code, 422, "{expected}: {msg}");
        assert!(msg.contains(expected), "expected `{expected}` in `{msg}`");
    }
    assert!(h.server.events().is_empty());
    let mut wrong_ns = valid("api-1.x");
    wrong_ns["metadata"]["namespace"] = json!("prod");
    // kube-rs sends to the Api's namespace; the object's own disagrees.
    assert_eq!(h.create(wrong_ns).0, 400);
}

#[test]
fn patches_follow_the_update_rules() {
    let h = Harness::new();
    assert_eq!(h.create(valid("api-1.1")).0, 201);
    let (code, msg) = h.patch(
        "api-1.1",
        json!({"series": {"count": 1, "lastObservedTime": "2026-11-22T10:00:01.000000Z"}}),
    );
    assert_eq!(code, 422, "{msg}");
    assert_eq!(
        h.patch("api-1.1", json!({"note": "changed"})).0,
        422,
        "note is immutable"
    );
    assert_eq!(
        h.patch(
            "api-1.1",
            json!({"series": {"count": 2, "lastObservedTime": "2026-11-22T10:00:01.000000Z"}})
        )
        .0,
        200
    );
    assert_eq!(h.server.events()[0]["series"]["count"], 2);
    assert_eq!(h.patch("api-1.404", json!({"series": {"count": 2}})).0, 404);
    let patch = h
        .server
        .seen()
        .into_iter()
        .find(|s| s.method == "PATCH")
        .unwrap();
    assert_eq!(patch.content_type, "application/merge-patch+json");
}

#[test]
fn rbac_namespaces_and_scripted_faults() {
    let h = Harness::new();
    h.server.forbid("shop");
    let (code, msg) = h.create(valid("a.1"));
    assert_eq!(code, 403);
    assert!(msg.contains("cannot create resource \"events\""), "{msg}");
    let h = Harness::new();
    h.server.namespaces(&["prod"]);
    let (code, msg) = h.create(valid("a.1"));
    assert_eq!((code, msg.as_str()), (404, "namespaces \"shop\" not found"));
    let h = Harness::new();
    h.server.fail_next([Fault::Status(500)]);
    assert_eq!(h.create(valid("a.1")).0, 500);
    assert_eq!(h.create(valid("a.1")).0, 201);
}
