//! A local span's record written into its ring when the span starts, and
//! published when it ends: fastrace's shape, where a span is written once,
//! where it stays, and its end only fills in the clock reading.
//!
//! A ring is published in order (one index says how far the export thread
//! may read), and spans end innermost first: a child ends while its parent,
//! written before it, is still open. So a record is published with every
//! record before it, and a still-open record in front of an ended one is
//! *moved* out of the way first: its span goes on in its frame of the
//! stack, as an [`Open`] record that travels when the span ends (as every
//! span did before), and its slot is left as a `Moved` record the export
//! thread skips. A parent pays that once, when its first child ends; every
//! span after it is published as it ends. So the records not yet published
//! are always spans still open, and a flush sees every ended span.
//!
//! An open record takes attributes in the ring while it is the newest one
//! there (its attributes are then the last ones written): what a span
//! records as it starts, `#[traced]`'s arguments. Anything else (an
//! attribute after a child started, an event, an error, the list lent to
//! the caller) moves it to its frame first. (So the unpublished part may
//! also hold `Moved` records for a while: they are no spans, and go with
//! the next publish.)

use std::borrow::Cow;
use std::sync::Arc;

use super::context::Frame;
use super::handover::{LocalRing, RecordState};
use super::local::Open;
use super::tracer::TracerInner;
use super::KeyValue;

/// A local span whose record is in its ring, not yet published (in its
/// frame of the stack, in place of an [`Open`]).
pub(crate) struct InRing {
    /// The pipeline whose ring holds it ([`LocalRing::id`]).
    pub(crate) ring: u64,
    /// Its record's index in that ring.
    pub(crate) slot: usize,
    /// As [`Open::tracer`].
    pub(crate) tracer: *const TracerInner,
    /// As [`Open::owner`].
    pub(crate) owner: Option<Arc<TracerInner>>,
}

/// This thread's ring to the pipeline `id`, whether or not it has shut
/// down (it is kept while it holds an open span's record).
#[inline(always)]
pub(crate) fn ring_by_id(rings: &mut [LocalRing], id: u64) -> Option<&mut LocalRing> {
    match rings.first() {
        Some(r) if r.id() == id => rings.first_mut(),
        _ => rings.iter_mut().find(|r| r.id() == id),
    }
}

/// Publishes what `ring` holds up to its first record of a span still
/// open, moving any open record that stands in front of an ended one to its
/// frame first (see the module docs); then rings the export thread's
/// doorbell.
#[inline(always)]
pub(crate) fn settle(frames: &mut [Frame], lists: &mut Vec<Vec<KeyValue>>, ring: &mut LocalRing) {
    let tail = ring.done.tail();
    if ring.open == 0 {
        // The usual case: nothing open in the ring; publish it all (the
        // attributes first: a record the export thread sees has them all).
        ring.published_moved(ring.moved);
        ring.attributes.commit_to(ring.attributes.tail());
        ring.done.commit_to(tail);
        ring.committed = tail;
        ring.attributes_committed = ring.attributes.tail();
    } else {
        settle_around_open(frames, lists, ring);
    }
    ring.pushed();
}

#[cold]
#[inline(never)]
fn settle_around_open(frames: &mut [Frame], lists: &mut Vec<Vec<KeyValue>>, ring: &mut LocalRing) {
    let tail = ring.done.tail();
    let state = |ring: &mut LocalRing, i: usize| {
        // SAFETY: `i` is in [committed, tail): written, not published.
        unsafe { ring.done.written(i).state }
    };
    // The last ended record: everything open before it moves.
    let Some(last) = (ring.committed..tail)
        .rev()
        .find(|&i| state(ring, i) != RecordState::Open)
    else {
        return;
    };
    for i in ring.committed..last {
        if state(ring, i) == RecordState::Open {
            move_to_frame(frames, lists, ring, i);
        }
    }
    let mut upto = last + 1;
    while upto < tail && state(ring, upto) != RecordState::Open {
        upto += 1;
    }
    publish_to(ring, upto);
}

/// Publishes the records before `upto`, with their attributes (first: a
/// record the export thread sees has them all).
fn publish_to(ring: &mut LocalRing, upto: usize) {
    let mut attributes = ring.attributes_committed;
    let mut moved = 0;
    for i in ring.committed..upto {
        // SAFETY: written, not published yet.
        let record = unsafe { ring.done.written(i) };
        attributes += record.attributes as usize;
        moved += u32::from(record.state == RecordState::Moved);
    }
    ring.published_moved(moved);
    ring.attributes.commit_to(attributes);
    ring.done.commit_to(upto);
    ring.committed = upto;
    ring.attributes_committed = attributes;
}

