//! What the network collectors (`http`, `bucket`, `deps`' OSV client) share:
//! the TLS set-up and an HTTP client made from it, and base64.
//!
//! TLS is rustls with the ring provider (aws-lc-rs would need cmake);
//! rustls 0.23.48 deprecates ring's provider only for lacking post-quantum
//! key exchange. Trust is the platform's roots (`rustls-native-certs`,
//! which honours `SSL_CERT_FILE`), plus extra roots where a test needs them.

use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;
use std::sync::Arc;

/// The ring crypto provider.
#[allow(deprecated)]
pub fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The platform's root certificates and `extra`. Platform certificates
/// that do not parse are skipped, as every client does; an unusable extra
/// one is an error.
pub fn roots(extra: Vec<CertificateDer<'static>>) -> Result<Arc<RootCertStore>, String> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    for cert in extra {
        roots.add(cert).map_err(|e| format!("an extra root certificate is not usable: {e}"))?;
    }
    Ok(Arc::new(roots))
}

/// A client builder that trusts `roots` and names mlpol as its user agent;
/// callers add timeouts and the redirect policy.
pub fn client_builder(roots: Arc<RootCertStore>) -> Result<reqwest::ClientBuilder, String> {
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(ring_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS cannot be configured: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(concat!("mlpol/", env!("CARGO_PKG_VERSION"))))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for i in 0..4 {
            if i <= chunk.len() {
                let sextet = ((n >> (18 - 6 * i)) & 63) as usize;
                out.push(char::from(B64.get(sextet).copied().unwrap_or(b'=')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 (padding optional); `None` for any other character.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.trim().trim_end_matches('=').bytes() {
        let v = B64.iter().position(|&x| x == c)?;
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_and_round_trips() {
        let vectors =
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("foobar", "Zm9vYmFy")];
        for (clear, encoded) in vectors {
            assert_eq!(base64_encode(clear.as_bytes()), encoded);
            assert_eq!(base64_decode(encoded).as_deref(), Some(clear.as_bytes()));
        }
        assert_eq!(base64_encode(b"admin:password1234"), "YWRtaW46cGFzc3dvcmQxMjM0");
        assert_eq!(base64_decode("Zm8!"), None);
    }
}
