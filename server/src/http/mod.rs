//! The HTTP API (axum): routes, authentication, limits, graceful shutdown.

mod auth;
mod error;
mod guard;
mod handlers;
/// Percent-encoding of path segments (from `metakv-client`).
pub use metakv_client::path;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::get;
use kv_core::{Error, KvStore, Result};
use metrics_exporter_prometheus::PrometheusHandle;

pub use auth::Tokens;
pub use error::{ApiError, ErrorBody, ErrorDetail};

use crate::config::ServerConfig;

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    /// The store served.
    pub store: Arc<dyn KvStore>,
    /// The Prometheus recorder's handle, when metrics are on.
    pub metrics: Option<PrometheusHandle>,
    /// How long `/readyz` waits for the backend before it answers 503.
    pub readiness_timeout: Duration,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .field("metrics", &self.metrics.is_some())
            .field("readiness_timeout", &self.readiness_timeout)
            .finish()
    }
}

/// The API's routes over `store`. `/healthz` and `/readyz` are open; every other route requires
/// one of `tokens` when any is configured.
pub fn router(
    store: Arc<dyn KvStore>,
    metrics: Option<PrometheusHandle>,
    tokens: Tokens,
    config: &ServerConfig,
) -> Router {
    let state = AppState {
        store,
        metrics,
        readiness_timeout: Duration::from_millis(config.readiness_timeout_ms),
    };
    let protected = Router::new()
        // One wildcard route: partitions and keys are parsed from the raw path (see
        // `handlers::target`), since any byte may appear in them.
        .route(
            "/v1/p/{*rest}",
            get(handlers::on_get)
                .put(handlers::on_put)
                .delete(handlers::on_delete)
                .post(handlers::on_post),
        )
        .route("/v1/export", get(handlers::export))
        .route("/metrics", get(handlers::metrics))
        .route("/openapi.json", get(handlers::openapi))
        .route_layer(middleware::from_fn_with_state(tokens, auth::require_bearer));
    Router::new()
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .merge(protected)
        .fallback(handlers::fallback)
        .layer(DefaultBodyLimit::max(config.body_limit_bytes))
        .layer(middleware::from_fn_with_state(
            Duration::from_secs(config.request_timeout_secs),
            guard::deadline,
        ))
        .layer(middleware::from_fn(guard::json_errors))
        .layer(middleware::from_fn_with_state(
            config.body_limit_bytes,
            guard::refuse_oversized,
        ))
        .with_state(state)
}

/// Serves `router` on `listener` (TLS when configured) until `shutdown` completes, then lets
/// in-flight requests finish for up to `shutdown_grace_secs`.
pub async fn serve(
    listener: std::net::TcpListener,
    router: Router,
    config: &ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let io = |what: &str, e: std::io::Error| Error::unavailable(format!("server {what} failed"), e);
    let handle = axum_server::Handle::<SocketAddr>::new();
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let on_shutdown = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: finishing in-flight requests");
        on_shutdown.graceful_shutdown(Some(grace));
    });
    listener
        .set_nonblocking(true)
        .map_err(|e| io("listen", e))?;
    let app = router.into_make_service();
    let limit = guard::ConnectionLimit::new(
        axum_server::accept::DefaultAcceptor::new(),
        config.max_connections,
    );
    let mut server = axum_server::from_tcp(listener).map_err(|e| io("listen", e))?;
    // Slow or idle clients: the request head must arrive within the header timeout (which
    // also ends a kept-alive connection that idles that long).
    server
        .http_builder()
        .http1()
        .header_read_timeout(Duration::from_millis(config.header_read_timeout_ms));
    match &config.tls {
        None => server
            .acceptor(limit)
            .handle(handle)
            .serve(app)
            .await
            .map_err(|e| io("serve", e)),
        Some(tls) => {
            let rustls =
                axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert_file, &tls.key_file)
                    .await
                    .map_err(|e| Error::Config {
                        key: "server.tls".into(),
                        message: format!(
                            "cannot load the certificate {} and key {}",
                            tls.cert_file.display(),
                            tls.key_file.display()
                        ),
                        source: Some(Box::new(e)),
                    })?;
            server
                .acceptor(axum_server::tls_rustls::RustlsAcceptor::new(rustls).acceptor(limit))
                .handle(handle)
                .serve(app)
                .await
                .map_err(|e| io("serve", e))
        }
    }
}
