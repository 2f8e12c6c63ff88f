//! One trace tree whether spans come from FccTracer, `#[traced]` or plain
//! `tracing` spans, nested in any order, across `.await`, `tokio::spawn`,
//! threads and processes (W3C headers); sampling; the bounded buffer.
//! This binary installs a global tracer and `tracing` subscriber.

use std::collections::HashMap;
use std::sync::OnceLock;

use fcc::layer::SpanLayer;
use fcc::trace::{propagation, FccTracer, FutureExt, Sampler, SpanData};
use fcc::traced;
use tracing_subscriber::layer::SubscriberExt;

fn tracer() -> &'static FccTracer {
    static T: OnceLock<FccTracer> = OnceLock::new();
    T.get_or_init(|| {
        let t = FccTracer::builder("tree")
            .completed_capacity(100_000)
            .build()
            .unwrap();
        fcc::trace::set_global(Some(t.clone()));
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(SpanLayer::new(t.clone())),
        )
        .unwrap();
        t
    })
}

/// The spans of the trace whose root is named `root`.
fn trace_of(root: &str) -> Vec<SpanData> {
    let all = tracer().completed_spans();
    let r = all
        .iter()
        .find(|s| s.name == root)
        .unwrap_or_else(|| panic!("no {root}"));
    let trace = r.trace_id;
    all.into_iter().filter(|s| s.trace_id == trace).collect()
}

fn parent_of<'a>(spans: &'a [SpanData], name: &str) -> Option<&'a str> {
    let s = spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name}: {spans:#?}"));
    let p = s.parent_span_id?;
    spans
        .iter()
        .find(|x| x.span_id == p)
        .map(|x| x.name.as_ref())
}

#[traced]
fn traced_outer() {
    let _t = tracing::info_span!("tracing.middle").entered();
    let _f = tracer().span("fcc.inner");
    instrumented_leaf();
}

#[tracing::instrument]
fn instrumented_leaf() {
    traced_leaf();
}

#[traced]
fn traced_leaf() {}

#[test]
fn sync_nesting_in_any_order_is_one_tree() {
    {
        let _root = tracer().span("tree.sync");
        traced_outer();
    }
    let spans = trace_of("tree.sync");
    assert_eq!(spans.len(), 6, "{spans:#?}");
    assert_eq!(parent_of(&spans, "tree.sync"), None);
    assert_eq!(parent_of(&spans, "traced_outer"), Some("tree.sync"));
    assert_eq!(parent_of(&spans, "tracing.middle"), Some("traced_outer"));
    assert_eq!(parent_of(&spans, "fcc.inner"), Some("tracing.middle"));
    assert_eq!(parent_of(&spans, "instrumented_leaf"), Some("fcc.inner"));
    assert_eq!(parent_of(&spans, "traced_leaf"), Some("instrumented_leaf"));
}

#[traced]
async fn async_root() {
    tokio::task::yield_now().await;
    let child = tokio::spawn(spawned_instrumented().in_current_context());
    child.await.unwrap();
    let other = std::thread::spawn({
        let ctx = fcc::trace::current().unwrap();
        move || {
            let _g = fcc::trace::attach(ctx);
            let _s = tracer().span("on.thread");
        }
    });
    other.join().unwrap();
}

#[tracing::instrument]
async fn spawned_instrumented() {
    tokio::task::yield_now().await;
    spawned_traced().await;
}

#[traced]
async fn spawned_traced() {
    tokio::task::yield_now().await;
}

#[test]
fn async_nesting_across_await_spawn_and_threads_is_one_tree() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let root = tracer().start("tree.async");
        async_root().in_span(root).await;
    });
    let spans = trace_of("tree.async");
    assert_eq!(spans.len(), 5, "{spans:#?}");
    assert_eq!(parent_of(&spans, "async_root"), Some("tree.async"));
    assert_eq!(
        parent_of(&spans, "spawned_instrumented"),
        Some("async_root")
    );
    assert_eq!(
        parent_of(&spans, "spawned_traced"),
        Some("spawned_instrumented")
    );
    assert_eq!(parent_of(&spans, "on.thread"), Some("async_root"));
}

