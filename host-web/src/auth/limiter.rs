//! Login attempts per client address: a few free failures, then an exponentially growing wait.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed before waits start.
const FREE_FAILURES: u32 = 5;
/// The first wait; it doubles with every further failure.
const FIRST_WAIT: Duration = Duration::from_secs(2);
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Default)]
pub struct Limiter {
    clients: Mutex<HashMap<IpAddr, Client>>,
}

#[derive(Debug, Clone, Copy)]
struct Client {
    failures: u32,
    blocked_until: Option<Instant>,
}

impl Limiter {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Client>> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Err(wait)` when `ip` must wait before trying again.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        match self.map().get(&ip).and_then(|c| c.blocked_until) {
            Some(until) => match until.checked_duration_since(Instant::now()) {
                Some(wait) if !wait.is_zero() => Err(wait),
                _ => Ok(()),
            },
            None => Ok(()),
        }
    }

    /// Records a failed login; returns the wait imposed, if any.
    pub fn failed(&self, ip: IpAddr) -> Option<Duration> {
        let mut map = self.map();
        if map.len() > 100_000 {
            // Bounded memory under a spray of addresses: forget clients that are no longer blocked.
            let now = Instant::now();
            map.retain(|_, c| c.blocked_until.is_some_and(|u| u > now));
        }
        let client = map.entry(ip).or_insert(Client { failures: 0, blocked_until: None });
        client.failures += 1;
        let over = client.failures.checked_sub(FREE_FAILURES + 1)?;
        let wait = FIRST_WAIT.saturating_mul(1u32 << over.min(20)).min(MAX_WAIT);
        client.blocked_until = Some(Instant::now() + wait);
        Some(wait)
    }

    /// A successful login clears the client's record.
    pub fn succeeded(&self, ip: IpAddr) {
        self.map().remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_after_the_free_failures() {
        let l = Limiter::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..FREE_FAILURES - 1 {
            assert_eq!(l.failed(ip), None);
            assert!(l.check(ip).is_ok());
        }
        assert_eq!(l.failed(ip), None);
        assert_eq!(l.failed(ip), Some(FIRST_WAIT));
        assert_eq!(l.failed(ip), Some(FIRST_WAIT * 2));
        assert!(l.check(ip).is_err());
        assert!(l.check("10.0.0.2".parse().unwrap()).is_ok(), "other clients are not affected");
        l.succeeded(ip);
        assert!(l.check(ip).is_ok());
    }
}
