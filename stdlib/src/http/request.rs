//! HTTP requests: the shared client, URL checks, credentials that stay with
//! their origin, redirects followed by hand, bodies read in chunks up to a
//! cap, and the values made of the answers.

use mlpol_lang::eval::FactError;
use mlpol_lang::value::{mask, record, Value};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{StatusCode, Url};
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How much of a body is kept.
pub(super) const BODY_CAP: usize = 1 << 20;
/// How much of a body a burst request reads before dropping the connection.
const BURST_BODY_CAP: usize = 64 << 10;
/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 10;
/// The most requests one burst sends.
const BURST_MAX: i64 = 200;
/// Burst requests in flight at once.
const BURST_CONCURRENCY: usize = 10;
/// Secrets shorter than this are not searched for in answers (masking every
/// `a` of a body would hide the body, not the secret).
const MIN_MASKED: usize = 4;

/// The client and the roots it trusts, shared by every call.
pub(super) struct Net {
    client: reqwest::Client,
    roots: Arc<RootCertStore>,
}

/// What a request carries besides the URL.
pub(super) struct Auth {
    /// Sent only to the origin (scheme, host, port) of the URL asked for.
    credential: Option<(HeaderName, HeaderValue)>,
    /// Sent to every URL of the redirect chain (the `Origin` of `cors`).
    plain: Option<(HeaderName, HeaderValue)>,
    /// Clear texts masked wherever they appear in an answer.
    secrets: Vec<String>,
}

impl Auth {
    /// No credentials.
    pub(super) fn none() -> Auth {
        Auth { credential: None, plain: None, secrets: Vec::new() }
    }

    /// HTTP Basic authentication.
    pub(super) fn basic(user: &str, password: &str) -> Result<Auth, FactError> {
        let token = crate::net::base64_encode(format!("{user}:{password}").as_bytes());
        let header = format!("Basic {token}");
        let mut value = HeaderValue::from_str(&header)
            .map_err(|_| FactError::new("the credentials cannot be sent in an Authorization header"))?;
        value.set_sensitive(true);
        Ok(Auth {
            credential: Some((reqwest::header::AUTHORIZATION, value)),
            plain: None,
            secrets: vec![header, token, password.to_string()],
        })
    }

    /// `header: value`, a credential (`value` is the clear text of the
    /// environment variable `env`, never shown).
    pub(super) fn header(header: &str, value: &str, env: &str) -> Result<Auth, FactError> {
        let name = HeaderName::from_bytes(header.as_bytes())
            .map_err(|_| FactError::new(format!("`{header}` is not a valid header name")))?;
        let mut clear = HeaderValue::from_str(value)
            .map_err(|_| FactError::new(format!("environment variable `{env}` does not hold a valid header value")))?;
        clear.set_sensitive(true);
        let mut secrets = vec![value.to_string()];
        // `Bearer <token>`: the token alone is a secret too.
        if let Some((_, token)) = value.split_once(' ') {
            secrets.push(token.trim().to_string());
        }
        Ok(Auth { credential: Some((name, clear)), plain: None, secrets })
    }

    /// `Origin: origin`, not a credential.
    pub(super) fn origin(origin: &str) -> Result<Auth, FactError> {
        let value = HeaderValue::from_str(origin)
            .map_err(|_| FactError::new(format!("`{origin}` is not a valid Origin header value")))?;
        Ok(Auth { credential: None, plain: Some((reqwest::header::ORIGIN, value)), secrets: Vec::new() })
    }

    /// `text` with every secret masked.
    fn redact(&self, text: &str) -> String {
        let mut secrets: Vec<&String> = self.secrets.iter().filter(|s| s.len() >= MIN_MASKED).collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let mut out = text.to_string();
        for s in secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), &mask(s));
            }
        }
        out
    }

    /// Whether an echoed response header of this name is masked whole.
    fn masks_header(&self, name: &HeaderName) -> bool {
        name == reqwest::header::AUTHORIZATION
            || name == reqwest::header::PROXY_AUTHORIZATION
            || self.credential.as_ref().is_some_and(|(n, _)| n == name)
    }
}

