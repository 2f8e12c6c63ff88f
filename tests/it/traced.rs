//! `#[traced]` with an explicit tracer: names, attributes, skips, errors,
//! methods, generics, `impl Trait`, async, and no tracer at all.

use std::fmt::Display;

use fcc::trace::{SpanData, Value};
use fcc::{traced, FccTracer};

#[derive(Debug)]
struct Order {
    id: u32,
}

#[traced(tracer = tracer)]
fn plain(
    count: u32,
    label: &str,
    flag: bool,
    ratio: f64,
    order: &Order,
    tracer: &FccTracer,
) -> u32 {
    let _ = (label, flag, ratio);
    count + 1 + order.id - order.id
}

#[traced("custom.name", tracer = tracer, skip(secret))]
fn named(secret: &str, visible: i64, tracer: Option<&FccTracer>) -> usize {
    secret.len() + visible as usize
}

#[traced(name = "all.skipped", skip_all, tracer = tracer)]
fn skipped(a: i32, b: i32, tracer: &FccTracer) -> i32 {
    a + b
}

#[traced(tracer = tracer, skip(tracer))]
fn fails(n: i32, tracer: &FccTracer) -> Result<i32, std::num::ParseIntError> {
    let parsed: i32 = "x".parse()?;
    Ok(parsed + n)
}

#[traced(tracer = tracer, skip(tracer))]
fn early_return(n: i32, tracer: &FccTracer) -> Result<i32, String> {
    if n > 0 {
        return Ok(n);
    }
    Err("not positive".into())
}

#[traced(tracer = tracer, skip(tracer))]
fn generic<T: std::fmt::Debug + Clone>(value: T, tracer: &FccTracer) -> Vec<T> {
    vec![value.clone(), value]
}

#[traced(tracer = tracer, skip(tracer))]
fn opaque(n: u8, tracer: &FccTracer) -> impl Display {
    n * 2
}

struct Service {
    tracer: FccTracer,
    calls: u32,
}

impl Service {
    #[traced(tracer = self.tracer)]
    fn handle(&mut self, request: &str) -> u32 {
        self.calls += 1;
        request.len() as u32
    }

    #[traced(tracer = &self.tracer)]
    async fn handle_async(&self, request: String) -> Result<usize, String> {
        tokio::task::yield_now().await;
        let _inner = self.tracer.span("inner.step");
        if request.is_empty() {
            Err("empty request".into())
        } else {
            Ok(request.len())
        }
    }
}

fn by_name<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
}

#[test]
fn arguments_become_attributes_with_their_types() {
    let tracer = FccTracer::new("t");
    assert_eq!(plain(41, "hello", true, 0.5, &Order { id: 7 }, &tracer), 42);
    let spans = tracer.completed_spans();
    let s = by_name(&spans, "plain");
    assert_eq!(s.attribute("count"), Some(&Value::I64(41)));
    assert_eq!(s.attribute("label"), Some(&Value::from("hello")));
    assert_eq!(s.attribute("flag"), Some(&Value::Bool(true)));
    assert_eq!(s.attribute("ratio"), Some(&Value::F64(0.5)));
    assert_eq!(s.attribute("order"), Some(&Value::from("Order { id: 7 }")));
    let function = Value::from(format!("{}::plain", module_path!()));
    assert_eq!(s.attribute("code.function.name"), Some(&function));
    assert_eq!(
        s.attribute("code.file.path"),
        Some(&Value::from("tests/it/traced.rs"))
    );
    assert_eq!(s.status.as_str(), "ok");
    // The tracer parameter itself is recorded only through Debug when not skipped.
    assert!(s.attribute("tracer").is_some());
}

#[test]
fn names_and_skips() {
    let tracer = FccTracer::new("t");
    named("pw", 3, Some(&tracer));
    skipped(1, 2, &tracer);
    let spans = tracer.completed_spans();
    let n = by_name(&spans, "custom.name");
    assert!(n.attribute("secret").is_none());
    assert_eq!(n.attribute("visible"), Some(&Value::I64(3)));
    let s = by_name(&spans, "all.skipped");
    assert!(s.attribute("a").is_none() && s.attribute("b").is_none());
}

