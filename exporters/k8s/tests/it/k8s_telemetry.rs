//! The `Telemetry` builder's `.kubernetes_events_with(...)`: the sink runs in
//! the pipeline, named after the service.

use crate::support::mock_apiserver;

use std::time::Duration;

use fcc::{Event, Telemetry};
use fcc_k8s::{K8sEventSink, K8sTelemetryExt, PodRef};
use mock_apiserver::MockApiServer;

#[test]
fn telemetry_attaches_the_sink_with_the_service_as_controller() {
    let server = MockApiServer::start();
    let builder = K8sEventSink::builder()
        .pod(PodRef::new("orders-5c", "shop").uid("u-1"))
        .kube_config(server.kube_config());
    let stats = builder.stats();
    let telemetry = Telemetry::builder()
        .service_name("orders api")
        .fmt(None)
        .log(fcc::LogTarget::Off)
        .kubernetes_events_with(builder)
        .expect("sink")
        .build()
        .expect("build");
    assert!(telemetry
        .sink_stats()
        .iter()
        .any(|s| s.name == "k8s_events"));
    telemetry
        .bus()
        .publish(&Event::error("gateway", "upstream_down", "no healthy upstream").build());
    telemetry.flush(Duration::from_secs(10)).expect("flush");
    let events = server.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["reportingController"], "orders-api");
    assert_eq!(events[0]["type"], "Warning");
    assert_eq!(stats.get().created, 1);
}

#[test]
fn a_bad_controller_name_is_refused_at_install() {
    let server = MockApiServer::start();
    let err = Telemetry::builder()
        .kubernetes_events_with(
            K8sEventSink::builder()
                .pod(PodRef::new("p", "ns"))
                .kube_config(server.kube_config())
                .reporting_controller("Orders API/v2"),
        )
        .err()
        .expect("refused");
    assert!(err.to_string().contains("reportingController"), "{err}");
    assert!(server.seen().is_empty());
}
