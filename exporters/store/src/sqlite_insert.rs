//! The SQLite store's multi-row INSERT, bound without copying the values.
//!
//! rusqlite binds every text value `SQLITE_TRANSIENT`: SQLite then copies
//! it into memory of its own (a malloc and a free per value, 17 per row).
//! A row's values live in the batch until the statement has run, so here
//! they are bound `SQLITE_STATIC` (by pointer) through SQLite's C API, and
//! every binding is cleared again before [`RawInsert::execute`] returns:
//! the statement never holds a pointer into a row past that call.

use std::ffi::{c_char, c_int};
use std::ptr::NonNull;

use rusqlite::{ffi, Connection};

use crate::row::{Row, COLUMNS};

/// One prepared `INSERT OR IGNORE` of `rows` rows on one connection.
///
/// It must not outlive its connection: `Sqlite` declares its inserts
/// before its connection, so they are finalized first.
pub(crate) struct RawInsert {
    stmt: NonNull<ffi::sqlite3_stmt>,
    db: NonNull<ffi::sqlite3>,
    rows: usize,
}

// The statement is used only with its connection, which moves with it.
unsafe impl Send for RawInsert {}

fn failure(db: NonNull<ffi::sqlite3>, rc: c_int) -> rusqlite::Error {
    // SAFETY: `db` is an open connection; the message is copied at once.
    let message = unsafe {
        let m = ffi::sqlite3_errmsg(db.as_ptr());
        (!m.is_null()).then(|| std::ffi::CStr::from_ptr(m).to_string_lossy().into_owned())
    };
    rusqlite::Error::SqliteFailure(ffi::Error::new(rc), message)
}

impl RawInsert {
    /// Prepares the INSERT of `rows` rows on `conn`.
    pub(crate) fn prepare(conn: &Connection, rows: usize) -> Result<RawInsert, rusqlite::Error> {
        let sql = super::sqlite::insert_sql(rows);
        // SAFETY: the handle is the open connection's; `sql` outlives the call.
        let db = NonNull::new(unsafe { conn.handle() }).ok_or(rusqlite::Error::InvalidQuery)?;
        let mut stmt = std::ptr::null_mut();
        let rc = unsafe {
            ffi::sqlite3_prepare_v3(
                db.as_ptr(),
                sql.as_ptr().cast::<c_char>(),
                sql.len() as c_int,
                ffi::SQLITE_PREPARE_PERSISTENT as _,
                &mut stmt,
                std::ptr::null_mut(),
            )
        };
        if rc != ffi::SQLITE_OK {
            return Err(failure(db, rc));
        }
        let stmt = NonNull::new(stmt).ok_or(rusqlite::Error::InvalidQuery)?;
        Ok(RawInsert { stmt, db, rows })
    }

    /// How many rows one execution inserts.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Inserts `rows` (exactly [`RawInsert::rows`] of them); returns how
    /// many were new.
    pub(crate) fn execute(&mut self, rows: &[Row<'_>]) -> Result<usize, rusqlite::Error> {
        assert_eq!(rows.len(), self.rows, "a RawInsert takes its own row count");
        let st = self.stmt.as_ptr();
        let result = (|| {
            let mut i: c_int = 0;
            for row in rows {
                for c in 0..COLUMNS.len() {
                    i += 1;
                    // SAFETY: `st` is prepared with rows * COLUMNS.len()
                    // parameters; each text pointer stays valid until the
                    // bindings are cleared below, before `rows` can go.
                    let rc = unsafe {
                        if c == 1 {
                            ffi::sqlite3_bind_int64(st, i, row.ts_micros)
                        } else {
                            match row.text_at(if c == 0 { 0 } else { c - 1 }) {
                                None => ffi::sqlite3_bind_null(st, i),
                                Some(s) => ffi::sqlite3_bind_text(
                                    st,
                                    i,
                                    s.as_ptr().cast::<c_char>(),
                                    c_int::try_from(s.len())
                                        .map_err(|_| failure(self.db, ffi::SQLITE_TOOBIG))?,
                                    ffi::SQLITE_STATIC(),
                                ),
                            }
                        }
                    };
                    if rc != ffi::SQLITE_OK {
                        return Err(failure(self.db, rc));
                    }
                }
            }
            // SAFETY: every parameter is bound; the statement is ours.
            match unsafe { ffi::sqlite3_step(st) } {
                ffi::SQLITE_DONE => Ok(unsafe { ffi::sqlite3_changes(self.db.as_ptr()) } as usize),
                rc => Err(failure(self.db, rc)),
            }
        })();
        // SAFETY: as above. The reset's code repeats the step's error.
        unsafe {
            ffi::sqlite3_reset(st);
            ffi::sqlite3_clear_bindings(st);
        }
        result
    }
}

impl Drop for RawInsert {
    fn drop(&mut self) {
        // SAFETY: prepared by us, finalized once, before its connection closes.
        unsafe { ffi::sqlite3_finalize(self.stmt.as_ptr()) };
    }
}
