//! Login sessions: random tokens in an HttpOnly cookie; the server keeps only their SHA-256 and an expiry.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use rand::RngCore;

use super::digest;

/// The session cookie's name.
pub const COOKIE: &str = "jan_session";

#[derive(Debug)]
pub struct Sessions {
    ttl: Duration,
    live: Mutex<HashMap<[u8; 32], Instant>>,
}

impl Sessions {
    pub fn new(ttl: Duration) -> Self {
        Sessions { ttl, live: Mutex::new(HashMap::new()) }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Instant>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new session; returns its token (for the cookie).
    pub fn create(&self) -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let mut map = self.map();
        let now = Instant::now();
        map.retain(|_, expires| *expires > now);
        map.insert(digest(&token), now + self.ttl);
        token
    }

    /// Whether `token` is a live session. Lookup is by hash, so timing does not reveal token bytes.
    pub fn is_valid(&self, token: &str) -> bool {
        let key = digest(token);
        let mut map = self.map();
        match map.get(&key) {
            Some(expires) if *expires > Instant::now() => true,
            Some(_) => {
                map.remove(&key);
                false
            }
            None => false,
        }
    }

    /// Ends a session (logout).
    pub fn remove(&self, token: &str) {
        self.map().remove(&digest(token));
    }

    /// Ends every session (e.g. for tests of expiry).
    #[doc(hidden)]
    pub fn expire_all(&self) {
        let past = Instant::now().checked_sub(Duration::from_secs(1)).unwrap_or_else(Instant::now);
        for expires in self.map().values_mut() {
            *expires = past;
        }
    }
}

/// The session token from a `Cookie` header, if any.
pub fn token_from_cookies(header: &str) -> Option<&str> {
    header.split(';').map(str::trim).find_map(|pair| pair.strip_prefix(COOKIE)?.strip_prefix('='))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_and_end() {
        let s = Sessions::new(Duration::from_secs(60));
        let t = s.create();
        assert!(s.is_valid(&t) && !s.is_valid("forged"));
        s.remove(&t);
        assert!(!s.is_valid(&t));
        let t = s.create();
        s.expire_all();
        assert!(!s.is_valid(&t));
    }

    #[test]
    fn finds_the_cookie() {
        assert_eq!(token_from_cookies("a=1; jan_session=abc; b=2"), Some("abc"));
        assert_eq!(token_from_cookies("jan_sessionx=abc"), None);
        assert_eq!(token_from_cookies(""), None);
    }
}
