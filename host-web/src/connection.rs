//! What each accepted connection is set up with, so that a client that stops reading a stream costs the server a
//! bounded buffer and soon stops its request from being stepped.
//!
//! Between a token and a client that does not read sit three buffers: the request's channel in the core (256
//! items), hyper's write buffer, and the kernel's send buffer. The kernel's grows by itself to 4 MB on Linux
//! (16,000 tokens of SSE), so the engine would learn of the stall only that much later. `TCP_NOTSENT_LOWAT`
//! bounds only the data not yet sent (what piles up for a client that stopped reading), not what is in flight,
//! so fast transfers over long links keep their full window.

use std::collections::HashMap;
use std::future::{Ready, ready};
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Bytes not yet sent that the kernel holds for one connection (`TCP_NOTSENT_LOWAT`).
pub const UNSENT_LIMIT: u32 = 16 << 10;

/// The most hyper buffers for one connection (`max_buf_size`; its default is about 400 KB). It also bounds the
/// head of a request.
pub const HYPER_BUFFER: usize = 32 << 10;

/// How many connections may be open at once, per client address and in all. One client that opens connections
/// and feeds them slowly must not take every descriptor the process has.
#[derive(Debug)]
pub struct Admission {
    per_address: usize,
    total: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    /// Whether the total's refusal was logged since the server was last under it (a flood logs one line).
    total_warned: bool,
    /// Per address key: its open connections, and whether its refusal was logged since it last had none.
    by_address: HashMap<IpAddr, (usize, bool)>,
}

impl Admission {
    pub fn new(per_address: usize, total: usize) -> Arc<Admission> {
        Arc::new(Admission { per_address: per_address.max(1), total: total.max(1), open: Mutex::default() })
    }

    /// A slot for a connection from `peer`, or `None` when its address (or the server) has all it may have.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Option<Slot> {
        let key = address_key(peer);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.total >= self.total {
            let first = !open.total_warned;
            open.total_warned = true;
            drop(open);
            if first {
                tracing::warn!(
                    limit = self.total,
                    "connections refused: the server has its most connections open (JAN_MAX_CONNECTIONS); logged \
                     once until it is under the limit again"
                );
            }
            return None;
        }
        let entry = open.by_address.entry(key).or_insert((0, false));
        if entry.0 >= self.per_address {
            let first = !entry.1;
            entry.1 = true;
            drop(open);
            if first {
                tracing::warn!(
                    client = %key,
                    limit = self.per_address,
                    "connections refused: this address has its most connections open (JAN_MAX_CONNECTIONS_PER_IP); \
                     logged once until it has none"
                );
            }
            return None;
        }
        entry.0 += 1;
        open.total += 1;
        Some(Slot { admission: self.clone(), key })
    }

    /// Connections open now (all, and from `peer`'s address).
    pub fn open(&self, peer: IpAddr) -> (usize, usize) {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        (open.total, open.by_address.get(&address_key(peer)).map_or(0, |e| e.0))
    }

    fn release(&self, key: IpAddr) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if open.total < self.total {
            open.total_warned = false;
        }
        if let Some(entry) = open.by_address.get_mut(&key) {
            entry.0 = entry.0.saturating_sub(1);
            if entry.0 == 0 {
                open.by_address.remove(&key);
            }
        }
    }
}

/// The key a client address is counted under: IPv4 as is, IPv6 by its /64 (what one host or home gets; counting
/// single addresses would give one client millions), an IPv4-mapped IPv6 address as its IPv4.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

/// One admitted connection's place; given back when the connection is dropped.
#[derive(Debug)]
pub struct Slot {
    admission: Arc<Admission>,
    key: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.admission.release(self.key);
    }
}

/// The acceptor of every connection (plain, or inside the TLS one): admission per address and in all, then the
/// socket options that bound each connection's unsent data and send small writes (a token's event) at once
/// (`TCP_NODELAY`). A connection over a limit is closed at once (no bytes read or written).
#[derive(Clone, Debug)]
pub struct Admit {
    pub admission: Arc<Admission>,
}

