//! Rows in PostgreSQL's binary `COPY` format, written straight into one
//! reused buffer: the Postgres backend's fast path for a batch.
//!
//! The format (PostgreSQL docs, "COPY", binary format): a signature, two
//! 32-bit words (flags, header extension length), then per row a 16-bit
//! field count and per field a 32-bit length (-1: NULL) and the value in
//! its type's binary form: `text` is its UTF-8 bytes, `bigint` 8 bytes big
//! endian, `jsonb` a version byte (1) and the JSON text. A 16-bit -1 ends
//! the data.
//!
//! Also why a COPY did not go in ([`CopyFailure`]).

use std::borrow::Cow;

use crate::postgres::{err, err_ref};
use crate::row::{Row, COLUMNS};
use crate::StoreError;

/// The signature and header of binary COPY data.
pub(crate) const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The end of binary COPY data.
pub(crate) const TRAILER: &[u8] = &(-1i16).to_be_bytes();

/// Postgres text cannot hold NUL: it becomes U+FFFD (also as a JSON escape).
/// The same rule as the INSERT path's, on every text column.
pub(crate) fn pg_str(s: &str) -> Cow<'_, str> {
    if s.as_bytes().contains(&0) || s.contains("\\u0000") {
        Cow::Owned(s.replace('\0', "\u{FFFD}").replace("\\u0000", "\\ufffd"))
    } else {
        Cow::Borrowed(s)
    }
}

fn text(out: &mut Vec<u8>, v: Option<&str>, jsonb: bool) {
    match v {
        None => out.extend_from_slice(&(-1i32).to_be_bytes()),
        Some(s) => {
            let s = pg_str(s);
            let len = s.len() + usize::from(jsonb);
            // A field is at most 1 GiB in Postgres; a payload is capped at
            // MAX_PAYLOAD_BYTES and the other fields are short.
            out.extend_from_slice(&(len as i32).to_be_bytes());
            if jsonb {
                out.push(1);
            }
            out.extend_from_slice(s.as_bytes());
        }
    }
}

/// Appends one row (the columns of [`COLUMNS`], in order).
pub(crate) fn row(out: &mut Vec<u8>, r: &Row<'_>) {
    out.extend_from_slice(&(COLUMNS.len() as i16).to_be_bytes());
    text(out, Some(r.id()), false);
    out.extend_from_slice(&8i32.to_be_bytes());
    out.extend_from_slice(&r.ts_micros.to_be_bytes());
    for (i, name) in COLUMNS.iter().enumerate().skip(2) {
        // `text_at` counts the text columns only: `ts_micros` is not one.
        text(out, r.text_at(i - 1), *name == "payload");
    }
}

/// Why a COPY did not go in.
pub(crate) enum CopyFailure {
    /// A row is already stored (or twice in the batch): SQLSTATE 23505.
    Duplicate,
    /// Refused before copy mode: the connection is out of step.
    Refused(postgres::Error),
    /// Any other failure, as the store reports it (transient or not).
    Failed(StoreError),
}

impl From<postgres::Error> for CopyFailure {
    fn from(e: postgres::Error) -> CopyFailure {
        match e.as_db_error() {
            Some(db) if db.code().code() == "23505" => CopyFailure::Duplicate,
            _ => CopyFailure::Failed(err("copy", e)),
        }
    }
}

impl CopyFailure {
    /// The COPY writer's I/O error: the client's error inside, else the
    /// connection failed (transient).
    pub(crate) fn from_io(e: std::io::Error) -> CopyFailure {
        match e
            .get_ref()
            .and_then(|i| i.downcast_ref::<postgres::Error>())
        {
            Some(pe) if pe.as_db_error().map(|db| db.code().code()) == Some("23505") => {
                CopyFailure::Duplicate
            }
            Some(pe) => CopyFailure::Failed(err_ref("copy", pe)),
            None => CopyFailure::Failed(StoreError::Database {
                what: "copy".into(),
                message: e.to_string(),
                transient: true,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fcc::{Event, EventType};

    #[test]
    fn a_row_is_the_field_count_then_length_prefixed_fields() {
        let e = Event::builder(EventType::ActionFailed, "src")
            .detail("a\0b")
            .build();
        let r = crate::row::to_row(&e);
        let mut out = Vec::new();
        row(&mut out, &r);
        let mut at = 0;
        let mut take = |n: usize| {
            let s = &out[at..at + n];
            at += n;
            s.to_vec()
        };
        assert_eq!(take(2), 19i16.to_be_bytes());
        let mut fields = Vec::new();
        for _ in 0..19 {
            let len = i32::from_be_bytes(take(4).try_into().unwrap());
            fields.push((len >= 0).then(|| take(len as usize)));
        }
        assert_eq!(fields[0].as_deref(), Some(r.id().as_bytes()));
        assert_eq!(
            fields[1].as_deref(),
            Some(&e.timestamp().unix_micros().to_be_bytes()[..])
        );
        assert_eq!(fields[3].as_deref(), Some(&b"action.failed"[..]));
        assert_eq!(fields[6], None, "resource is NULL");
        assert_eq!(fields[14].as_deref(), Some("a\u{FFFD}b".as_bytes()));
        assert_eq!(fields[15].as_deref(), Some(&b"\x01{}"[..]), "jsonb v1");
        assert_eq!(fields[18].as_deref(), Some(&b"action_failed"[..]));
        assert_eq!(at, out.len());
    }
}
