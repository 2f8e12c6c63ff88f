//! Small shared internals that several parts of fcc use and none owns.
//! Nothing here is public API; nothing here imports from the rest of fcc.
//!
//! **Imports:** nothing else of fcc; every other part may import it
//! (the import table in ARCHITECTURE.md, checked by `tests/it/import_direction.rs`).

pub(crate) mod after_shutdown;
pub(crate) mod diagnostics;
pub(crate) mod doorbell;
pub(crate) mod fence;
pub(crate) mod ids;
pub(crate) mod round_trip;
pub(crate) mod spsc;
pub(crate) mod text;
pub(crate) mod thread;
