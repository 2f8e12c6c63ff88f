//! The connections every OTLP signal uses, built once from its
//! [`OtlpSignal`]: one TLS set-up (rustls with *ring*, the system's roots,
//! webpki's roots, the `..._CERTIFICATE` CA, the `..._CLIENT_*` identity)
//! under both transports, so traces, logs and metrics reach a collector the
//! same way.
//!
//! - gRPC: a tonic [`Channel`] over fcc's connector (TLS with ALPN `h2`
//!   for `https://`), with the signal's headers as metadata;
//! - HTTP: [`HttpClient`], a small hyper client implementing
//!   `opentelemetry_http::HttpClient`, sending the signal's headers.
//!
//! The crypto provider is always given explicitly (never the process-wide
//! default), and no `reqwest` or TLS feature of another crate is turned on,
//! so a service's own clients behave as they did without fcc.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tonic::transport::Channel;

use super::{OtlpHeaders, OtlpSignal};
use crate::export::ExportError;

/// The most a collector's answer may hold (it is a small status message).
const MAX_ANSWER: usize = 4 << 20;

/// Which settings are wrong, naming the file and what to do.
fn tls_error(what: &str, path: &std::path::Path, e: impl std::fmt::Display) -> ExportError {
    ExportError::config("otlp", format!("{what} {}: {e}", path.display()))
}

/// The rustls client configuration of a signal.
fn tls_config(signal: &OtlpSignal) -> Result<rustls::ClientConfig, ExportError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let tls = &signal.tls;
    if let Some(path) = &tls.certificate {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|i| i.collect::<Result<Vec<_>, _>>())
            .map_err(|e| {
                tls_error(
                    "OTEL_EXPORTER_OTLP_CERTIFICATE: cannot read the CA certificate",
                    path,
                    e,
                )
            })?;
        if certs.is_empty() {
            return Err(tls_error(
                "OTEL_EXPORTER_OTLP_CERTIFICATE: no PEM certificate in",
                path,
                "expected -----BEGIN CERTIFICATE-----",
            ));
        }
        for c in certs {
            roots.add(c).map_err(|e| {
                tls_error(
                    "OTEL_EXPORTER_OTLP_CERTIFICATE: not a usable CA certificate:",
                    path,
                    e,
                )
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ExportError::config("otlp", format!("TLS: {e}")))?
        .with_root_certificates(roots);
    match (&tls.client_certificate, &tls.client_key) {
        (None, None) => Ok(builder.with_no_client_auth()),
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    tls_error(
                        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: cannot read the client certificate",
                        cert,
                        e,
                    )
                })?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                tls_error("OTEL_EXPORTER_OTLP_CLIENT_KEY: cannot read the client key", key, e)
            })?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                ExportError::config(
                    "otlp",
                    format!("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and _CLIENT_KEY do not make a client identity: {e}"),
                )
            })
        }
        _ => Err(ExportError::config(
            "otlp",
            "mTLS needs both OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY",
        )),
    }
}

/// The connector under both transports: plain TCP for `http://`, TLS for
/// `https://`, HTTP/2 (ALPN `h2`) for gRPC.
fn connector(
    signal: &OtlpSignal,
    http2: bool,
) -> Result<HttpsConnector<HttpConnector>, ExportError> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_config(signal)?)
        .https_or_http();
    Ok(if http2 {
        builder.enable_http2().wrap_connector(http)
    } else {
        builder.enable_http1().wrap_connector(http)
    })
}

/// A lazily connecting gRPC channel to the signal's endpoint. Call it inside
/// the tokio runtime that will drive it.
pub(crate) fn grpc_channel(signal: &OtlpSignal) -> Result<Channel, ExportError> {
    let endpoint = tonic::transport::Endpoint::from_shared(signal.endpoint.clone())
        .map_err(|e| ExportError::config("otlp", format!("endpoint: {e}")))?
        .timeout(signal.timeout)
        .connect_timeout(signal.timeout.min(Duration::from_secs(5)));
    Ok(endpoint.connect_with_connector_lazy(connector(signal, true)?))
}

/// The signal's headers as gRPC metadata (names that gRPC refuses are left
/// out; they were checked as HTTP header names when read).
pub(crate) fn grpc_metadata(headers: &OtlpHeaders) -> tonic::metadata::MetadataMap {
    let mut map = tonic::metadata::MetadataMap::new();
    for (k, v) in headers.iter() {
        if let (Ok(k), Ok(v)) = (
            tonic::metadata::MetadataKey::from_bytes(k.as_bytes()),
            tonic::metadata::MetadataValue::try_from(v),
        ) {
            map.insert(k, v);
        }
    }
    map
}

/// An HTTP/1.1 client for OTLP/HTTP (TLS for `https://`), for
/// opentelemetry-otlp's exporters and fcc's metrics exporter alike.
#[derive(Clone)]
pub(crate) struct HttpClient {
    inner: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    headers: http::HeaderMap,
    /// The last failure in full (opentelemetry-otlp reports only "network
    /// error"; the exporter adds this to its error).
    last_failure: Arc<std::sync::Mutex<Option<String>>>,
}

/// An error with every source it holds: "client error (Connect): invalid
/// peer certificate: UnknownIssuer".
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client for `signal`, sending its headers with every request.
    pub(crate) fn new(signal: &OtlpSignal) -> Result<HttpClient, ExportError> {
        let inner = Client::builder(TokioExecutor::new()).build(connector(signal, false)?);
        let mut headers = http::HeaderMap::new();
        for (k, v) in signal.headers.iter() {
            if let (Ok(k), Ok(v)) = (
                http::HeaderName::from_bytes(k.as_bytes()),
                http::HeaderValue::from_str(v),
            ) {
                headers.insert(k, v);
            }
        }
        Ok(HttpClient {
            inner,
            headers,
            last_failure: Arc::default(),
        })
    }

    /// Takes the last failure's full text, if one happened since.
    pub(crate) fn failure_slot(&self) -> Arc<std::sync::Mutex<Option<String>>> {
        Arc::clone(&self.last_failure)
    }

    /// Sends `request` with the signal's headers; the answer's body is read
    /// whole (up to a bound).
    pub(crate) async fn send(
        &self,
        request: Request<Bytes>,
    ) -> Result<Response<Bytes>, Box<dyn std::error::Error + Send + Sync>> {
        let (mut parts, body) = request.into_parts();
        for (k, v) in &self.headers {
            parts.headers.entry(k).or_insert_with(|| v.clone());
        }
        let response = match self
            .inner
            .request(Request::from_parts(parts, Full::new(body)))
            .await
        {
            Ok(r) => r,
            Err(e) => {
                let text = error_chain(&e);
                if let Ok(mut slot) = self.last_failure.lock() {
                    *slot = Some(text.clone());
                }
                return Err(text.into());
            }
        };
        let (parts, body) = response.into_parts();
        let body = http_body_util::Limited::new(body, MAX_ANSWER)
            .collect()
            .await?
            .to_bytes();
        Ok(Response::from_parts(parts, body))
    }
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for HttpClient {
    async fn send_bytes(
        &self,
        request: Request<Bytes>,
    ) -> Result<Response<Bytes>, opentelemetry_http::HttpError> {
        self.send(request).await
    }
}
