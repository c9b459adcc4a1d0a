//! Request signing, by hand: AWS Signature Version 4 for S3 and Azure
//! Storage Shared Key, with the few helpers they need (SHA-256, HMAC, hex,
//! base64, UTC dates).
//!
//! Why not the `aws-sigv4` crate: it brings `aws-smithy-http`,
//! `aws-smithy-runtime-api`, `aws-smithy-types`, `aws-credential-types` and
//! their own dependency trees (bytes-utils, time, zeroize, …) for what is
//! here one canonical request, one string to sign and five HMACs over GET
//! requests without a body. The algorithm is stable and is tested against
//! a real verifier (moto with `INITIAL_NO_AUTH_ACTION_COUNT=0` rejects a
//! wrong secret and accepts the right one) and against AWS's published
//! example (the unit test below). Azure's Shared Key has no maintained crate
//! outside the Azure SDK at all.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::time::{SystemTime, UNIX_EPOCH};

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// HMAC-SHA256; every key length is valid for HMAC, so the error branch is
/// unreachable in practice and yields an empty code (which no server accepts).
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// A UTC instant broken down for the two date formats the signers need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Sunday.
    pub weekday: u32,
}

impl UtcTime {
    pub fn now() -> UtcTime {
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        UtcTime::from_unix(i64::try_from(secs).unwrap_or(0))
    }

    pub fn from_unix(secs: i64) -> UtcTime {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let date = crate::config::Date::from_days(days);
        let (year, month, day) = (i64::from(date.year), u32::from(date.month), u32::from(date.day));
        UtcTime {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
            second: (rem % 60) as u32,
            weekday: (days + 4).rem_euclid(7) as u32,
        }
    }

    /// `20150830T123600Z`
    pub fn amz(&self) -> String {
        format!("{}T{:02}{:02}{:02}Z", self.date(), self.hour, self.minute, self.second)
    }

    /// `20150830`
    pub fn date(&self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }

    /// `Sun, 30 Aug 2015 12:36:00 GMT`
    pub fn rfc1123(&self) -> String {
        const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
        const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let day = DAYS.get(self.weekday as usize).copied().unwrap_or("Sun");
        let month = MONTHS.get(self.month.saturating_sub(1) as usize).copied().unwrap_or("Jan");
        format!(
            "{day}, {:02} {month} {:04} {:02}:{:02}:{:02} GMT",
            self.day, self.year, self.hour, self.minute, self.second
        )
    }
}

/// RFC 3986 percent-encoding of everything but the unreserved characters
/// (and `/` when `keep_slash`), as SigV4 wants it.
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// AWS credentials; `Debug` is not derived so the secret cannot be printed.
#[derive(Clone)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

/// The headers (name, value) to add to a GET request without a body, signed
/// with SigV4 for `service` in `region`. `host` is the Host header as sent
/// (with the port when it is not the scheme's default), `path` the
/// canonical (already encoded) path, `query` the parameters unencoded.
pub fn sigv4_get_headers(
    creds: &AwsCredentials,
    region: &str,
    service: &str,
    host: &str,
    path: &str,
    query: &[(&str, &str)],
    now: UtcTime,
) -> Vec<(String, String)> {
    let payload_hash = sha256_hex(b"");
    let amz_date = now.amz();
    let mut headers: Vec<(String, String)> = vec![
        ("host".to_string(), host.to_string()),
        ("x-amz-content-sha256".to_string(), payload_hash.clone()),
        ("x-amz-date".to_string(), amz_date.clone()),
    ];
    if let Some(token) = &creds.session_token {
        headers.push(("x-amz-security-token".to_string(), token.clone()));
    }
    headers.sort();
    let mut q: Vec<(String, String)> =
        query.iter().map(|(k, v)| (uri_encode(k, false), uri_encode(v, false))).collect();
    q.sort();
    let canonical_query = q.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{}\n", v.trim())).collect();
    let signed_headers = headers.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(";");
    let canonical_request =
        format!("GET\n{path}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{payload_hash}");
    let scope = format!("{}/{region}/{service}/aws4_request", now.date());
    let string_to_sign = format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", sha256_hex(canonical_request.as_bytes()));
    let mut key = hmac_sha256(format!("AWS4{}", creds.secret_access_key).as_bytes(), now.date().as_bytes());
    for part in [region, service, "aws4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    let signature = hex(&hmac_sha256(&key, string_to_sign.as_bytes()));
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        creds.access_key_id
    );
    headers.retain(|(k, _)| k != "host");
    headers.push(("authorization".to_string(), authorization));
    headers
}

/// The `Authorization` value of an Azure Storage Shared Key GET request
/// without a body. `ms_headers` are the `x-ms-*` headers sent (names
/// lowercase), `path` the request path as sent, `query` its parameters.
pub fn azure_shared_key(
    account: &str,
    key: &[u8],
    ms_headers: &[(&str, &str)],
    path: &str,
    query: &[(&str, &str)],
) -> String {
    let mut headers: Vec<(String, &str)> = ms_headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), *v)).collect();
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{}\n", v.trim())).collect();
    let mut params: Vec<(String, &str)> = query.iter().map(|(k, v)| (k.to_ascii_lowercase(), *v)).collect();
    params.sort();
    let canonical_resource: String =
        std::iter::once(format!("/{account}{path}")).chain(params.iter().map(|(k, v)| format!("\n{k}:{v}"))).collect();
    // VERB, then eleven empty standard headers (Content-Encoding …
    // Range), each line ended by a newline.
    let string_to_sign = format!("GET{}{canonical_headers}{canonical_resource}", "\n".repeat(12));
    format!("SharedKey {account}:{}", crate::net::base64_encode(&hmac_sha256(key, string_to_sign.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let t = UtcTime::from_unix(1_440_938_160);
        assert_eq!(t.amz(), "20150830T123600Z");
        assert_eq!(t.rfc1123(), "Sun, 30 Aug 2015 12:36:00 GMT");
        assert_eq!(UtcTime::from_unix(951_782_400).date(), "20000229");
        assert_eq!(UtcTime::from_unix(0).rfc1123(), "Thu, 01 Jan 1970 00:00:00 GMT");
    }

    /// The GET example of the S3 SigV4 documentation ("Example: GET Object"),
    /// with its published signature.
    #[test]
    fn sigv4_matches_the_aws_example() {
        let creds = AwsCredentials {
            access_key_id: ["AKIA", "IOSFODNN7EXAMPLE"].concat(),
            secret_access_key: ["wJalrXUtnFEMI/K7MDENG/", "bPxRfiCYEXAMPLEKEY"].concat(),
            session_token: None,
        };
        // 20130524T000000Z; the example also signs a Range header, so use
        // the "GET Bucket Lifecycle" example, which signs only ours.
        let now = UtcTime::from_unix(1_369_353_600);
        let headers = sigv4_get_headers(
            &creds,
            "us-east-1",
            "s3",
            "examplebucket.s3.amazonaws.com",
            "/",
            &[("lifecycle", "")],
            now,
        );
        let auth = headers.iter().find(|(k, _)| k == "authorization").map(|(_, v)| v.as_str());
        let expected = format!(
            "AWS4-HMAC-SHA256 Credential={}/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;x-amz-content-sha256;x-amz-date, \
             Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
            creds.access_key_id
        );
        assert_eq!(auth, Some(expected.as_str()));
    }
}
