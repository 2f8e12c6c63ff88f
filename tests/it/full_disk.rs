//! A disk that fills up in the middle of a batch: the NDJSON file keeps
//! every whole line that fit (a half line is cut off, so it stays loadable),
//! and the sink counts exactly those as written and the rest as failed.
//! Tested on a real 64 KiB tmpfs (mounting needs root, as CI and these
//! machines run), not `/dev/full`, which never takes part of a write.

#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use fcc::sinks::{JsonFileSink, SinkOptions};
use fcc::{Event, EventSerializer, LogTarget, TelemetryBuilder};

/// A small tmpfs, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("mount runs");
        assert!(
            out.status.success(),
            "mounting a small tmpfs needs root: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SmallDisk { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).unwrap().lines().count()
}

#[test]
fn a_batch_cut_short_by_a_full_disk_counts_its_written_lines_exactly() {
    let disk = SmallDisk::mount("64k");
    let file = disk.path("events.ndjson");
    const N: usize = 2_000; // ~300 bytes each: far more than 64 KiB
    let one_batch = SinkOptions::default()
        .batch_size(N)
        .poll_interval(Duration::from_secs(3600));
    let t = TelemetryBuilder::default()
        .log(LogTarget::Off)
        .fmt(None)
        .sink(JsonFileSink::new(&file).unwrap(), one_batch)
        .build()
        .unwrap();
    for i in 0..N {
        t.bus().publish(
            &Event::info("disk", "fill", format!("event {i} {}", "x".repeat(200))).build(),
        );
    }
    let _ = t.flush(Duration::from_secs(30));
    let s = t
        .sink_stats()
        .into_iter()
        .find(|s| s.name == "json_file")
        .unwrap();
    let in_file = lines(&file);
    assert!(
        in_file > 0 && in_file < N,
        "a partial batch: {in_file} lines"
    );
    assert_eq!(s.written as usize, in_file, "{s:?}");
    assert_eq!(s.failed as usize, N - in_file, "{s:?}");
    // Every line kept is a whole event: the file loads.
    assert_eq!(EventSerializer::load(&file).unwrap().len(), in_file);
    let _ = t.shutdown();
}
