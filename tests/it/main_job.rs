//! The README's first command: the quickstart runs on the embedded default,
//! stores its events in SQLite and queries them back.

#[test]
fn the_quickstart_stores_and_queries_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("qs.db");
    let out = std::process::Command::new(env!("CARGO"))
        .args(["run", "-q", "--example", "quickstart", "--"])
        .arg(dir.path().join("events.json"))
        .env("FCC_STORE_URL", format!("sqlite://{}", db.display()))
        .env("FCC_LOG", dir.path().join("log.ndjson"))
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("(10 rows in agent_events in all)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Sink store: 10 written, 0 dropped, 0 failed"),
        "{stdout}"
    );
    let errors = stdout.split("  errors:").nth(1).unwrap();
    assert_eq!(
        errors
            .lines()
            .filter(|l| l.contains("action.failed"))
            .count(),
        1,
        "{stdout}"
    );
    let store = fcc_store::EventStore::open(&format!("sqlite://{}", db.display())).unwrap();
    assert_eq!(store.count().unwrap(), 10);
}
