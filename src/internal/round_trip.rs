//! The flush-and-acknowledge round trip every worker thread of fcc answers
//! (a sink's worker, the span export thread, the OTLP metrics thread): send
//! the worker a message carrying a reply channel, wake it, wait for the
//! reply, all before one deadline.

use crossbeam_channel::{bounded, RecvTimeoutError, SendTimeoutError, Sender};
use std::time::Instant;

/// Why a round trip got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoAnswer {
    /// The worker's queue stayed full until the deadline.
    QueueFull,
    /// The message was queued but the worker did not answer in time.
    NotAnswered,
    /// The worker is gone (it stopped, or its thread ended).
    Gone,
}

/// Sends `make(reply)` on `tx` and waits for the reply, all before
/// `deadline`; `wake` rouses a worker that sleeps (called before and after
/// the send, so a worker dozing on a full queue drains it).
pub(crate) fn round_trip<M, T>(
    tx: &Sender<M>,
    make: impl FnOnce(Sender<T>) -> M,
    deadline: Instant,
    wake: impl Fn(),
) -> Result<T, NoAnswer> {
    let (reply, answer) = bounded(1);
    wake();
    let left = || deadline.saturating_duration_since(Instant::now());
    match tx.send_timeout(make(reply), left()) {
        Ok(()) => wake(),
        Err(SendTimeoutError::Timeout(_)) => return Err(NoAnswer::QueueFull),
        Err(SendTimeoutError::Disconnected(_)) => return Err(NoAnswer::Gone),
    }
    answer.recv_timeout(left()).map_err(|e| match e {
        RecvTimeoutError::Timeout => NoAnswer::NotAnswered,
        RecvTimeoutError::Disconnected => NoAnswer::Gone,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_answer_a_silence_and_a_gone_worker() {
        let (tx, rx) = bounded::<Sender<u32>>(1);
        let (given_up_tx, given_up) = bounded::<()>(1);
        let worker = std::thread::spawn(move || {
            let reply = rx.recv().unwrap();
            reply.send(7).unwrap();
            // Holds the second request's reply, unanswered, until the caller
            // has given up on it (a sleep here made the test depend on how
            // fast the caller ran: on a loaded machine it saw Gone).
            let _silent = rx.recv().unwrap();
            given_up.recv().unwrap();
        });
        let soon = || Instant::now() + Duration::from_secs(5);
        assert_eq!(round_trip(&tx, |r| r, soon(), || {}), Ok(7));
        let short = Instant::now() + Duration::from_millis(10);
        assert_eq!(
            round_trip(&tx, |r| r, short, || {}),
            Err(NoAnswer::NotAnswered)
        );
        given_up_tx.send(()).unwrap();
        worker.join().unwrap();
        assert_eq!(round_trip(&tx, |r| r, soon(), || {}), Err(NoAnswer::Gone));
    }
}
