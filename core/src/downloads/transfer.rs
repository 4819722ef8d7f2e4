//! One file over HTTP(S) into `<name>.download`, resumable, verified, then renamed to its final name.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, RANGE};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio_util::sync::CancellationToken;

use crate::error::{Error, IoContext, Result};
use crate::storage::{self, blocking};

/// Headroom kept free on the disk beyond the file itself.
const DISK_MARGIN: u64 = 64 * 1024 * 1024;

/// What to fetch and how hard to try.
pub(crate) struct Transfer<'a> {
    pub http: &'a reqwest::Client,
    pub url: &'a str,
    pub partial: PathBuf,
    pub dest: PathBuf,
    pub sha256: Option<&'a str>,
    pub retries: u32,
    pub backoff: Duration,
    pub read_timeout: Duration,
    pub cancel: &'a CancellationToken,
}

/// How one attempt ended badly: worth another try with `Range`, or not.
enum Failure {
    Retry(Error),
    Fatal(Error),
}

/// Bytes on disk in the partial file and the digest of exactly those bytes.
struct Progress {
    have: u64,
    hasher: Sha256,
    total: Option<u64>,
}

impl Transfer<'_> {
    /// Fetches the file, resuming a partial one left by an earlier run, and returns its size. Each received
    /// chunk reports `(bytes on disk, total if known)`.
    pub(crate) async fn run(&self, on_progress: &mut (dyn FnMut(u64, Option<u64>) + Send)) -> Result<u64> {
        let mut progress = rehash(&self.partial).await?;
        let mut failures = 0u32;
        loop {
            if self.cancel.is_cancelled() {
                return Err(Error::Cancelled("the download".into()));
            }
            match self.attempt(&mut progress, on_progress).await {
                Ok(()) => break,
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry(e)) => {
                    failures += 1;
                    if failures > self.retries {
                        return Err(e);
                    }
                    let wait = self.backoff.saturating_mul(1 << (failures - 1).min(6));
                    tracing::warn!(url = %self.url, error = %e, attempt = failures, "download interrupted; resuming");
                    tokio::select! {
                        _ = self.cancel.cancelled() => return Err(Error::Cancelled("the download".into())),
                        _ = tokio::time::sleep(wait) => {}
                    }
                    // What was buffered may not all have reached the disk: trust the disk.
                    let on_disk = file_len(&self.partial).await?;
                    if on_disk != progress.have {
                        progress = rehash(&self.partial).await?;
                    }
                }
            }
        }
        let actual = hex::encode(progress.hasher.clone().finalize());
        if let Some(expected) = self.sha256
            && !expected.eq_ignore_ascii_case(&actual)
        {
            let _ = tokio::fs::remove_file(&self.partial).await;
            let file = self.dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            return Err(Error::ChecksumMismatch { file, expected: expected.to_ascii_lowercase(), actual });
        }
        let (partial, dest) = (self.partial.clone(), self.dest.clone());
        blocking(move || {
            std::fs::rename(&partial, &dest).context(|| format!("renaming {}", partial.display()))?;
            storage::sync_dir(dest.parent().unwrap_or(Path::new(".")))
        })
        .await?;
        Ok(progress.have)
    }

    async fn attempt(
        &self,
        p: &mut Progress,
        on_progress: &mut (dyn FnMut(u64, Option<u64>) + Send),
    ) -> Result<(), Failure> {
        let mut request = self.http.get(self.url);
        if p.have > 0 {
            request = request.header(RANGE, format!("bytes={}-", p.have));
        }
        let response = tokio::select! {
            _ = self.cancel.cancelled() => return Err(Failure::Fatal(Error::Cancelled("the download".into()))),
            r = tokio::time::timeout(self.read_timeout, request.send()) => match r {
                Err(_) => return Err(Failure::Retry(Error::Network(format!("{} did not answer", self.url)))),
                Ok(Err(e)) => return Err(Failure::Retry(Error::Network(crate::error::describe_http(e)))),
                Ok(Ok(r)) => r,
            },
        };
        let status = response.status();
        let content_range = response.headers().get(CONTENT_RANGE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        match status {
            StatusCode::PARTIAL_CONTENT if p.have > 0 => match parse_content_range(content_range.as_deref()) {
                Some((start, total)) if start == p.have => p.total = total,
                _ => {
                    self.restart(p).await?;
                    return Err(Failure::Retry(Error::Network("the server resumed at the wrong offset".into())));
                }
            },
            StatusCode::RANGE_NOT_SATISFIABLE if p.have > 0 => {
                // Asked for bytes past the end: the partial file may already be whole.
                let total = content_range.as_deref().and_then(|v| v.strip_prefix("bytes */")?.parse().ok());
                if total == Some(p.have) {
                    p.total = total;
                    return Ok(());
                }
                self.restart(p).await?;
                return Err(Failure::Retry(Error::Network("the partial file is larger than the remote one".into())));
            }
            s if s.is_success() => {
                if p.have > 0 {
                    tracing::info!(url = %self.url, "the server does not resume downloads; starting over");
                    self.restart(p).await?;
                }
                p.total = response.content_length();
            }
            s => {
                let e = Error::HttpStatus { url: self.url.to_owned(), status: s.as_u16() };
                let transient =
                    s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT || s == StatusCode::TOO_MANY_REQUESTS;
                return Err(if transient { Failure::Retry(e) } else { Failure::Fatal(e) });
            }
        }
        if let Some(total) = p.total {
            check_space(&self.partial, total.saturating_sub(p.have)).await.map_err(Failure::Fatal)?;
        }

        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.partial)
            .await
            .context(|| format!("opening {}", self.partial.display()))
            .map_err(Failure::Fatal)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let mut body = response.bytes_stream();
        let ended = loop {
            let next = tokio::select! {
                _ = self.cancel.cancelled() => break Err(Failure::Fatal(Error::Cancelled("the download".into()))),
                n = tokio::time::timeout(self.read_timeout, body.next()) => n,
            };
            match next {
                Err(_) => break Err(Failure::Retry(Error::Network("the download stalled".into()))),
                Ok(None) => break Ok(()),
                Ok(Some(Err(e))) => break Err(Failure::Retry(Error::Network(crate::error::describe_http(e)))),
                Ok(Some(Ok(chunk))) => {
                    if let Err(e) = out.write_all(&chunk).await {
                        break Err(Failure::Fatal(Error::io(format!("writing {}", self.partial.display()), e)));
                    }
                    p.hasher.update(&chunk);
                    p.have += chunk.len() as u64;
                    on_progress(p.have, p.total);
                }
            }
        };
        let flushed = out.flush().await;
        let synced = match &flushed {
            Ok(()) => out.get_ref().sync_all().await,
            Err(_) => Ok(()),
        };
        ended?;
        flushed.and(synced).context(|| format!("writing {}", self.partial.display())).map_err(Failure::Fatal)?;
        match p.total {
            Some(total) if p.have < total => {
                Err(Failure::Retry(Error::Network(format!("the connection closed after {} of {total} bytes", p.have))))
            }
            Some(total) if p.have > total => {
                self.restart(p).await?;
                Err(Failure::Fatal(Error::Network(format!("the server sent more than the {total} bytes it announced"))))
            }
            _ => Ok(()),
        }
    }

    /// Throws the partial file away and starts from byte 0.
    async fn restart(&self, p: &mut Progress) -> Result<(), Failure> {
        tokio::fs::write(&self.partial, b"")
            .await
            .context(|| format!("truncating {}", self.partial.display()))
            .map_err(Failure::Fatal)?;
        *p = Progress { have: 0, hasher: Sha256::new(), total: None };
        Ok(())
    }
}

