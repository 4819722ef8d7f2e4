//! One async lock per object, so that writers to the same thread (or model, or assistant) take turns while
//! writers to different objects run side by side.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

#[derive(Debug, Default)]
pub(crate) struct KeyedLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl KeyedLocks {
    /// Waits for the lock of `key` (e.g. `thread/<id>`), held until the guard is dropped.
    pub(crate) async fn lock(&self, key: String) -> OwnedMutexGuard<()> {
        let lock = {
            let mut map = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            // Forget locks nobody holds or waits for, so the map stays as small as the work in flight.
            map.retain(|_, l| Arc::strong_count(l) > 1);
            map.entry(key).or_default().clone()
        };
        lock.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn same_key_waits_other_key_does_not() {
        let locks = Arc::new(KeyedLocks::default());
        let g = locks.lock("thread/a".into()).await;
        let l2 = locks.clone();
        let other = tokio::time::timeout(Duration::from_millis(200), async move { l2.lock("thread/b".into()).await });
        assert!(other.await.is_ok());
        let l3 = locks.clone();
        let same = tokio::time::timeout(Duration::from_millis(100), async move { l3.lock("thread/a".into()).await });
        assert!(same.await.is_err());
        drop(g);
        assert!(tokio::time::timeout(Duration::from_millis(200), locks.lock("thread/a".into())).await.is_ok());
    }
}
