//! Bearer-token authentication, compared in constant time.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kv_core::Secret;
use subtle::ConstantTimeEq;

use super::error::ApiError;

/// The accepted tokens. Empty means authentication is off.
#[derive(Debug, Clone, Default)]
pub struct Tokens(Arc<Vec<Secret>>);

impl Tokens {
    /// Accepts these tokens.
    pub fn new(tokens: Vec<Secret>) -> Self {
        Self(Arc::new(tokens))
    }

    /// Whether any token is configured.
    pub fn enabled(&self) -> bool {
        !self.0.is_empty()
    }

    /// Whether `presented` equals one of the tokens. Every token is compared, each in constant
    /// time, so the answer's timing does not tell which (or how much of one) matched.
    pub fn accepts(&self, presented: &str) -> bool {
        let mut ok = subtle::Choice::from(0);
        for token in self.0.iter() {
            ok |= token.expose().as_bytes().ct_eq(presented.as_bytes());
        }
        ok.into()
    }
}

/// Middleware: `Authorization: Bearer <token>` must carry an accepted token.
pub async fn require_bearer(
    State(tokens): State<Tokens>,
    request: Request,
    next: Next,
) -> Response {
    if !tokens.enabled() {
        return next.run(request).await;
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        });
    match presented {
        None => ApiError::unauthorized("missing bearer token").into_response(),
        Some(token) if tokens.accepts(token.trim()) => next.run(request).await,
        Some(_) => ApiError::unauthorized("invalid bearer token").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_configured_tokens_are_accepted() {
        let tokens = Tokens::new(vec![Secret::new("alpha"), Secret::new("beta")]);
        assert!(tokens.accepts("alpha") && tokens.accepts("beta"));
        assert!(!tokens.accepts("alph") && !tokens.accepts("alphaa") && !tokens.accepts(""));
        assert!(!Tokens::default().enabled());
    }
}
