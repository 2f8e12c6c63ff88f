//! Sends an encoded OTLP request (protobuf bytes) for one signal over gRPC
//! or HTTP, with the signal's headers, compression and TLS, retrying by the
//! OTLP rules (retryable gRPC codes and HTTP statuses, the collector's
//! `RetryInfo` / `Retry-After`) with jittered backoff, all within the
//! signal's timeout.
//!
//! The request is encoded by fcc (`trace_encode`), so gRPC goes through a
//! codec that passes the bytes as they are.

use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use tokio::runtime::Runtime;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;
use tonic::Status;

use super::retry::Retry;
use super::transport::{grpc_channel, grpc_metadata, HttpClient};
use super::{OtlpCompression, OtlpProtocol, OtlpSignal};
use crate::export::{Backoff, ExportError};

/// The gRPC method of each signal's service.
pub(crate) const TRACES_METHOD: &str =
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
pub(crate) const METRICS_METHOD: &str =
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

/// Bytes out as they are; the answer is read and left (a partial success
/// is not acted on, as in the SDK).
#[derive(Clone, Copy, Default)]
struct RawCodec;

struct RawEncoder;
struct SkipDecoder;

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for SkipDecoder {
    type Item = ();
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<()>, Status> {
        src.advance(src.remaining());
        Ok(Some(()))
    }
}

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = ();
    type Encoder = RawEncoder;
    type Decoder = SkipDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> SkipDecoder {
        SkipDecoder
    }
}

enum Client {
    Grpc(
        tonic::client::Grpc<Channel>,
        tonic::metadata::MetadataMap,
        &'static str,
    ),
    Http(HttpClient, String),
}

/// One signal's connection to the collector.
pub(crate) struct OtlpSender {
    rt: Runtime,
    client: Client,
    gzip: bool,
    timeout: Duration,
    what: &'static str,
}

impl OtlpSender {
    /// A sender for `signal`; `method` is its gRPC method, `what` names it
    /// in errors (`otlp traces`).
    pub(crate) fn new(
        signal: &OtlpSignal,
        method: &'static str,
        what: &'static str,
    ) -> Result<OtlpSender, ExportError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .on_thread_start(crate::internal::thread::mark_internal_thread)
            .enable_all()
            .build()
            .map_err(|e| ExportError::cannot_start(what, e))?;
        let gzip = signal.compression == OtlpCompression::Gzip;
        let client = {
            let _g = rt.enter();
            match signal.protocol {
                OtlpProtocol::Grpc => {
                    let mut grpc = tonic::client::Grpc::new(grpc_channel(signal)?);
                    if gzip {
                        grpc = grpc.send_compressed(tonic::codec::CompressionEncoding::Gzip);
                    }
                    Client::Grpc(grpc, grpc_metadata(&signal.headers), method)
                }
                _ => Client::Http(HttpClient::new(signal)?, signal.endpoint.clone()),
            }
        };
        Ok(OtlpSender {
            rt,
            client,
            gzip,
            timeout: signal.timeout,
            what,
        })
    }

    /// Sends `body`, retrying what the OTLP rules call transient until the
    /// signal's timeout; the error says what the last attempt met.
    pub(crate) fn send(&mut self, body: Vec<u8>) -> Result<(), ExportError> {
        let body = Bytes::from(if self.gzip && matches!(self.client, Client::Http(..)) {
            super::retry::gzip(&body)
        } else {
            body
        });
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2))
            .tries(4)
            .within(self.timeout);
        loop {
            let left = backoff.time_left().unwrap_or(self.timeout);
            let (error, retry) = match self.attempt(body.clone(), left) {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            let delay = match retry {
                Retry::No => None,
                Retry::Yes(None) => backoff.next_delay(),
                Retry::Yes(Some(hint)) => backoff.next_delay_at_least(hint),
            };
            match delay {
                Some(d) => std::thread::sleep(d),
                None => return Err(ExportError::failed(self.what, error)),
            }
        }
    }

    fn attempt(&mut self, body: Bytes, timeout: Duration) -> Result<(), (String, Retry)> {
        if timeout.is_zero() {
            return Err((
                format!(
                    "no answer within {:?} (OTEL_EXPORTER_OTLP_TIMEOUT)",
                    self.timeout
                ),
                Retry::No,
            ));
        }
        let timed_out = || {
            (
                format!(
                    "no answer within {:?} (OTEL_EXPORTER_OTLP_TIMEOUT)",
                    self.timeout
                ),
                Retry::Yes(None),
            )
        };
        match &mut self.client {
            Client::Grpc(grpc, metadata, method) => {
                let mut request = tonic::Request::new(body);
                *request.metadata_mut() = metadata.clone();
                let path = http::uri::PathAndQuery::from_static(method);
                let call = async {
                    grpc.ready()
                        .await
                        .map_err(|e| Status::unavailable(super::transport::error_chain(&e)))?;
                    grpc.unary(request, path, RawCodec).await
                };
                self.rt
                    .block_on(async { tokio::time::timeout(timeout, call).await })
                    .map_err(|_| timed_out())?
                    .map(drop)
                    .map_err(|s| {
                        let retry = super::retry::grpc(&s);
                        let mut text = format!("gRPC {}: {}", s.code(), s.message());
                        // A transport failure (TLS, connection) says why in its sources.
                        if let Some(source) = std::error::Error::source(&s) {
                            text.push_str(&format!(" ({})", super::transport::error_chain(source)));
                        }
                        (text, retry)
                    })
            }
            Client::Http(client, url) => {
                let mut req = http::Request::post(url.as_str())
                    .header("content-type", "application/x-protobuf");
                if self.gzip {
                    req = req.header("content-encoding", "gzip");
                }
                let req = req.body(body).map_err(|e| (e.to_string(), Retry::No))?;
                let resp = self
                    .rt
                    .block_on(async { tokio::time::timeout(timeout, client.send(req)).await })
                    .map_err(|_| timed_out())?
                    .map_err(|e| (e.to_string(), Retry::Yes(None)))?;
                if resp.status().is_success() {
                    Ok(())
                } else {
                    let retry = super::retry::http(resp.status(), resp.headers());
                    Err((format!("HTTP {}", resp.status()), retry))
                }
            }
        }
    }
}
