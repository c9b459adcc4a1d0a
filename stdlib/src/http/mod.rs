//! The `http` namespace: probes of the services a policy names (MLflow,
//! BentoML, Evidently, Airflow) — responses with and without credentials,
//! TLS certificates, the http→https upgrade, a bounded rate-limit burst.
//!
//! One `reqwest::Client` (rustls with the ring provider, the platform roots
//! from `rustls-native-certs` plus any extra test roots, no automatic
//! redirects, no connection reuse across facts) is built on first use and
//! shared by every call. Redirects are followed here, so that credentials
//! are sent only to the origin the policy named. The TLS probe talks to the
//! server with tokio-rustls directly, through a verifier that records the
//! chain and accepts it, and judges the chain afterwards.
//!
//! Bounds: every request (connect, headers and body) is bounded by
//! [`Settings::timeout`]; bodies are read in chunks and cut at 1 MiB; at
//! most 10 redirects; a burst is at most 200 requests, 10 at a time, within
//! one timeout. Credentials never appear in a value or a message: they are
//! masked wherever a server echoes them.

mod request;
mod tls;

use crate::collect::{Collector, FactFuture, Settings};
use mlpol_lang::eval::{FactCall, FactError};
use mlpol_lang::types::{Schema, Type};
use mlpol_lang::value::{Kind, Origin, Value};
use request::{Auth, Net};
use rustls::pki_types::CertificateDer;
use std::sync::Arc;
use std::time::Duration;

