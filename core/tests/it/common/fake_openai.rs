//! A fake OpenAI-compatible upstream: a real HTTP/1.1 server on 127.0.0.1 (hand-written, keep-alive, chunked
//! responses) that streams scripted chat or text completions the way OpenAI does, answers scripted errors, records
//! every request (headers and JSON body), and notices when a client hangs up in the middle of an answer.
//!
//! Replies are queued per path (`/v1/chat/completions`, `/v1/models`...): each request takes the next one, and
//! the last one stays for all later requests. A path with no reply answers OpenAI's 404.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the server answers to one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// `200 text/event-stream`, chunked, as the script says.
    Stream(Script),
    /// A whole response.
    Full { status: u16, content_type: String, headers: Vec<(String, String)>, body: String },
    /// Reads the request and never answers (until the client hangs up).
    Hang,
}

impl Reply {
    /// OpenAI's error shape: `{"error": {"message", "type", "param": null, "code"}}`.
    pub fn error(status: u16, kind: &str, code: Option<&str>, message: &str) -> Reply {
        let body = json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
        Reply::json(status, body)
    }

    pub fn json(status: u16, body: Value) -> Reply {
        Reply::Full { status, content_type: "application/json".into(), headers: vec![], body: body.to_string() }
    }

    pub fn text(status: u16, content_type: &str, body: &str) -> Reply {
        Reply::Full { status, content_type: content_type.into(), headers: vec![], body: body.into() }
    }

    /// `GET /models` as OpenAI answers it.
    pub fn models(ids: &[&str]) -> Reply {
        let data: Vec<Value> =
            ids.iter().map(|id| json!({"id": id, "object": "model", "created": 1, "owned_by": "fake"})).collect();
        Reply::json(200, json!({"object": "list", "data": data}))
    }

    /// Adds a response header (for `Full` replies).
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Full { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

/// Which streaming format the chunks use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `chat.completion.chunk`: `choices[0].delta.content`.
    Chat,
    /// `text_completion`: `choices[0].text`.
    Text,
}

/// How a streamed body ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The chunked terminator; the connection stays open for the next request.
    Clean,
    /// The connection closes in the middle of the body (no terminator).
    Abort,
    /// After the script, one more `.` delta every `delay` until the client hangs up (for stop tests).
    Forever,
    /// After the script, silence (the connection stays open) until the client hangs up.
    Stall,
}

/// A scripted streamed answer, built like OpenAI's: a role chunk, one chunk per delta, a chunk with the
/// `finish_reason`, the usage chunk (`choices: []`), `data: [DONE]`.
#[derive(Clone, Debug)]
pub struct Script {
    pub format: Format,
    pub deltas: Vec<String>,
    pub finish_reason: Option<String>,
    /// (prompt, completion) tokens for the usage chunk; `None` leaves it out.
    pub usage: Option<(u32, u32)>,
    /// Extra fields merged into the usage chunk (e.g. llama.cpp's `timings`).
    pub usage_extra: Value,
    pub done: bool,
    /// Pause between writes.
    pub delay: Duration,
    /// Cut the whole body into writes of this many bytes (across events, lines, `\r\n` and UTF-8 characters).
    pub split: Option<usize>,
    pub crlf: bool,
    /// `: keep-alive` comments between events.
    pub comments: bool,
    /// Raw events (each is one `data:` payload) sent after the deltas and before the finish chunk.
    pub extra_events: Vec<String>,
    /// Exact bytes to send instead of everything above (one write per piece).
    pub raw: Option<Vec<Vec<u8>>>,
    pub end: End,
}

impl Script {
    pub fn chat(deltas: &[&str]) -> Script {
        Script {
            format: Format::Chat,
            deltas: deltas.iter().map(|d| d.to_string()).collect(),
            finish_reason: Some("stop".into()),
            usage: Some((11, deltas.len() as u32)),
            usage_extra: json!({}),
            done: true,
            delay: Duration::ZERO,
            split: None,
            crlf: false,
            comments: false,
            extra_events: vec![],
            raw: None,
            end: End::Clean,
        }
    }

    /// These deltas, then one `.` delta every `delay`, never finishing, until the client hangs up.
    pub fn endless(deltas: &[&str], delay: Duration) -> Script {
        Script { finish_reason: None, usage: None, done: false, delay, end: End::Forever, ..Script::chat(deltas) }
    }

    pub fn text(deltas: &[&str]) -> Script {
        Script { format: Format::Text, ..Script::chat(deltas) }
    }

    /// These exact pieces, one write each, then the chunked terminator.
    pub fn raw(pieces: &[&str]) -> Script {
        Script { raw: Some(pieces.iter().map(|p| p.as_bytes().to_vec()).collect()), ..Script::chat(&[]) }
    }

