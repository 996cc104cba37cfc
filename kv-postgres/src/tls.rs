//! TLS to PostgreSQL with rustls: the system's trusted roots plus an optional CA file.

use kv_core::{Error, Result};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::PostgresConfig;

/// The connector every pooled connection uses (it negotiates TLS only when `ssl_mode` asks).
pub(crate) fn connector(config: &PostgresConfig) -> Result<MakeRustlsConnect> {
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable system certificates are skipped: a private CA may be all that is needed.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(file) = &config.tls_ca_file {
        let certs = CertificateDer::pem_file_iter(file)
            .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
            .map_err(|e| Error::Config {
                key: "database.postgres.tls_ca_file".into(),
                message: format!("cannot read PEM certificates from {}", file.display()),
                source: Some(Box::new(e)),
            })?;
        for cert in certs {
            roots.add(cert).map_err(|e| Error::Config {
                key: "database.postgres.tls_ca_file".into(),
                message: format!("invalid CA certificate in {}", file.display()),
                source: Some(Box::new(e)),
            })?;
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::backend("cannot configure TLS", e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(tls))
}
