//! In-process connections between the servers of one process (`aftercare up`): a call from
//! the gateway to a service, or from one service to another, travels over an in-memory
//! duplex stream instead of the kernel's loopback TCP stack. Everything above the byte
//! stream is the same as over the network: HTTP/2, the server's layers (request ids,
//! trace context, metrics, the concurrency limit, the timeout), the signed principal and
//! the caller's deadline (`grpc-timeout`). `aftercare serve` does not use it; the external
//! ports of `aftercare up` still serve real gRPC and REST.
//!
//! A [`LocalNetwork`] maps the authorities a server is reached by (`127.0.0.1:50061`) to its
//! [`LocalListener`]; a connector handed the network dials a registered authority in
//! memory and any other over TCP.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::Stream;
use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::io::DuplexStream;
use tokio::sync::mpsc;
use tower::Service;

/// Bytes buffered in each direction of an in-process connection (HTTP/2's default window
/// is 64 KiB; a larger buffer lets a whole window be written without waiting for the peer).
const BUFFER_BYTES: usize = 256 * 1024;

type Senders = HashMap<String, mpsc::UnboundedSender<DuplexStream>>;

/// The in-process servers of one process, by the authorities they are reached at.
#[derive(Debug, Clone, Default)]
pub struct LocalNetwork {
    listeners: Arc<Mutex<Senders>>,
}

/// The connections made in memory to one server.
#[derive(Debug)]
pub struct LocalListener {
    connections: mpsc::UnboundedReceiver<DuplexStream>,
}

impl LocalListener {
    /// The connections as they are made, for `serve_with_incoming`.
    pub fn incoming(self) -> impl Stream<Item = io::Result<DuplexStream>> + Send + 'static {
        futures::stream::unfold(self.connections, |mut connections| async move {
            let connection = connections.recv().await?;
            Some((Ok(connection), connections))
        })
    }
}

