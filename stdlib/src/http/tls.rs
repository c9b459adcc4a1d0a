//! The TLS probe: a handshake through a verifier that records the chain and
//! accepts it (signatures on the handshake are still checked), then the
//! chain judged against the roots and the host name, and the leaf described.

use super::request::{io_reason, timed_out};
use mlpol_lang::eval::FactError;
use mlpol_lang::value::{record, Value};
use reqwest::Url;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};

/// Records the chain the server sends and lets the handshake go on.
#[derive(Debug)]
struct Recorder {
    chain: Mutex<Vec<CertificateDer<'static>>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        *self.chain.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = chain;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Handshakes with the URL's host and port (443 by default) and describes
/// the certificate as a `Tls` record.
pub(super) async fn probe(roots: Arc<RootCertStore>, url: &Url, timeout: Duration) -> Result<Value, FactError> {
    let Some(raw_host) = url.host_str() else { return Err(FactError::new(format!("`{url}` has no host"))) };
    // An IPv6 literal comes bracketed.
    let host = raw_host.trim_start_matches('[').trim_end_matches(']').to_string();
    let port = url.port().unwrap_or(443);
    let subject =
        if url.port_or_known_default() == Some(port) { url.to_string() } else { format!("{url} (port {port})") };
    let fail = |reason: String| FactError::new(format!("TLS {subject}: {reason}"));
    let server_name =
        ServerName::try_from(host.clone()).map_err(|e| fail(format!("`{host}` is not a server name: {e}")))?;
    let provider = crate::net::ring_provider();
    let algorithms = provider.signature_verification_algorithms;
    let recorder = Arc::new(Recorder { chain: Mutex::new(Vec::new()), algorithms });
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(format!("TLS cannot be configured: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let handshake = async {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| io_reason(&e))?;
        let tls = connector.connect(server_name.to_owned(), tcp).await.map_err(|e| {
            let reason = io_reason(&e);
            if reason.starts_with("TLS handshake failed") {
                reason
            } else {
                format!("TLS handshake failed: {reason}")
            }
        })?;
        Ok::<_, String>(tls.get_ref().1.protocol_version())
    };
    let protocol = match tokio::time::timeout(timeout, handshake).await {
        Err(_) => return Err(fail(timed_out(timeout))),
        Ok(Err(reason)) => return Err(fail(reason)),
        Ok(Ok(version)) => match version {
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
            Some(other) => format!("{other:?}"),
            None => String::new(),
        },
    };
    let chain = std::mem::take(&mut *recorder.chain.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    let Some((leaf, intermediates)) = chain.split_first() else {
        return Err(fail("the server sent no certificate".to_string()));
    };
    let (_, cert) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|e| fail(format!("the server's certificate does not parse: {e}")))?;
    let now = UnixTime::now();
    let now_secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let not_before = cert.validity().not_before.timestamp();
    let not_after = cert.validity().not_after.timestamp();
    let expired = now_secs > not_after;
    let self_signed = is_self_signed(&cert);
    let sans = subject_alt_names(&cert);

    let (trust, name) = match ParsedCertificate::try_from(leaf) {
        Ok(parsed) => (
            verify_server_cert_signed_by_trust_anchor(&parsed, &roots, intermediates, now, algorithms.all),
            verify_server_name(&parsed, &server_name),
        ),
        Err(e) => (Err(e.clone()), Err(e)),
    };
    let trusted = trust.is_ok();
    let hostname_ok = name.is_ok();
    let mut problems = Vec::new();
    if expired {
        problems.push(format!("certificate expired on {}", rfc3339(not_after)));
    }
    if now_secs < not_before {
        problems.push(format!("certificate is not valid before {}", rfc3339(not_before)));
    }
    if let Err(e) = &trust {
        let time_error = matches!(
            e,
            rustls::Error::InvalidCertificate(
                CertificateError::Expired
                    | CertificateError::ExpiredContext { .. }
                    | CertificateError::NotValidYet
                    | CertificateError::NotValidYetContext { .. }
            )
        );
        let unknown_issuer = matches!(e, rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer));
        if unknown_issuer && self_signed {
            problems.push("self-signed certificate, not trusted".to_string());
        } else if unknown_issuer {
            problems.push(format!("issuer `{}` is not a trusted authority", cert.issuer()));
        } else if !time_error || problems.is_empty() {
            problems.push(format!("not trusted: {e}"));
        }
    }
    if !hostname_ok {
        problems.push(format!("certificate is not valid for `{host}` (it names {})", names(&sans)));
    }
    let problem = if problems.is_empty() { Value::null() } else { Value::str(problems.join("; ")) };
    Ok(record(vec![
        ("host", Value::str(&host)),
        ("port", Value::int(i64::from(port))),
        ("protocol", Value::str(protocol)),
        ("subject", Value::str(cert.subject().to_string())),
        ("issuer", Value::str(cert.issuer().to_string())),
        ("sans", Value::list(sans.iter().map(Value::str).collect())),
        ("not_before", Value::str(rfc3339(not_before))),
        ("not_after", Value::str(rfc3339(not_after))),
        ("days_left", Value::int((not_after.saturating_sub(now_secs)).div_euclid(86_400))),
        ("expired", Value::bool(expired)),
        ("hostname_ok", Value::bool(hostname_ok)),
        ("self_signed", Value::bool(self_signed)),
        ("trusted", Value::bool(trusted)),
        ("problem", problem),
    ]))
}

fn names(sans: &[String]) -> String {
    if sans.is_empty() {
        "no subject alternative name".to_string()
    } else {
        sans.join(", ")
    }
}

/// DNS names and IP addresses of the subject alternative names.
fn subject_alt_names(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(san)) = cert.subject_alternative_name() else { return Vec::new() };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(d) => Some(d.to_string()),
            GeneralName::IPAddress(bytes) => ip_text(bytes),
            _ => None,
        })
        .collect()
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return Some(std::net::Ipv4Addr::from(v4).to_string());
    }
    <[u8; 16]>::try_from(bytes).ok().map(|v6| std::net::Ipv6Addr::from(v6).to_string())
}

/// Its own issuer: the same subject and issuer names, and, when both key
/// identifiers are present, the same key.
fn is_self_signed(cert: &X509Certificate<'_>) -> bool {
    if cert.subject().as_raw() != cert.issuer().as_raw() {
        return false;
    }
    let mut subject_key = None;
    let mut authority_key = None;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => subject_key = Some(k.0),
            ParsedExtension::AuthorityKeyIdentifier(a) => authority_key = a.key_identifier.as_ref().map(|k| k.0),
            _ => {}
        }
    }
    match (subject_key, authority_key) {
        (Some(s), Some(a)) => s == a,
        _ => true,
    }
}

/// Seconds since the epoch as RFC 3339 UTC (`2025-01-31T12:00:00Z`).
pub(super) fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    let date = crate::config::Date::from_days(days);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        date.year,
        date.month,
        date.day,
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_735_689_599), "2024-12-31T23:59:59Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(4_102_444_800), "2100-01-01T00:00:00Z");
    }
}
