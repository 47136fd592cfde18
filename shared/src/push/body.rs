//! The request body: its headers checked before a byte is read, read under
//! a size limit and a deadline, then parsed into the operation's input.

use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::response::Rejection;

/// Refuse a body by its headers: not JSON, or more than one content type
/// (415); declaring more bytes than `limit` (413).
pub(crate) fn check_headers(headers: &HeaderMap, limit: usize) -> Result<(), Rejection> {
    let mut content_types = headers.get_all(CONTENT_TYPE).iter();
    let content_type = content_types.next().and_then(|v| v.to_str().ok());
    if !content_type.is_some_and(is_json) || content_types.next().is_some() {
        return Err(Rejection::UnsupportedMediaType);
    }
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => Err(Rejection::PayloadTooLarge),
        _ => Ok(()),
    }
}

/// `application/json`, with no charset or `charset=utf-8`.
fn is_json(content_type: &str) -> bool {
    let mut parts = content_type.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        && parts.all(|param| match param.split_once('=') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
                value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
            }
            Some(_) => true,
            None => param.trim().is_empty(),
        })
}

/// Read the whole body, refusing it once it passes `limit` bytes (a body
/// without `Content-Length` is held to the same limit while it streams).
pub(crate) async fn read(
    body: Incoming,
    limit: usize,
    deadline: Duration,
) -> Result<Bytes, Rejection> {
    let collected = tokio::time::timeout(deadline, Limited::new(body, limit).collect()).await;
    match collected {
        Err(_) => Err(Rejection::BodyTimeout),
        Ok(Err(err)) if err.is::<LengthLimitError>() => Err(Rejection::PayloadTooLarge),
        Ok(Err(_)) => Err(Rejection::IncompleteBody),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

/// A body that is valid JSON, as the input or as a payload that does not
/// fit the input (which is dead-lettered, not refused).
pub(crate) enum Parsed<I> {
    Input(I),
    Mismatch {
        payload: Value,
        error: serde_json::Error,
    },
}

/// Parse `body` in one pass; only a mismatch parses it again, as a value
/// for the dead letter.
pub(crate) fn parse<I: DeserializeOwned>(body: &[u8]) -> Result<Parsed<I>, Rejection> {
    let text = std::str::from_utf8(body).map_err(|_| Rejection::InvalidUtf8)?;
    match serde_json::from_str::<I>(text) {
        Ok(input) => Ok(Parsed::Input(input)),
        Err(error) if error.is_data() => serde_json::from_str::<Value>(text)
            .map(|payload| Parsed::Mismatch { payload, error })
            .map_err(|_| Rejection::MalformedJson),
        Err(_) => Err(Rejection::MalformedJson),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types_are_recognised() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=UTF-8"));
        assert!(is_json("application/json;charset=\"utf-8\""));
        assert!(!is_json("application/json; charset=latin1"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/jsonx"));
    }

    #[derive(serde::Deserialize)]
    struct Input {
        #[allow(dead_code)]
        meeting_id: String,
    }

    #[test]
    fn bodies_are_sorted_into_input_mismatch_and_refusals() {
        assert!(matches!(
            parse::<Input>(br#"{"meeting_id":"m"}"#),
            Ok(Parsed::Input(_))
        ));
        assert!(matches!(
            parse::<Input>(br#"{"meeting_id":7}"#),
            Ok(Parsed::Mismatch { .. })
        ));
        assert!(matches!(
            parse::<Input>(br#"{"other":1}"#),
            Ok(Parsed::Mismatch { .. })
        ));
        assert!(matches!(
            parse::<Input>(br#"{"meeting_id":"#),
            Err(Rejection::MalformedJson)
        ));
        assert!(matches!(parse::<Input>(b""), Err(Rejection::MalformedJson)));
        assert!(matches!(
            parse::<Input>(b"{\"a\":\"\xff\"}"),
            Err(Rejection::InvalidUtf8)
        ));
    }
}
