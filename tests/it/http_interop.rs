//! Two services passing one trace over real HTTP, written the way the
//! tower-http, tracing-opentelemetry and OpenTelemetry docs teach, with fcc
//! installed once and exporting over OTLP/gRPC to a real receiver:
//!
//! - a client (reqwest) sends a known `traceparent` and `baggage`;
//! - the gateway (axum + `TraceLayer`, whose `make_span_with` extracts the
//!   context and calls `set_parent`) runs `#[traced]` code that logs with
//!   `tracing::info!` and calls an inventory client library written against
//!   the OpenTelemetry API only (`examples/inventory-client`: a client
//!   span, the global propagator);
//! - the inventory service (axum + `TraceLayer` again) answers with what it
//!   received.
//!
//! Everything is at TRACE level: the application's tower_http and hyper
//! logs are exported, and the exporter's own gRPC client (tonic, h2, on
//! fcc's threads) never loops back. It installs the process-wide globals,
//! so it is its own test binary with one test.

use crate::support::otlp_receiver;

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Request;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use fcc::{traced, LogTarget, OpenTelemetrySpanExt as _, Telemetry};
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::{global, Context};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use otlp_receiver::{attr_str, ReceivedSpan};
use tower_http::trace::TraceLayer;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER: &str = "00f067aa0ba902b7";

/// `make_span_with` as the tower-http and tracing-opentelemetry docs write it.
fn make_span(request: &Request) -> tracing::Span {
    let parent =
        global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(request.headers())));
    let span = tracing::info_span!(
        "http.request",
        otel.name = format!("{} {}", request.method(), request.uri().path()),
        otel.kind = "server",
        http.request.method = %request.method(),
        url.path = request.uri().path(),
    );
    span.set_parent(parent).expect("fcc's layer is installed");
    span
}

#[traced]
async fn place_order(http: reqwest::Client, inventory: String) -> (String, String) {
    tracing::info!(order = 7, "placing order");
    // A library on the OTel API only: a client span, and its headers.
    let reserved = inventory_client::call("inventory.reserve", &inventory, |headers| {
        let request = http.post(format!("{inventory}/reserve"));
        let request = headers.iter().fold(request, |r, (k, v)| r.header(k, v));
        body_of(request)
    })
    .await;
    // A call without a client span: the current span is the parent.
    let mut headers = HeaderMap::new();
    global::get_text_map_propagator(|p| p.inject(&mut HeaderInjector(&mut headers)));
    let checked = body_of(http.get(format!("{inventory}/stock")).headers(headers)).await;
    (reserved, checked)
}

/// The inventory service's handler: answers with the trace it is in and the
/// baggage it sees.
#[traced]
async fn inventory_handler() -> String {
    let cx = Context::current();
    let tenant = cx
        .baggage()
        .get("tenant")
        .map(|v| v.as_str().to_owned())
        .unwrap_or_default();
    format!("{} {}", cx.span().span_context().trace_id(), tenant)
}

/// Sends `request` and returns the response body.
async fn body_of(request: reqwest::RequestBuilder) -> String {
    request.send().await.unwrap().text().await.unwrap()
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn named<'a>(spans: &'a [ReceivedSpan], name: &str) -> Vec<&'a ReceivedSpan> {
    spans.iter().filter(|s| s.span.name == name).collect()
}

