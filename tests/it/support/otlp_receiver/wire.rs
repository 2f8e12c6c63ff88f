//! The receiver's own transports: TLS for the gRPC server, and the small
//! HTTP/1.1 server that takes OTLP/HTTP protobuf posts (gunzipped here).

use super::*;

/// TLS connections for tonic: each accepted TCP connection's handshake runs
/// on its own task; one that fails (a client that does not trust the test
/// CA, or has no certificate under mTLS) is dropped, the others served.
pub(super) fn tls_incoming(
    listener: tokio::net::TcpListener,
    config: Arc<tokio_rustls::rustls::ServerConfig>,
) -> tonic::codegen::tokio_stream::wrappers::UnboundedReceiverStream<std::io::Result<TlsIo>> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, tx) = (acceptor.clone(), tx.clone());
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    let _ = tx.send(Ok(TlsIo(tls)));
                }
            });
        }
    });
    tonic::codegen::tokio_stream::wrappers::UnboundedReceiverStream::new(rx)
}

/// A TLS connection tonic can serve.
pub(super) struct TlsIo(tokio_rustls::server::TlsStream<tokio::net::TcpStream>);

impl tonic::transport::server::Connected for TlsIo {
    type ConnectInfo = ();
    fn connect_info(&self) {}
}

impl tokio::io::AsyncRead for TlsIo {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for TlsIo {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// One HTTP/1.1 connection: POST /v1/traces, /v1/logs or /v1/metrics with a
/// protobuf body, gunzipped here when it says `Content-Encoding: gzip`.
pub(super) fn serve_http(stream: impl Read + Write, received: &Received) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_owned();
        let mut length = 0usize;
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_owned());
                if k == "content-length" {
                    length = v.parse().unwrap_or(0);
                }
                headers.push((k, v));
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let gzip = headers
            .iter()
            .any(|(k, v)| k == "content-encoding" && v.eq_ignore_ascii_case("gzip"));
        if gzip {
            let mut plain = Vec::new();
            if flate2::read::GzDecoder::new(body.as_slice())
                .read_to_end(&mut plain)
                .is_err()
            {
                if reply(reader.get_mut(), "400 Bad Request").is_err() {
                    return;
                }
                continue;
            }
            body = plain;
        }
        let signal = path.trim_start_matches("/v1/");
        let decoded = match signal {
            "traces" => ExportTraceServiceRequest::decode(body.as_slice())
                .map(|req| received.traces.lock().unwrap().push(req)),
            "logs" => ExportLogsServiceRequest::decode(body.as_slice())
                .map(|req| received.logs.lock().unwrap().push(req)),
            "metrics" => ExportMetricsServiceRequest::decode(body.as_slice())
                .map(|req| received.metrics.lock().unwrap().push(req)),
            _ => {
                if reply(reader.get_mut(), "404 Not Found").is_err() {
                    return;
                }
                continue;
            }
        };
        let status = match decoded {
            Ok(()) => {
                let signal = match signal {
                    "traces" => "traces",
                    "logs" => "logs",
                    _ => "metrics",
                };
                received.seen(signal, false, gzip, headers);
                "200 OK"
            }
            Err(_) => "400 Bad Request",
        };
        if reply(reader.get_mut(), status).is_err() {
            return;
        }
    }
}

pub(super) fn reply(out: &mut impl Write, status: &str) -> std::io::Result<()> {
    out.write_all(
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n"
        )
        .as_bytes(),
    )?;
    out.flush()
}