    pub fn finish(mut self, reason: Option<&str>) -> Script {
        self.finish_reason = reason.map(str::to_owned);
        self
    }
    pub fn usage(mut self, usage: Option<(u32, u32)>) -> Script {
        self.usage = usage;
        self
    }
    pub fn usage_extra(mut self, extra: Value) -> Script {
        self.usage_extra = extra;
        self
    }
    pub fn no_done(mut self) -> Script {
        self.done = false;
        self
    }
    pub fn delay(mut self, delay: Duration) -> Script {
        self.delay = delay;
        self
    }
    pub fn split(mut self, bytes: usize) -> Script {
        self.split = Some(bytes);
        self
    }
    pub fn crlf(mut self) -> Script {
        self.crlf = true;
        self
    }
    pub fn comments(mut self) -> Script {
        self.comments = true;
        self
    }
    pub fn event(mut self, data: Value) -> Script {
        self.extra_events.push(data.to_string());
        self
    }
    pub fn end(mut self, end: End) -> Script {
        self.end = end;
        self
    }

    fn chunk(&self, model: &str, choice: Value, usage: Value) -> String {
        let object = if self.format == Format::Chat { "chat.completion.chunk" } else { "text_completion" };
        let id = if self.format == Format::Chat { "chatcmpl-fake" } else { "cmpl-fake" };
        let mut chunk = json!({"id": id, "object": object, "created": 1_700_000_000, "model": model,
            "system_fingerprint": "fp_fake", "choices": [choice]});
        if self.usage.is_some() {
            chunk["usage"] = usage;
        }
        chunk.to_string()
    }

    fn delta_choice(&self, text: &str) -> Value {
        match self.format {
            Format::Chat => json!({"index": 0, "delta": {"content": text}, "logprobs": null, "finish_reason": null}),
            Format::Text => json!({"index": 0, "text": text, "logprobs": null, "finish_reason": null}),
        }
    }

    /// The events (`data:` payloads) of the scripted part, in order.
    fn payloads(&self, model: &str) -> Vec<String> {
        let mut out = Vec::new();
        if self.format == Format::Chat {
            let role = json!({"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null});
            out.push(self.chunk(model, role, Value::Null));
        }
        for d in &self.deltas {
            out.push(self.chunk(model, self.delta_choice(d), Value::Null));
        }
        out.extend(self.extra_events.iter().cloned());
        if let Some(reason) = &self.finish_reason {
            let choice = match self.format {
                Format::Chat => json!({"index": 0, "delta": {}, "logprobs": null, "finish_reason": reason}),
                Format::Text => json!({"index": 0, "text": "", "logprobs": null, "finish_reason": reason}),
            };
            out.push(self.chunk(model, choice, Value::Null));
        }
        if let Some((p, c)) = self.usage {
            let mut chunk: Value = serde_json::from_str(&self.chunk(model, json!(null), Value::Null)).unwrap();
            chunk["choices"] = json!([]);
            chunk["usage"] = json!({"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c,
                "prompt_tokens_details": {"cached_tokens": 0}});
            if let Value::Object(extra) = &self.usage_extra {
                for (k, v) in extra {
                    chunk[k] = v.clone();
                }
            }
            out.push(chunk.to_string());
        }
        if self.done {
            out.push("[DONE]".into());
        }
        out
    }

    /// The writes of the scripted part.
    fn writes(&self, model: &str) -> Vec<Vec<u8>> {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let nl = if self.crlf { "\r\n" } else { "\n" };
        let mut events: Vec<String> = Vec::new();
        for (i, p) in self.payloads(model).iter().enumerate() {
            if self.comments {
                events.push(format!(": keep-alive {i}{nl}{nl}"));
            }
            events.push(format!("data: {p}{nl}{nl}"));
        }
        match self.split {
            None => events.into_iter().map(String::into_bytes).collect(),
            Some(n) => events.concat().into_bytes().chunks(n.max(1)).map(<[u8]>::to_vec).collect(),
        }
    }
}

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// Without the query.
    pub path: String,
    pub query: Option<String>,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    /// The JSON body (`Null` if there was none or it was not JSON).
    pub body: Value,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    replies: HashMap<String, VecDeque<Reply>>,
    requests: Vec<Recorded>,
}

/// The running server; it stops with the test's runtime.
#[derive(Clone)]
pub struct FakeOpenAi {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    /// How many answers the client hung up on before they ended.
    hangups: Arc<watch::Sender<usize>>,
}

impl FakeOpenAi {
    pub async fn start() -> FakeOpenAi {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = FakeOpenAi {
            addr: listener.local_addr().unwrap(),
            state: Arc::default(),
            hangups: Arc::new(watch::channel(0).0),
        };
        let accepted = server.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else { return };
                let _ = socket.set_nodelay(true);
                let server = accepted.clone();
                tokio::spawn(async move {
                    let _ = server.serve(socket).await;
                });
            }
        });
        server
    }

    /// `http://127.0.0.1:<port>/v1`
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Queues a reply for `path` (e.g. `/v1/chat/completions`).
    pub fn reply(&self, path: &str, reply: Reply) {
        self.state.lock().unwrap().replies.entry(path.to_owned()).or_default().push_back(reply);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The only request made (fails the test if there were others).
    pub fn only_request(&self) -> Recorded {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "expected one request, got {requests:#?}");
        requests.into_iter().next().unwrap()
    }

    pub fn hangups(&self) -> usize {
        *self.hangups.borrow()
    }

    /// Waits until the client has hung up on `n` unfinished answers; `false` after `within`.
    pub async fn wait_hangups(&self, n: usize, within: Duration) -> bool {
        let mut rx = self.hangups.subscribe();
        tokio::time::timeout(within, rx.wait_for(|h| *h >= n)).await.is_ok()
    }

    async fn serve(&self, mut socket: TcpStream) -> std::io::Result<()> {
        let mut buf = Vec::new();
        loop {
            let Some(request) = read_request(&mut socket, &mut buf).await? else { return Ok(()) };
            let reply = {
                let mut state = self.state.lock().unwrap();
                state.requests.push(request.clone());
                match state.replies.get_mut(&request.path) {
                    Some(queue) if queue.len() > 1 => queue.pop_front(),
                    Some(queue) => queue.front().cloned(),
                    None => None,
                }
            };
            let reply = reply.unwrap_or_else(|| {
                Reply::error(404, "invalid_request_error", None, &format!("Unknown request URL: {}", request.path))
            });
            let keep_alive = match reply {
                Reply::Full { status, content_type, headers, body } => {
                    let mut head = vec![
                        ("Content-Type".to_owned(), content_type),
                        ("Content-Length".to_owned(), body.len().to_string()),
                    ];
                    head.extend(headers);
                    write_head(&mut socket, status, &head).await?;
                    socket.write_all(body.as_bytes()).await?;
                    socket.flush().await?;
                    true
                }
                Reply::Hang => {
                    wait_for_hangup(&mut socket).await;
                    self.hangups.send_modify(|h| *h += 1);
                    false
                }
                Reply::Stream(script) => {
                    let model = request.body.get("model").and_then(Value::as_str).unwrap_or("fake").to_owned();
                    let (mut rd, mut wr) = socket.split();
                    let streamed = tokio::select! {
                        _ = wait_for_hangup(&mut rd) => None,
                        r = stream(&mut wr, &script, &model) => Some(r),
                    };
                    match streamed {
                        None => {
                            self.hangups.send_modify(|h| *h += 1);
                            false
                        }
                        Some(Err(_)) => {
                            // A write failed: the client is gone.
                            self.hangups.send_modify(|h| *h += 1);
                            false
                        }
                        Some(Ok(())) => script.end == End::Clean,
                    }
                }
            };
            if !keep_alive {
                return Ok(());
            }
        }
    }
}

