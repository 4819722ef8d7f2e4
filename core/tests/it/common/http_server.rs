//! A small real HTTP/1.1 file server on 127.0.0.1 for download tests, with switches for the failures a download
//! must survive: a connection dropped mid-file, a server that ignores `Range`, a slow server, redirects, a
//! server that announces more bytes than the disk can hold.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How a path is served.
#[derive(Clone, Debug)]
pub enum Route {
    /// The bytes, with `Range` support.
    File(Arc<Vec<u8>>),
    /// The bytes, but the first response stops after `cut` bytes of the body and closes the connection.
    DropOnceAt(Arc<Vec<u8>>, usize),
    /// The bytes, always from 0 with 200, whatever `Range` says.
    IgnoreRange(Arc<Vec<u8>>),
    /// The bytes in 16 KiB pieces with a pause between them.
    Slow(Arc<Vec<u8>>, Duration),
    /// A 302 to another path.
    Redirect(String),
    /// Headers announce this many bytes, then the connection closes.
    Huge(u64),
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Route>,
    dropped: HashMap<String, bool>,
    /// Every request as (path, Range header).
    log: Vec<(String, Option<String>)>,
}

/// The running server; it stops when the test's runtime ends.
#[derive(Clone)]
pub struct TestServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = TestServer { addr: listener.local_addr().unwrap(), state: Arc::default() };
        let state = server.state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else { return };
                let state = state.clone();
                tokio::spawn(async move {
                    let _ = serve(socket, state).await;
                });
            }
        });
        server
    }

    pub fn route(&self, path: &str, route: Route) {
        self.state.lock().unwrap().routes.insert(path.to_owned(), route);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The `Range` headers of the requests made for `path`, in order.
    pub fn ranges(&self, path: &str) -> Vec<Option<String>> {
        self.state.lock().unwrap().log.iter().filter(|(p, _)| p == path).map(|(_, r)| r.clone()).collect()
    }
}

async fn serve(mut socket: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    loop {
        let Some((path, range)) = read_request(&mut socket).await? else { return Ok(()) };
        let route = {
            let mut s = state.lock().unwrap();
            s.log.push((path.clone(), range.clone()));
            s.routes.get(&path).cloned()
        };
        let keep_alive = match route {
            None => {
                write_head(&mut socket, "404 Not Found", &[("Content-Length", "9".into())]).await?;
                socket.write_all(b"not found").await?;
                true
            }
            Some(Route::Redirect(to)) => {
                write_head(&mut socket, "302 Found", &[("Location", to), ("Content-Length", "0".into())]).await?;
                true
            }
            Some(Route::Huge(len)) => {
                write_head(&mut socket, "200 OK", &[("Content-Length", len.to_string())]).await?;
                false
            }
            Some(Route::File(bytes)) => send_range(&mut socket, &bytes, range.as_deref(), None, None).await?,
            Some(Route::IgnoreRange(bytes)) => send_range(&mut socket, &bytes, None, None, None).await?,
            Some(Route::Slow(bytes, pause)) => {
                send_range(&mut socket, &bytes, range.as_deref(), None, Some(pause)).await?
            }
            Some(Route::DropOnceAt(bytes, cut)) => {
                let first = !state.lock().unwrap().dropped.insert(path.clone(), true).unwrap_or(false);
                send_range(&mut socket, &bytes, range.as_deref(), first.then_some(cut), None).await?
            }
        };
        if !keep_alive {
            return Ok(());
        }
    }
}

/// Sends the requested range; `cut` stops the body after that many bytes of the file and closes.
async fn send_range(
    socket: &mut TcpStream,
    bytes: &[u8],
    range: Option<&str>,
    cut: Option<usize>,
    pause: Option<Duration>,
) -> std::io::Result<bool> {
    let len = bytes.len();
    let start = range
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|s| s.parse::<usize>().ok());
    let start = match start {
        Some(s) if s >= len => {
            write_head(
                socket,
                "416 Range Not Satisfiable",
                &[("Content-Range", format!("bytes */{len}")), ("Content-Length", "0".into())],
            )
            .await?;
            return Ok(true);
        }
        Some(s) => {
            write_head(
                socket,
                "206 Partial Content",
                &[("Content-Range", format!("bytes {s}-{}/{len}", len - 1)), ("Content-Length", (len - s).to_string())],
            )
            .await?;
            s
        }
        None => {
            write_head(socket, "200 OK", &[("Content-Length", len.to_string()), ("Accept-Ranges", "bytes".into())])
                .await?;
            0
        }
    };
    let end = cut.map_or(len, |c| c.clamp(start, len));
    for piece in bytes[start..end].chunks(16 * 1024) {
        socket.write_all(piece).await?;
        if let Some(pause) = pause {
            socket.flush().await?;
            tokio::time::sleep(pause).await;
        }
    }
    socket.flush().await?;
    Ok(cut.is_none())
}

async fn write_head(socket: &mut TcpStream, status: &str, headers: &[(&str, String)]) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    socket.write_all(head.as_bytes()).await
}

/// Reads one request head: (path, Range header). `None` at end of stream.
async fn read_request(socket: &mut TcpStream) -> std::io::Result<Option<(String, Option<String>)>> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if socket.read(&mut byte).await? == 0 {
            return Ok(None);
        }
        buf.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&buf);
    let mut lines = text.lines();
    let path = lines.next().and_then(|l| l.split_whitespace().nth(1)).unwrap_or("/").to_owned();
    let range = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("range"))
        .map(|(_, v)| v.trim().to_owned());
    Ok(Some((path, range)))
}
