//! A bounded single-producer single-consumer ring: what carries finished
//! spans from the thread that ends them to the export thread
//! (`trace::handover`).
//!
//! Leaner than a general ring (it replaced `rtrb` there, whose push took
//! 35 instructions): the slots are a power of two, the indices only grow
//! (a slot is `index & mask`), and the producer keeps the limit it last
//! saw (`head + capacity`), so a push with room is a compare, a store of
//! the value and a release store of the tail: no read of the consumer's
//! side until the ring looks full. The producer may write several values
//! and publish them with one store ([`Producer::commit`]).
//!
//! The capacity may be smaller than the slots (the pipeline's queue size
//! is not always a power of two): the producer never holds more than it.

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// Keeps the producer's and the consumer's index on lines of their own.
#[repr(align(128))]
struct Padded(AtomicUsize);

struct Shared<T> {
    /// The next index the consumer reads.
    head: Padded,
    /// The next index the producer writes (published).
    tail: Padded,
    producer_gone: AtomicBool,
    mask: usize,
    capacity: usize,
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

// SAFETY: a slot is written by the producer only before it publishes it
// (release store of `tail`) and read by the consumer only after seeing it
// published (acquire load), then given back (release store of `head`),
// which the producer acquires before writing there again: each value is
// owned by one side at a time, so `T: Send` is all that is needed.
unsafe impl<T: Send> Send for Shared<T> {}
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // Both sides are gone: the values published and not read are
        // dropped here.
        let (head, tail) = (*self.head.0.get_mut(), *self.tail.0.get_mut());
        for i in head..tail {
            // SAFETY: indices in [head, tail) hold published values that
            // no one has read; each is dropped once.
            unsafe { (*self.slots[i & self.mask].get()).assume_init_drop() };
        }
    }
}

/// A ring holding at most `capacity` values (at least 1).
pub(crate) fn ring<T>(capacity: usize) -> (Producer<T>, Consumer<T>) {
    let capacity = capacity.max(1);
    let size = capacity.next_power_of_two();
    let shared = Arc::new(Shared {
        head: Padded(AtomicUsize::new(0)),
        tail: Padded(AtomicUsize::new(0)),
        producer_gone: AtomicBool::new(false),
        mask: size - 1,
        capacity,
        slots: (0..size)
            .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
            .collect(),
    });
    (
        Producer {
            shared: Arc::clone(&shared),
            tail: 0,
            limit: capacity,
        },
        Consumer { shared, head: 0 },
    )
}

/// The writing side.
pub(crate) struct Producer<T> {
    shared: Arc<Shared<T>>,
    /// The next index to write (written ones may not be published yet).
    tail: usize,
    /// How far the producer may write: the consumer's head, as last read,
    /// plus the capacity.
    limit: usize,
}

impl<T> Producer<T> {
    /// Whether `n` more values fit (reads the consumer's side only when
    /// the limit last seen says no).
    #[inline(always)]
    pub(crate) fn has_room(&mut self, n: usize) -> bool {
        if self.tail + n <= self.limit {
            return true;
        }
        self.limit = self.shared.head.0.load(Ordering::Acquire) + self.shared.capacity;
        self.tail + n <= self.limit
    }

    /// Writes `value` into the next slot, unpublished.
    ///
    /// # Safety
    /// [`has_room`](Self::has_room) must have said yes for this value
    /// (and every value written since without a check).
    #[inline(always)]
    pub(crate) unsafe fn write(&mut self, value: T) {
        // SAFETY: the caller's promise, passed on.
        unsafe {
            self.next_slot().write(value);
            self.advance();
        }
    }

    /// The next slot, for the caller to write a value into where it
    /// stays (a value built first and then written is built on the stack
    /// and copied); [`advance`](Self::advance) takes it in.
    ///
    /// # Safety
    /// As for [`write`](Self::write); the slot must be written before
    /// `advance`.
    #[inline(always)]
    pub(crate) unsafe fn next_slot(&mut self) -> *mut T {
        let shared = &*self.shared;
        // SAFETY: masked, the index is within the slots (a power of two).
        let slot = unsafe { shared.slots.get_unchecked(self.tail & shared.mask) };
        // The slot is past the published tail and within the limit (the
        // caller's check): the consumer is not reading it and it holds no
        // value.
        slot.get().cast::<T>()
    }

    /// Takes in the value written into [`next_slot`](Self::next_slot),
    /// unpublished.
    ///
    /// # Safety
    /// That slot was written.
    #[inline(always)]
    pub(crate) unsafe fn advance(&mut self) {
        self.tail += 1;
    }

    /// The index the next value goes to (values before it are written,
    /// published or not).
    #[inline(always)]
    pub(crate) fn tail(&self) -> usize {
        self.tail
    }

