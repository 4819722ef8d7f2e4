//! API keys: those from `JAN_API_KEY`, and those the logged-in user creates, stored as SHA-256 hashes in
//! `<data>/settings/api-keys.json` (the key itself is shown once, at creation).

use std::path::PathBuf;
use std::sync::Mutex;

use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::digest;

/// What is stored (and listed) of a created key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredKey {
    pub id: String,
    pub name: String,
    /// Unix seconds.
    pub created: i64,
    /// The first characters, so the user can tell keys apart.
    pub prefix: String,
    /// SHA-256 of the key, hex.
    pub hash: String,
}

#[derive(Debug)]
pub struct Keys {
    env: Vec<[u8; 32]>,
    stored: Mutex<Vec<StoredKey>>,
    file: PathBuf,
}

impl Keys {
    /// Reads the stored keys (none when the file does not exist yet).
    pub fn load(env_keys: &[String], file: PathBuf) -> anyhow::Result<Keys> {
        let stored = match std::fs::read(&file) {
            Ok(bytes) => serde_json::from_slice(&bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let env = env_keys.iter().map(|k| k.trim()).filter(|k| !k.is_empty()).map(digest).collect();
        Ok(Keys { env, stored: Mutex::new(stored), file })
    }

    fn stored(&self) -> std::sync::MutexGuard<'_, Vec<StoredKey>> {
        self.stored.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether any key exists (configured or created).
    pub fn any(&self) -> bool {
        !self.env.is_empty() || !self.stored().is_empty()
    }

    /// Whether `key` is valid. Every known hash is compared in constant time, whether or not one matched.
    pub fn check(&self, key: &str) -> bool {
        let presented = digest(key);
        let mut found = subtle::Choice::from(0);
        for known in &self.env {
            found |= known.ct_eq(&presented);
        }
        for stored in self.stored().iter() {
            if let Ok(hash) = hex::decode(&stored.hash) {
                found |= hash.as_slice().ct_eq(presented.as_slice());
            }
        }
        found.into()
    }

    /// The created keys, without secrets.
    pub fn list(&self) -> Vec<StoredKey> {
        self.stored().iter().map(|k| StoredKey { hash: String::new(), ..k.clone() }).collect()
    }

    /// Creates a key; returns it (the only time it is seen) and what is stored.
    pub fn create(&self, name: &str) -> anyhow::Result<(String, StoredKey)> {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let key = format!("jan-{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
        let stored = StoredKey {
            id: ulid::Ulid::new().to_string(),
            name: name.to_owned(),
            created: jan_core::time::now_secs(),
            prefix: key.chars().take(10).collect(),
            hash: hex::encode(digest(&key)),
        };
        let mut all = self.stored();
        all.push(stored.clone());
        self.save(&all)?;
        Ok((key, StoredKey { hash: String::new(), ..stored }))
    }

    /// Revokes a created key; `false` when there is none with that id.
    pub fn revoke(&self, id: &str) -> anyhow::Result<bool> {
        let mut all = self.stored();
        let before = all.len();
        all.retain(|k| k.id != id);
        if all.len() == before {
            return Ok(false);
        }
        self.save(&all)?;
        Ok(true)
    }

    /// Writes the file atomically (temp file, fsync, rename), readable by the owner only.
    fn save(&self, keys: &[StoredKey]) -> anyhow::Result<()> {
        let dir = self.file.parent().ok_or_else(|| anyhow::anyhow!("no folder for the key file"))?;
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".api-keys.{}.tmp", ulid::Ulid::new()));
        let bytes = serde_json::to_vec_pretty(keys)?;
        {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f = options.open(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.file)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_keys_work_until_revoked_and_are_stored_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("settings/api-keys.json");
        let keys = Keys::load(&["env-key-1".into()], file.clone()).unwrap();
        assert!(keys.check("env-key-1") && !keys.check("env-key-2"));
        let (key, stored) = keys.create("laptop").unwrap();
        assert!(keys.check(&key));
        let on_disk = std::fs::read_to_string(&file).unwrap();
        assert!(!on_disk.contains(&key), "only the hash is stored");
        assert!(on_disk.contains(&hex::encode(digest(&key))));
        // A restart reads them back.
        let again = Keys::load(&[], file).unwrap();
        assert!(again.check(&key) && !again.check("env-key-1"));
        assert!(again.revoke(&stored.id).unwrap());
        assert!(!again.check(&key));
        assert!(!again.revoke(&stored.id).unwrap());
    }
}
