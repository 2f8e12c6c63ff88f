//! Export throughput over OTLP, end to end: a burst of spans (three
//! attributes each) made on one thread and flushed until the collector has
//! answered for every one, over gRPC and over HTTP/protobuf, fcc against the
//! OTel SDK's `BatchSpanProcessor` with opentelemetry-otlp (tonic for gRPC,
//! its blocking reqwest client for HTTP, as its docs set them up).
//!
//! The receiver runs in a child process (this binary, re-run) and counts
//! spans without decoding them, so the CPU measured is the service's own: the threads that make spans and the ones
//! that batch, encode and send them. Both sides batch 512 spans per export
//! and queue the whole burst (nothing is dropped; the receiver's count is
//! checked). Printed: spans per second (wall), process CPU per span, and
//! fcc's ratio to the SDK (goal: at least 2x the throughput).
//!
//! Run: `cargo bench --bench otlp_export`.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fcc::otlp::{OtlpConfig, OtlpProtocol, OtlpSpanExporter};
use fcc::trace::KeyValue;
use fcc::FccTracer;
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};

const BURST: usize = 100_000;
const ROUNDS: usize = 3;

/// A receiver in a child process: its port, and its count at the end.
struct Receiver {
    child: Child,
    port: u16,
}

impl Receiver {
    fn start(protocol: &str) -> Receiver {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env("FCC_BENCH_RECEIVER", protocol)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        Receiver {
            child,
            port: line.trim().parse().unwrap(),
        }
    }

    /// Stops it; the spans it received.
    fn finish(mut self) -> usize {
        drop(self.child.stdin.take());
        let mut out = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let _ = self.child.wait();
        out.trim().parse().unwrap()
    }
}

/// The child: serves until its stdin closes, then prints how many spans it
/// received. It counts the spans in each request by walking the protobuf
/// down to them, without decoding them: on this 2-core machine a receiver
/// that decodes everything takes the cores the exporters are measured on.
/// (The tests' receiver decodes every field; that is where correctness is
/// checked.)
fn serve(protocol: &str) {
    let count = Arc::new(AtomicUsize::new(0));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let c = count.clone();
    let server = match protocol {
        "grpc" => {
            drop(listener); // tonic binds it itself
            rt.spawn(async move {
                tonic::transport::Server::builder()
                    .add_service(CountingGrpc(c))
                    .serve(addr)
                    .await
                    .unwrap();
            })
        }
        _ => rt.spawn(async move {
            listener.set_nonblocking(true).unwrap();
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = axum::Router::new().route(
                "/v1/traces",
                axum::routing::post(move |body: axum::body::Bytes| async move {
                    c.fetch_add(count_spans(&body), Ordering::Relaxed);
                    (
                        [("content-type", "application/x-protobuf")],
                        Vec::<u8>::new(),
                    )
                }),
            );
            axum::serve(listener, app).await.unwrap();
        }),
    };
    std::thread::sleep(Duration::from_millis(100)); // listening
    println!("{}", addr.port());
    std::io::stdout().flush().unwrap();
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    server.abort();
    println!("{}", count.load(Ordering::Relaxed));
}

/// The length-delimited fields of a protobuf message, others skipped.
fn len_fields(mut b: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    fn varint(b: &mut &[u8]) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = b.split_first()?;
            *b = rest;
            v |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Some(v);
            }
        }
        None
    }
    std::iter::from_fn(move || loop {
        let key = varint(&mut b)?;
        match key & 7 {
            0 => {
                varint(&mut b)?;
            }
            1 => b = b.get(8..)?,
            5 => b = b.get(4..)?,
            2 => {
                let n = varint(&mut b)? as usize;
                let (field, rest) = (b.get(..n)?, b.get(n..)?);
                b = rest;
                return Some((key >> 3, field));
            }
            _ => return None,
        }
    })
}

/// Spans in an `ExportTraceServiceRequest`: resource_spans (1) ->
/// scope_spans (2) -> spans (2).
fn count_spans(request: &[u8]) -> usize {
    len_fields(request)
        .filter(|(f, _)| *f == 1)
        .flat_map(|(_, rs)| len_fields(rs).filter(|(f, _)| *f == 2))
        .map(|(_, ss)| len_fields(ss).filter(|(f, _)| *f == 2).count())
        .sum()
}

/// The trace service over gRPC, counting.
#[derive(Clone)]
struct CountingGrpc(Arc<AtomicUsize>);

impl tonic::server::NamedService for CountingGrpc {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
}

type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<B> tonic::codegen::Service<http::Request<B>> for CountingGrpc
where
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;
    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let count = self.0.clone();
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(CountCodec);
            Ok(grpc.unary(Count(count), req).await)
        })
    }
}

struct Count(Arc<AtomicUsize>);

impl tonic::server::UnaryService<usize> for Count {
    type Response = ();
    type Future = std::future::Ready<Result<tonic::Response<()>, tonic::Status>>;
    fn call(&mut self, request: tonic::Request<usize>) -> Self::Future {
        self.0.fetch_add(*request.get_ref(), Ordering::Relaxed);
        std::future::ready(Ok(tonic::Response::new(())))
    }
}

/// Decodes a request into its span count; answers an empty response.
struct CountCodec;
struct CountDecoder;
struct EmptyEncoder;

impl tonic::codec::Codec for CountCodec {
    type Encode = ();
    type Decode = usize;
    type Encoder = EmptyEncoder;
    type Decoder = CountDecoder;
    fn encoder(&mut self) -> EmptyEncoder {
        EmptyEncoder
    }
    fn decoder(&mut self) -> CountDecoder {
        CountDecoder
    }
}

