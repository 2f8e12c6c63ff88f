//! fcc as a citizen of OpenTelemetry and `tracing`: two HTTP services (axum
//! with tower-http's `TraceLayer`), `#[traced]` handlers, a library on the
//! OpenTelemetry API only (`examples/inventory-client`), `tracing::info!`,
//! work handed to a blocking thread, and a caller's `traceparent` and
//! `baggage`: one trace.
//!
//! ```sh
//! cargo run --example interop                       # prints the trace tree
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 cargo run --example interop   # and to a collector (Jaeger)
//! ```

use std::collections::HashMap;

use axum::extract::Request;
use axum::routing::post;
use axum::Router;
use fcc::opentelemetry::baggage::BaggageExt as _;
use fcc::opentelemetry::{global, Context};
use fcc::{traced, LogTarget, OpenTelemetrySpanExt as _, SpanData};
use opentelemetry_http::HeaderExtractor;
use tower_http::trace::TraceLayer;

const CALLER_TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// tower-http's span for each request, continuing the caller's trace: the
/// one piece of code that tracing-opentelemetry users already have.
fn request_span(request: &Request) -> tracing::Span {
    let parent =
        global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(request.headers())));
    let span = tracing::info_span!(
        "http.request",
        otel.name = format!("{} {}", request.method(), request.uri().path()),
        otel.kind = "server",
    );
    if let Err(e) = span.set_parent(parent) {
        tracing::warn!("request not joined to the caller's trace: {e}");
    }
    span
}

/// The inventory service: a `#[traced]` handler that uses a blocking
/// thread, with the one line that keeps it in the trace.
#[traced]
async fn reserve() -> String {
    let tenant = Context::current()
        .baggage()
        .get("tenant")
        .map(|v| v.to_string())
        .unwrap_or_default();
    let work = fcc::trace::in_current_context(|| {
        let _span = fcc::trace::global().map(|t| t.span("inventory.db.update"));
        "reserved"
    });
    let outcome = tokio::task::spawn_blocking(work).await.unwrap_or("failed");
    format!("{outcome} for {tenant}")
}

/// The gateway: `#[traced]` code calling the OTel-API library.
#[traced]
async fn place_order(http: reqwest::Client, inventory: String) -> String {
    tracing::info!(order = 7, "placing order");
    let url = format!("{inventory}/reserve");
    inventory_client::call("inventory.reserve", &inventory, |headers| {
        let request = headers
            .iter()
            .fold(http.post(url), |r, (k, v)| r.header(k, v));
        async move {
            match request.send().await {
                Ok(response) => response.text().await.unwrap_or_default(),
                Err(e) => format!("inventory unreachable: {e}"),
            }
        }
    })
    .await
}

async fn serve(router: Router) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    // The server task keeps the spawning context out: each request starts
    // from its own headers.
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(url)
}

fn print_tree(spans: &[SpanData]) {
    let mut children: HashMap<Option<fcc::SpanId>, Vec<&SpanData>> = HashMap::new();
    let ids: Vec<fcc::SpanId> = spans.iter().map(|s| s.span_id).collect();
    for s in spans {
        // A parent outside this process (the caller) counts as a root here.
        let parent = s.parent_span_id.filter(|p| ids.contains(p));
        children.entry(parent).or_default().push(s);
    }
    fn walk(
        children: &HashMap<Option<fcc::SpanId>, Vec<&SpanData>>,
        parent: Option<fcc::SpanId>,
        depth: usize,
    ) {
        for s in children.get(&parent).into_iter().flatten() {
            println!(
                "{:indent$}{} [{:?}] trace={} {:.2} ms",
                "",
                s.name,
                s.kind,
                s.trace_id,
                s.duration_ms(),
                indent = depth * 2
            );
            walk(children, Some(s.span_id), depth + 1);
        }
    }
    walk(&children, None, 0);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let telemetry = fcc::TelemetryBuilder::from_env()?
        .service_name("interop-example")
        .log(LogTarget::Off)
        .completed_spans(256)
        .install()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let answer = rt.block_on(async {
        let inventory = Router::new()
            .route("/reserve", post(reserve))
            .layer(TraceLayer::new_for_http().make_span_with(request_span));
        let inventory_url = serve(inventory).await?;
        let http = reqwest::Client::new();
        let gateway = Router::new()
            .route(
                "/orders",
                post(move || place_order(http.clone(), inventory_url.clone())),
            )
            .layer(TraceLayer::new_for_http().make_span_with(request_span));
        let gateway_url = serve(gateway).await?;
        // The caller: another process in real life.
        let response = reqwest::Client::new()
            .post(format!("{gateway_url}/orders"))
            .header("traceparent", CALLER_TRACEPARENT)
            .header("baggage", "tenant=acme")
            .send()
            .await?;
        Ok::<_, Box<dyn std::error::Error>>(response.text().await?)
    })?;
    println!("gateway answered: {answer}");
    println!("caller's traceparent: {CALLER_TRACEPARENT}\n");
    print_tree(&telemetry.tracer().completed_spans());
    telemetry.shutdown()?;
    Ok(())
}
