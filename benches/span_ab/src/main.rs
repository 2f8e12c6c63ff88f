//! One kind of span, n times, under a parent: `#[traced]`, an FccTracer child
//! span with one attribute, a root span (`start_with_parent(.., None)`: a
//! new trace id too), or a `tracing` span through the SpanLayer. Run by
//! `./run` under callgrind; prints wall ns per span when run alone.

use std::hint::black_box;
use std::sync::OnceLock;
use fcc::FccTracer;
use tracing_subscriber::layer::SubscriberExt;

static FCC: OnceLock<FccTracer> = OnceLock::new();

#[fcc::traced(tracer = FCC.get())]
fn work(x: u64) -> u64 {
    x.wrapping_mul(31)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args[1].parse().unwrap();
    let mode = args[2].as_str();
    let _ = FCC.set(FccTracer::builder("ab").completed_capacity(0).build().unwrap());
    let t = FCC.get().unwrap();
    let subscriber = tracing_subscriber::registry().with(fcc::layer::SpanLayer::new(t.clone()));
    tracing::subscriber::with_default(subscriber, || {
        let _parent = t.span("parent");
        let start = std::time::Instant::now();
        run_loop(t, n, mode);
        println!("{:.2}", start.elapsed().as_nanos() as f64 / n.max(1) as f64);
    });
}

/// The measured part (callgrind counts only inside it: `--toggle-collect`).
#[inline(never)]
fn run_loop(t: &FccTracer, n: u64, mode: &str) {
    for i in 0..n {
        match mode {
            "traced" => {
                black_box(work(black_box(i)));
            }
            "root" => {
                // A new trace: a trace id and a span id (issue 18, item 8).
                drop(black_box(t.start_with_parent("root", None)));
            }
            "child" => {
                let mut s = t.span("child");
                s.set_attribute("k", i as i64);
            }
            "tracing" => {
                tracing::info_span!("t").in_scope(|| black_box(i));
            }
            _ => panic!("mode"),
        }
    }
}
