//! This process's claim on a data folder, so that another process (or this one after a restart) can tell a reply
//! still being written from one whose writer is gone.
//!
//! Each [`Jan::open`](crate::Jan::open) makes an instance id (a ULID) and holds an exclusive lock on
//! `<data>/.jan-instances/<id>.lock` until the process ends: the operating system releases it however the process
//! ends, SIGKILL and power loss included. A reply's pending message names its writer's instance (`reply_owner` in
//! its metadata); a reader that can take that lock knows the writer is gone.

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{IoContext, Result};
use crate::storage;

/// The folder of the instances' lock files, inside the data folder.
const INSTANCES: &str = ".jan-instances";

/// The metadata key of a pending reply that names the instance writing it.
pub(crate) const REPLY_OWNER: &str = "reply_owner";

#[derive(Debug)]
pub(crate) struct Instance {
    id: String,
    dir: PathBuf,
    /// Held (locked) for the life of the process.
    _lock: File,
    /// Replies this process is writing, per thread.
    writing: Writing,
}

impl Instance {
    /// Claims the data folder for this process; removes the lock files of instances that are gone.
    pub(crate) fn claim(data_folder: &Path) -> Result<Instance> {
        let dir = data_folder.join(INSTANCES);
        storage::create_dir_all(&dir)?;
        remove_gone(&dir);
        let id = ulid::Ulid::new().to_string();
        let path = dir.join(format!("{id}.lock"));
        let lock = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&path)
            .context(|| format!("creating {}", path.display()))?;
        lock.lock().context(|| format!("locking {}", path.display()))?;
        Ok(Instance { id, dir, _lock: lock, writing: Writing::default() })
    }

    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Whether the instance `owner` still runs (this one, or another process holding its lock). An owner that is
    /// not an instance id (a hand edit) counts as gone.
    pub(crate) fn alive(&self, owner: &str) -> bool {
        if owner == self.id {
            return true;
        }
        if ulid::Ulid::from_string(owner).is_err() {
            return false;
        }
        let Ok(file) = File::open(self.dir.join(format!("{owner}.lock"))) else { return false };
        matches!(file.try_lock(), Err(TryLockError::WouldBlock))
    }

    /// Marks a reply in `thread_id` as being written by this process until the guard is dropped.
    pub(crate) fn writing(&self, thread_id: &str) -> WritingGuard {
        *self.writing.lock().entry(thread_id.to_owned()).or_default() += 1;
        WritingGuard { writing: self.writing.clone(), thread_id: thread_id.to_owned() }
    }

    /// Whether this process is writing a reply in `thread_id`.
    pub(crate) fn is_writing(&self, thread_id: &str) -> bool {
        self.writing.lock().contains_key(thread_id)
    }
}

/// The count of replies being written, per thread.
#[derive(Debug, Default, Clone)]
struct Writing(Arc<Mutex<HashMap<String, usize>>>);

impl Writing {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, usize>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// See [`Instance::writing`]; owned, so that a reply's task can keep it.
#[derive(Debug)]
pub(crate) struct WritingGuard {
    writing: Writing,
    thread_id: String,
}

impl Drop for WritingGuard {
    fn drop(&mut self) {
        let mut writing = self.writing.lock();
        if let Some(n) = writing.get_mut(&self.thread_id) {
            *n -= 1;
            if *n == 0 {
                writing.remove(&self.thread_id);
            }
        }
    }
}

/// Deletes the lock files nobody holds (their processes ended). Best effort: a file that cannot be read or removed
/// stays, and only costs a lookup.
fn remove_gone(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "lock") {
            continue;
        }
        let Ok(file) = File::open(&path) else { continue };
        if file.try_lock().is_ok() {
            let _ = std::fs::remove_file(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_instance_is_alive_until_it_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let a = Instance::claim(dir.path()).unwrap();
        let b = Instance::claim(dir.path()).unwrap();
        assert!(a.alive(b.id()) && b.alive(a.id()) && a.alive(a.id()));
        let gone = b.id().to_owned();
        drop(b);
        assert!(!a.alive(&gone), "its lock is released");
        assert!(!a.alive("../../etc/passwd"), "not an instance id");
        assert!(!a.alive(&ulid::Ulid::new().to_string()), "no such instance");
        // A later instance cleans up the lock files of the ones that are gone, and keeps the living ones'.
        let _c = Instance::claim(dir.path()).unwrap();
        let left: Vec<_> =
            std::fs::read_dir(dir.path().join(INSTANCES)).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left.len(), 2, "{left:?}");
        assert!(a.alive(a.id()));
    }

    #[test]
    fn writing_counts_replies_per_thread() {
        let dir = tempfile::tempdir().unwrap();
        let a = Instance::claim(dir.path()).unwrap();
        let one = a.writing("t1");
        let two = a.writing("t1");
        assert!(a.is_writing("t1") && !a.is_writing("t2"));
        drop(one);
        assert!(a.is_writing("t1"));
        drop(two);
        assert!(!a.is_writing("t1"));
    }
}
