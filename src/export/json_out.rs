//! Where the JSON file exporters write: NDJSON (one object per line) for
//! any path but `*.json`, and one JSON document, an array of the objects,
//! for a `*.json` path, as the seed's `JsonFileSpanExporter("traces/run-42.json")`
//! names it. The array is valid after every export: each write replaces the
//! closing `]` with the new items and a new `]`, so a reader (or a crash
//! between exports) always finds a whole document.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

/// An open JSON output file.
pub(crate) struct JsonOut {
    path: PathBuf,
    file: File,
    /// For a `.json` array: where its closing `]` starts, and whether it
    /// holds items yet. `None`: NDJSON.
    array: Option<(u64, bool)>,
}

impl JsonOut {
    /// Opens `path` (making its folder): appends to NDJSON, or continues a
    /// `.json` array (a new or empty file starts one). A `.json` file that
    /// is not an array is an error naming it, never overwritten.
    pub(crate) fn open(path: &Path) -> io::Result<JsonOut> {
        crate::sinks::json_file::create_parent_dir(path)?;
        let is_array = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if !is_array {
            let file = OpenOptions::new().create(true).append(true).open(path)?;
            return Ok(JsonOut {
                path: path.to_path_buf(),
                file,
                array: None,
            });
        }
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        let trimmed = text.trim_end();
        let array = if trimmed.is_empty() {
            file.set_len(0)?;
            file.write_all(b"[\n]\n")?;
            (2, false)
        } else if trimmed.starts_with('[') && trimmed.ends_with(']') {
            let close = trimmed.len() as u64 - 1;
            let has_items = !trimmed[1..trimmed.len() - 1].trim().is_empty();
            (close, has_items)
        } else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} is not a JSON array, so it cannot be continued: remove it, or name an .ndjson file",
                    path.display()
                ),
            ));
        };
        Ok(JsonOut {
            path: path.to_path_buf(),
            file,
            array: Some(array),
        })
    }

    /// The file written to.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `items`, the file whole again when this returns.
    pub(crate) fn write(&mut self, items: &[Json]) -> io::Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity(items.len() * 256);
        match &mut self.array {
            None => {
                for item in items {
                    serde_json::to_writer(&mut buf, item)?;
                    buf.push(b'\n');
                }
                self.file.write_all(&buf)
            }
            Some((close, has_items)) => {
                for item in items {
                    if *has_items {
                        buf.extend_from_slice(b",\n");
                    }
                    serde_json::to_writer(&mut buf, item)?;
                    *has_items = true;
                }
                buf.extend_from_slice(b"\n");
                let new_close = *close + buf.len() as u64;
                buf.extend_from_slice(b"]\n");
                self.file.seek(SeekFrom::Start(*close))?;
                self.file.write_all(&buf)?;
                self.file.set_len(new_close + 2)?;
                *close = new_close;
                Ok(())
            }
        }
    }

    /// Pushes what was written to the disk.
    pub(crate) fn sync(&mut self) -> io::Result<()> {
        self.file.flush()?;
        self.file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_json_path_is_one_valid_array_after_every_write_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        let read =
            || serde_json::from_str::<Vec<Json>>(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut out = JsonOut::open(&path).unwrap();
        assert!(read().is_empty());
        out.write(&[json!({"a": 1}), json!({"a": 2})]).unwrap();
        assert_eq!(read().len(), 2);
        out.write(&[json!({"a": 3})]).unwrap();
        assert_eq!(
            read(),
            vec![json!({"a": 1}), json!({"a": 2}), json!({"a": 3})]
        );
        drop(out);
        let mut again = JsonOut::open(&path).unwrap();
        again.write(&[json!({"a": 4})]).unwrap();
        assert_eq!(read().len(), 4);
        std::fs::write(dir.path().join("lines.json"), "{\"a\":1}\n").unwrap();
        let e = JsonOut::open(&dir.path().join("lines.json")).err().unwrap();
        assert!(e.to_string().contains("not a JSON array"), "{e}");
    }

    #[test]
    fn other_paths_are_ndjson() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.ndjson");
        let mut out = JsonOut::open(&path).unwrap();
        out.write(&[json!({"a": 1}), json!({"a": 2})]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"a\":2}\n"
        );
    }
}
