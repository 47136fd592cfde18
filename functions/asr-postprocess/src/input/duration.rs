//! Protobuf `Duration` values as they appear in JSON.
//!
//! The canonical proto3 JSON form is a string of seconds with an `s` suffix
//! (`"1.500s"`, `"3s"`). Clients that convert messages to dictionaries
//! sometimes produce `{"seconds": 1, "nanos": 500000000}` or a bare number of
//! seconds instead, so all three are read.

use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_json::Value;

/// A non-negative offset into the audio, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Offset(pub(super) u64);

impl<'de> Deserialize<'de> for Offset {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        parse(&value).map(Offset).ok_or_else(|| {
            de::Error::custom(format!(
                "invalid protobuf Duration {value}: expected a string like \"1.500s\""
            ))
        })
    }
}

fn parse(value: &Value) -> Option<u64> {
    match value {
        Value::String(s) => parse_text(s),
        Value::Number(n) => n.as_f64().filter(|f| *f >= 0.0).map(super::secs_to_ms),
        Value::Object(map) => {
            let seconds = map.get("seconds").map_or(Some(0), as_u64)?;
            let nanos = map.get("nanos").map_or(Some(0), as_u64)?;
            Some(seconds * 1000 + (nanos + 500_000) / 1_000_000)
        }
        _ => None,
    }
}

fn as_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        // int64 fields are strings in proto3 JSON.
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// `"12.345s"` -> 12345. Fractions beyond milliseconds are rounded.
fn parse_text(text: &str) -> Option<u64> {
    let number = text.strip_suffix('s')?;
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds: u64 = whole.parse().ok()?;
    let mut nanos_text = frac.to_owned();
    while nanos_text.len() < 9 {
        nanos_text.push('0');
    }
    let nanos: u64 = nanos_text.parse().ok()?;
    Some(seconds * 1000 + (nanos + 500_000) / 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_strings_parse_to_milliseconds() {
        assert_eq!(parse(&json!("1.500s")), Some(1500));
        assert_eq!(parse(&json!("3s")), Some(3000));
        assert_eq!(parse(&json!("0.000000001s")), Some(0));
        assert_eq!(parse(&json!("12.3456s")), Some(12346));
    }

    #[test]
    fn object_and_number_forms_parse() {
        assert_eq!(
            parse(&json!({"seconds": "2", "nanos": 250_000_000})),
            Some(2250)
        );
        assert_eq!(parse(&json!({"nanos": 100_000_000})), Some(100));
        assert_eq!(parse(&json!(0.75)), Some(750));
    }

    #[test]
    fn malformed_durations_are_rejected() {
        for bad in [
            json!("1.5"),
            json!("-1s"),
            json!("s"),
            json!("1.2.3s"),
            json!(true),
        ] {
            assert_eq!(parse(&bad), None, "{bad}");
        }
    }
}