impl<S> Accept<TcpStream, S> for Admit {
    type Stream = AdmittedStream;
    type Service = S;
    type Future = Ready<io::Result<(AdmittedStream, S)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let admitted = stream.peer_addr().and_then(|peer| {
            let slot = self
                .admission
                .admit(peer.ip())
                .ok_or_else(|| io::Error::new(io::ErrorKind::ConnectionRefused, "over the connection limit"))?;
            configure(&stream)?;
            Ok(AdmittedStream { inner: stream, _slot: slot })
        });
        ready(admitted.map(|stream| (stream, service)))
    }
}

/// A TCP stream that holds its connection's [`Slot`] for as long as it lives.
#[derive(Debug)]
pub struct AdmittedStream {
    inner: TcpStream,
    _slot: Slot,
}

impl AsyncRead for AdmittedStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for AdmittedStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

fn configure(stream: &TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    socket2::SockRef::from(stream).set_tcp_notsent_lowat(UNSENT_LIMIT)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The options are on the socket as accepted.
    #[tokio::test]
    async fn accepted_connections_bound_their_unsent_data() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let ((accepted, _), _client) = tokio::join!(async { listener.accept().await.unwrap() }, client);
        let admit = Admit { admission: Admission::new(4, 4) };
        let (stream, ()) = admit.accept(accepted, ()).await.unwrap();
        assert!(stream.inner.nodelay().unwrap());
        #[cfg(target_os = "linux")]
        assert_eq!(socket2::SockRef::from(&stream.inner).tcp_notsent_lowat().unwrap(), UNSENT_LIMIT);
    }

    /// Per address: the limit's worth admitted, the next refused, a place freed by a closed connection taken
    /// again; other addresses unaffected; the total bounds them all.
    #[test]
    fn admission_counts_per_address_and_in_all() {
        let admission = Admission::new(2, 3);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = admission.admit(a).unwrap();
        let _second = admission.admit(a).unwrap();
        assert!(admission.admit(a).is_none(), "a third from the same address");
        let _other = admission.admit(b).unwrap();
        assert!(admission.admit("10.0.0.3".parse().unwrap()).is_none(), "the total is reached");
        drop(first);
        assert_eq!(admission.open(a), (2, 1));
        assert!(admission.admit(a).is_some(), "a closed connection's place is free again");
    }

    /// IPv6 addresses count by /64; an IPv4-mapped one as its IPv4.
    #[test]
    fn ipv6_addresses_count_by_their_64() {
        let admission = Admission::new(2, 100);
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let two: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        let _x = admission.admit(one).unwrap();
        let _y = admission.admit(two).unwrap();
        assert!(admission.admit("2001:db8:1:2:abcd::1".parse().unwrap()).is_none(), "the same /64");
        assert!(admission.admit(elsewhere).is_some(), "another /64");
        assert_eq!(address_key("::ffff:10.1.2.3".parse().unwrap()), "10.1.2.3".parse::<IpAddr>().unwrap());
    }

    /// Through the acceptor: a connection over the limit is refused, and each admitted stream holds its place
    /// until it is dropped.
    #[tokio::test]
    async fn the_acceptor_refuses_connections_over_the_limit() {
        let admit = Admit { admission: Admission::new(1, 10) };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accept_one = || async {
            let client = TcpStream::connect(addr);
            let ((accepted, _), client) = tokio::join!(async { listener.accept().await.unwrap() }, client);
            (admit.accept(accepted, ()).await, client.unwrap())
        };
        let (first, _c1) = accept_one().await;
        let (stream, ()) = first.unwrap();
        let (second, _c2) = accept_one().await;
        assert_eq!(second.unwrap_err().kind(), io::ErrorKind::ConnectionRefused);
        drop(stream);
        let (third, _c3) = accept_one().await;
        assert!(third.is_ok(), "admitted once the first closed");
    }
}
