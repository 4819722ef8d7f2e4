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

impl Client {
    /// How long the client must still wait at `now`, if at all.
    fn wait(&self, now: Instant) -> Option<Duration> {
        self.blocked_until.and_then(|u| u.checked_duration_since(now)).filter(|w| !w.is_zero())
    }
}

impl Limiter {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Client>> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Err(wait)` when `ip` must wait before trying again.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.map().get(&ip).and_then(|c| c.wait(Instant::now())).map_or(Ok(()), Err)
    }

    /// Counts a login attempt before its password is checked, so that attempts already waiting on their bodies
    /// cannot all slip past one [`Self::check`]: `Err(wait)` when the client must wait first; otherwise the wait
    /// this attempt imposes should it fail (`None` while failures are still free). A success clears it all
    /// ([`Self::succeeded`]).
    pub fn attempt(&self, ip: IpAddr) -> Result<Option<Duration>, Duration> {
        let now = Instant::now();
        let mut map = self.map();
        if map.len() > 100_000 {
            // Bounded memory under a spray of addresses: forget clients that are no longer blocked.
            map.retain(|_, c| c.blocked_until.is_some_and(|u| u > now));
        }
        let client = map.entry(ip).or_insert(Client { failures: 0, blocked_until: None });
        if let Some(wait) = client.wait(now) {
            return Err(wait);
        }
        client.failures += 1;
        let Some(over) = client.failures.checked_sub(FREE_FAILURES + 1) else { return Ok(None) };
        let wait = FIRST_WAIT.saturating_mul(1u32 << over.min(20)).min(MAX_WAIT);
        client.blocked_until = Some(now + wait);
        Ok(Some(wait))
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
        for _ in 0..FREE_FAILURES {
            assert_eq!(l.attempt(ip), Ok(None));
            assert!(l.check(ip).is_ok());
        }
        assert_eq!(l.attempt(ip), Ok(Some(FIRST_WAIT)), "the first attempt past the free ones imposes a wait");
        assert!(l.check(ip).is_err());
        assert!(l.attempt(ip).is_err(), "and the next must wait it out");
        assert!(l.check("10.0.0.2".parse().unwrap()).is_ok(), "other clients are not affected");
        l.succeeded(ip);
        assert!(l.check(ip).is_ok());
        assert_eq!(l.attempt(ip), Ok(None), "a success starts over");
    }

    /// Attempts are counted as they are made: many at once from one client cannot all pass.
    #[test]
    fn concurrent_attempts_are_counted_one_by_one() {
        let l = std::sync::Arc::new(Limiter::default());
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        let allowed: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..30).map(|_| scope.spawn(|| l.attempt(ip).is_ok())).collect();
            handles.into_iter().map(|h| usize::from(h.join().unwrap_or(false))).sum()
        });
        assert_eq!(allowed, FREE_FAILURES as usize + 1, "the free ones and the one that starts the wait");
    }
}