#[test]
fn traceparent_carries_the_trace_to_another_service() {
    let client = FccTracer::new("client");
    let server = FccTracer::new("server");
    let mut headers = HashMap::new();
    {
        let call = client.span("http.call");
        propagation::inject(&call.context().unwrap(), |k, v| {
            headers.insert(k.to_owned(), v);
        });
    }
    headers.insert("tracestate".into(), "vendor=abc".into());
    let remote = propagation::extract(|k| headers.get(k).map(String::as_str))
        .unwrap()
        .unwrap();
    assert!(remote.remote && remote.sampled);
    {
        let _g = fcc::trace::attach(remote);
        let s = server.span("http.handle");
        let mut out = HashMap::new();
        propagation::inject(&s.context().unwrap(), |k, v| {
            out.insert(k.to_owned(), v);
        });
        assert_eq!(out["tracestate"], "vendor=abc", "tracestate passed on");
    }
    let c = &client.completed_spans()[0];
    let s = &server.completed_spans()[0];
    assert_eq!(s.trace_id, c.trace_id);
    assert_eq!(s.parent_span_id, Some(c.span_id));
    assert!(s.parent_is_remote);
    assert!(headers["traceparent"].starts_with("00-") && headers["traceparent"].ends_with("-01"));
}

#[test]
fn malformed_traceparents_are_refused_with_the_reason() {
    for (header, reason) in [
        ("garbage", "expected version"),
        (
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "version",
        ),
        (
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "trace id",
        ),
        (
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "all zeros",
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "all zeros",
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033-01",
            "parent id",
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1",
            "flags",
        ),
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
            "four fields",
        ),
    ] {
        let err = propagation::parse_traceparent(header).unwrap_err();
        assert!(err.to_string().contains(reason), "{header}: {err}");
    }
    let ok =
        propagation::parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")
            .unwrap();
    assert!(!ok.sampled);
    // A future version may add fields.
    assert!(propagation::parse_traceparent(
        "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-xx"
    )
    .is_ok());
}

#[test]
fn sampling_decides_what_is_recorded_and_children_follow_their_parent() {
    let off = FccTracer::builder("off")
        .sampler(Sampler::AlwaysOff)
        .build()
        .unwrap();
    {
        let s = off.span("not.recorded");
        assert!(!s.is_recording());
        assert!(!s.context().unwrap().sampled);
        let _child = off.span("child");
    }
    assert!(off.completed_spans().is_empty());

    // Parent-based (the default): an unsampled remote parent wins.
    let t = FccTracer::new("pb");
    let remote =
        propagation::parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")
            .unwrap();
    {
        let _g = fcc::trace::attach(remote);
        assert!(!t.span("follows.parent").is_recording());
    }
    assert!(t.span("root.sampled").is_recording());

    let ratio = FccTracer::builder("r")
        .sampler(Sampler::TraceIdRatio(0.5))
        .build()
        .unwrap();
    let recorded = (0..2000)
        .filter(|_| ratio.start("x").is_recording())
        .count();
    assert!(
        (700..1300).contains(&recorded),
        "{recorded} of 2000 at ratio 0.5"
    );
}

#[test]
fn the_completed_buffer_is_bounded_and_counts_what_it_let_go() {
    let t = FccTracer::builder("b")
        .completed_capacity(3)
        .build()
        .unwrap();
    for i in 0..5 {
        drop(t.span(format!("s{i}")));
    }
    let names: Vec<String> = t
        .completed_spans()
        .into_iter()
        .map(|s| s.name.into_owned())
        .collect();
    assert_eq!(names, ["s2", "s3", "s4"]);
    assert_eq!(t.dropped_spans(), 2);
}
