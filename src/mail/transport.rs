//! The SMTP transport for `smtp_url`: pooled, bounded by a timeout, with the
//! extra CAs of `smtp_ca_file` for a private relay.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, Tokio1Executor};

use super::outbox::CONCURRENT_SENDS;
use crate::config::SmtpSettings;

/// A pooled transport; `timeout` bounds the connection and every command.
pub fn smtp_transport(
    smtp: &SmtpSettings,
    timeout: Duration,
    ca_file: Option<&Path>,
) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    if smtp.plain {
        tracing::warn!(host = %smtp.host, "mail is sent over plain SMTP, without TLS");
    }
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp.lettre_url())
        .map_err(|e| anyhow::anyhow!("invalid configuration: `smtp_url`: {e}"))?
        .timeout(Some(timeout))
        .pool_config(PoolConfig::new().max_size(CONCURRENT_SENDS as u32));
    if let (Some(ca_file), false) = (ca_file, smtp.plain) {
        let params = tls_trusting(&smtp.host, ca_file).context("invalid configuration: `smtp_ca_file`")?;
        builder = builder.tls(if smtp.implicit_tls() { Tls::Wrapper(params) } else { Tls::Required(params) });
    }
    Ok(builder.build())
}

/// TLS that trusts the usual web roots and every certificate in `ca_file`.
fn tls_trusting(host: &str, ca_file: &Path) -> anyhow::Result<TlsParameters> {
    let pem = std::fs::read(ca_file).with_context(|| format!("{} cannot be read", ca_file.display()))?;
    anyhow::ensure!(
        String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----"),
        "{} holds no PEM certificate",
        ca_file.display()
    );
    // One `Certificate` carries every certificate of a bundle.
    let params = TlsParameters::builder(host.to_owned()).add_root_certificate(Certificate::from_pem(&pem)?);
    Ok(params.build_rustls()?)
}
