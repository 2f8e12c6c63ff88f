//! `#[traced]` with the global tracer (its body runs as a closure that also
//! records the arguments): arguments as attributes, errors, panics, a
//! `Debug` argument that starts spans, and nothing at all with no tracer.

use fcc::trace::{SpanStatus, Value};
use fcc::{traced, FccTracer};

#[derive(Debug)]
struct Order {
    id: u32,
}

#[traced]
fn place(count: u32, label: &str, order: &Order) -> u32 {
    let _ = label;
    count + order.id
}

#[traced]
fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
    text.parse()
}

#[traced(skip(mark))]
fn explode(n: u8, mark: &str) -> u8 {
    if n > 0 {
        panic!("{mark}");
    }
    n
}

/// An argument whose `Debug` starts a span: it nests under the function's.
struct Loud(FccTracer);

impl std::fmt::Debug for Loud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let _inner = self.0.span("debug.of.loud");
        f.write_str("Loud")
    }
}

#[traced]
fn with_loud(loud: Loud) -> usize {
    drop(loud);
    1
}

fn attribute<'a>(span: &'a fcc::trace::SpanData, key: &str) -> Option<&'a Value> {
    span.attribute(key)
}

#[test]
fn the_global_tracers_traced_functions_record_arguments_errors_and_panics() {
    // No tracer yet: the functions run as if unannotated.
    assert_eq!(place(1, "a", &Order { id: 2 }), 3);

    let tracer = FccTracer::new("traced-global");
    fcc::trace::set_global(Some(tracer.clone()));

    assert_eq!(place(1, "first", &Order { id: 41 }), 42);
    assert!(parse("x").is_err());
    assert_eq!(parse("7").unwrap(), 7);
    assert!(std::panic::catch_unwind(|| explode(3, "boom")).is_err());
    assert_eq!(with_loud(Loud(tracer.clone())), 1);

    let spans = tracer.completed_spans();
    let by_name = |name: &str| -> Vec<&fcc::trace::SpanData> {
        spans.iter().filter(|s| s.name == name).collect()
    };

    // One span per call made with the tracer; none from the first call.
    let place = by_name("place");
    assert_eq!(place.len(), 1);
    assert_eq!(attribute(place[0], "count"), Some(&Value::I64(1)));
    assert_eq!(attribute(place[0], "label"), Some(&Value::from("first")));
    assert_eq!(
        attribute(place[0], "order"),
        Some(&Value::from("Order { id: 41 }"))
    );
    let function = Value::from(format!("{}::place", module_path!()));
    assert_eq!(attribute(place[0], "code.function.name"), Some(&function));

    let parse = by_name("parse");
    assert_eq!(parse.len(), 2);
    let failed: Vec<_> = parse
        .iter()
        .filter(|s| matches!(s.status, SpanStatus::Error { .. }))
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(attribute(failed[0], "text"), Some(&Value::from("x")));
    assert!(failed[0].events.iter().any(|e| e.name == "exception"));

    // A panicking body still ends its span, with its arguments.
    let explode = by_name("explode");
    assert_eq!(explode.len(), 1);
    assert_eq!(attribute(explode[0], "n"), Some(&Value::I64(3)));
    assert!(attribute(explode[0], "mark").is_none(), "skipped");

    // The argument's Debug ran inside the function's span.
    let outer = by_name("with_loud");
    let inner = by_name("debug.of.loud");
    assert_eq!((outer.len(), inner.len()), (1, 1));
    assert_eq!(inner[0].parent_span_id, Some(outer[0].span_id));
    assert_eq!(attribute(outer[0], "loud"), Some(&Value::from("Loud")));
}
