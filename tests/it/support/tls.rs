//! Certificates made by the test (rcgen): a CA, a server certificate for
//! `localhost` and `127.0.0.1` signed by it, a client certificate for mTLS,
//! and a second CA that signed nothing here (the wrong CA). Written as PEM
//! files, as `OTEL_EXPORTER_OTLP_CERTIFICATE` and friends name them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tokio_rustls::rustls;

/// PEM files in a temporary directory, and the server's rustls config.
pub struct TestPki {
    pub dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub wrong_ca: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    server_cert: rustls::pki_types::CertificateDer<'static>,
    server_key: Vec<u8>,
    ca_der: rustls::pki_types::CertificateDer<'static>,
}

fn ca(name: &str) -> (rcgen::Certificate, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert, Issuer::new(params, key))
}

fn write(dir: &Path, name: &str, pem: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pem).unwrap();
    path
}

impl TestPki {
    pub fn new() -> TestPki {
        let dir = tempfile::tempdir().unwrap();
        let (ca_cert, issuer) = ca("fcc test CA");
        let (wrong_cert, _) = ca("some other CA");
        let server_key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .unwrap()
            .signed_by(&server_key, &issuer)
            .unwrap();
        let client_key = KeyPair::generate().unwrap();
        let mut client_params = CertificateParams::new(vec!["fcc-client".into()]).unwrap();
        client_params
            .extended_key_usages
            .push(rcgen::ExtendedKeyUsagePurpose::ClientAuth);
        let client = client_params.signed_by(&client_key, &issuer).unwrap();
        TestPki {
            ca: write(dir.path(), "ca.pem", &ca_cert.pem()),
            wrong_ca: write(dir.path(), "wrong-ca.pem", &wrong_cert.pem()),
            client_cert: write(dir.path(), "client.pem", &client.pem()),
            client_key: write(dir.path(), "client.key", &client_key.serialize_pem()),
            server_cert: server.der().clone(),
            server_key: server_key.serialize_der(),
            ca_der: ca_cert.der().clone(),
            dir,
        }
    }

    /// The server's TLS config; `mtls` requires a client certificate signed
    /// by the test CA. `alpn`: `h2` for gRPC, `http/1.1` for HTTP.
    pub fn server_config(&self, mtls: bool, alpn: &[u8]) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if mtls {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(self.ca_der.clone()).unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(self.server_key.clone().into());
        let mut config = builder
            .with_single_cert(vec![self.server_cert.clone()], key)
            .unwrap();
        config.alpn_protocols = vec![alpn.to_vec()];
        Arc::new(config)
    }
}
