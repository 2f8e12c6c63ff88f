//! Small shared internals that several parts of fcc use and none owns.
//! Nothing here is public API; nothing here imports from the rest of fcc.

pub(crate) mod doorbell;
pub(crate) mod fence;