/// Declares the `http` namespace and its records.
pub fn schema(s: &mut Schema) {
    s.record(
        "Response",
        "An HTTP response, after the redirects were followed (credentials are sent only to the origin of the URL asked for).",
        &[
            ("url", Type::Str, "The URL asked for."),
            ("final_url", Type::Str, "The URL that answered, after redirects."),
            ("status", Type::Int, "The status code of the final response (a 5xx is a value, not an error)."),
            (
                "headers",
                Type::map(Type::Str),
                "Response headers by lower-case name; a repeated header's values joined with `, `. An echoed `authorization` (or the header of `get_header`) is masked.",
            ),
            ("redirects", Type::list(Type::Str), "The URLs redirected to, in order."),
            ("body", Type::Str, "The first 1 MiB of the body, as UTF-8 (lossily)."),
            ("truncated", Type::Bool, "True when the body was longer than 1 MiB and was cut."),
            ("elapsed_ms", Type::Int, "Milliseconds from the first request to the end of the body."),
        ],
    );
    s.record(
        "Upgrade",
        "What the plain-HTTP form of a URL answers, without following redirects.",
        &[
            ("url", Type::Str, "The `http://` URL probed (same host, port and path)."),
            ("status", Type::Int, "Its status code."),
            (
                "location",
                Type::optional(Type::Str),
                "The `Location` header, resolved against the URL; null when absent.",
            ),
            ("upgrades", Type::Bool, "True for a 3xx whose `Location` is `https://` on the same host."),
        ],
    );
    s.record(
        "Tls",
        "The certificate a TLS server presents, recorded even when it is not trusted.",
        &[
            ("host", Type::Str, "The host connected to."),
            ("port", Type::Int, "The port connected to (443 unless the URL names one)."),
            ("protocol", Type::Str, "The negotiated version: `TLSv1.2` or `TLSv1.3`."),
            ("subject", Type::Str, "The leaf certificate's subject (`CN=…, O=…`)."),
            ("issuer", Type::Str, "The leaf certificate's issuer."),
            ("sans", Type::list(Type::Str), "Its subject alternative names (DNS names and IP addresses)."),
            ("not_before", Type::Str, "Start of validity, RFC 3339 UTC."),
            ("not_after", Type::Str, "End of validity, RFC 3339 UTC."),
            ("days_left", Type::Int, "Whole days until `not_after`; negative once expired."),
            ("expired", Type::Bool, "True when `not_after` is in the past."),
            ("hostname_ok", Type::Bool, "True when the certificate is valid for the URL's host."),
            (
                "self_signed",
                Type::Bool,
                "True when the leaf is its own issuer (same subject and issuer, matching key identifiers).",
            ),
            (
                "trusted",
                Type::Bool,
                "True when the chain verifies, now, against the platform roots (`SSL_CERT_FILE` is honoured); the host name is judged by `hostname_ok`.",
            ),
            (
                "problem",
                Type::optional(Type::Str),
                "Why the certificate is not trusted or not valid for the host (expired, self-signed, unknown issuer, wrong name), or null.",
            ),
        ],
    );
    s.record(
        "Burst",
        "The answers to a burst of identical GET requests: does the service rate-limit?",
        &[
            ("url", Type::Str, "The URL requested."),
            ("requests", Type::Int, "Requests attempted (fewer than asked when the timeout ended the burst)."),
            ("limited", Type::Bool, "True when any answer was 429 or 503."),
            ("statuses", Type::map(Type::Int), "Status code (as a string) → number of answers."),
            ("retry_after", Type::optional(Type::Str), "The first `Retry-After` header seen, or null."),
            ("errors", Type::Int, "Requests that failed without an answer (connection, timeout)."),
        ],
    );
    let response = || Type::record("Response");
    s.namespace(
        "http",
        "Probes of HTTP services. Every request is bounded by the network timeout and bodies by 1 MiB; only `http` and `https` URLs, without credentials in them. Redirects are followed (at most 10) and credentials are never sent to another origin. A refused connection, a timeout, a failed TLS handshake or a server error (5xx) makes the fact an error; a client error status (4xx) is a value.",
    )
    .function("http", "get", &[("url", Type::Str)], 1, response(), true,
        "GET without credentials (`http.get(url).status == 401` shows that authentication is on).")
    .function("http", "get_basic", &[("url", Type::Str), ("username_env", Type::Str), ("password_env", Type::Str)], 3, response(), true,
        "GET with HTTP Basic authentication, the user name and password read from the environment variables NAMED by the arguments (`http.get_basic(url, \"MLFLOW_USER\", \"MLFLOW_PASSWORD\")`). An unset or empty variable is an error naming it.")
    .function("http", "get_login", &[("url", Type::Str), ("username", Type::Str), ("password", Type::Str)], 3, response(), true,
        "GET with HTTP Basic authentication with credentials written in the policy, to probe well-known defaults (MLflow's `admin`/`password1234`).")
    .function("http", "get_header", &[("url", Type::Str), ("header", Type::Str), ("value_env", Type::Str)], 3, response(), true,
        "GET sending `header: <value of the environment variable value_env>`: API keys (`X-API-Key`), or `Authorization` with `Bearer …` in the variable.")
    .function("http", "cors", &[("url", Type::Str), ("origin", Type::Str)], 2, response(), true,
        "GET with `Origin: <origin>`; see `headers[\"access-control-allow-origin\"]`.")
    .function("http", "upgrade", &[("url", Type::Str)], 1, Type::record("Upgrade"), true,
        "Requests the `http://` form of the URL without following redirects: does plain HTTP redirect to HTTPS?")
    .function("http", "tls", &[("url", Type::Str)], 1, Type::record("Tls"), true,
        "Handshakes with the URL's host and port (default 443) and describes the certificate, trusted or not. A refused connection or a failed handshake (plain HTTP on the port) is an error.")
    .function("http", "burst", &[("url", Type::Str), ("n", Type::Int)], 2, Type::record("Burst"), true,
        "Sends `n` GETs (clamped to 1..=200, 10 at a time, all within the timeout) and reports whether any was rate-limited (429 or 503). An error when no request got an answer.");
}

/// The collector of the `http` namespace.
pub struct HttpCollector {
    inner: Arc<Inner>,
}

struct Inner {
    timeout: Duration,
    extra_roots: Vec<CertificateDer<'static>>,
    /// The client and the roots, made on first use; a failure is kept and
    /// reported by every call.
    net: tokio::sync::OnceCell<Result<Arc<Net>, String>>,
}

impl HttpCollector {
    /// A collector trusting the platform roots.
    pub fn new(settings: &Settings) -> HttpCollector {
        HttpCollector::with_extra_roots(settings, Vec::new())
    }

    /// A collector that also trusts these root certificates (DER), for
    /// HTTPS requests and for `Tls.trusted`: tests use a CA made at test time.
    pub fn with_extra_roots(settings: &Settings, roots: Vec<CertificateDer<'static>>) -> HttpCollector {
        HttpCollector {
            inner: Arc::new(Inner { timeout: settings.timeout, extra_roots: roots, net: tokio::sync::OnceCell::new() }),
        }
    }
}

impl Inner {
    async fn net(&self) -> Result<Arc<Net>, FactError> {
        let extra = self.extra_roots.clone();
        let made = self
            .net
            .get_or_init(|| async move {
                match tokio::task::spawn_blocking(move || Net::new(extra)).await {
                    Ok(r) => r.map(Arc::new),
                    Err(e) => Err(format!("the HTTP client could not be made: {e}")),
                }
            })
            .await;
        made.clone().map_err(FactError::new)
    }