/// The URL of a fact: http or https, with a host, without credentials.
/// Messages never show a password written in the URL.
pub(super) fn parse_url(text: &str) -> Result<Url, FactError> {
    let url = Url::parse(text).map_err(|e| FactError::new(format!("`{}` is not a URL: {e}", mask_userinfo(text))))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FactError::new(format!(
            "`{}`: only http and https URLs can be probed, not `{}`",
            mask_userinfo(text),
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(FactError::new(format!("`{}` has no host", mask_userinfo(text))));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FactError::new(format!(
            "`{}` has credentials in it: use http.get_basic (environment variables) or http.get_login",
            mask_userinfo(text)
        )));
    }
    Ok(url)
}

/// `scheme://user:****@host/…` for a URL with a password in it.
pub(super) fn mask_userinfo(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else { return text.to_string() };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:****@{host}{tail}")
        }
        None => text.to_string(),
    }
}

/// Why a request failed, without the reqwest wrapping: `connection
/// refused`, `TLS handshake failed: …`, the innermost cause otherwise.
fn transport_reason(e: &reqwest::Error) -> String {
    if let Some(tls) = tls_cause(e) {
        return format!("TLS handshake failed: {tls}");
    }
    let mut last = e.to_string();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return io_reason(io);
        }
        last = err.to_string();
        cur = err.source();
    }
    last
}

/// The rustls error somewhere in the causes, also inside I/O errors
/// (whose `source` skips the error they wrap).
fn tls_cause<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        cur = match err.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    None
}

/// An I/O error in words: the common kinds by name, a TLS error inside
/// as a handshake failure.
pub(super) fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    if let Some(tls) = tls_cause(e) {
        return format!("TLS handshake failed: {tls}");
    }
    match e.kind() {
        ErrorKind::ConnectionRefused => "connection refused".to_string(),
        ErrorKind::ConnectionReset => "connection reset by peer".to_string(),
        ErrorKind::ConnectionAborted => "connection aborted".to_string(),
        ErrorKind::TimedOut => "timed out".to_string(),
        _ => e.to_string(),
    }
}

/// `timed out after 2s`.
pub(super) fn timed_out(timeout: Duration) -> String {
    format!("timed out after {}s", timeout.as_secs_f64())
}

/// Reads the body in chunks, keeping at most `cap` bytes; the flag says
/// whether there was more (the rest is not read: the connection is dropped).
async fn read_capped(resp: &mut reqwest::Response, cap: usize) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = cap.saturating_sub(body.len());
        if chunk.len() > room {
            body.extend_from_slice(chunk.get(..room).unwrap_or_default());
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// One header's values, lossily decoded, joined with `, `.
fn header_text(headers: &HeaderMap, name: &HeaderName) -> String {
    let values: Vec<String> =
        headers.get_all(name).iter().map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).collect();
    values.join(", ")
}