async fn stream<W: AsyncWriteExt + Unpin>(wr: &mut W, script: &Script, model: &str) -> std::io::Result<()> {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-cache\r\n\
                Transfer-Encoding: chunked\r\n\r\n";
    wr.write_all(head.as_bytes()).await?;
    wr.flush().await?;
    for piece in script.writes(model) {
        if !script.delay.is_zero() {
            tokio::time::sleep(script.delay).await;
        }
        write_chunk(wr, &piece).await?;
    }
    match script.end {
        End::Clean => {
            wr.write_all(b"0\r\n\r\n").await?;
            wr.flush().await
        }
        End::Abort => {
            // Half a chunk, then the connection closes.
            wr.write_all(b"40\r\ndata: {\"choices\"").await?;
            wr.flush().await
        }
        End::Forever => loop {
            tokio::time::sleep(script.delay.max(Duration::from_millis(5))).await;
            let choice = script.delta_choice(".");
            write_chunk(wr, format!("data: {}\n\n", script.chunk(model, choice, Value::Null)).as_bytes()).await?;
        },
        End::Stall => std::future::pending().await,
    }
}

async fn write_chunk<W: AsyncWriteExt + Unpin>(wr: &mut W, piece: &[u8]) -> std::io::Result<()> {
    wr.write_all(format!("{:x}\r\n", piece.len()).as_bytes()).await?;
    wr.write_all(piece).await?;
    wr.write_all(b"\r\n").await?;
    wr.flush().await
}

/// Resolves when the peer closes its side (or resets the connection).
async fn wait_for_hangup<R: AsyncRead + Unpin>(rd: &mut R) {
    let mut scratch = [0u8; 1024];
    loop {
        match rd.read(&mut scratch).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

async fn write_head(socket: &mut TcpStream, status: u16, headers: &[(String, String)]) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        _ => "Whatever",
    };
    let mut head = format!("HTTP/1.1 {status} {reason}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    socket.write_all(head.as_bytes()).await
}

/// Reads one request (head and `Content-Length` body); `None` when the client closes between requests.
/// `buf` carries bytes read past the end of one request to the next.
async fn read_request(socket: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<Option<Recorded>> {
    let mut scratch = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = socket.read(&mut scratch).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&scratch[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split_whitespace();
    let method = first.next().unwrap_or_default().to_owned();
    let target = first.next().unwrap_or("/").to_owned();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target, None),
    };
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    while buf.len() < head_end + len {
        let n = socket.read(&mut scratch).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&scratch[..n]);
    }
    let body = serde_json::from_slice(&buf[head_end..head_end + len]).unwrap_or(Value::Null);
    buf.drain(..head_end + len);
    Ok(Some(Recorded { method, path, query, headers, body }))
}