    async fn collect(&self, call: &FactCall) -> Result<Value, FactError> {
        let url_arg = str_arg(call, 0, "url")?;
        let url = request::parse_url(url_arg)?;
        let net = self.net().await?;
        let value = match call.name.as_str() {
            "get" => net.get(&url, Auth::none(), self.timeout).await?,
            "get_basic" => {
                let user = env_value(str_arg(call, 1, "username_env")?)?;
                let password = env_value(str_arg(call, 2, "password_env")?)?;
                net.get(&url, Auth::basic(&user, &password)?, self.timeout).await?
            }
            "get_login" => {
                let user = str_arg(call, 1, "username")?;
                let password = str_arg(call, 2, "password")?;
                net.get(&url, Auth::basic(user, password)?, self.timeout).await?
            }
            "get_header" => {
                let header = str_arg(call, 1, "header")?;
                let env = str_arg(call, 2, "value_env")?;
                let value = env_value(env)?;
                net.get(&url, Auth::header(header, &value, env)?, self.timeout).await?
            }
            "cors" => net.get(&url, Auth::origin(str_arg(call, 1, "origin")?)?, self.timeout).await?,
            "upgrade" => net.upgrade(&url, self.timeout).await?,
            "tls" => tls::probe(net.roots(), &url, self.timeout).await?,
            "burst" => net.burst(&url, int_arg(call, 1, "n")?, self.timeout).await?,
            other => return Err(FactError::new(format!("`http.{other}` is not an http function"))),
        };
        Ok(located(value, &Arc::new(Origin::uri(url_arg))))
    }
}

impl Collector for HttpCollector {
    fn namespaces(&self) -> &[&str] {
        &["http"]
    }
    fn collect(&self, call: FactCall) -> FactFuture {
        let inner = self.inner.clone();
        Box::pin(async move {
            // Never the clear text of a password written in the URL.
            let url = request::mask_userinfo(call.args.first().and_then(Value::as_str).unwrap_or_default());
            // Located at the URL, unless the message already names it.
            inner.collect(&call).await.map_err(|e| {
                if e.origin.is_none() && !e.message.contains(&url) {
                    e.at(Origin::uri(url))
                } else {
                    e
                }
            })
        })
    }
}

/// Gives the value and everything in it the origin `at`.
fn located(v: Value, at: &Arc<Origin>) -> Value {
    let kind = match v.kind {
        Kind::List(xs) => Kind::List(Arc::new(xs.iter().map(|x| located(x.clone(), at)).collect())),
        Kind::Map(entries) => {
            Kind::Map(Arc::new(entries.iter().map(|(k, x)| (k.clone(), located(x.clone(), at))).collect()))
        }
        other => other,
    };
    Value { kind, origin: Some(at.clone()) }
}

fn str_arg<'a>(call: &'a FactCall, i: usize, name: &str) -> Result<&'a str, FactError> {
    match call.args.get(i) {
        // A string, or a secret (a password from a secret value).
        Some(v) if v.as_str().is_some() => Ok(v.as_str().unwrap_or_default()),
        Some(v) => {
            Err(FactError::new(format!("`http.{}`: `{name}` must be a string, not {}", call.name, v.type_name())))
        }
        None => Err(FactError::new(format!("`http.{}`: `{name}` is missing", call.name))),
    }
}

fn int_arg(call: &FactCall, i: usize, name: &str) -> Result<i64, FactError> {
    match call.args.get(i) {
        Some(Value { kind: Kind::Int(n), .. }) => Ok(*n),
        Some(v) => Err(FactError::new(format!("`http.{}`: `{name}` must be an int, not {}", call.name, v.type_name()))),
        None => Err(FactError::new(format!("`http.{}`: `{name}` is missing", call.name))),
    }
}

/// The value of the environment variable `name`; an error naming the
/// variable (never showing a value) when it is unset, empty or not UTF-8.
fn env_value(name: &str) -> Result<String, FactError> {
    if name.is_empty() || name.contains(['=', '\0']) {
        return Err(FactError::new(format!("`{name}` is not an environment variable name")));
    }
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Ok(v),
        Ok(_) => Err(FactError::new(format!("environment variable `{name}` is empty"))),
        Err(std::env::VarError::NotPresent) => Err(FactError::new(format!("environment variable `{name}` is not set"))),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(FactError::new(format!("environment variable `{name}` is not valid UTF-8")))
        }
    }
}