/// The first value of a header, lossily decoded.
fn first_header(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    headers.get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Where a redirect points, as an absolute http(s) URL without userinfo.
fn redirect_target(current: &Url, location: &str) -> Result<Url, String> {
    let mut next = current.join(location).map_err(|e| format!("redirect to an invalid Location ({e})"))?;
    if !matches!(next.scheme(), "http" | "https") {
        return Err(format!("redirect to a `{}` URL, which is not followed", next.scheme()));
    }
    // A Location with credentials in it: never follow them, never show them.
    let _ = next.set_password(None);
    let _ = next.set_username("");
    Ok(next)
}

/// What one request of a redirect chain gave.
enum Hop {
    Redirect(Url),
    Final { status: u16, headers: HeaderMap, body: Vec<u8>, truncated: bool },
}

/// The counts of a burst.
#[derive(Default)]
struct Tally {
    requests: i64,
    statuses: BTreeMap<u16, i64>,
    retry_after: Option<String>,
    errors: i64,
    first_error: Option<String>,
}

impl Net {
    /// The client over the platform roots and `extra` roots.
    pub(super) fn new(extra: Vec<CertificateDer<'static>>) -> Result<Net, String> {
        let roots = crate::net::roots(extra)?;
        let client = crate::net::client_builder(roots.clone())?
            .redirect(reqwest::redirect::Policy::none())
            // No connection outlives a request: a fact never reuses a
            // connection made on another runtime or by another fact.
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|e| format!("the HTTP client could not be made: {e}"))?;
        Ok(Net { client, roots })
    }

    /// The roots HTTPS requests trust.
    pub(super) fn roots(&self) -> Arc<RootCertStore> {
        self.roots.clone()
    }

    /// GET, following redirects; a `Response` record.
    pub(super) async fn get(&self, url: &Url, auth: Auth, timeout: Duration) -> Result<Value, FactError> {
        let start = Instant::now();
        let origin = url.origin();
        let mut current = url.clone();
        let mut redirects: Vec<Url> = Vec::new();
        let mut seen: HashSet<String> = HashSet::from([url.to_string()]);
        loop {
            let mut req = self.client.get(current.clone());
            if let Some((name, value)) = &auth.plain {
                req = req.header(name.clone(), value.clone());
            }
            if current.origin() == origin {
                if let Some((name, value)) = &auth.credential {
                    req = req.header(name.clone(), value.clone());
                }
            }
            let here = current.clone();
            let hop = async move {
                let mut resp = req.send().await.map_err(|e| transport_reason(&e))?;
                let status = resp.status();
                if is_redirect(status) {
                    if let Some(location) = first_header(resp.headers(), &reqwest::header::LOCATION) {
                        return redirect_target(&here, &location).map(Hop::Redirect);
                    }
                }
                let (body, truncated) = read_capped(&mut resp, BODY_CAP)
                    .await
                    .map_err(|e| format!("reading the body: {}", transport_reason(&e)))?;
                Ok(Hop::Final { status: status.as_u16(), headers: resp.headers().clone(), body, truncated })
            };
            let fail = |at: &Url, reason: String| FactError::new(format!("GET {}: {reason}", auth.redact(at.as_str())));
            match tokio::time::timeout(timeout, hop).await {
                Err(_) => return Err(fail(&current, timed_out(timeout))),
                Ok(Err(reason)) => return Err(fail(&current, reason)),
                Ok(Ok(Hop::Redirect(next))) => {
                    if !seen.insert(next.to_string()) {
                        return Err(fail(url, format!("redirect loop at {}", auth.redact(next.as_str()))));
                    }
                    if redirects.len() >= MAX_REDIRECTS {
                        return Err(fail(
                            url,
                            format!("too many redirects (more than {MAX_REDIRECTS}) at {}", auth.redact(next.as_str())),
                        ));
                    }
                    redirects.push(next.clone());
                    current = next;
                }
                // A server error says nothing about authentication or TLS:
                // the probe cannot decide, so the fact is an error.
                Ok(Ok(Hop::Final { status, .. })) if status >= 500 => {
                    return Err(fail(&current, format!("the server answered HTTP {status} (a server error)")));
                }
                Ok(Ok(Hop::Final { status, headers, body, truncated })) => {
                    let mut names: Vec<&HeaderName> = headers.keys().collect();
                    names.sort_by(|a, b| a.as_str().cmp(b.as_str()));
                    let headers: Vec<(String, Value)> = names
                        .into_iter()
                        .map(|name| {
                            let text = header_text(&headers, name);
                            let shown = if auth.masks_header(name) { mask(&text) } else { auth.redact(&text) };
                            (name.as_str().to_string(), Value::str(shown))
                        })
                        .collect();
                    let elapsed = i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX);
                    return Ok(record(vec![
                        ("url", Value::str(url.as_str())),
                        ("final_url", Value::str(auth.redact(current.as_str()))),
                        ("status", Value::int(i64::from(status))),
                        ("headers", Value::map(headers)),
                        (
                            "redirects",
                            Value::list(redirects.iter().map(|u| Value::str(auth.redact(u.as_str()))).collect()),
                        ),
                        ("body", Value::str(auth.redact(&String::from_utf8_lossy(&body)))),
                        ("truncated", Value::bool(truncated)),
                        ("elapsed_ms", Value::int(elapsed)),
                    ]));
                }
            }
        }
    }

    /// The `http://` form of the URL, without following redirects; an
    /// `Upgrade` record.
    pub(super) async fn upgrade(&self, url: &Url, timeout: Duration) -> Result<Value, FactError> {
        let mut http = url.clone();
        if http.set_scheme("http").is_err() {
            return Err(FactError::new(format!("`{url}` has no http:// form")));
        }
        let req = self.client.get(http.clone());
        let probe = async move {
            let resp = req.send().await.map_err(|e| transport_reason(&e))?;
            Ok::<_, String>((resp.status(), first_header(resp.headers(), &reqwest::header::LOCATION)))
        };
        let (status, location) = match tokio::time::timeout(timeout, probe).await {
            Err(_) => return Err(FactError::new(format!("GET {http}: {}", timed_out(timeout)))),
            Ok(Err(reason)) => return Err(FactError::new(format!("GET {http}: {reason}"))),
            Ok(Ok(answer)) => answer,
        };
        let target = location.as_deref().and_then(|l| http.join(l).ok());
        let upgrades = status.is_redirection()
            && target.as_ref().is_some_and(|t| t.scheme() == "https" && t.host_str() == http.host_str());
        let location = match (target, location) {
            (Some(t), _) => Value::str(t.as_str()),
            (None, Some(raw)) => Value::str(raw),
            (None, None) => Value::null(),
        };
        Ok(record(vec![
            ("url", Value::str(http.as_str())),
            ("status", Value::int(i64::from(status.as_u16()))),
            ("location", location),
            ("upgrades", Value::bool(upgrades)),
        ]))
    }

    /// `n` GETs, at most [`BURST_CONCURRENCY`] at a time, all within
    /// `timeout`; a `Burst` record, or an error when none was answered.
    pub(super) async fn burst(&self, url: &Url, n: i64, timeout: Duration) -> Result<Value, FactError> {
        let n = usize::try_from(n.clamp(1, BURST_MAX)).unwrap_or(1);
        let deadline = tokio::time::Instant::now() + timeout;
        let next = Arc::new(AtomicUsize::new(0));
        let tally = Arc::new(Mutex::new(Tally::default()));
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..n.min(BURST_CONCURRENCY) {
            let (client, url, next, tally) = (self.client.clone(), url.clone(), next.clone(), tally.clone());
            workers.spawn(async move {
                while next.fetch_add(1, Ordering::SeqCst) < n && tokio::time::Instant::now() < deadline {
                    let one = async {
                        let mut resp = client.get(url.clone()).send().await.map_err(|e| transport_reason(&e))?;
                        let retry_after = first_header(resp.headers(), &reqwest::header::RETRY_AFTER);
                        // Read (a little of) the body so the answer is whole; errors
                        // after the status line do not matter here.
                        let _ = read_capped(&mut resp, BURST_BODY_CAP).await;
                        Ok::<_, String>((resp.status().as_u16(), retry_after))
                    };
                    let outcome = match tokio::time::timeout_at(deadline, one).await {
                        Ok(r) => r,
                        Err(_) => Err(timed_out(timeout)),
                    };
                    let mut t = tally.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    t.requests += 1;
                    match outcome {
                        Ok((status, retry_after)) => {
                            *t.statuses.entry(status).or_insert(0) += 1;
                            if t.retry_after.is_none() {
                                t.retry_after = retry_after;
                            }
                        }
                        Err(reason) => {
                            t.errors += 1;
                            t.first_error.get_or_insert(reason);
                        }
                    }
                }
            });
        }
        while workers.join_next().await.is_some() {}
        let t = std::mem::take(&mut *tally.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        if t.statuses.is_empty() {
            let reason = t.first_error.unwrap_or_else(|| timed_out(timeout));
            return Err(FactError::new(format!("GET {url}: all {} requests failed: {reason}", t.requests.max(1))));
        }
        let limited = t.statuses.contains_key(&429) || t.statuses.contains_key(&503);
        Ok(record(vec![
            ("url", Value::str(url.as_str())),
            ("requests", Value::int(t.requests)),
            ("limited", Value::bool(limited)),
            ("statuses", Value::map(t.statuses.iter().map(|(s, c)| (s.to_string(), Value::int(*c))).collect())),
            ("retry_after", t.retry_after.map_or_else(Value::null, Value::str)),
            ("errors", Value::int(t.errors)),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_masked() {
        assert_eq!(mask_userinfo("http://u:pw@h:1/x?y"), "http://u:****@h:1/x?y");
        assert_eq!(mask_userinfo("http://h/x@y"), "http://h/x@y");
        assert_eq!(mask_userinfo("not a url"), "not a url");
    }
}
