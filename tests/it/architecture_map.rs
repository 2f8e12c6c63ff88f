//! ARCHITECTURE.md is the map a newcomer reads first: every source file of
//! `src/` is on it, every path on it exists, so it matches the tree exactly.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `` `path` `` on the map that names a file or folder of the repository.
fn paths_on_map(map: &str) -> BTreeSet<String> {
    map.split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            let first = s.split('/').next().unwrap_or("");
            s.contains('/')
                && !s.contains(' ')
                && [
                    "src",
                    "macros",
                    "exporters",
                    "cli",
                    "examples",
                    "tests",
                    "benches",
                    "deploy",
                ]
                .contains(&first)
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn every_source_file_is_on_the_map_and_every_path_on_it_exists() {
    let map = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let on_map = paths_on_map(&map);
    let files: BTreeSet<String> = crate::support::rust_files("src")
        .iter()
        .map(|f| {
            f.strip_prefix(root())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();

    let missing: Vec<&String> = files.iter().filter(|f| !on_map.contains(*f)).collect();
    let gone: Vec<&String> = on_map
        .iter()
        .filter(|p| !root().join(p.trim_end_matches('/')).exists())
        .collect();
    assert!(
        missing.is_empty() && gone.is_empty(),
        "ARCHITECTURE.md does not match the tree:\n  not on the map: {missing:?}\n  on the map, not in the tree: {gone:?}"
    );
}

#[test]
fn the_map_reader_finds_paths_and_ignores_prose() {
    let found =
        paths_on_map("| `src/bus/mod.rs` | `EventBus` | `tests/it/` and `a b/c` `OTEL_X` |");
    let want: BTreeSet<String> = ["src/bus/mod.rs", "tests/it/"].map(String::from).into();
    assert_eq!(found, want);
}
