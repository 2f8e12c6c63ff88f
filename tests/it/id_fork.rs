//! A forked child makes ids of its own, not its parent's (issue 18, item 8).
//!
//! fcc's trace, span and event ids come from a per-thread generator; a
//! forked child starts with a copy of its parent's. Without a reseed at fork
//! the child would hand out the very ids its parent hands out next.
//!
//! Alone in this file: forking a test harness is delicate (the child is a
//! copy of one thread of a multi-threaded process), so the child only makes
//! ids into memory allocated before the fork, writes them to a pipe with
//! `write(2)` and leaves with `_exit(2)`, running no destructor or harness
//! code. The spans are unsampled: ids are made, no span data is allocated.

#![cfg(unix)]

use std::collections::HashSet;

use fcc::trace::Sampler;
use fcc::{Event, EventType, FccTracer};

/// Ids of each kind per process.
const N: usize = 48;
/// One record: trace id (16 bytes), span id (8), event id (16).
const RECORD: usize = 40;

type Ids = Vec<(u128, u64, u128)>;

/// `n` root spans' trace and span ids and `n` event ids, into `out`
/// (allocated by the caller, so the fork child allocates only what making
/// an event does).
fn make_ids(tracer: &FccTracer, event_type: &EventType, out: &mut [u8]) {
    for record in out.chunks_exact_mut(RECORD) {
        let span = tracer.start_with_parent("fork", None);
        let ctx = span.context().expect("a tracer's span has a context");
        let event = Event::builder(event_type.clone(), "fork").build();
        record[..16].copy_from_slice(&ctx.trace_id.get().to_be_bytes());
        record[16..24].copy_from_slice(&ctx.span_id.get().to_be_bytes());
        record[24..].copy_from_slice(&event.event_id().as_u128().to_be_bytes());
    }
}

fn parse(bytes: &[u8]) -> Ids {
    bytes
        .chunks_exact(RECORD)
        .map(|r| {
            (
                u128::from_be_bytes(r[..16].try_into().unwrap()),
                u64::from_be_bytes(r[16..24].try_into().unwrap()),
                u128::from_be_bytes(r[24..].try_into().unwrap()),
            )
        })
        .collect()
}

/// Forks a child that makes `N` ids of each kind and sends them back.
fn ids_from_a_child(tracer: &FccTracer, event_type: &EventType) -> Ids {
    let mut fds = [0; 2];
    // SAFETY: `pipe` writes two descriptors into the array we own.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let [read_fd, write_fd] = fds;
    let mut buf = vec![0u8; N * RECORD];
    // SAFETY: the child runs only `make_ids`, `write` and `_exit` (see the
    // file's docs); the parent goes on as usual.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        make_ids(tracer, event_type, &mut buf);
        let mut sent = 0;
        while sent < buf.len() {
            // SAFETY: writes from the live buffer, within its length.
            let n = unsafe { libc::write(write_fd, buf[sent..].as_ptr().cast(), buf.len() - sent) };
            if n <= 0 {
                // SAFETY: leaves the child at once, running nothing else.
                unsafe { libc::_exit(1) };
            }
            sent += n as usize;
        }
        // SAFETY: as above.
        unsafe { libc::_exit(0) };
    }
    // SAFETY: closes the parent's copy of the write end, which it owns.
    unsafe { libc::close(write_fd) };
    let mut got = Vec::with_capacity(N * RECORD);
    let mut chunk = [0u8; 4096];
    loop {
        // SAFETY: reads into a buffer we own, within its length.
        let n = unsafe { libc::read(read_fd, chunk.as_mut_ptr().cast(), chunk.len()) };
        assert!(n >= 0, "read from the child failed");
        if n == 0 {
            break;
        }
        got.extend_from_slice(&chunk[..n as usize]);
    }
    let mut status = 0;
    // SAFETY: waits for the child we forked; closes the read end we own.
    unsafe {
        assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        libc::close(read_fd);
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed: {status}"
    );
    assert_eq!(got.len(), N * RECORD, "the child sent all its ids");
    parse(&got)
}

fn assert_valid(ids: &Ids) {
    for &(trace, span, event) in ids {
        assert_ne!(trace, 0);
        assert_ne!(span, 0);
        let event = uuid::Uuid::from_u128(event);
        assert_eq!(event.get_version_num(), 7);
    }
}

/// How many ids of each kind two lists have in common.
fn common(a: &Ids, b: &Ids) -> (usize, usize, usize) {
    let count = |f: &dyn Fn(&(u128, u64, u128)) -> u128| {
        let a: HashSet<u128> = a.iter().map(f).collect();
        b.iter().filter(|x| a.contains(&f(x))).count()
    };
    (
        count(&|x| x.0),
        count(&|x| u128::from(x.1)),
        // The event id's 80 bits after the time (its counter and random
        // bits): a copied generator repeats them whatever the clock says.
        count(&|x| x.2 & ((1 << 80) - 1)),
    )
}

#[test]
fn a_forked_child_makes_other_ids_than_its_parent() {
    let tracer = FccTracer::builder("id-fork")
        .sampler(Sampler::AlwaysOff)
        .completed_capacity(0)
        .build()
        .unwrap();
    let event_type = EventType::custom("test.fork").unwrap();

    // Ids before the fork: this thread's generator is seeded and in use, so
    // the children start from a copy of a live state.
    let mut buf = vec![0u8; N * RECORD];
    make_ids(&tracer, &event_type, &mut buf);
    let before = parse(&buf);

    // Two children forked from the same state (the parent makes no id in
    // between): each must draw its own key, not derive one from the copy.
    let child_a = ids_from_a_child(&tracer, &event_type);
    let child_b = ids_from_a_child(&tracer, &event_type);

    // The parent goes on from where both children started.
    make_ids(&tracer, &event_type, &mut buf);
    let after = parse(&buf);

    for ids in [&before, &child_a, &child_b, &after] {
        assert_valid(ids);
    }
    for (name, a, b) in [
        ("parent after the fork / child", &after, &child_a),
        ("parent after the fork / second child", &after, &child_b),
        ("child / second child", &child_a, &child_b),
        ("parent before the fork / child", &before, &child_a),
        ("parent before / after the fork", &before, &after),
    ] {
        assert_eq!(
            common(a, b),
            (0, 0, 0),
            "{name}: (trace, span, event) ids in common"
        );
    }
    // Within each process too, every id is new.
    for ids in [&child_a, &child_b, &after] {
        let traces: HashSet<u128> = ids.iter().map(|x| x.0).collect();
        let spans: HashSet<u64> = ids.iter().map(|x| x.1).collect();
        let events: HashSet<u128> = ids.iter().map(|x| x.2).collect();
        assert_eq!((traces.len(), spans.len(), events.len()), (N, N, N));
    }
}