impl LocalNetwork {
    /// A network with no server yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a server reached at each of `authorities` (`host:port`, as in a URI);
    /// a later registration of the same authority replaces this one.
    pub fn listen<I, S>(&self, authorities: I) -> LocalListener
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let (sender, connections) = mpsc::unbounded_channel();
        let mut listeners = self.lock();
        for authority in authorities {
            listeners.insert(authority.into(), sender.clone());
        }
        LocalListener { connections }
    }

    /// Whether a server in this process is reached at `authority`.
    pub fn serves(&self, authority: &str) -> bool {
        self.lock()
            .get(authority)
            .is_some_and(|sender| !sender.is_closed())
    }

    /// Whether the server at `uri`'s authority is in this process.
    pub fn serves_uri(&self, uri: &str) -> bool {
        authority(uri).is_some_and(|authority| self.serves(&authority))
    }

    /// A new in-memory connection to the server at `authority`: `ConnectionRefused` when
    /// there is none (or it has stopped).
    pub fn connect(&self, authority: &str) -> io::Result<DuplexStream> {
        let refused = || {
            io::Error::new(
                io::ErrorKind::ConnectionRefused,
                format!("no in-process server at {authority}"),
            )
        };
        let sender = self.lock().get(authority).cloned().ok_or_else(refused)?;
        let (client, server) = tokio::io::duplex(BUFFER_BYTES);
        sender.send(server).map_err(|_| refused())?;
        Ok(client)
    }

    /// A connector for tonic's `Endpoint::connect_with_connector_lazy` that dials the
    /// URI's authority in memory (refused when it is not in this process).
    pub fn connector(
        &self,
    ) -> impl Service<
        Uri,
        Response = TokioIo<DuplexStream>,
        Error = io::Error,
        Future = std::future::Ready<io::Result<TokioIo<DuplexStream>>>,
    > + Clone
    + Send
    + 'static {
        let network = self.clone();
        tower::service_fn(move |uri: Uri| {
            std::future::ready(network.connect_to(&uri).map(TokioIo::new))
        })
    }

    fn connect_to(&self, uri: &Uri) -> io::Result<DuplexStream> {
        match uri.authority() {
            Some(authority) => self.connect(authority.as_str()),
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{uri} has no authority"),
            )),
        }
    }

    /// A connector that dials an authority of this process in memory and any other with
    /// `remote` (for a hyper client).
    pub fn or_remote<C>(&self, remote: C) -> LocalOrRemote<C> {
        LocalOrRemote {
            network: self.clone(),
            remote,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Senders> {
        self.listeners.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The authority (`host:port`) of a URI, if it has one.
pub fn authority(uri: &str) -> Option<String> {
    let uri: Uri = uri.parse().ok()?;
    uri.authority()
        .map(|authority| authority.as_str().to_owned())
}

/// A connector that dials the servers of this process in memory and others with `C`.
#[derive(Debug, Clone)]
pub struct LocalOrRemote<C> {
    network: LocalNetwork,
    remote: C,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<C> Service<Uri> for LocalOrRemote<C>
where
    C: Service<Uri> + Clone + Send + 'static,
    C::Response: Send + 'static,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = MaybeLocal<C::Response>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.remote.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let local = uri
            .authority()
            .map(|authority| authority.as_str())
            .filter(|authority| self.network.serves(authority));
        if let Some(authority) = local {
            let connected = self
                .network
                .connect(authority)
                .map(|stream| MaybeLocal::Local(TokioIo::new(stream)))
                .map_err(Into::into);
            return Box::pin(std::future::ready(connected));
        }
        let remote = self.remote.call(uri);
        Box::pin(async move { remote.await.map(MaybeLocal::Remote).map_err(Into::into) })
    }
}

/// A connection made by [`LocalOrRemote`]: in memory, or by the remote connector.
#[derive(Debug)]
pub enum MaybeLocal<T> {
    /// In memory, to a server of this process.
    Local(TokioIo<DuplexStream>),
    /// Over the network.
    Remote(T),
}

impl<T: Connection> Connection for MaybeLocal<T> {
    fn connected(&self) -> Connected {
        match self {
            Self::Local(_) => Connected::new(),
            Self::Remote(remote) => remote.connected(),
        }
    }
}

impl<T: hyper::rt::Read + Unpin> hyper::rt::Read for MaybeLocal<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Local(local) => Pin::new(local).poll_read(cx, buf),
            Self::Remote(remote) => Pin::new(remote).poll_read(cx, buf),
        }
    }
}

impl<T: hyper::rt::Write + Unpin> hyper::rt::Write for MaybeLocal<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Local(local) => Pin::new(local).poll_write(cx, buf),
            Self::Remote(remote) => Pin::new(remote).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Local(local) => Pin::new(local).poll_flush(cx),
            Self::Remote(remote) => Pin::new(remote).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Local(local) => Pin::new(local).poll_shutdown(cx),
            Self::Remote(remote) => Pin::new(remote).poll_shutdown(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Local(local) => local.is_write_vectored(),
            Self::Remote(remote) => remote.is_write_vectored(),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Local(local) => Pin::new(local).poll_write_vectored(cx, bufs),
            Self::Remote(remote) => Pin::new(remote).poll_write_vectored(cx, bufs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    #[tokio::test]
    async fn a_registered_authority_connects_in_memory_and_another_is_refused() {
        let network = LocalNetwork::new();
        let listener = network.listen(["127.0.0.1:50061", "tickets:50061"]);
        assert!(network.serves("tickets:50061"));
        assert!(network.serves_uri("http://127.0.0.1:50061"));
        assert!(!network.serves_uri("http://127.0.0.1:50062"));
        let refused = network.connect("127.0.0.1:50062").unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);

        let mut client = network.connect("tickets:50061").unwrap();
        let mut incoming = Box::pin(listener.incoming());
        let mut server = futures::StreamExt::next(&mut incoming)
            .await
            .unwrap()
            .unwrap();
        client.write_all(b"ping").await.unwrap();
        let mut got = [0u8; 4];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");

        drop(incoming);
        assert!(!network.serves("tickets:50061"), "a stopped server");
        assert!(network.connect("tickets:50061").is_err());
    }
}