#[test]
fn two_services_share_one_trace_over_http() {
    let receiver = otlp_receiver::OtlpReceiver::grpc("127.0.0.1:0");
    let receiver_port = receiver.endpoint().rsplit(':').next().unwrap().to_owned();
    let telemetry = Telemetry::builder()
        .service_name("gateway")
        .log(LogTarget::Off)
        .fmt(None)
        .otel_log_filter("trace")
        .unwrap()
        .otlp(Some(
            fcc::otlp::OtlpConfig::new(&receiver.endpoint(), fcc::otlp::OtlpProtocol::Grpc)
                .unwrap(),
        ))
        .install()
        .unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let bodies = rt.block_on(async {
        let inventory = Router::new()
            .route("/reserve", post(inventory_handler))
            .route("/stock", get(inventory_handler))
            .layer(TraceLayer::new_for_http().make_span_with(make_span));
        let inventory_url = format!("http://{}", serve(inventory).await);
        let http = reqwest::Client::new();
        let gateway = Router::new()
            .route(
                "/orders",
                post(move || {
                    let (http, url) = (http.clone(), inventory_url.clone());
                    async move {
                        let (reserved, checked) = place_order(http, url).await;
                        format!("{reserved}\n{checked}")
                    }
                }),
            )
            .layer(TraceLayer::new_for_http().make_span_with(make_span));
        let gateway_addr = serve(gateway).await;

        let client = reqwest::Client::new();
        let url = format!("http://{gateway_addr}/orders");
        let traced = body_of(
            client
                .post(&url)
                .header("traceparent", format!("00-{TRACE}-{CALLER}-01"))
                .header("baggage", "tenant=acme"),
        )
        .await;
        // Two traceparent headers: W3C says start a new trace.
        let duplicated = body_of(
            client
                .post(&url)
                .header("traceparent", format!("00-{TRACE}-{CALLER}-01"))
                .header("traceparent", format!("00-{TRACE}-{CALLER}-01")),
        )
        .await;
        (traced, duplicated)
    });
    // Three exports: whatever the exporter's own client logged during one
    // would be in the next.
    for _ in 0..3 {
        telemetry.flush(Duration::from_secs(10)).unwrap();
    }

    // What the inventory service saw: the caller's trace and baggage,
    // passed on by the gateway over both calls.
    assert_eq!(bodies.0, format!("{TRACE} acme\n{TRACE} acme"));
    assert!(
        !bodies.1.contains(TRACE),
        "a duplicated traceparent is refused"
    );

    let spans = receiver.received.wait_spans(14);
    let names = {
        let mut n: Vec<&str> = spans.iter().map(|s| s.span.name.as_str()).collect();
        n.sort();
        n
    };
    assert_eq!(
        names,
        [
            "GET /stock",
            "GET /stock",
            "POST /orders",
            "POST /orders",
            "POST /reserve",
            "POST /reserve",
            "inventory.reserve",
            "inventory.reserve",
            "inventory_handler",
            "inventory_handler",
            "inventory_handler",
            "inventory_handler",
            "place_order",
            "place_order",
        ],
        "the application's spans, each once, and nothing of the exporter's"
    );
    let in_trace = |s: &&ReceivedSpan| hex(&s.span.trace_id) == TRACE;
    let one = |name: &str| -> ReceivedSpan {
        let v: Vec<_> = named(&spans, name).into_iter().filter(in_trace).collect();
        assert_eq!(v.len(), 1, "{name} once in the caller's trace");
        v[0].clone()
    };
    let gateway = one("POST /orders");
    let order = one("place_order");
    let reserve = one("inventory.reserve");
    let reserve_server = one("POST /reserve");
    let stock_server = one("GET /stock");
    assert_eq!(hex(&gateway.span.parent_span_id), CALLER);
    assert_eq!(gateway.span.kind, 2, "SERVER, from otel.kind");
    assert_eq!(
        attr_str(&gateway.span.attributes, "url.path").as_deref(),
        Some("/orders")
    );
    assert_eq!(order.span.parent_span_id, gateway.span.span_id);
    assert_eq!(reserve.span.parent_span_id, order.span.span_id);
    assert_eq!(reserve.span.kind, 3, "CLIENT");
    assert_eq!(reserve_server.span.parent_span_id, reserve.span.span_id);
    assert_eq!(stock_server.span.parent_span_id, order.span.span_id);
    let handlers: Vec<_> = named(&spans, "inventory_handler")
        .into_iter()
        .filter(in_trace)
        .collect();
    assert_eq!(handlers.len(), 2);
    for h in handlers {
        assert!(
            [&reserve_server.span.span_id, &stock_server.span.span_id]
                .contains(&&h.span.parent_span_id),
            "each handler under its request span"
        );
    }
    // The duplicated-traceparent request is a trace of its own, rooted at
    // the gateway.
    let other: Vec<_> = spans.iter().filter(|s| !in_trace(s)).collect();
    assert_eq!(other.len(), 7);
    assert!(other
        .iter()
        .all(|s| s.span.trace_id == other[0].span.trace_id));
    let root = other
        .iter()
        .find(|s| s.span.name == "POST /orders")
        .unwrap();
    assert!(root.span.parent_span_id.is_empty());

    // Logs: the handler's tracing::info! in its span; tower_http's and the
    // application's HTTP client's own logs (TRACE level) too; nothing from
    // the exporter's gRPC client.
    let logs = receiver.received.wait_logs(1);
    let target = |l: &otlp_receiver::ReceivedLog| l.scope.clone();
    let body = |l: &otlp_receiver::ReceivedLog| format!("{:?}", l.record.body);
    let placing = logs
        .iter()
        .find(|l| body(l).contains("placing order"))
        .expect("the info! record");
    assert_eq!(placing.record.trace_id, order.span.trace_id);
    assert_eq!(placing.record.span_id, order.span.span_id);
    let tower: Vec<_> = logs
        .iter()
        .filter(|l| target(l).starts_with("tower_http"))
        .collect();
    assert!(
        tower
            .iter()
            .any(|l| l.record.span_id == gateway.span.span_id),
        "tower_http's on_request/on_response logs, in the request span: {:?}",
        logs.iter().map(target).collect::<Vec<_>>()
    );
    assert!(
        logs.iter().any(|l| target(l).starts_with("hyper_util")),
        "the application's hyper client logs are exported: {:?}",
        logs.iter().map(target).collect::<Vec<_>>()
    );
    for l in &logs {
        let t = target(l);
        assert!(
            !t.starts_with("h2")
                && !t.starts_with("tonic")
                && !body(l).contains(&format!(":{receiver_port}")),
            "the exporter's own client looped back: {t} {}",
            body(l)
        );
    }
    telemetry.shutdown().unwrap();
}
