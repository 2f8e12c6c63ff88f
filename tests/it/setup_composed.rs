//! Set-up in a process that already has its own telemetry: a user's global
//! `tracing` subscriber and a user's OTel `TracerProvider`. `install()` is
//! refused and names `layer()`; `layer()` composes with the user's `fmt`
//! and `EnvFilter` layers, each span recorded once; set-up twice is refused
//! until the first shuts down; a library that swaps the OTel global takes
//! only the OTel API's spans with it. It sets process-wide globals, so it
//! is its own test binary with one test.

use fcc::{FccTracer, InstallError, LogTarget, OpenTelemetrySpanExt as _, Telemetry};
use opentelemetry::trace::Tracer as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::EnvFilter;

fn quiet() -> fcc::TelemetryBuilder {
    Telemetry::builder()
        .log(LogTarget::Off)
        .fmt(None)
        .completed_spans(100)
}

fn names(tracer: &FccTracer) -> Vec<String> {
    let mut n: Vec<String> = tracer
        .completed_spans()
        .into_iter()
        .map(|s| s.name.into_owned())
        .collect();
    n.sort();
    n
}

#[test]
fn fcc_joins_a_process_with_its_own_subscriber_and_otel_provider() {
    // The service's own telemetry, set up the stock way.
    tracing_subscriber::fmt().with_writer(std::io::sink).init();
    let user_spans = InMemorySpanExporter::default();
    let user_provider = SdkTracerProvider::builder()
        .with_simple_exporter(user_spans.clone())
        .build();
    opentelemetry::global::set_tracer_provider(user_provider.clone());
    let earlier = opentelemetry::global::tracer("obtained-before-fcc");

    // install() is refused, says what to call instead, and sets nothing.
    let err = quiet().install().unwrap_err();
    assert!(matches!(err, InstallError::AlreadyInstalled), "{err:?}");
    assert!(
        err.to_string().contains("Telemetry::builder().layer()"),
        "{err}"
    );
    assert!(
        fcc::trace::global().is_none(),
        "a refused install sets no globals"
    );

    // layer() into a registry the user builds with fmt and EnvFilter.
    let (fcc_layer, telemetry) = quiet().service_name("composed").layer().unwrap();
    let registry = tracing_subscriber::registry()
        .with(EnvFilter::new("info"))
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink))
        .with(fcc_layer);
    tracing::subscriber::with_default(registry, || {
        let request = tracing::info_span!("request");
        request
            .set_parent(opentelemetry::Context::new())
            .expect("set_parent finds fcc's layer through the user's layers");
        let _r = request.entered();
        let _filtered = tracing::debug_span!("filtered.by.envfilter").entered();
        // A library on the OTel API, after set-up: fcc's span.
        opentelemetry::global::tracer("lib").in_span("lib.call", |_| {});
        // A tracer obtained before set-up keeps the user's provider.
        earlier.in_span("user.call", |_| {});
    });
    assert_eq!(
        names(telemetry.tracer()),
        ["lib.call", "request"],
        "each span once; EnvFilter applies to fcc's layer too"
    );
    let user: Vec<String> = user_spans
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .map(|s| s.name.into_owned())
        .collect();
    assert_eq!(user, ["user.call"]);

    // Set-up twice is refused while the first is alive, both ways.
    for second in [quiet().layer().map(|_| ()), quiet().install().map(|_| ())] {
        let err = second.unwrap_err();
        assert!(matches!(err, InstallError::AlreadySetUp), "{err:?}");
        assert!(err.to_string().contains("already set up"), "{err}");
    }

    // A library that swaps the OTel global (the 0.33 API has no global
    // shutdown; this is the nearest) takes the OTel API's spans with it;
    // fcc's own spans and #[traced] go on.
    opentelemetry::global::set_tracer_provider(
        opentelemetry::trace::noop::NoopTracerProvider::new(),
    );
    telemetry.tracer().clear_completed();
    opentelemetry::global::tracer("lib").in_span("lost.to.noop", |_| {});
    traced_after_swap();
    assert_eq!(names(telemetry.tracer()), ["traced_after_swap"]);

    // Once shut down, set-up may run again.
    telemetry.shutdown().unwrap();
    let (_layer, again) = quiet().layer().expect("a new set-up after shutdown");
    again.shutdown().unwrap();
    let _ = user_provider.shutdown();
}

#[fcc::traced]
fn traced_after_swap() {}
