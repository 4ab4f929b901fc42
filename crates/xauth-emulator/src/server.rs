//! The accept loop. Hand-written (instead of `axum::serve`) so that a handler can drop
//! its own connection, which is what the `close` fault does.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::Service as _;

use crate::EmulatorConfig;

/// Lets a handler drop the connection its request came on.
#[derive(Clone)]
pub(crate) struct CloseConnection(Arc<Notify>);

impl CloseConnection {
    /// Drops the connection; the caller's future is dropped with it, so this never
    /// returns.
    pub async fn close<T>(&self) -> T {
        self.0.notify_one();
        std::future::pending().await
    }
}

/// Serves the emulator on `listener` until the future is dropped.
///
/// Each connection runs on its own task (HTTP/1.1, keep-alive). Errors accepting one
/// connection are logged and do not stop the loop.
pub async fn serve(config: EmulatorConfig, listener: TcpListener) -> std::io::Result<()> {
    let app = crate::router(config);
    loop {
        let (stream, _peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                eprintln!("xauth-emulator: accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let app = app.clone();
        tokio::spawn(async move {
            let notify = Arc::new(Notify::new());
            let handle = CloseConnection(notify.clone());
            let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(handle.clone());
                app.clone().call(request)
            });
            let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                () = notify.notified() => {}
            }
        });
    }
}