    /// The value written at `index`, not yet published: the producer may
    /// still change it.
    ///
    /// # Safety
    /// `index` is a written index not yet published (at or past the last
    /// [`commit_to`](Self::commit_to), before [`tail`](Self::tail)).
    #[inline(always)]
    pub(crate) unsafe fn written(&mut self, index: usize) -> &mut T {
        let shared = &*self.shared;
        // SAFETY: the caller's promise: the slot holds a value the consumer
        // cannot see yet; masked, the index is within the slots.
        unsafe { (*shared.slots.get_unchecked(index & shared.mask).get()).assume_init_mut() }
    }

    /// Publishes the values written before `index` (at most up to
    /// [`tail`](Self::tail)); those at and after it stay the producer's.
    #[inline(always)]
    pub(crate) fn commit_to(&mut self, index: usize) {
        debug_assert!(index <= self.tail);
        self.shared.tail.0.store(index, Ordering::Release);
    }

    /// Publishes every value written so far.
    #[inline(always)]
    pub(crate) fn commit(&mut self) {
        self.shared.tail.0.store(self.tail, Ordering::Release);
    }

    /// Writes and publishes `value`, or gives it back when full.
    #[cfg(test)]
    pub(crate) fn push(&mut self, value: T) -> Result<(), T> {
        if !self.has_room(1) {
            return Err(value);
        }
        // SAFETY: checked just above.
        unsafe { self.write(value) };
        self.commit();
        Ok(())
    }

    /// How many values the ring holds (published or not), as of now.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.tail - self.shared.head.0.load(Ordering::Acquire)
    }
}

impl<T> Drop for Producer<T> {
    fn drop(&mut self) {
        self.commit();
        self.shared.producer_gone.store(true, Ordering::Release);
    }
}

/// The reading side.
pub(crate) struct Consumer<T> {
    shared: Arc<Shared<T>>,
    head: usize,
}

impl<T> Consumer<T> {
    /// How many published values wait.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.shared.tail.0.load(Ordering::Acquire) - self.head
    }

    /// Whether no published value waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The oldest published value, if any.
    #[inline(always)]
    pub(crate) fn pop(&mut self) -> Option<T> {
        if self.head == self.shared.tail.0.load(Ordering::Acquire) {
            return None;
        }
        let slot = &self.shared.slots[self.head & self.shared.mask];
        // SAFETY: the slot was published (acquire load above) and not yet
        // read; reading moves the value out, and the slot goes back to the
        // producer with the store below.
        let value = unsafe { (*slot.get()).assume_init_read() };
        self.head += 1;
        self.shared.head.0.store(self.head, Ordering::Release);
        Some(value)
    }

    /// Whether the producer has been dropped (its thread exited); what it
    /// published before is still here to read.
    pub(crate) fn is_abandoned(&self) -> bool {
        self.shared.producer_gone.load(Ordering::Acquire)
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        // The values not read are dropped with the ring; `Shared::drop`
        // reads the head from here.
        self.shared.head.0.store(self.head, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_its_capacity_and_no_more_and_keeps_order() {
        let (mut tx, mut rx) = ring::<u32>(5);
        for i in 0..5 {
            assert!(tx.push(i).is_ok());
        }
        assert_eq!(tx.push(99), Err(99), "a sixth value is refused");
        assert_eq!(tx.len(), 5);
        assert_eq!(rx.pop(), Some(0));
        assert!(tx.push(5).is_ok(), "room again once one is read");
        let rest: Vec<u32> = std::iter::from_fn(|| rx.pop()).collect();
        assert_eq!(rest, vec![1, 2, 3, 4, 5]);
        assert!(rx.is_empty());
    }

    #[test]
    fn written_values_wait_for_commit() {
        let (mut tx, mut rx) = ring::<u32>(4);
        assert!(tx.has_room(2));
        // SAFETY: room for two was checked.
        unsafe {
            tx.write(1);
            tx.write(2);
        }
        assert_eq!(rx.pop(), None, "not published yet");
        tx.commit();
        assert_eq!((rx.pop(), rx.pop(), rx.pop()), (Some(1), Some(2), None));
    }

    #[test]
    fn values_left_in_the_ring_are_dropped_once() {
        let counted = Arc::new(());
        {
            let (mut tx, mut rx) = ring::<Arc<()>>(8);
            for _ in 0..6 {
                tx.push(Arc::clone(&counted)).unwrap();
            }
            drop(rx.pop());
            drop(tx);
            assert!(rx.is_abandoned());
            assert_eq!(Arc::strong_count(&counted), 6);
        }
        assert_eq!(Arc::strong_count(&counted), 1, "the five left were dropped");
    }

    #[test]
    fn two_threads_pass_every_value_in_order() {
        let (mut tx, mut rx) = ring::<u64>(7);
        const N: u64 = 200_000;
        let producer = std::thread::spawn(move || {
            let mut i = 0;
            while i < N {
                if tx.push(i).is_ok() {
                    i += 1;
                } else {
                    std::hint::spin_loop();
                }
            }
        });
        let mut next = 0;
        while next < N {
            match rx.pop() {
                Some(v) => {
                    assert_eq!(v, next);
                    next += 1;
                }
                None => std::hint::spin_loop(),
            }
        }
        producer.join().unwrap();
        assert!(rx.is_abandoned() && rx.is_empty());
    }
}
