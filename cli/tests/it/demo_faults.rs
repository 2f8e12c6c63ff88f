//! `fcc demo` under faults, caused for real: the store's Postgres
//! connections terminated mid-run (as a restart or failover does to its
//! clients) and a full disk under the events file. The summary says exactly
//! what was stored and what was lost; the numbers are checked against the
//! store and the file.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use fcc_store::EventStore;

use crate::support;
use support::{summary_total, text};

/// The summary's `name  N written, N dropped, N failed` line for a sink.
fn sink_line(stdout: &str, name: &str) -> (u64, u64, u64) {
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{name} ")) && l.contains(" written, "))
        .unwrap_or_else(|| panic!("no {name} line in:\n{stdout}"));
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    (nums[0], nums[1], nums[2])
}

fn demo(args: &[&str], dir: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_fcc"))
        .arg("demo")
        .args(args)
        .current_dir(dir)
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("FCC_STORE_URL")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: std::process::Child) -> Output {
    child.wait_with_output().unwrap()
}

#[test]
fn postgres_connections_killed_mid_run_lose_nothing_and_the_summary_matches_the_store() {
    let base = std::env::var("FCC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let name = "fcc_demo_pg_restart";
    let mut admin = postgres::Client::connect(&base, postgres::NoTls).expect("the test Postgres");
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name};"
        ))
        .unwrap();
    let url = format!("{base}?options=-c%20search_path%3D{name}&application_name={name}");
    let dir = tempfile::tempdir().unwrap();
    let child = demo(
        &["--missions", "400", "--quiet", "--store", &url],
        dir.path(),
    );
    // Mid-run: once the demo has stored rows (not while it opens the store).
    let deadline = Instant::now() + Duration::from_secs(120);
    while admin
        .query_one(&format!("SELECT COUNT(*) FROM {name}.agent_events"), &[])
        .map_or(0, |r| r.get::<_, i64>(0))
        == 0
    {
        assert!(Instant::now() < deadline, "the demo stored nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Kill the demo's store connections three times while it runs.
    let mut kills = 0;
    while kills < 3 && Instant::now() < deadline {
        let n: i64 = admin
            .query_one(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
                &[&name],
            )
            .unwrap()
            .get(0);
        kills += u32::from(n > 0);
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = finish(child);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(kills >= 1, "the demo's connection was never seen");
    let (written, dropped, failed) = sink_line(&stdout, "store");
    assert_eq!((dropped, failed), (0, 0), "{stdout}");
    assert_eq!(written, summary_total(&stdout), "{stdout}");
    assert_eq!(EventStore::open(&url).unwrap().count().unwrap(), written);
}

#[test]
#[cfg(target_os = "linux")]
fn a_full_disk_under_the_events_file_is_counted_exactly_and_the_store_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    std::fs::create_dir(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&small)
        .output()
        .unwrap();
    assert!(
        mounted.status.success(),
        "mounting a small tmpfs needs root"
    );
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(&small);
    let url = format!("sqlite://{}", dir.path().join("events.db").display());
    let json = small.join("events.ndjson");
    let out = finish(demo(
        &[
            "--missions",
            "40",
            "--quiet",
            "--store",
            &url,
            "--json",
            json.to_str().unwrap(),
        ],
        dir.path(),
    ));
    let stdout = text(&out.stdout);
    // Events were lost (to the file): the demo says so with exit 5.
    assert_eq!(
        out.status.code(),
        Some(5),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let all = summary_total(&stdout);
    let (written, dropped, failed) = sink_line(&stdout, "json_file");
    let lines = std::fs::read_to_string(&json).unwrap().lines().count() as u64;
    assert_eq!(written, lines, "{stdout}");
    assert!(failed > 0 && dropped == 0, "{stdout}");
    assert_eq!(written + failed, all, "{stdout}");
    // The store, on a disk with room, has every event.
    let (stored, _, _) = sink_line(&stdout, "store");
    assert_eq!(stored, all);
    assert_eq!(EventStore::open(&url).unwrap().count().unwrap(), all);
}
