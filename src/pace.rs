//! Fixes at a pace the account's API rate allows.
//!
//! A sweep may find a thousand unsafe resources at once. Fixing them one after another spends
//! the function's time waiting on round trips; firing them all at once spends the account's
//! allowance of mutating calls, which it shares with everything else running there. EC2, for
//! one, throttles each account per API with a token bucket, and its published default for
//! mutating actions is small (a bucket of 50 tokens, refilled at 5 a second, in the EC2
//! developer guide's "Request throttling for the Amazon EC2 API"); a call past it fails with
//! `RequestLimitExceeded`.
//!
//! So fixes run in a window of concurrent calls that adapts the way TCP's congestion window
//! does: it starts at [`START`], widens by one for every window's worth of calls that get
//! through (up to [`MOST`]), and halves when a call comes back throttled after the SDK's own
//! retries. That call is made again after an exponential backoff with full jitter (at most
//! [`RETRIES`] times). Where the API answers quickly (moto, an idle account) the window stays
//! wide; where the bucket is empty the calls settle near its refill rate instead of burning
//! retries. Even so, thousands of fixes at 5 a second take minutes, so the caller may give a
//! deadline past which no new fix starts: the rest is reported as not done, and the next
//! sweep finds it again.

use std::collections::hash_map::RandomState;
use std::collections::VecDeque;
use std::future::Future;
use std::hash::BuildHasher;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::time::Instant;

/// Concurrent fixes at the start: enough to hide round trips, a fraction of EC2's burst.
pub const START: usize = 8;
/// The widest the window gets: well inside EC2's mutating bucket (50), so one sweep never
/// empties it on its own.
pub const MOST: usize = 16;
/// How often one fix is tried again after coming back throttled.
pub const RETRIES: u32 = 5;
/// The first backoff after a throttle, doubled each time up to [`LONGEST_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const LONGEST_BACKOFF: Duration = Duration::from_secs(20);