#[test]
fn an_err_is_error_status_and_an_exception_event() {
    let tracer = FccTracer::new("t");
    assert!(fails(1, &tracer).is_err());
    assert_eq!(early_return(5, &tracer), Ok(5));
    assert!(early_return(0, &tracer).is_err());
    let spans = tracer.completed_spans();
    let f = &spans[0];
    assert_eq!(f.name, "fails");
    assert_eq!(f.status.as_str(), "error");
    let ex = f.events.iter().find(|e| e.name == "exception").unwrap();
    let attr = |k: &str| {
        ex.attributes
            .iter()
            .find(|kv| kv.key.as_str() == k)
            .map(|kv| kv.value.to_string())
    };
    assert_eq!(
        attr("exception.type").as_deref(),
        Some("core::num::error::ParseIntError")
    );
    assert_eq!(
        attr("exception.message").as_deref(),
        Some("invalid digit found in string")
    );
    assert_eq!(spans[1].status.as_str(), "ok");
    assert_eq!(spans[2].status.as_str(), "error");
}

#[test]
fn generic_and_impl_trait_functions() {
    let tracer = FccTracer::new("t");
    assert_eq!(generic("x", &tracer), vec!["x", "x"]);
    assert_eq!(opaque(4, &tracer).to_string(), "8");
    let spans = tracer.completed_spans();
    // A generic parameter's type is unknown to the macro: it goes through Debug.
    assert_eq!(
        by_name(&spans, "generic").attribute("value"),
        Some(&Value::from("\"x\""))
    );
    assert_eq!(
        by_name(&spans, "opaque").attribute("n"),
        Some(&Value::I64(4))
    );
}

#[test]
fn methods_sync_and_async_nest_and_record_errors() {
    let mut svc = Service {
        tracer: FccTracer::new("svc"),
        calls: 0,
    };
    assert_eq!(svc.handle("abc"), 3);
    assert_eq!(svc.calls, 1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let svc = std::sync::Arc::new(svc);
    let s2 = svc.clone();
    let (ok, err) = rt.block_on(async move {
        let a = tokio::spawn({
            let s = s2.clone();
            async move { s.handle_async("hello".into()).await }
        });
        let b = tokio::spawn(async move { s2.handle_async(String::new()).await });
        (a.await.unwrap(), b.await.unwrap())
    });
    assert_eq!(ok, Ok(5));
    assert!(err.is_err());
    let spans = svc.tracer.completed_spans();
    let handle = by_name(&spans, "handle");
    assert_eq!(handle.attribute("request"), Some(&Value::from("abc")));
    let asyncs: Vec<&SpanData> = spans.iter().filter(|s| s.name == "handle_async").collect();
    assert_eq!(asyncs.len(), 2);
    let inners: Vec<&SpanData> = spans.iter().filter(|s| s.name == "inner.step").collect();
    assert_eq!(inners.len(), 2);
    // Each inner step is the child of its own call, across the await.
    for inner in inners {
        let parent = asyncs
            .iter()
            .find(|a| Some(a.span_id) == inner.parent_span_id)
            .unwrap();
        assert_eq!(parent.trace_id, inner.trace_id);
    }
    let failed = asyncs
        .iter()
        .find(|a| a.attribute("request") == Some(&Value::from("")))
        .unwrap();
    assert_eq!(failed.status.as_str(), "error");
}

#[test]
fn with_no_tracer_nothing_is_recorded_and_results_are_unchanged() {
    let tracer = FccTracer::new("t");
    assert_eq!(named("pw", 3, None), 5);
    assert!(tracer.completed_spans().is_empty());
}

// The seed's form: `#[traced("my_operation")] fn do_work(data, tracer: Option<&FccTracer>)`.
#[traced("my_operation")]
fn do_work(data: u32, tracer: Option<&FccTracer>) -> u32 {
    data * 2
}

#[traced]
fn do_more(tracer: &FccTracer, step: u8) -> u8 {
    step
}

/// A parameter named `tracer` of an `FccTracer` type is the span's tracer
/// without `tracer = tracer`, and is not recorded as an attribute; `None`
/// makes no span; with no global tracer installed the spans still land in
/// the one given.
#[test]
fn a_parameter_named_tracer_is_the_tracer() {
    let tracer = FccTracer::new("seed-form");
    assert_eq!(do_work(21, Some(&tracer)), 42);
    assert_eq!(do_more(&tracer, 3), 3);
    assert_eq!(do_work(1, None), 2);
    let spans = tracer.completed_spans();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(names, ["my_operation", "do_more"]);
    let work = by_name(&spans, "my_operation");
    assert!(work.attribute("data").is_some());
    assert!(
        work.attribute("tracer").is_none(),
        "the tracer is not an attribute"
    );
    assert!(by_name(&spans, "do_more").attribute("step").is_some());
}
