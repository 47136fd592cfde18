//! Emulated time: the time scale that compresses waits, the mapping between
//! the monotonic clock the scheduler uses and the wall clock the API shows,
//! and the protobuf JSON forms of timestamps and durations.

use std::time::{Duration, SystemTime};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::time::Instant;

/// How much faster emulated time runs than real time.
///
/// A factor of 100 turns a 10 s backoff into 100 ms of real waiting. The
/// factor divides every wait the queues impose (backoff, `scheduleTime`,
/// `Retry-After`) and multiplies the elapsed time that `maxRetryDuration` is
/// compared with, so the retry schedule keeps its shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TimeScale(f64);

impl TimeScale {
    /// A scale with `factor`; callers validate it is finite and positive.
    pub(crate) fn new(factor: f64) -> Self {
        TimeScale(factor)
    }

    /// Real time to wait for an emulated duration.
    pub(crate) fn to_real(self, emulated: Duration) -> Duration {
        Duration::try_from_secs_f64(emulated.as_secs_f64() / self.0).unwrap_or(Duration::MAX)
    }

    /// Emulated duration that a real duration stands for.
    pub(crate) fn to_emulated(self, real: Duration) -> Duration {
        Duration::try_from_secs_f64(real.as_secs_f64() * self.0).unwrap_or(Duration::MAX)
    }
}

/// Pairs the monotonic clock with the wall clock, fixed once at start, so
/// that a scheduler instant can be shown as a timestamp and back.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    origin: Instant,
    origin_wall: SystemTime,
}

impl Clock {
    /// A clock anchored at the current moment.
    pub(crate) fn start() -> Self {
        Clock {
            origin: Instant::now(),
            origin_wall: SystemTime::now(),
        }
    }

    /// Wall-clock time of a scheduler instant.
    pub(crate) fn wall(&self, at: Instant) -> SystemTime {
        match at.checked_duration_since(self.origin) {
            Some(after) => self.origin_wall + after,
            None => self.origin_wall - self.origin.duration_since(at),
        }
    }

    /// How far a wall-clock time lies ahead of `now`; zero when it has
    /// passed.
    pub(crate) fn ahead(&self, wall: SystemTime, now: Instant) -> Duration {
        wall.duration_since(self.wall(now)).unwrap_or_default()
    }
}

/// Formats a timestamp as protobuf JSON does (RFC 3339, UTC, `Z`).
pub(crate) fn format_timestamp(at: SystemTime) -> String {
    // Formatting a UTC OffsetDateTime with Rfc3339 fails only for years
    // outside 0..=9999, which a SystemTime from this process never reaches.
    OffsetDateTime::from(at)
        .format(&Rfc3339)
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00Z"))
}

/// Parses an RFC 3339 timestamp.
///
/// # Errors
///
/// Returns a message naming the value when it is not RFC 3339.
pub(crate) fn parse_timestamp(value: &str) -> Result<SystemTime, String> {
    OffsetDateTime::parse(value, &Rfc3339)
        .map(SystemTime::from)
        .map_err(|err| format!("invalid timestamp {value:?} (expected RFC 3339): {err}"))
}

/// Formats a duration as protobuf JSON does: seconds with an `s` suffix and
/// only as many fractional digits as needed.
pub(crate) fn format_duration(value: Duration) -> String {
    let secs = value.as_secs();
    let nanos = value.subsec_nanos();
    if nanos == 0 {
        return format!("{secs}s");
    }
    let fraction = format!("{nanos:09}");
    format!("{secs}.{}s", fraction.trim_end_matches('0'))
}

/// Parses a protobuf JSON duration such as `"600s"` or `"0.25s"`.
///
/// # Errors
///
/// Returns a message naming the value when it lacks the `s` suffix, is
/// negative or is not a decimal number.
pub(crate) fn parse_duration(value: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid duration {value:?} (expected seconds like \"600s\")");
    let number = value.strip_suffix('s').ok_or_else(invalid)?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let secs: u64 = whole.parse().map_err(|_| invalid())?;
    let nanos: u32 = format!("{fraction:0<9}").parse().map_err(|_| invalid())?;
    Ok(Duration::new(secs, nanos))
}

/// Seconds since the Unix epoch with microseconds, the form of the
/// `X-CloudTasks-TaskETA` header.
pub(crate) fn epoch_seconds(at: SystemTime) -> String {
    let since = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:06}", since.as_secs(), since.subsec_micros())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn durations_round_trip_through_protobuf_json() {
        for text in ["600s", "0.25s", "1.000000001s", "0s"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
    }

    #[test]
    fn malformed_durations_are_rejected() {
        for text in ["600", "-1s", "s", "1.1234567891s", "1e3s", ".5s"] {
            assert!(parse_duration(text).is_err(), "{text} accepted");
        }
    }

    #[test]
    fn timestamps_round_trip_with_offsets() {
        let at = parse_timestamp("2030-01-02T03:04:05.5+01:00").unwrap();
        assert_eq!(format_timestamp(at), "2030-01-02T02:04:05.5Z");
    }

    #[test]
    fn time_scale_divides_waits_and_multiplies_elapsed_time() {
        let scale = TimeScale::new(100.0);
        assert_eq!(
            scale.to_real(Duration::from_secs(10)),
            Duration::from_millis(100)
        );
        assert_eq!(
            scale.to_emulated(Duration::from_millis(100)),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn clock_treats_past_wall_times_as_due_now() {
        let clock = Clock::start();
        let now = Instant::now();
        assert_eq!(clock.ahead(SystemTime::UNIX_EPOCH, now), Duration::ZERO);
        let later = clock.wall(now) + Duration::from_secs(5);
        assert_eq!(clock.ahead(later, now), Duration::from_secs(5));
    }
}
