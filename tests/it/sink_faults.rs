//! File sinks under bad paths, full disks, crashes and rotation.

use fcc::sinks::{attach, JsonFileSink, LogSink, Sink, SinkOptions};
use fcc::{Event, EventBus, EventSerializer, EventType, InstallError, LogTarget, Telemetry};
use std::time::Duration;

fn step(n: u64) -> Event {
    Event::builder(EventType::SimulationStep, "SimulationEngine")
        .attr("n", n)
        .build()
}

#[test]
fn an_unwritable_path_is_an_error_at_install_naming_the_path() {
    for (target, path) in [
        (
            LogTarget::File("/dev/null/events.log".into()),
            "/dev/null/events.log",
        ),
        (
            LogTarget::File("/proc/no-such-dir/x.log".into()),
            "/proc/no-such-dir/x.log",
        ),
    ] {
        let err = Telemetry::builder()
            .log(target)
            .fmt(None)
            .build()
            .unwrap_err();
        assert!(matches!(err, InstallError::Sink(_)));
        assert!(err.to_string().contains(path), "{err}");
    }
    let err = Telemetry::builder()
        .log(LogTarget::Off)
        .json_file("/dev/null/x.ndjson")
        .fmt(None)
        .build()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("json file sink: cannot open /dev/null/x.ndjson"),
        "{err}"
    );
}

#[test]
fn a_full_disk_is_counted_and_the_worker_keeps_going() {
    let bus = EventBus::new();
    // /dev/full accepts opens and fails every write with ENOSPC.
    let log = attach(
        &bus,
        Box::new(LogSink::file("/dev/full").unwrap()),
        SinkOptions::default().batch_size(1),
    )
    .unwrap();
    let json = attach(
        &bus,
        Box::new(JsonFileSink::new("/dev/full").unwrap()),
        SinkOptions::default().batch_size(1),
    )
    .unwrap();
    for n in 0..5 {
        bus.publish(&step(n));
        log.flush(Duration::from_secs(5)).ok();
    }
    json.flush(Duration::from_secs(5)).ok();
    for s in [log.stats(), json.stats()] {
        assert_eq!(s.written, 0, "{s:?}");
        assert_eq!(s.failed, 5, "{s:?}");
        assert!(s.errors >= 5, "{s:?}");
    }
    // Still alive: shutdown answers.
    log.shutdown(Duration::from_secs(5)).ok();
}

#[test]
fn a_crash_cut_last_line_is_repaired_on_open_so_the_file_stays_loadable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.ndjson");
    let good = EventSerializer::to_ndjson(&[step(1), step(2)]);
    std::fs::write(&path, format!("{good}{{\"event_id\":\"0192")).unwrap();
    assert!(EventSerializer::load(&path).is_err());
    let sink = JsonFileSink::new(&path).unwrap();
    assert_eq!(sink.repaired_bytes(), "{\"event_id\":\"0192".len() as u64);
    drop(sink);
    assert_eq!(EventSerializer::load(&path).unwrap().len(), 2);
}

#[test]
fn rotation_keeps_every_file_loadable_and_no_event_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.ndjson");
    let bus = EventBus::new();
    let sink = JsonFileSink::new(&path)
        .unwrap()
        .max_bytes(2_000)
        .max_files(50);
    let handle = attach(&bus, Box::new(sink), SinkOptions::default().batch_size(3)).unwrap();
    let total = 100;
    for n in 0..total {
        bus.publish(&step(n));
        if n % 3 == 2 {
            handle.flush(Duration::from_secs(5)).unwrap();
        }
    }
    handle.shutdown(Duration::from_secs(5)).unwrap();
    let mut all = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let p = entry.unwrap().path();
        let events = EventSerializer::load(&p).unwrap();
        assert!(
            std::fs::metadata(&p).unwrap().len() <= 2_000 + 3 * 400,
            "{}",
            p.display()
        );
        all.extend(events.iter().map(|e| e.payload()["n"].as_u64().unwrap()));
        files += 1;
    }
    assert!(files > 3, "rotated into {files} files");
    all.sort_unstable();
    assert!(all.iter().copied().eq(0..total));
}

#[test]
fn rotation_deletes_the_oldest_beyond_max_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.ndjson");
    let mut sink = JsonFileSink::new(&path).unwrap().max_bytes(1).max_files(2);
    for n in 0..6 {
        sink.write(&[step(n)]).unwrap();
    }
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["e.ndjson", "e.ndjson.1", "e.ndjson.2"]);
    let newest = EventSerializer::load(&path).unwrap();
    assert_eq!(newest[0].payload()["n"], 5);
}

#[test]
fn dropping_telemetry_flushes_everything_queued() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.ndjson");
    {
        let t = Telemetry::builder()
            .log(LogTarget::Off)
            .json_file(&path)
            .fmt(None)
            .build()
            .unwrap();
        tracing::dispatcher::with_default(t.dispatch(), || {
            for n in 0..10_000 {
                fcc::emit(step(n));
            }
        });
    }
    assert_eq!(EventSerializer::load(&path).unwrap().len(), 10_000);
}

/// A JSON file under folders that do not exist yet is created with them
/// (sink, span exporter, metric exporter); where a folder cannot be made,
/// the error names it.
#[test]
fn json_files_get_their_folders_made_or_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let nested = |name: &str| dir.path().join("a/b").join(name);
    JsonFileSink::new(nested("events.ndjson")).unwrap();
    fcc::export::JsonFileSpanExporter::new(nested("spans.ndjson")).unwrap();
    fcc::export::JsonFileMetricExporter::new(nested("metrics.ndjson")).unwrap();
    for name in ["events.ndjson", "spans.ndjson", "metrics.ndjson"] {
        assert!(nested(name).exists(), "{name}");
    }
    // A file where a folder should be.
    std::fs::write(dir.path().join("blocker"), "").unwrap();
    let path = dir.path().join("blocker/sub/events.ndjson");
    let e = JsonFileSink::new(&path)
        .err()
        .expect("an error")
        .to_string();
    assert!(
        e.contains("cannot create the folder") && e.contains("blocker"),
        "{e}"
    );
    let e = fcc::export::JsonFileSpanExporter::new(&path)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("cannot create the folder"), "{e}");
}
