//! Timestamps as Jan writes them.
//!
//! Jan's desktop app writes `Date.now()` (milliseconds) into threads, messages and assistants, while older files
//! and the model catalog hold seconds. The core writes milliseconds and compares through [`as_millis`].

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, as JavaScript's `Date.now()`.
pub fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    now_millis() / 1000
}

/// Reads a stored timestamp that may be seconds or milliseconds as milliseconds (values below 10^11 are taken as
/// seconds: 10^11 ms is 1973, 10^11 s is the year 5138).
pub fn as_millis(t: i64) -> i64 {
    if t.abs() < 100_000_000_000 { t.saturating_mul(1000) } else { t }
}

#[cfg(test)]
mod tests {
    #[test]
    fn seconds_and_millis_compare() {
        assert_eq!(super::as_millis(1_700_000_000), 1_700_000_000_000);
        assert_eq!(super::as_millis(1_700_000_000_123), 1_700_000_000_123);
    }
}