/// Moves the open record at index `slot` of `ring` to its span's frame:
/// the frame gets an [`Open`] with the record's fields and copies of its
/// attributes, and the slot becomes a `Moved` record (see the module docs).
#[cold]
#[inline(never)]
pub(crate) fn move_to_frame(
    frames: &mut [Frame],
    lists: &mut Vec<Vec<KeyValue>>,
    ring: &mut LocalRing,
    slot: usize,
) {
    let id = ring.id();
    // Where its attributes start: after those of the records before it.
    let mut first = ring.attributes_committed;
    for i in ring.committed..slot {
        // SAFETY: written, not published yet.
        first += unsafe { ring.done.written(i).attributes } as usize;
    }
    // SAFETY: an open record is never published.
    let record = unsafe { ring.done.written(slot) };
    debug_assert_eq!(record.state, RecordState::Open);
    record.state = RecordState::Moved;
    ring.open -= 1;
    ring.moved += 1;
    let frame = frames.iter_mut().rev().find(|f| {
        f.in_ring
            .as_ref()
            .is_some_and(|r| r.ring == id && r.slot == slot)
    });
    // Every open record has its frame (a frame leaves the stack only by
    // its span's end, which ends the record first).
    let Some(frame) = frame else {
        return;
    };
    let Some(in_ring) = frame.in_ring.take() else {
        return;
    };
    let mut list = lists.pop().unwrap_or_default();
    for i in first..first + record.attributes as usize {
        // SAFETY: the record's attributes, written, not published (the
        // copies go; the originals stay, to be dropped unread).
        list.push(unsafe { ring.attributes.written(i) }.clone());
    }
    frame.open = Some(Open {
        name: std::mem::replace(&mut record.name, Cow::Borrowed("")),
        parent: record.parent,
        parent_is_remote: record.parent_is_remote,
        code: record.code,
        start: record.times.map_or_else(super::span::clock::now, |t| t.0),
        attributes: list,
        tracer: in_ring.tracer,
        owner: in_ring.owner,
        rich: None,
    });
}

/// The ring and record of the span in `frame` when its record is in its
/// ring and can take `n` more attributes there: it is the newest record
/// (its attributes are the last ones written) and there is room.
#[inline(always)]
fn takes_attributes<'a>(
    frame: &Frame,
    rings: &'a mut [LocalRing],
    n: usize,
) -> Option<&'a mut LocalRing> {
    let in_ring = frame.in_ring.as_ref()?;
    let ring = ring_by_id(rings, in_ring.ring)?;
    (in_ring.slot + 1 == ring.done.tail() && ring.attributes.has_room(n)).then_some(ring)
}

/// Adds `kv` to the span in `frame`: in its ring when its record can take
/// it there, else in its [`Open`] (moving it to the frame first). False
/// when the frame holds no recording local span.
#[inline(always)]
pub(crate) fn add_attribute(
    frame: &mut Frame,
    lists: &mut Vec<Vec<KeyValue>>,
    rings: &mut [LocalRing],
    kv: KeyValue,
) -> bool {
    if let Some(ring) = takes_attributes(frame, rings, 1) {
        let slot = frame.in_ring.as_ref().map_or(0, |r| r.slot);
        // SAFETY: an open record is never published; room was checked.
        unsafe {
            ring.done.written(slot).attributes += 1;
            ring.attributes.write(kv);
        }
        return true;
    }
    match open_in_frame(frame, lists, rings) {
        Some(open) => {
            open.attributes.push(kv);
            true
        }
        None => false,
    }
}

/// Adds the values of `list` to the span in `frame` (as
/// [`add_attribute`]), leaving it empty.
#[inline(always)]
pub(crate) fn add_list(
    frame: &mut Frame,
    lists: &mut Vec<Vec<KeyValue>>,
    rings: &mut [LocalRing],
    list: &mut Vec<KeyValue>,
) {
    let n = list.len();
    if let Some(ring) = takes_attributes(frame, rings, n) {
        let slot = frame.in_ring.as_ref().map_or(0, |r| r.slot);
        // SAFETY: an open record is never published; room for all `n` was
        // checked.
        unsafe { ring.done.written(slot).attributes += n as u32 };
        super::handover::move_attributes(list, &mut ring.attributes);
        return;
    }
    if let Some(open) = open_in_frame(frame, lists, rings) {
        open.attributes.append(list);
    }
}

/// The span in `frame` as an [`Open`], moved out of its ring first if its
/// record is there; `None` when the frame holds no recording local span.
pub(crate) fn open_in_frame<'a>(
    frame: &'a mut Frame,
    lists: &mut Vec<Vec<KeyValue>>,
    rings: &mut [LocalRing],
) -> Option<&'a mut Open> {
    if let Some(in_ring) = &frame.in_ring {
        let slot = in_ring.slot;
        match ring_by_id(rings, in_ring.ring) {
            Some(ring) => move_to_frame(std::slice::from_mut(frame), lists, ring, slot),
            // Its ring is gone (cannot happen: a ring is kept while it
            // holds an open record): nothing to move.
            None => frame.in_ring = None,
        }
    }
    frame.open.as_mut()
}
