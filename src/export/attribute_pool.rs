//! Allocations of exported spans go back to where spans are made instead of
//! being freed on the export lanes (a free on another thread than the one
//! that allocated takes the allocator's arena lock, which a span-making
//! thread is using, and a fresh batch vector faults its pages in again).
//!
//! Both pools move whole batches, one channel operation per batch: a lane
//! gives back a batch's attribute lists as one chunk and the batch vector
//! itself; the export thread fills the lists with the attributes of the
//! spans it takes from the threads' rings ([`crate::trace::handover`]) and fills
//! the vector again. (The span-making threads keep their own lists.)

use std::sync::OnceLock;

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::trace::{KeyValue, SpanData};

type Pool<T> = (Sender<T>, Receiver<T>);

fn lists() -> &'static Pool<Vec<Vec<KeyValue>>> {
    static POOL: OnceLock<Pool<Vec<Vec<KeyValue>>>> = OnceLock::new();
    POOL.get_or_init(|| bounded(16))
}

fn batches() -> &'static Pool<Vec<SpanData>> {
    static POOL: OnceLock<Pool<Vec<SpanData>>> = OnceLock::new();
    POOL.get_or_init(|| bounded(8))
}

/// The export thread's supply of empty attribute lists.
#[derive(Default)]
pub(crate) struct Lists(Vec<Vec<KeyValue>>);

impl Lists {
    /// A recycled list, or an empty one (no allocation) when there is none.
    #[inline]
    pub(crate) fn take(&mut self) -> Vec<KeyValue> {
        if let Some(v) = self.0.pop() {
            return v;
        }
        match lists().1.try_recv() {
            Ok(chunk) => {
                self.0 = chunk;
                self.0.pop().unwrap_or_default()
            }
            Err(_) => Vec::new(),
        }
    }
}

/// An empty batch vector with room for `capacity` spans.
pub(crate) fn batch_vec(capacity: usize) -> Vec<SpanData> {
    batches()
        .1
        .try_recv()
        .unwrap_or_else(|_| Vec::with_capacity(capacity))
}

/// Gives a batch's attribute lists and the batch vector back.
pub(crate) fn give_back(mut spans: Vec<SpanData>) {
    let chunk: Vec<Vec<KeyValue>> = spans
        .iter_mut()
        .map(|s| std::mem::take(&mut s.attributes))
        .filter(|v| (1..=64).contains(&v.capacity()))
        .map(|mut v| {
            v.clear();
            v
        })
        .collect();
    if !chunk.is_empty() {
        let _ = lists().0.try_send(chunk);
    }
    spans.clear();
    if spans.capacity() > 0 {
        let _ = batches().0.try_send(spans);
    }
}