/// Hashes what an earlier run left in the partial file (nothing if there is none).
async fn rehash(partial: &Path) -> Result<Progress> {
    let partial = partial.to_owned();
    blocking(move || {
        let mut hasher = Sha256::new();
        let have = match std::fs::File::open(&partial) {
            Ok(mut f) => std::io::copy(&mut f, &mut hasher).context(|| format!("reading {}", partial.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(Error::io(format!("opening {}", partial.display()), e)),
        };
        Ok(Progress { have, hasher, total: None })
    })
    .await
}

async fn file_len(path: &Path) -> Result<u64> {
    match tokio::fs::metadata(path).await {
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
    }
}

/// Refuses to start writing `needed` bytes that the disk cannot hold.
async fn check_space(partial: &Path, needed: u64) -> Result<()> {
    let dir = partial.parent().unwrap_or(Path::new(".")).to_owned();
    let available =
        blocking(move || fs4::available_space(&dir).context(|| format!("checking free space in {}", dir.display())))
            .await?;
    if available < needed.saturating_add(DISK_MARGIN) {
        return Err(Error::DiskFull(format!(
            "the download needs {} MB more but only {} MB are free",
            needed.div_ceil(1 << 20),
            available >> 20
        )));
    }
    Ok(())
}

/// `bytes START-END/TOTAL` (TOTAL may be `*`) -> (START, TOTAL).
fn parse_content_range(value: Option<&str>) -> Option<(u64, Option<u64>)> {
    let rest = value?.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let start = range.split_once('-')?.0.trim().parse().ok()?;
    Some((start, total.trim().parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::parse_content_range;

    #[test]
    fn content_range() {
        assert_eq!(parse_content_range(Some("bytes 100-199/200")), Some((100, Some(200))));
        assert_eq!(parse_content_range(Some("bytes 5-9/*")), Some((5, None)));
        assert_eq!(parse_content_range(Some("bytes */200")), None);
        assert_eq!(parse_content_range(None), None);
    }
}
