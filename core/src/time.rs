//! Timestamps as Jan writes them.
//!
//! Jan's desktop app writes `Date.now()` (milliseconds) into threads, messages and assistants, while older files
//! and the model catalog hold seconds. The core writes milliseconds and compares through [`as_millis`].

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, as JavaScript's `Date.now()`, strictly increasing within this process: two
/// writes in the same millisecond still get distinct, ordered stamps, so "most recently updated first" follows the
/// order of the writes (a stamp runs ahead of the wall clock by at most the number of calls in one millisecond).
pub fn now_millis() -> i64 {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let wall = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = wall.max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
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
    fn stamps_strictly_increase_even_within_a_millisecond() {
        let stamps: Vec<i64> = (0..10_000).map(|_| super::now_millis()).collect();
        assert!(stamps.windows(2).all(|w| w[0] < w[1]));
        let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
        assert!(stamps[0] >= wall - 60_000, "close to the wall clock");
    }

    #[test]
    fn seconds_and_millis_compare() {
        assert_eq!(super::as_millis(1_700_000_000), 1_700_000_000_000);
        assert_eq!(super::as_millis(1_700_000_000_123), 1_700_000_000_123);
    }
}
