//! A bounded number of password hashes at a time (issue 15, "Overload").
//!
//! argon2id needs its whole memory cost (19 MiB by default) for each hash,
//! and each hash occupies a CPU for tens of milliseconds: run without a
//! bound, a burst of sign-ins grows the process by 19 MiB per concurrent
//! attempt and slows every one of them. At most `password_hash_concurrency`
//! hashes run at once (one per core by default); the others queue, each
//! for at most `password_hash_queue_ms`, and are then refused with
//! [`Busy`] so the caller answers at once ("busy, retry") instead of
//! waiting behind a growing queue.
//!
//! The wait is measured with tokio's clock, so tests pause and advance it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// No hashing slot came free before the queue's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many password checks at once; retry in a moment")]
pub struct Busy;

/// Seconds a caller refused with [`Busy`] is told to wait.
pub const BUSY_RETRY_AFTER: u32 = 1;

/// The hashing slots of one node.
#[derive(Debug)]
pub struct PasswordSlots {
    permits: Arc<Semaphore>,
    size: usize,
    wait: Duration,
}

impl PasswordSlots {
    /// `size` hashes at once (at least one); a caller waits at most `wait` for a slot.
    #[must_use]
    pub fn new(size: usize, wait: Duration) -> Self {
        let size = size.max(1);
        Self { permits: Arc::new(Semaphore::new(size)), size, wait }
    }

    /// How many hashes run at once.
    #[must_use]
    pub fn size(&self) -> usize {
        self.size
    }

    /// Waits for a slot, at most the queue's deadline.
    ///
    /// # Errors
    /// [`Busy`] when none came free in time.
    pub async fn acquire(&self) -> Result<OwnedSemaphorePermit, Busy> {
        match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Busy),
        }
    }

    /// Runs `work` (a hash) on a blocking thread once a slot is free. The
    /// slot is held by the thread, not by the caller: a caller that goes
    /// away (a closed connection) does not free it before the hash ends.
    ///
    /// # Errors
    /// [`Busy`] when no slot came free before the deadline, or the thread died.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, Busy>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit = self.acquire().await?;
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|_| Busy)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_caller_queues_until_the_deadline_then_is_refused() {
        let slots = PasswordSlots::new(1, Duration::from_secs(2));
        let held = slots.acquire().await.unwrap();
        let started = tokio::time::Instant::now();
        assert_eq!(slots.acquire().await.err(), Some(Busy));
        assert_eq!(started.elapsed(), Duration::from_secs(2), "refused at the deadline, not before");
        drop(held);
        assert!(slots.acquire().await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_freed_before_the_deadline_is_taken() {
        let slots = Arc::new(PasswordSlots::new(1, Duration::from_secs(2)));
        let held = slots.acquire().await.unwrap();
        let waiter = tokio::spawn({
            let slots = slots.clone();
            async move { slots.run(|| 42).await }
        });
        tokio::task::yield_now().await;
        tokio::time::advance(Duration::from_millis(1_500)).await;
        drop(held);
        assert_eq!(waiter.await.unwrap(), Ok(42), "served within the deadline");
    }

    #[tokio::test(start_paused = true)]
    async fn at_most_size_hashes_run_at_once() {
        let slots = PasswordSlots::new(2, Duration::from_secs(2));
        let (a, b) = (slots.acquire().await.unwrap(), slots.acquire().await.unwrap());
        assert_eq!(slots.acquire().await.err(), Some(Busy));
        drop((a, b));
        assert_eq!(slots.size(), 2);
        assert_eq!(PasswordSlots::new(0, Duration::ZERO).size(), 1, "never zero slots");
    }
}
