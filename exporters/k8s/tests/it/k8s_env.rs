//! The environment at install: outside a cluster nothing is attached; in
//! one, a missing downward-API variable is an error naming it. One test, as
//! it changes the process environment.

use crate::support::mock_apiserver;

use fcc::Telemetry;
use fcc_k8s::{in_cluster, K8sError, K8sEventSink, K8sTelemetryExt};
use mock_apiserver::MockApiServer;

fn set(k: &str, v: Option<&str>) {
    // SAFETY: this test binary has one test, so no other thread reads the environment.
    unsafe {
        match v {
            Some(v) => std::env::set_var(k, v),
            None => std::env::remove_var(k),
        }
    }
}

#[test]
fn install_follows_the_environment() {
    for k in [
        "KUBERNETES_SERVICE_HOST",
        "POD_NAME",
        "POD_NAMESPACE",
        "POD_UID",
    ] {
        set(k, None);
    }
    assert!(!in_cluster());
    let t = Telemetry::builder()
        .fmt(None)
        .log(fcc::LogTarget::Off)
        .kubernetes_events()
        .unwrap()
        .build()
        .unwrap();
    assert!(
        t.sink_stats().iter().all(|s| s.name != "k8s_events"),
        "not attached outside a cluster"
    );

    // KUBERNETES_SERVICE_HOST alone (no mounted token) is not a cluster either.
    set("KUBERNETES_SERVICE_HOST", Some("10.96.0.1"));
    assert_eq!(
        in_cluster(),
        std::path::Path::new(fcc_k8s::SERVICE_ACCOUNT_TOKEN).exists()
    );
    set("KUBERNETES_SERVICE_HOST", None);

    let server = MockApiServer::start();
    let attach = || {
        Telemetry::builder()
            .kubernetes_events_with(K8sEventSink::builder().kube_config(server.kube_config()))
            .map(drop)
    };
    for (missing, then_set) in [
        ("POD_NAME", "api-1"),
        ("POD_NAMESPACE", "shop"),
        ("POD_UID", "u-1"),
    ] {
        match attach() {
            Err(K8sError::PodEnv(e)) => {
                assert_eq!(e.variable, missing);
                let msg = K8sError::PodEnv(e).to_string();
                assert!(msg.starts_with(&format!("{missing} is not set")), "{msg}");
            }
            other => panic!("expected an error naming {missing}, got {:?}", other.err()),
        }
        set(missing, Some(then_set));
    }
    attach().expect("all three set");
}
