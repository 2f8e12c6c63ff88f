//! The OTLP specification's retry rules, for fcc's own OTLP client (the
//! span and metrics exporters; opentelemetry-otlp applies the same rules
//! to logs): which gRPC codes and HTTP statuses are transient, and the
//! collector's hint of when to try again (`RetryInfo`, `Retry-After`).

use std::io::Write;
use std::time::Duration;

/// Whether a failed export may be tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Transient; the collector's hint of how long to wait, if it gave one.
    Yes(Option<Duration>),
    /// Permanent: the same request would fail the same way.
    No,
}

/// gRPC: CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE
/// and DATA_LOSS are transient; RESOURCE_EXHAUSTED only with a `RetryInfo`
/// (the collector says when it will have room); the rest are permanent.
pub(crate) fn grpc(status: &tonic::Status) -> Retry {
    use tonic::Code;
    let hint = retry_info(status);
    match status.code() {
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss => Retry::Yes(hint),
        Code::ResourceExhausted if hint.is_some() => Retry::Yes(hint),
        _ => Retry::No,
    }
}

/// The `google.rpc.RetryInfo` delay in a status's details, if any.
fn retry_info(status: &tonic::Status) -> Option<Duration> {
    use prost::Message;
    #[derive(Clone, PartialEq, prost::Message)]
    struct RpcStatus {
        #[prost(int32, tag = "1")]
        code: i32,
        #[prost(string, tag = "2")]
        message: String,
        #[prost(message, repeated, tag = "3")]
        details: Vec<prost_types_any::Any>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    struct RetryInfo {
        #[prost(message, optional, tag = "1")]
        retry_delay: Option<ProtoDuration>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    struct ProtoDuration {
        #[prost(int64, tag = "1")]
        seconds: i64,
        #[prost(int32, tag = "2")]
        nanos: i32,
    }
    mod prost_types_any {
        #[derive(Clone, PartialEq, prost::Message)]
        pub(super) struct Any {
            #[prost(string, tag = "1")]
            pub(super) type_url: String,
            #[prost(bytes = "vec", tag = "2")]
            pub(super) value: Vec<u8>,
        }
    }
    let details = status.details();
    if details.is_empty() {
        return None;
    }
    let rpc = RpcStatus::decode(details).ok()?;
    rpc.details
        .iter()
        .find(|a| a.type_url.ends_with("google.rpc.RetryInfo"))
        .and_then(|a| RetryInfo::decode(a.value.as_slice()).ok())
        .and_then(|r| r.retry_delay)
        .map(|d| Duration::new(d.seconds.max(0) as u64, d.nanos.max(0) as u32))
}

/// HTTP: 429, 502, 503 and 504 are transient (with `Retry-After` in seconds
/// honoured); every other failure status is permanent.
pub(crate) fn http(status: http::StatusCode, headers: &http::HeaderMap) -> Retry {
    match status.as_u16() {
        429 | 502 | 503 | 504 => Retry::Yes(
            headers
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
        ),
        _ => Retry::No,
    }
}

/// A body gzip-compressed (`Content-Encoding: gzip`).
pub(crate) fn gzip(body: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(body);
    enc.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_codes_follow_the_otlp_rules() {
        use tonic::{Code, Status};
        assert_eq!(grpc(&Status::new(Code::Unavailable, "")), Retry::Yes(None));
        assert_eq!(grpc(&Status::new(Code::InvalidArgument, "")), Retry::No);
        assert_eq!(
            grpc(&Status::new(Code::ResourceExhausted, "")),
            Retry::No,
            "without RetryInfo"
        );
    }

    #[test]
    fn http_statuses_follow_the_otlp_rules_and_retry_after_is_honoured() {
        let mut h = http::HeaderMap::new();
        assert_eq!(http(http::StatusCode::BAD_REQUEST, &h), Retry::No);
        assert_eq!(http(http::StatusCode::BAD_GATEWAY, &h), Retry::Yes(None));
        h.insert(http::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(
            http(http::StatusCode::TOO_MANY_REQUESTS, &h),
            Retry::Yes(Some(Duration::from_secs(7)))
        );
    }

    #[test]
    fn gzip_round_trips() {
        use std::io::Read;
        let body = b"otlp".repeat(100);
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gzip(&body).as_slice())
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body);
    }
}
