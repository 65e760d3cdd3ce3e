//! Bounded concurrency for scans: a scan reads every resource of a region, one describe (or
//! a few) each, and waiting on them one at a time would make the sweep as slow as the sum of
//! its round trips. At most [`SCAN_CONCURRENCY`] calls are in flight, so an account's API rate
//! limits are approached gently; throttling that still happens is retried with backoff by the
//! SDK, with more attempts than an event's (see `aws::scan_retries`).

use std::future::Future;

use futures_util::stream::{self, StreamExt};

/// How many resources a scan reads at once.
pub const SCAN_CONCURRENCY: usize = 8;

/// Runs `work` on every item, at most [`SCAN_CONCURRENCY`] at a time, and returns the results
/// in the items' order (so reports are stable from run to run).
pub async fn each<T, R, F, Fut>(items: Vec<T>, work: F) -> Vec<R>
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = R>,
{
    stream::iter(items)
        .map(work)
        .buffered(SCAN_CONCURRENCY)
        .collect()
        .await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn keeps_order_and_never_exceeds_the_bound() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let out = each((0..40u64).collect(), |i| {
            let (running, peak) = (&running, &peak);
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                // Later items finish first, so order is kept only if `each` keeps it.
                tokio::time::sleep(Duration::from_millis(40 - i)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                i * 2
            }
        })
        .await;
        assert_eq!(out, (0..40u64).map(|i| i * 2).collect::<Vec<_>>());
        let peak = peak.load(Ordering::SeqCst);
        assert!(peak > 1, "ran concurrently: {peak}");
        assert!(peak <= SCAN_CONCURRENCY, "bounded: {peak}");
    }
}
