//! What each accepted connection is set up with, so that a client that stops reading a stream costs the server a
//! bounded buffer and soon stops its request from being stepped.
//!
//! Between a token and a client that does not read sit three buffers: the request's channel in the core (256
//! items), hyper's write buffer, and the kernel's send buffer. The kernel's grows by itself to 4 MB on Linux
//! (16,000 tokens of SSE), so the engine would learn of the stall only that much later. `TCP_NOTSENT_LOWAT`
//! bounds only the data not yet sent (what piles up for a client that stopped reading), not what is in flight,
//! so fast transfers over long links keep their full window.

use std::future::{Ready, ready};
use std::io;

use axum_server::accept::Accept;
use tokio::net::TcpStream;

/// Bytes not yet sent that the kernel holds for one connection (`TCP_NOTSENT_LOWAT`).
pub const UNSENT_LIMIT: u32 = 16 << 10;

/// The most hyper buffers for one connection (`max_buf_size`; its default is about 400 KB). It also bounds the
/// head of a request.
pub const HYPER_BUFFER: usize = 32 << 10;

/// An acceptor (plain, or inside the TLS one) that bounds the unsent data of each connection and sends small
/// writes (a token's event) at once (`TCP_NODELAY`).
#[derive(Clone, Copy, Debug, Default)]
pub struct BoundedSend;

impl<S> Accept<TcpStream, S> for BoundedSend {
    type Stream = TcpStream;
    type Service = S;
    type Future = Ready<io::Result<(TcpStream, S)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        ready(configure(&stream).map(|()| (stream, service)))
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
        let (stream, ()) = BoundedSend.accept(accepted, ()).await.unwrap();
        assert!(stream.nodelay().unwrap());
        #[cfg(target_os = "linux")]
        assert_eq!(socket2::SockRef::from(&stream).tcp_notsent_lowat().unwrap(), UNSENT_LIMIT);
    }
}
