//! The import graph of `src/` goes one way: each top-level module imports
//! only the modules ARCHITECTURE.md's table lets it, and that table has no
//! cycle. A new `use crate::...` that points up fails here, naming the file.
//!
//! The table is read from ARCHITECTURE.md itself, so the map a newcomer reads
//! and the rule CI checks cannot drift apart; every module in `src/` must be
//! in it, and every module in it must exist.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `module -> modules it may import`, from the rows of the table under
/// "## Import directions" (`| `module` | what it holds | `a`, `b` |`).
fn allowed() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let section = text
        .split("## Import directions")
        .nth(1)
        .expect("ARCHITECTURE.md has an `## Import directions` section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut table = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let module = cells[1].trim_matches('`').to_string();
        let may: BTreeSet<String> = cells[3]
            .split(',')
            .map(|m| m.trim().trim_matches('`').to_string())
            .filter(|m| !m.is_empty() && m != "nothing")
            .collect();
        table.insert(module, may);
    }
    assert!(
        table.len() > 5,
        "the import table has too few rows: {table:?}"
    );
    table
}

/// The source without comments (doc links are not imports), string
/// literals, and `#[cfg(test)]` items (a unit test may use the set-up).
fn code_of(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let b = source.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if source[i..].starts_with("//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if source[i..].starts_with("/*") {
            i = source[i + 2..]
                .find("*/")
                .map_or(b.len(), |e| i + 2 + e + 2);
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if source[i..].starts_with("#[cfg(test)]") {
            // Skip the attribute and the item after it, to its closing brace
            // (or semicolon, for `#[cfg(test)] use ...;`).
            i += "#[cfg(test)]".len();
            let mut depth = 0;
            while i < b.len() {
                match b[i] {
                    b'{' => depth += 1,
                    b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    b';' if depth == 0 => {
                        i += 1;
                        break;
                    }
                    _ => {}
                }
                i += 1;
            }
        } else {
            let c = source[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The top-level modules a piece of code names through `crate::`: paths
/// (`crate::bus::EventBus`), groups (`use crate::{bus::X, Event}`) and items
/// the crate root re-exports (`crate::Event` is `event`'s). `$crate` in a
/// macro is where the macro is used, not an import.
fn imports(code: &str, root_items: &BTreeMap<String, String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut name = |n: &str| {
        if let Some(m) = root_items.get(n) {
            found.insert(m.clone());
        } else if n.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
            found.insert(n.to_string());
        }
    };
    for (at, _) in code.match_indices("crate::") {
        if code[..at].ends_with('$')
            || code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
        {
            continue;
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for part in group.split(',') {
                let first = part.trim().split("::").next().unwrap_or("").trim();
                if !first.is_empty() {
                    name(first);
                }
            }
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            name(&rest[..end]);
        }
    }
    found
}

/// What `src/lib.rs` re-exports at the root, and from which module
/// (`pub use event::{Event, ...}` makes `crate::Event` an `event` import).
fn root_items(lib: &str) -> BTreeMap<String, String> {
    let mut items = BTreeMap::new();
    for stmt in lib.split(';') {
        let Some(at) = stmt.find("pub use ") else {
            continue;
        };
        let path = stmt[at + "pub use ".len()..].trim();
        let Some((module, rest)) = path.split_once("::") else {
            continue;
        };
        let rest = rest.trim_start_matches('{').trim_end_matches('}');
        for item in rest.split(',') {
            let item = item.trim();
            let item = item.rsplit(" as ").next().unwrap_or(item);
            let item = item.rsplit("::").next().unwrap_or(item);
            if !item.is_empty() {
                items.insert(item.to_string(), module.trim().to_string());
            }
        }
    }
    // Items defined in lib.rs itself are the root's, not a module's.
    items.retain(|_, m| m != "fcc_macros" && m != "opentelemetry");
    items
}

/// The top-level module a file of `src/` belongs to.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let mut parts = rel.components();
    let first = parts.next()?.as_os_str().to_str()?.to_string();
    if rel.components().count() == 1 {
        let stem = first.trim_end_matches(".rs");
        return (stem != "lib").then(|| stem.to_string());
    }
    Some(first)
}

#[test]
fn every_import_points_down_the_architecture_table() {
    let table = allowed();
    let src = root().join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let root_items = root_items(&code_of(&lib));
    let files = crate::support::rust_files("src");

    let mut modules = BTreeSet::new();
    let mut wrong = Vec::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        modules.insert(module.clone());
        let Some(may) = table.get(&module) else {
            wrong.push(format!("{module}: not in ARCHITECTURE.md's import table"));
            continue;
        };
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        for target in imports(&code, &root_items) {
            if target != module && target != "self" && !may.contains(&target) {
                let rel = file.strip_prefix(root()).unwrap().display().to_string();
                wrong.push(format!(
                    "{rel}: `{module}` imports `{target}`, which it may not"
                ));
            }
        }
    }
    let listed: BTreeSet<String> = table.keys().cloned().collect();
    for gone in listed.difference(&modules) {
        wrong.push(format!(
            "ARCHITECTURE.md lists `{gone}`, which src/ does not have"
        ));
    }
    assert!(
        wrong.is_empty(),
        "imports against the table in ARCHITECTURE.md (fix the import, or change \
         the design and the table together):\n  {}",
        wrong.join("\n  ")
    );
}

#[test]
fn the_architecture_table_has_no_cycle() {
    let table = allowed();
    for (module, may) in &table {
        for target in may {
            assert!(
                table.contains_key(target),
                "`{module}` may import `{target}`, which the table does not list"
            );
        }
    }
    // Kahn's algorithm: peel off modules whose allowed imports are all peeled.
    let mut left = table.clone();
    while !left.is_empty() {
        let leaves: Vec<String> = left
            .iter()
            .filter(|(_, may)| may.iter().all(|m| !left.contains_key(m)))
            .map(|(m, _)| m.clone())
            .collect();
        assert!(
            !leaves.is_empty(),
            "the import table has a cycle among {:?}",
            left.keys()
        );
        for leaf in leaves {
            left.remove(&leaf);
        }
    }
}

#[test]
fn the_checker_sees_an_upward_import() {
    // The parts of the check on a made-up file: an upward path, a group, a
    // root re-export, and the things that are not imports.
    let root_items = BTreeMap::from([("Telemetry".to_string(), "telemetry".to_string())]);
    let code = code_of(
        "use crate::{bus::EventBus, Telemetry};\n\
         /// [`x`](crate::otlp::Y)\n\
         fn f() { crate::trace::current(); let s = \"crate::sinks\"; }\n\
         macro_rules! m { () => { $crate::layer::emit() } }\n\
         #[cfg(test)]\nmod tests { use crate::metrics::X; }\n",
    );
    let found = imports(&code, &root_items);
    let want: BTreeSet<String> = ["bus", "telemetry", "trace"].map(String::from).into();
    assert_eq!(found, want);
}
