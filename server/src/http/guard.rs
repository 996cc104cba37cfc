//! What keeps the server's answers well-formed and its waits bounded: request deadlines that
//! say whether a write may have applied, a refusal of oversized bodies before they are read, one
//! JSON error format for every error axum or tower produce, and a cap on open connections.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::ApiError;

/// Ends a request that takes longer than `timeout`. A read (`GET`, `HEAD`) answers 503
/// `unavailable`: nothing changed. A write answers 504 `outcome_unknown`: it may have been
/// applied by the database although no answer came in time, so a client must read before it
/// retries a conditional write.
pub async fn deadline(State(timeout): State<Duration>, request: Request, next: Next) -> Response {
    let read = matches!(*request.method(), Method::GET | Method::HEAD);
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) if read => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!(
                "the request did not finish within {} s (server.request_timeout_secs); nothing was changed",
                timeout.as_secs_f64()
            ),
        )
        .into_response(),
        Err(_) => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "outcome_unknown",
            format!(
                "the write did not finish within {} s (server.request_timeout_secs): it may or may not have been applied; read the key before retrying",
                timeout.as_secs_f64()
            ),
        )
        .into_response(),
    }
}

/// Refuses a request whose `Content-Length` is over `limit` at once, before its body is read
/// (so a client that sent `Expect: 100-continue` is never told to continue).
pub async fn refuse_oversized(
    State(limit): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(length) = declared
        && length > limit as u64
    {
        let mut response = too_large(length, limit).into_response();
        // The body was not read: the connection cannot be reused.
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        return response;
    }
    next.run(request).await
}

fn too_large(length: u64, limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!(
            "the request body of {length} bytes is over the limit of {limit} bytes (server.body_limit_bytes)"
        ),
    )
}

/// The documented code of an error status that axum or tower answered on their own.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PRECONDITION_FAILED => "condition_failed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::TOO_MANY_REQUESTS => "throttled",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        StatusCode::GATEWAY_TIMEOUT => "outcome_unknown",
        s if s.is_client_error() => "invalid_argument",
        _ => "internal",
    }
}

/// Makes every error answer the documented JSON error object: those that axum and tower write
/// themselves (405 with an empty body, 413 and 400 extractor rejections in plain text) are
/// rewritten, keeping their status and headers (`Allow` on 405) and their text as the message.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 << 10)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let message = match (status, text.is_empty()) {
        (StatusCode::METHOD_NOT_ALLOWED, _) => format!(
            "method not allowed here; allowed: {}",
            parts
                .headers
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("none")
        ),
        (_, false) => text,
        (_, true) => status.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    let json = ApiError::new(status, code_of(status), message).into_response();
    let (json_parts, json_body) = json.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        json_parts.headers[header::CONTENT_TYPE].clone(),
    );
    Response::from_parts(parts, Body::new(json_body))
}

/// An [`axum_server::accept::Accept`] that admits at most `max` open connections: one over
/// it is closed at once (the client sees the connection reset and can retry elsewhere), so
/// slow or idle clients cannot exhaust the process.
#[derive(Debug, Clone)]
pub struct ConnectionLimit<A> {
    inner: A,
    slots: Arc<Semaphore>,
    max: usize,
}

impl<A> ConnectionLimit<A> {
    /// `max` connections through `inner`.
    pub fn new(inner: A, max: usize) -> Self {
        Self {
            inner,
            slots: Arc::new(Semaphore::new(max)),
            max,
        }
    }
}

impl<I, S, A> axum_server::accept::Accept<I, S> for ConnectionLimit<A>
where
    A: axum_server::accept::Accept<Limited<I>, S> + Clone + Send + 'static,
    A::Future: Send,
    A::Stream: Send,
    A::Service: Send,
    I: Send + 'static,
    S: Send + 'static,
{
    type Stream = A::Stream;
    type Service = A::Service;
    type Future = Pin<Box<dyn Future<Output = io::Result<(A::Stream, A::Service)>> + Send>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() else {
            tracing::warn!(
                max = self.max,
                "refused a connection: server.max_connections are open"
            );
            metrics::counter!("metakv_http_connections_refused_total").increment(1);
            return Box::pin(std::future::ready(Err(io::Error::other(
                "too many connections",
            ))));
        };
        let inner = self.inner.clone();
        Box::pin(async move {
            inner
                .accept(
                    Limited {
                        inner: stream,
                        _permit: permit,
                    },
                    service,
                )
                .await
        })
    }
}

/// A connection holding one of [`ConnectionLimit`]'s slots until it is dropped.
#[derive(Debug)]
pub struct Limited<I> {
    inner: I,
    _permit: OwnedSemaphorePermit,
}

impl<I: AsyncRead + Unpin> AsyncRead for Limited<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Limited<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
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
