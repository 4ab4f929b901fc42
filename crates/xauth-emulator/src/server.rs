//! The accept loop. Hand-written (instead of `axum::serve`) so that a handler can drop
//! its own connection, which is what the `close` fault does.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::Service as _;

use crate::EmulatorConfig;

/// Lets a handler drop the connection its request came on, or hold back its answer's
/// body (the `slow_body` fault).
#[derive(Clone)]
pub(crate) struct CloseConnection {
    notify: Arc<Notify>,
    /// This request's answer sends its headers at once and its body this much later.
    slow_body: Arc<Mutex<Option<Duration>>>,
}

impl CloseConnection {
    /// Drops the connection; the caller's future is dropped with it, so this never
    /// returns.
    pub async fn close<T>(&self) -> T {
        self.notify.notify_one();
        std::future::pending().await
    }

    /// The answer to this request will send its body `delay` after its headers.
    pub fn delay_body(&self, delay: Duration) {
        *self
            .slow_body
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(delay);
    }
}

/// `response` with its headers now and its body `delay` later (no `Content-Length`, so
/// the body is chunked and can come late).
fn with_late_body(response: axum::response::Response, delay: Duration) -> axum::response::Response {
    let (mut parts, body) = response.into_parts();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let late = futures_util::stream::once(async move {
        let bytes = axum::body::to_bytes(body, usize::MAX).await;
        tokio::time::sleep(delay).await;
        bytes
    });
    axum::response::Response::from_parts(parts, axum::body::Body::from_stream(late))
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
            let connection_notify = notify.clone();
            let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                let handle = CloseConnection {
                    notify: connection_notify.clone(),
                    slow_body: Arc::default(),
                };
                request.extensions_mut().insert(handle.clone());
                let mut app = app.clone();
                async move {
                    let response = app.call(request).await?;
                    let delay = handle
                        .slow_body
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .take();
                    Ok::<_, std::convert::Infallible>(match delay {
                        Some(delay) => with_late_body(response, delay),
                        None => response,
                    })
                }
            });
            let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                () = notify.notified() => {}
            }
        });
    }
}
