//! Traces: a server span per HTTP request and, inside it, the `kv` span of each database call
//! ([`kv_core::Instrumented`]), exported over OTLP/HTTP when `telemetry.otlp.endpoint` is set
//! (see [`crate::config::OtlpConfig`]). Spans name routes, never partitions, keys or values.

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use tracing::Instrument as _;

/// The route template of `path`: what a request span is named after (`/v1/p/{partition}/k/{key}`),
/// so that no partition or key appears in a trace.
pub fn route_of(path: &str) -> &'static str {
    let Some(rest) = path.strip_prefix("/v1/p/") else {
        return match path {
            "/v1/export" => "/v1/export",
            "/healthz" => "/healthz",
            "/readyz" => "/readyz",
            "/metrics" => "/metrics",
            "/openapi.json" => "/openapi.json",
            _ => "(unknown route)",
        };
    };
    let segments: Vec<&str> = rest.split('/').collect();
    match segments.as_slice() {
        [_] => "/v1/p/{partition}",
        [_, "k"] => "/v1/p/{partition}/k",
        [_, "k", _] => "/v1/p/{partition}/k/{key}",
        [_, "batch"] => "/v1/p/{partition}/batch",
        [_, "get"] => "/v1/p/{partition}/get",
        [_, "count"] => "/v1/p/{partition}/count",
        _ => "(unknown route)",
    }
}

/// `router` with a server span around every request (added only when traces are exported:
/// the span costs nothing otherwise, but nor does it serve anyone).
pub fn traced(router: Router) -> Router {
    router.layer(middleware::from_fn(request_span))
}

async fn request_span(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = route_of(request.uri().path());
    let span = tracing::info_span!(
        "request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = route,
        http.response.status_code = tracing::field::Empty,
    );
    #[cfg(feature = "otlp")]
    otlp::continue_trace(&span, request.headers());
    let response = next.run(request).instrument(span.clone()).await;
    span.record("http.response.status_code", response.status().as_u16());
    response
}

/// A `tracing` layer over every span.
pub type BoxLayer = Box<dyn tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync>;

/// The trace exporter of a running server; [`Traces::shutdown`] flushes what is left.
#[derive(Debug, Default)]
pub struct Traces {
    #[cfg(feature = "otlp")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Traces {
    /// Whether spans are exported (and requests should get spans).
    pub fn enabled(&self) -> bool {
        #[cfg(feature = "otlp")]
        return self.provider.is_some();
        #[cfg(not(feature = "otlp"))]
        false
    }

    /// Sends the spans not yet exported and stops the exporter.
    pub fn shutdown(self) {
        #[cfg(feature = "otlp")]
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown()
        {
            tracing::warn!(error = %e, "the last traces could not be exported");
        }
    }
}

/// Starts the exporter `config` asks for: the layer to add to the subscriber (none when export
/// is off) and its handle. A build without the `otlp` feature refuses an endpoint in
/// [`crate::config::Config::validate`].
pub fn start(config: &crate::config::OtlpConfig) -> kv_core::Result<(Option<BoxLayer>, Traces)> {
    #[cfg(feature = "otlp")]
    if let Some((layer, provider)) = otlp::exporter(config)? {
        return Ok((
            Some(layer),
            Traces {
                provider: Some(provider),
            },
        ));
    }
    let _ = config;
    Ok((None, Traces::default()))
}

#[cfg(feature = "otlp")]
mod otlp {
    use kv_core::{Error, Result};
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{Protocol, WithExportConfig as _};
    use opentelemetry_sdk::Resource;
    use opentelemetry_sdk::propagation::TraceContextPropagator;
    use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::Targets;

    use crate::config::{OtlpConfig, OtlpProtocol};

    /// The exporter `config` describes (its layer and provider), or `None` when export is
    /// off. Spans leave in batches, from the SDK's own thread.
    pub(super) fn exporter(
        config: &OtlpConfig,
    ) -> Result<Option<(super::BoxLayer, SdkTracerProvider)>> {
        let Some(endpoint) = config.enabled_endpoint() else {
            return Ok(None);
        };
        let protocol = match config.protocol {
            OtlpProtocol::HttpProtobuf => Protocol::HttpBinary,
            OtlpProtocol::HttpJson => Protocol::HttpJson,
        };
        let spans = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(protocol)
            .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
            .build()
            .map_err(|e| Error::Config {
                key: "telemetry.otlp.endpoint".into(),
                message: "cannot build the OTLP exporter".into(),
                source: Some(Box::new(e)),
            })?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(spans)
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                config.sample_ratio,
            ))))
            .with_resource(
                Resource::builder()
                    .with_service_name(config.service_name.clone())
                    .build(),
            )
            .build();
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        // Request spans (info) and the database calls inside them (kv_core's debug `kv` spans);
        // what the log filter prints is its own business.
        let only = Targets::new()
            .with_target("metakv", tracing::Level::INFO)
            .with_target("kv_core", tracing::Level::DEBUG);
        let layer = tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("metakv"))
            .with_filter(only)
            .boxed();
        Ok(Some((layer, provider)))
    }

    /// Makes `span` a child of the caller's W3C `traceparent`, when the request has one.
    pub(super) fn continue_trace(span: &tracing::Span, headers: &axum::http::HeaderMap) {
        let parent = opentelemetry::global::get_text_map_propagator(|p| {
            p.extract(&opentelemetry_http::HeaderExtractor(headers))
        });
        // Without an exporter there is no OpenTelemetry layer, and nothing to attach to.
        let _ = span.set_parent(parent);
    }
}

#[cfg(test)]
mod tests {
    use super::route_of;

    #[test]
    fn routes_name_no_partition_or_key() {
        assert_eq!(route_of("/v1/p/secret/k/key"), "/v1/p/{partition}/k/{key}");
        assert_eq!(route_of("/v1/p/secret/k"), "/v1/p/{partition}/k");
        assert_eq!(route_of("/v1/p/secret"), "/v1/p/{partition}");
        assert_eq!(route_of("/v1/p/secret/get"), "/v1/p/{partition}/get");
        assert_eq!(route_of("/v1/p/secret/x/y/z"), "(unknown route)");
        assert_eq!(route_of("/readyz"), "/readyz");
        assert_eq!(route_of("/secret"), "(unknown route)");
    }
}
