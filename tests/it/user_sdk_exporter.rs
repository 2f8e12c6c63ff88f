//! fcc linked into a service does not change how the service's own OTel
//! SDK exporter behaves: `tests/user_project` (its own Cargo project, so
//! that only the features fcc itself turns on are unified) builds an
//! OTLP/HTTP exporter the documented way in a plain `fn main` and exports a
//! span to a real receiver. With fcc's old `reqwest-client` feature this
//! failed with "no reactor running".

use crate::support::otlp_receiver;

use std::path::Path;
use std::process::Command;

#[test]
fn a_services_own_sdk_exporter_works_with_fcc_linked() {
    let receiver = otlp_receiver::OtlpReceiver::http("127.0.0.1:0");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args(["run", "--quiet", "--locked", "--manifest-path"])
        .arg(root.join("tests/user_project/Cargo.toml"))
        .arg("--target-dir")
        .arg(root.join("target/user-project"))
        .arg("--")
        .arg(format!("{}/v1/traces", receiver.endpoint()))
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the user's program failed:\n{stderr}");
    assert!(!stderr.contains("no reactor running"), "{stderr}");
    let spans = receiver.received.wait_spans(1);
    let names: Vec<&str> = spans.iter().map(|s| s.span.name.as_str()).collect();
    assert_eq!(names, ["user.span"], "the SDK's own span arrived");
}
