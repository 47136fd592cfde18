//! Cloud Tasks' retry rules as pure functions: when a failed task is given
//! up, how long it waits before the next attempt, and how a `Retry-After`
//! header is read.

use std::time::{Duration, SystemTime};

use tasklane::spec::RetryPolicy;

/// What happens to a task after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum AfterFailure {
    /// Attempt again after this much emulated time.
    Retry(Duration),
    /// Delete the task: both retry limits are used up.
    GiveUp,
}

/// Decides the fate of a task whose attempt number `attempts` (1-based,
/// the first attempt included) just failed, `elapsed` emulated time after
/// its first attempt was dispatched.
///
/// Cloud Tasks stops only when both `maxAttempts` and `maxRetryDuration`
/// are satisfied; an unlimited limit (-1 attempts, 0 s) counts as satisfied
/// unless both are unlimited, in which case the task retries forever.
/// A `Retry-After` from a 429 or 503 can only lengthen the wait.
pub(crate) fn after_failure(
    policy: &RetryPolicy,
    attempts: u32,
    elapsed: Duration,
    retry_after: Option<Duration>,
) -> AfterFailure {
    if retries_exhausted(policy, attempts, elapsed) {
        return AfterFailure::GiveUp;
    }
    let backoff = policy.backoff(attempts);
    AfterFailure::Retry(retry_after.map_or(backoff, |hint| hint.max(backoff)))
}

fn retries_exhausted(policy: &RetryPolicy, attempts: u32, elapsed: Duration) -> bool {
    let unlimited_attempts = policy.max_attempts < 0;
    let unlimited_age = policy.max_retry_duration_seconds == 0;
    if unlimited_attempts && unlimited_age {
        return false;
    }
    let attempts_done = unlimited_attempts || i64::from(attempts) >= i64::from(policy.max_attempts);
    let age_done =
        unlimited_age || elapsed >= Duration::from_secs(policy.max_retry_duration_seconds);
    attempts_done && age_done
}

/// Reads a `Retry-After` value: delay seconds or an HTTP date.
///
/// Returns `None` for values that are neither; a date in the past means no
/// extra wait.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or_default())
}

/// The token bucket size Cloud Tasks would pick for a dispatch rate.
///
/// Google derives `maxBurstSize` from `maxDispatchesPerSecond` without
/// publishing the formula; a fifth of a second's dispatches reproduces the
/// 100 its 500/s default queue reports, and the result stays within the
/// documented 1..=500.
pub(crate) fn max_burst_size(max_dispatches_per_second: f64) -> u32 {
    let fifth = (max_dispatches_per_second / 5.0).ceil();
    // The clamp keeps the value within u32 before the cast.
    fifth.clamp(1.0, 500.0) as u32
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn policy(max_attempts: i32, max_retry_duration_seconds: u64) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            min_backoff_seconds: 10.0,
            max_backoff_seconds: 300.0,
            max_doublings: 3,
            max_retry_duration_seconds,
        }
    }

    #[test]
    fn backoff_doubles_then_grows_linearly_up_to_the_cap() {
        let expected = [10, 20, 40, 80, 160, 240, 300, 300];
        let retry = policy(-1, 0);
        for (attempt, secs) in (1..).zip(expected) {
            let got = after_failure(&retry, attempt, Duration::ZERO, None);
            assert_eq!(got, AfterFailure::Retry(Duration::from_secs(secs)));
        }
    }

    #[test]
    fn max_attempts_counts_the_first_attempt() {
        let retry = policy(3, 0);
        assert!(matches!(
            after_failure(&retry, 2, Duration::ZERO, None),
            AfterFailure::Retry(_)
        ));
        assert_eq!(
            after_failure(&retry, 3, Duration::ZERO, None),
            AfterFailure::GiveUp
        );
    }

    #[test]
    fn retry_duration_keeps_retrying_past_max_attempts() {
        let retry = policy(2, 60);
        let young = after_failure(&retry, 5, Duration::from_secs(59), None);
        assert!(matches!(young, AfterFailure::Retry(_)));
        let old = after_failure(&retry, 5, Duration::from_secs(60), None);
        assert_eq!(old, AfterFailure::GiveUp);
    }

    #[test]
    fn unlimited_attempts_stop_at_the_retry_duration() {
        let retry = policy(-1, 60);
        assert!(matches!(
            after_failure(&retry, 1000, Duration::from_secs(10), None),
            AfterFailure::Retry(_)
        ));
        assert_eq!(
            after_failure(&retry, 2, Duration::from_secs(61), None),
            AfterFailure::GiveUp
        );
    }

    #[test]
    fn both_limits_unlimited_retries_forever() {
        let retry = policy(-1, 0);
        let far = after_failure(&retry, 100_000, Duration::from_secs(86_400 * 30), None);
        assert!(matches!(far, AfterFailure::Retry(_)));
    }

    #[test]
    fn retry_after_only_lengthens_the_backoff() {
        let retry = policy(-1, 0);
        let longer = after_failure(&retry, 1, Duration::ZERO, Some(Duration::from_secs(45)));
        assert_eq!(longer, AfterFailure::Retry(Duration::from_secs(45)));
        let shorter = after_failure(&retry, 1, Duration::ZERO, Some(Duration::from_secs(1)));
        assert_eq!(shorter, AfterFailure::Retry(Duration::from_secs(10)));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            parse_retry_after(" 30 ", now),
            Some(Duration::from_secs(30))
        );
        let date = parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now);
        assert_eq!(date, Some(Duration::from_secs(30)));
        let past = parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now);
        assert_eq!(past, Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn burst_size_follows_the_rate_within_documented_bounds() {
        assert_eq!(max_burst_size(500.0), 100);
        assert_eq!(max_burst_size(20.0), 4);
        assert_eq!(max_burst_size(0.5), 1);
        assert_eq!(max_burst_size(1e9), 500);
    }
}
