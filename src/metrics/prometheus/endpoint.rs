//! The scrape endpoint: hyper's HTTP/1 server on a thread of its own with a
//! current-thread tokio runtime. Each connection is a task of its own, so a
//! slow client holds up nobody else, and each is bounded in time.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use super::render;
use crate::metrics::FccMetrics;

/// How long a client may take to send a request's head. hyper times every
/// wait for a head, the first and each next one on a kept-alive
/// connection, so this also closes a connection idle for that long.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a connection is served: then it closes after the answer in
/// flight (a client reading an answer very slowly holds it no longer).
const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// How long answers in flight get to finish when the endpoint stops, or a
/// connection's lifetime ends, before their connections are closed.
const GRACE: Duration = Duration::from_secs(1);

const CONTENT_TYPE_0_0_4: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A scrape endpoint: `GET /metrics` on its own thread, until dropped.
///
/// Other paths answer 404, other methods 405. A client gets
/// 10 s to send a request's head (and a kept-alive connection is closed
/// after 10 s without one); a connection is served for at most 60 s; at
/// most [`MAX_CONNECTIONS`](Self::MAX_CONNECTIONS) are open at once, and
/// ones beyond are closed at once. Dropping it stops the server: answers
/// in flight get 1 s to finish, then every connection is closed.
pub struct PrometheusEndpoint {
    addr: SocketAddr,
    /// Dropping it tells the server to stop.
    stop: Option<watch::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PrometheusEndpoint {
    /// Connections served at once; further ones are closed as they come.
    pub const MAX_CONNECTIONS: usize = 64;

    /// Listens on `addr` (such as `127.0.0.1:9464`, Prometheus' port for
    /// OTel SDK exporters) and answers scrapes with `metrics`' snapshot.
    pub fn serve(addr: &str, metrics: FccMetrics) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let listener = {
            let _context = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let (stop, stopped) = watch::channel(());
        let thread = std::thread::Builder::new()
            .name("fcc-prometheus".into())
            .spawn(move || {
                crate::internal::thread::mark_internal_thread();
                runtime.block_on(accept(listener, metrics, stopped));
                // Dropping the runtime drops the connections still open.
            })?;
        Ok(Self {
            addr: local,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address it listens on (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl std::fmt::Debug for PrometheusEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusEndpoint")
            .field("addr", &self.addr)
            .finish()
    }
}

impl Drop for PrometheusEndpoint {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            // Dropped by a collection hook run for a scrape: the thread
            // stops by itself once that scrape is answered.
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

/// Accepts connections until told to stop, then gives answers in flight
/// [`GRACE`] to finish.
async fn accept(listener: TcpListener, metrics: FccMetrics, mut stop: watch::Receiver<()>) {
    let open = Arc::new(Semaphore::new(PrometheusEndpoint::MAX_CONNECTIONS));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    loop {
        let stream = tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // Out of file descriptors, say: try again a bit later.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = Arc::clone(&open).try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let metrics = metrics.clone();
        let service = service_fn(move |request| {
            let response = answer(&request, &metrics);
            async move { Ok::<_, Infallible>(response) }
        });
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let stop = stop.clone();
        tokio::spawn(async move {
            serve(connection, stop).await;
            drop(permit);
        });
    }
    drop(listener);
    // Every permit back: every connection has closed.
    let all = PrometheusEndpoint::MAX_CONNECTIONS as u32;
    let _ = tokio::time::timeout(GRACE, open.acquire_many(all)).await;
}

/// Serves one connection until it closes, its lifetime ends or the
/// endpoint stops; then lets the answer in flight finish for [`GRACE`].
async fn serve<S>(
    connection: http1::Connection<TokioIo<tokio::net::TcpStream>, S>,
    mut stop: watch::Receiver<()>,
) where
    S: hyper::service::HttpService<Incoming, ResBody = String>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = stop.changed() => {}
        _ = tokio::time::sleep(CONNECTION_LIFETIME) => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(GRACE, connection).await;
}

fn answer(request: &Request<Incoming>, metrics: &FccMetrics) -> Response<String> {
    let (status, content_type, body) = match (request.method(), request.uri().path()) {
        (&Method::GET, "/metrics") => (
            StatusCode::OK,
            CONTENT_TYPE_0_0_4,
            render(&metrics.snapshot()),
        ),
        (&Method::GET, _) => (StatusCode::NOT_FOUND, "text/plain", "try /metrics\n".into()),
        _ => (
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET only\n".into(),
        ),
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if status == StatusCode::METHOD_NOT_ALLOWED {
        headers.insert(ALLOW, HeaderValue::from_static("GET"));
    }
    response
}
