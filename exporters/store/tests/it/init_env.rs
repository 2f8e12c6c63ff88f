//! `fcc_store::init()`: telemetry from the environment with the store from
//! `FCC_STORE_URL`. Installs the global subscriber: its own test binary.

use fcc::{Event, EventType};
use fcc_store::{EventStore, InitError};

#[test]
fn init_reads_fcc_store_url() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("FCC_LOG", "off");
    std::env::set_var("FCC_FMT", "off");
    std::env::set_var("FCC_STORE_URL", "mysql://nope");
    let err = fcc_store::init().err().unwrap();
    assert!(matches!(err, InitError::Store(_)), "{err}");
    assert!(err.to_string().contains("FCC_STORE_URL") && err.to_string().contains("mysql://nope"));

    let url = format!("sqlite://{}", dir.path().join("env.db").display());
    std::env::set_var("FCC_STORE_URL", &url);
    let t = fcc_store::init().unwrap();
    fcc::emit(Event::builder(EventType::WorkflowStarted, "orchestrator").correlation_id("env-1"));
    t.shutdown().unwrap();
    let store = EventStore::open(&url).unwrap();
    assert_eq!(store.count().unwrap(), 1);
}
