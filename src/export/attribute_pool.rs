//! Attribute lists go back to the threads that make spans instead of being
//! freed on the export lanes: a free on another thread than the one that allocated takes
//! the allocator's arena lock, which the span-making thread is using.

use std::sync::OnceLock;

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::trace::KeyValue;

type Pool = (Sender<Vec<KeyValue>>, Receiver<Vec<KeyValue>>);

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| bounded(4096))
}

/// An empty list, recycled when one is available.
#[inline]
pub(crate) fn take() -> Vec<KeyValue> {
    pool()
        .1
        .try_recv()
        .unwrap_or_else(|_| Vec::with_capacity(4))
}

pub(crate) fn give_back(mut v: Vec<KeyValue>) {
    if v.capacity() == 0 || v.capacity() > 64 {
        return;
    }
    v.clear();
    let _ = pool().0.try_send(v);
}
