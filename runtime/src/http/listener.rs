//! The listening socket, with a read timeout on every connection.
//!
//! A client that opens a connection and then sends nothing (or half a request head) would
//! otherwise hold a file handle forever; enough of them and the server cannot accept anyone.
//! Each connection gets a read timeout: when no byte arrives for [`READ_TIMEOUT`], the
//! connection is closed. An idle keep-alive connection is closed the same way, which
//! clients handle by reconnecting.

use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_io_timeout::TimeoutStream;

/// How long a connection may stay silent while the server waits to read from it.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A TCP listener whose connections time out when silent.
pub struct TimeoutListener {
    inner: TcpListener,
    read_timeout: Duration,
}

impl TimeoutListener {
    pub fn new(inner: TcpListener, read_timeout: Duration) -> Self {
        Self {
            inner,
            read_timeout,
        }
    }
}

impl axum::serve::Listener for TimeoutListener {
    type Io = Pin<Box<TimeoutStream<TcpStream>>>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, address) = axum::serve::Listener::accept(&mut self.inner).await;
        let mut stream = TimeoutStream::new(stream);
        stream.set_read_timeout(Some(self.read_timeout));
        (Box::pin(stream), address)
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}
