//! Kubernetes Events from fcc events.
//!
//! In a Pod (with the downward-API env and the RBAC of the crate docs), the
//! sink writes to the cluster's API server:
//!
//! ```text
//! kubectl describe pod $POD_NAME     # the Events section
//! ```
//!
//! Anywhere else it runs against the mock API server the tests use, and
//! prints what that server stored, as `kubectl get events` would:
//!
//! ```text
//! cargo run -p fcc-k8s --example k8s
//! ```

#[path = "../tests/it/support/mock_apiserver.rs"]
mod mock_apiserver;

use std::time::Duration;

use fcc::{Event, Outcome, TelemetryBuilder};
use fcc_k8s::{in_cluster, K8sEventSink, K8sTelemetryExt, PodRef};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let builder = TelemetryBuilder::from_env()?
        .service_name("checkout")
        .fmt(None);
    let mock = (!in_cluster()).then(mock_apiserver::MockApiServer::start);
    let (builder, stats) = match &mock {
        None => {
            let sink = K8sEventSink::builder();
            let stats = sink.stats();
            (builder.kubernetes_events_with(sink)?, stats)
        }
        Some(server) => {
            println!(
                "not in a cluster: writing to a mock API server at {}",
                server.url()
            );
            let sink = K8sEventSink::builder()
                .pod(
                    PodRef::new("checkout-7d9f-x2x", "shop")
                        .uid("0b8e6a0a-5d61-4c4e-9a53-8a4f1c1e2b3d"),
                )
                .kube_config(server.kube_config());
            let stats = sink.stats();
            (builder.kubernetes_events_with(sink)?, stats)
        }
    };
    let telemetry = builder.log(fcc::LogTarget::Off).install()?;

    // What the application emits; the default filter picks the infra-facing ones.
    for attempt in 1..=4 {
        fcc::emit(
            Event::warn(
                "mcpclient",
                "connect_attempt",
                format!("attempt {attempt}: dial tcp 10.0.3.7:443: connection refused"),
            )
            .category("backend")
            .resource("mcp_server:vendor")
            .outcome(Outcome::Failure),
        );
    }
    fcc::emit(
        Event::info("mcpclient", "connect_attempt", "connected")
            .category("backend")
            .outcome(Outcome::Success),
    );
    fcc::emit(Event::error(
        "runtime.k8s",
        "pod create",
        "exceeded quota: compute-resources",
    ));
    fcc::emit(Event::builder(fcc::EventType::SimulationStep, "engine").detail("step 3")); // not infra: stays in the log
    telemetry.flush(Duration::from_secs(10))?;

    let s = stats.get();
    println!(
        "created {} Events, {} repeats folded into series ({} PATCHes), {} over the spam limit, {} failed",
        s.created, s.repeats, s.series_patches, s.spam_dropped, s.failed
    );
    if let Some(server) = mock {
        println!(
            "\n{:<8} {:<32} {:<26} {:>5}  MESSAGE",
            "TYPE", "REASON", "OBJECT", "COUNT"
        );
        for e in server.events() {
            let count = e["series"]["count"].as_u64().unwrap_or(1);
            let object = format!("pod/{}", e["regarding"]["name"].as_str().unwrap_or(""));
            println!(
                "{:<8} {:<32} {:<26} {:>5}  {}",
                e["type"].as_str().unwrap_or(""),
                e["reason"].as_str().unwrap_or(""),
                object,
                count,
                e["note"].as_str().unwrap_or("")
            );
        }
    }
    telemetry.shutdown()?;
    Ok(())
}
