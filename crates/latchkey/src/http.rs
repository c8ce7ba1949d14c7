//! The HTTP accept loop: what `axum::serve` does, plus the limit it lacks.
//! `axum::serve` gives hyper no timer, so hyper's header read timeout never
//! fires and a client that sends its headers a byte at a time (slowloris)
//! holds a connection open for ever. Here every connection must deliver its
//! request headers within `header_timeout`, and shutdown drains the open
//! connections for at most `drain` before giving up on them. With TLS
//! (`tls.rs`) the handshake must also finish within `header_timeout`, and
//! the connection speaks HTTP/2 or HTTP/1.1 as ALPN decided.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder as AutoBuilder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::Layer;

/// Limits of the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time a connection has to send a request's headers (also between
    /// requests on a kept-alive connection).
    pub header_timeout: Duration,
    /// How long shutdown waits for requests in flight.
    pub drain: Duration,
}

/// Serves `router` on `listener` until `shutdown` completes; over TLS when
/// `tls` is given.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let tls = tls.map(tokio_rustls::TlsAcceptor::from);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // The peer address wraps the router as one service: `Router::layer`
        // would rebuild every route for each connection (about 0.8 MiB,
        // which a burst of connections left behind as heap fragments).
        let service =
            TowerToHyperService::new(axum::Extension(ConnectInfo::<SocketAddr>(remote)).layer(router.clone()));
        if let Some(acceptor) = &tls {
            let (acceptor, watcher) = (acceptor.clone(), graceful.watcher());
            let header_timeout = limits.header_timeout;
            tokio::spawn(async move {
                let stream = match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => return tracing::debug!(error = %e, %remote, "TLS handshake failed"),
                    Err(_) => return tracing::debug!(%remote, "TLS handshake timed out"),
                };
                let mut auto = AutoBuilder::new(TokioExecutor::new());
                auto.http1().timer(TokioTimer::new()).header_read_timeout(header_timeout);
                auto.http2().timer(TokioTimer::new()).keep_alive_interval(None);
                let connection = auto.serve_connection(TokioIo::new(stream), service);
                if let Err(e) = watcher.watch(connection).await {
                    tracing::debug!(error = %e, %remote, "connection ended with an error");
                }
            });
            continue;
        }
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let watched = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = watched.await {
                tracing::debug!(error = %e, %remote, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain, graceful.shutdown()).await.is_err() {
        tracing::warn!("shutting down with requests still in flight");
    }
}