impl tonic::codec::Encoder for EmptyEncoder {
    type Item = ();
    type Error = tonic::Status;
    fn encode(&mut self, _: (), _: &mut tonic::codec::EncodeBuf<'_>) -> Result<(), tonic::Status> {
        Ok(())
    }
}

impl tonic::codec::Decoder for CountDecoder {
    type Item = usize;
    type Error = tonic::Status;
    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<usize>, tonic::Status> {
        use bytes::Buf;
        let body = src.copy_to_bytes(src.remaining());
        Ok(Some(count_spans(&body)))
    }
}

/// Process CPU time (every thread), in nanoseconds.
fn process_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Best of the rounds: (spans per second, CPU ns per span).
fn measure(mut burst: impl FnMut(usize), mut flush: impl FnMut()) -> (f64, f64) {
    burst(10_000); // warm-up: connections, allocations
    flush();
    let (mut rate, mut cpu) = (0f64, f64::MAX);
    for _ in 0..ROUNDS {
        let (t, c) = (Instant::now(), process_cpu_ns());
        burst(BURST);
        flush();
        let wall = t.elapsed().as_secs_f64();
        rate = rate.max(BURST as f64 / wall);
        cpu = cpu.min((process_cpu_ns() - c) as f64 / BURST as f64);
    }
    (rate, cpu)
}

fn fcc_run(protocol: OtlpProtocol, endpoint: &str) -> (f64, f64) {
    let config = OtlpConfig::new(endpoint, protocol).unwrap();
    let tracer = FccTracer::builder("bench-export")
        .completed_capacity(0)
        .max_queue_size(BURST + 10_000)
        .max_export_batch_size(512)
        .exporter(OtlpSpanExporter::new(&config, "bench-export").unwrap())
        .build()
        .unwrap();
    let result = measure(
        |n| {
            for i in 0..n {
                let _s = tracer.span_with(
                    "export.op",
                    [
                        KeyValue::new("order.id", i as i64),
                        KeyValue::new("route", "/orders"),
                        KeyValue::new("ok", true),
                    ],
                );
            }
        },
        || tracer.flush(Duration::from_secs(120)).unwrap(),
    );
    let s = tracer.stats();
    assert_eq!(
        (s.spans_dropped, s.spans_failed),
        (0, 0),
        "fcc lost spans: {:?}",
        s.last_error
    );
    result
}

fn sdk_run(protocol: OtlpProtocol, endpoint: &str) -> (f64, f64) {
    // tonic needs a Tokio runtime when the exporter is built; reqwest's
    // blocking client must be built outside one.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let exporter = match protocol {
        OtlpProtocol::Grpc => {
            let _g = rt.enter();
            use opentelemetry_otlp::WithExportConfig;
            opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()
                .unwrap()
        }
        _ => {
            use opentelemetry_otlp::WithExportConfig;
            opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_endpoint(format!("{endpoint}/v1/traces"))
                .build()
                .unwrap()
        }
    };
    let batch = BatchConfigBuilder::default()
        .with_max_queue_size(BURST + 10_000)
        .with_max_export_batch_size(512)
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(
            BatchSpanProcessor::builder(exporter)
                .with_batch_config(batch)
                .build(),
        )
        .build();
    let tracer = provider.tracer("bench-export");
    let result = measure(
        |n| {
            for i in 0..n {
                let mut s = tracer.start("export.op");
                s.set_attribute(opentelemetry::KeyValue::new("order.id", i as i64));
                s.set_attribute(opentelemetry::KeyValue::new("route", "/orders"));
                s.set_attribute(opentelemetry::KeyValue::new("ok", true));
                s.end();
            }
        },
        || provider.force_flush().unwrap(),
    );
    provider.shutdown().unwrap();
    drop(rt);
    result
}

fn main() {
    if let Ok(protocol) = std::env::var("FCC_BENCH_RECEIVER") {
        return serve(&protocol);
    }
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists benches; this one is a program
    }
    println!(
        "\nOTLP export of {BURST} spans (3 attributes) to a receiver in another process, best of {ROUNDS}"
    );
    for (name, protocol, scheme) in [
        ("grpc", OtlpProtocol::Grpc, "grpc"),
        ("http/protobuf", OtlpProtocol::HttpProtobuf, "http"),
    ] {
        let mut rows = Vec::new();
        // FCC_BENCH_ONLY=fcc (or sdk) runs one side, for a profiler.
        let only = std::env::var("FCC_BENCH_ONLY").ok();
        for who in ["fcc", "sdk"] {
            if only.as_deref().is_some_and(|o| o != who) {
                continue;
            }
            let rx = Receiver::start(scheme);
            let endpoint = format!("http://127.0.0.1:{}", rx.port);
            let (rate, cpu) = match who {
                "fcc" => fcc_run(protocol, &endpoint),
                _ => sdk_run(protocol, &endpoint),
            };
            let got = rx.finish();
            let expected = 10_000 + ROUNDS * BURST;
            assert_eq!(got, expected, "{who} over {name}: the receiver's count");
            rows.push((who, rate, cpu));
        }
        println!("  {name}:");
        for (who, rate, cpu) in &rows {
            println!("    {who:<4} {rate:>10.0} spans/s   {cpu:>7.0} ns CPU per span");
        }
        let [f, s] = rows[..] else { continue };
        println!(
            "    fcc / sdk: {:.2}x the throughput, {:.2}x less CPU per span",
            f.1 / s.1,
            s.2 / f.2
        );
    }
}
