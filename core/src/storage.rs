//! Crash-safe file primitives; every write the core makes goes through here.
//!
//! - Whole files are written to a temp file in the same folder, fsynced, renamed over the target, and the folder
//!   is fsynced: a reader sees the old file or the new one, never half of one.
//! - `messages.jsonl` lines are appended with one `write` and fsynced. A crash mid-append leaves a torn last line;
//!   readers skip unparseable lines with a warning and the next append starts on a fresh line, so every earlier
//!   message survives.
//!
//! These functions block; async callers run them through [`blocking`].

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, IoContext, Result};
use crate::ids::{self, IdKind};

/// Runs blocking file work on tokio's blocking pool so that async workers never wait on the disk.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        Err(_) => Err(Error::Cancelled("a file operation".into())),
    }
}

/// Serialises `value` as pretty JSON (Jan's style) and writes it atomically to `path`.
pub(crate) fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::InvalidRequest(format!("cannot serialise {}: {e}", path.display())))?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// [`write_json`] for a file holding a secret (a remote engine's API key): readable by this user only (mode
/// 0600 on Unix), from the moment its temp file exists.
pub(crate) fn write_secret_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::InvalidRequest(format!("cannot serialise {}: {e}", path.display())))?;
    bytes.push(b'\n');
    write_file(path, true, |w| w.write_all(&bytes))
}

/// Writes `bytes` to `path` through a temp file, fsync and rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Writes what `write` produces to `path` through a buffered temp file, fsync and rename: a reader sees the old
/// file or the whole new one, however large.
pub(crate) fn write_atomic_with(path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
    write_file(path, false, write)
}

/// A temp file for `write_file`: private ones are created 0600 (Unix), so the secret is never readable by others.
fn create_temp(tmp: &Path, private: bool) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    options.open(tmp)
}

fn write_file(path: &Path, private: bool, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
    let dir = path.parent().ok_or_else(|| Error::InvalidRequest(format!("{} has no folder", path.display())))?;
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.tmp", ulid::Ulid::new()));
    let result = (|| {
        let file = create_temp(&tmp, private).context(|| format!("creating {}", tmp.display()))?;
        let mut out = io::BufWriter::with_capacity(1 << 20, file);
        write(&mut out).context(|| format!("writing {}", tmp.display()))?;
        let file = out.into_inner().map_err(|e| e.into_error()).context(|| format!("writing {}", tmp.display()))?;
        file.sync_all().context(|| format!("syncing {}", tmp.display()))?;
        drop(file);
        fs::rename(&tmp, path).context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Reads and parses a JSON file; a parse failure names the file and leaves it untouched.
pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = fs::read(path).context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::CorruptFile { path: path.to_owned(), message: e.to_string() })
}

/// Appends one JSON value as a line of a JSONL file, fsynced. If the file ends in a torn line (a crash
/// mid-append), the new line starts on a line of its own so that it stays readable.
pub(crate) fn append_jsonl<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut line =
        serde_json::to_vec(value).map_err(|e| Error::InvalidRequest(format!("cannot serialise a line: {e}")))?;
    line.push(b'\n');
    let mut file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .context(|| format!("opening {}", path.display()))?;
    let len = file.metadata().context(|| format!("reading {}", path.display()))?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1)).context(|| format!("reading {}", path.display()))?;
        file.read_exact(&mut last).context(|| format!("reading {}", path.display()))?;
        if last[0] != b'\n' {
            tracing::warn!(file = %path.display(), "last line is torn (interrupted write); starting a new line");
            line.insert(0, b'\n');
        }
    }
    // One write call: with O_APPEND the line lands whole after whatever is there.
    file.write_all(&line).context(|| format!("appending to {}", path.display()))?;
    file.sync_data().context(|| format!("syncing {}", path.display()))
}

/// Reads every parseable line of a JSONL file; lines that do not parse (a torn last line, a hand-edit gone wrong)
/// are skipped with a warning. A missing file is an empty list.
pub(crate) fn read_jsonl<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let text = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    let mut out = Vec::new();
    for (n, line) in text.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice(line) {
            Ok(v) => out.push(v),
            Err(e) => tracing::warn!(file = %path.display(), line = n + 1, error = %e, "skipping unreadable line"),
        }
    }
    Ok(out)
}

/// Fsyncs a folder so that a rename or create inside it survives a crash (a no-op where unsupported).
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir).and_then(|d| d.sync_all()).context(|| format!("syncing folder {}", dir.display()))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Creates a folder and its parents.
pub(crate) fn create_dir_all(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).context(|| format!("creating folder {}", dir.display()))
}

/// Removes an object's folder. It is first renamed to a hidden name in the same area, which listings skip, so a
/// crash halfway through the removal never leaves a half-deleted object visible.
pub(crate) fn remove_dir(dir: &Path) -> Result<()> {
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return Err(Error::InvalidRequest(format!("cannot remove {}", dir.display())));
    };
    let trash = parent.join(format!(".deleted-{}-{}", ulid::Ulid::new(), name.to_string_lossy()));
    fs::rename(dir, &trash).context(|| format!("removing {}", dir.display()))?;
    sync_dir(parent)?;
    fs::remove_dir_all(&trash).context(|| format!("removing {}", trash.display()))
}

/// The object folders of an area (`threads/`, `models/`...): sub-folders whose names are valid ids. Hidden
/// entries (temp files, half-deleted folders) and anything else are skipped.
pub(crate) fn list_object_dirs(area: &Path, kind: IdKind) -> Result<Vec<String>> {
    let entries = match fs::read_dir(area) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("listing {}", area.display()), e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.context(|| format!("listing {}", area.display()))?;
        let Ok(name) = entry.file_name().into_string() else { continue };
        if name.starts_with('.') || !entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            continue;
        }
        if ids::check(kind, &name).is_err() {
            tracing::warn!(folder = %area.join(&name).display(), "skipping a folder whose name is not a valid id");
            continue;
        }
        names.push(name);
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_json(&p, &json!({"a": 1})).unwrap();
        write_json(&p, &json!({"a": 2})).unwrap();
        let v: Value = read_json(&p).unwrap();
        assert_eq!(v["a"], 2);
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.json")]);
    }

    #[test]
    fn torn_last_line_is_skipped_and_next_append_survives() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.jsonl");
        append_jsonl(&p, &json!({"n": 1})).unwrap();
        append_jsonl(&p, &json!({"n": 2})).unwrap();
        // A crash mid-append: half a line without its newline.
        OpenOptions::new().append(true).open(&p).unwrap().write_all(br#"{"n": 3, "te"#).unwrap();
        let read: Vec<Value> = read_jsonl(&p).unwrap();
        assert_eq!(read, vec![json!({"n": 1}), json!({"n": 2})]);
        append_jsonl(&p, &json!({"n": 4})).unwrap();
        let read: Vec<Value> = read_jsonl(&p).unwrap();
        assert_eq!(read, vec![json!({"n": 1}), json!({"n": 2}), json!({"n": 4})]);
    }

    #[test]
    fn corrupt_json_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.json");
        fs::write(&p, b"{not json").unwrap();
        let err = read_json::<Value>(&p).unwrap_err();
        assert_eq!(err.code(), "corrupt_file");
        assert!(err.to_string().contains("bad.json"));
    }
}