/// Runs `work` on every item, at most a window of them at a time (see the module's comment),
/// and returns each item's last result in the items' order. An item whose result is
/// `throttled` is run again later, as long as it has retries left and `deadline` has not
/// passed. `None`: the item was never started, because `deadline` passed first.
pub async fn each<'a, T, R, F, Fut>(
    items: &'a [T],
    deadline: Option<Instant>,
    mut work: F,
    throttled: impl Fn(&R) -> bool,
) -> Vec<Option<R>>
where
    F: FnMut(&'a T) -> Fut,
    Fut: Future<Output = R> + 'a,
{
    let mut results: Vec<Option<R>> = items.iter().map(|_| None).collect();
    let mut window = START as f64;
    let mut fresh = 0..items.len();
    let mut again: VecDeque<(usize, u32)> = VecDeque::new();
    let mut running = FuturesUnordered::new();
    let jitter = RandomState::new();
    loop {
        let open = deadline.is_none_or(|d| Instant::now() < d);
        while open && running.len() < window as usize {
            let Some((index, attempt)) = again.pop_front().or_else(|| fresh.next().map(|i| (i, 0)))
            else {
                break;
            };
            let wait = backoff(attempt, jitter.hash_one((index, attempt)));
            let call = work(&items[index]);
            running.push(async move {
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                (index, attempt, call.await)
            });
        }
        let Some((index, attempt, result)) = running.next().await else {
            break;
        };
        if throttled(&result) {
            window = (window / 2.0).max(1.0);
            if attempt < RETRIES {
                again.push_back((index, attempt + 1));
            }
        } else {
            window = (window + 1.0 / window).min(MOST as f64);
        }
        results[index] = Some(result);
    }
    results
}

/// How long to wait before attempt `attempt` (0: at once): a random share (`random`) of an
/// exponentially growing ceiling, so that calls throttled together do not return together.
fn backoff(attempt: u32, random: u64) -> Duration {
    if attempt == 0 {
        return Duration::ZERO;
    }
    let ceiling = FIRST_BACKOFF
        .saturating_mul(1 << (attempt - 1).min(16))
        .min(LONGEST_BACKOFF);
    ceiling.mul_f64((random % 1000) as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// A fake API that throttles any call made while `limit` others are in flight, and
    /// counts what it saw.
    struct Api {
        limit: usize,
        running: Cell<usize>,
        peak: Cell<usize>,
        throttles: Cell<usize>,
    }

    impl Api {
        fn new(limit: usize) -> Api {
            Api {
                limit,
                running: Cell::new(0),
                peak: Cell::new(0),
                throttles: Cell::new(0),
            }
        }

        async fn call(&self, item: u32) -> Result<u32, &'static str> {
            if self.running.get() >= self.limit {
                self.throttles.set(self.throttles.get() + 1);
                return Err("throttled");
            }
            self.running.set(self.running.get() + 1);
            self.peak.set(self.peak.get().max(self.running.get()));
            tokio::time::sleep(Duration::from_millis(10)).await;
            self.running.set(self.running.get() - 1);
            Ok(item * 2)
        }
    }

    fn is_throttled(result: &Result<u32, &'static str>) -> bool {
        result.is_err()
    }

    #[tokio::test(start_paused = true)]
    async fn every_item_runs_once_in_order_within_the_window() {
        let api = Api::new(usize::MAX);
        let items: Vec<u32> = (0..200).collect();
        let results = each(&items, None, |&i| api.call(i), is_throttled).await;
        let expected: Vec<_> = items.iter().map(|i| Some(Ok(i * 2))).collect();
        assert_eq!(results, expected);
        assert!(
            api.peak.get() > START,
            "the window widened: {}",
            api.peak.get()
        );
        assert!(
            api.peak.get() <= MOST,
            "never past MOST: {}",
            api.peak.get()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttling_api_narrows_the_window_and_every_item_still_gets_through() {
        let api = Api::new(3);
        let items: Vec<u32> = (0..200).collect();
        let results = each(&items, None, |&i| api.call(i), is_throttled).await;
        let expected: Vec<_> = items.iter().map(|i| Some(Ok(i * 2))).collect();
        assert_eq!(results, expected, "throttled calls were made again");
        // Firing all 200 at once would be throttled 197 times; a window that halves on each
        // throttle and grows by one per window of successes is throttled a few times per
        // probe past the limit.
        let throttles = api.throttles.get();
        assert!((1..60).contains(&throttles), "throttled {throttles} times");
    }

    #[tokio::test(start_paused = true)]
    async fn an_item_throttled_every_time_ends_with_its_last_error() {
        let api = Api::new(0);
        let items = [7u32];
        let results = each(&items, None, |&i| api.call(i), is_throttled).await;
        assert_eq!(results, vec![Some(Err("throttled"))]);
        assert_eq!(api.throttles.get(), 1 + RETRIES as usize);
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_starts_after_the_deadline() {
        let api = Api::new(usize::MAX);
        let items: Vec<u32> = (0..100).collect();
        // Each call takes 10 ms and 8 to 16 run at once: 25 ms lets the first few windows start.
        let deadline = Instant::now() + Duration::from_millis(25);
        let results = each(&items, Some(deadline), |&i| api.call(i), is_throttled).await;
        let done = results.iter().filter(|r| r.is_some()).count();
        assert!(done >= START && done < items.len(), "{done} done");
        assert!(
            results
                .iter()
                .skip_while(|r| r.is_some())
                .all(|r| r.is_none()),
            "the ones not done are the last ones"
        );
    }

    #[test]
    fn backoff_grows_to_its_ceiling_and_stays_under_it() {
        assert_eq!(backoff(0, 999), Duration::ZERO);
        assert_eq!(backoff(1, 999), FIRST_BACKOFF.mul_f64(0.999));
        assert_eq!(backoff(3, 999), (FIRST_BACKOFF * 4).mul_f64(0.999));
        assert_eq!(backoff(30, 999), LONGEST_BACKOFF.mul_f64(0.999));
        assert_eq!(backoff(30, 0), Duration::ZERO);
    }
}
