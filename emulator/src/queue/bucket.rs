//! The token bucket behind `maxDispatchesPerSecond` and `maxBurstSize`,
//! with the slow-down that 429 and 503 answers cause.

use std::time::Duration;

use tokio::time::Instant;

/// Lowest share of the configured rate that repeated 429/503 answers can
/// push a queue down to.
const MIN_THROTTLE: f64 = 1.0 / 64.0;

/// Share of the lost rate a successful attempt wins back.
const RECOVERY: f64 = 1.1;

/// Tokens refill continuously at the (possibly throttled) rate up to the
/// burst size; each dispatch takes one.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    refilled_at: Instant,
    throttle: f64,
}

impl TokenBucket {
    /// A full bucket, as a new or idle queue starts with.
    pub(crate) fn new(rate: f64, burst: u32, now: Instant) -> Self {
        let capacity = f64::from(burst.max(1));
        TokenBucket {
            rate,
            capacity,
            tokens: capacity,
            refilled_at: now,
            throttle: 1.0,
        }
    }

    /// Takes a token if one is there; otherwise says how long until one is.
    pub(crate) fn take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        let missing = 1.0 - self.tokens;
        let wait = missing / self.effective_rate();
        Err(Duration::try_from_secs_f64(wait).unwrap_or(Duration::from_secs(3600)))
    }

    /// Halves the rate after the target answered 429 or 503.
    pub(crate) fn slow_down(&mut self, now: Instant) {
        self.refill(now);
        self.throttle = (self.throttle / 2.0).max(MIN_THROTTLE);
    }

    /// Wins back some rate after a successful attempt.
    pub(crate) fn recover(&mut self, now: Instant) {
        if self.throttle < 1.0 {
            self.refill(now);
            self.throttle = (self.throttle * RECOVERY).min(1.0);
        }
    }

    /// The rate now in force, dispatches per second.
    pub(crate) fn effective_rate(&self) -> f64 {
        self.rate * self.throttle
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.effective_rate()).min(self.capacity);
        self.refilled_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_allows_a_burst_then_paces_at_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10.0, 3, start);
        for _ in 0..3 {
            assert!(bucket.take(start).is_ok());
        }
        let wait = bucket.take(start).expect_err("bucket should be empty");
        assert_eq!(wait, Duration::from_millis(100));
        assert!(bucket.take(start + Duration::from_millis(100)).is_ok());
    }

    #[test]
    fn throttling_halves_the_rate_and_success_restores_it() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(100.0, 1, start);
        bucket.slow_down(start);
        assert_eq!(bucket.effective_rate(), 50.0);
        for _ in 0..20 {
            bucket.recover(start);
        }
        assert_eq!(bucket.effective_rate(), 100.0);
    }
}
