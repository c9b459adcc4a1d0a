//! The `bucket` namespace: S3, GCS and Azure Blob buckets as facts —
//! encryption, public access, policies, versioning and logging.
//!
//! `bucket.get(uri, endpoint, region)` reads a bucket's settings through
//! each provider's own HTTP API and returns one `Bucket` record whose every
//! value carries `Origin::uri(uri)`, so a finding points at the bucket.
//!
//! - **S3** ([`s3`]): the bucket sub-resources (`?location`, `?encryption`,
//!   `?publicAccessBlock`, `?policy`, `?policyStatus`, `?acl`,
//!   `?versioning`, `?logging`, `?object-lock`), signed with SigV4 by hand
//!   ([`sign`] says why not `aws-sigv4`). Credentials and endpoint come from
//!   the standard environment variables; a custom endpoint is addressed
//!   path-style.
//! - **GCS** ([`gcs`]): the JSON API's bucket resource and its IAM policy,
//!   with a bearer token from the environment (none for an emulator).
//! - **Azure Blob** ([`azure`]): Get Container Properties and Get Container
//!   ACL, signed with Shared Key from `AZURE_STORAGE_CONNECTION_STRING`.
//!
//! One `reqwest` client (rustls with ring, the platform's roots, no
//! redirects) serves every call; each request is bounded by
//! [`Settings::timeout`] and each body by [`MAX_BODY`]. Any failure is a
//! `FactError` located at the bucket URI whose message names the operation
//! and the reason (`GetBucketAcl: 403 AccessDenied`, `bucket does not
//! exist`, `connection refused`). Keys, tokens and signatures never appear
//! in a value or an error: errors name hosts, never request URLs with
//! their queries, and never echo request headers.

mod azure;
mod gcs;
mod s3;
mod sign;
mod xml;

use crate::collect::{Collector, FactFuture, Settings};
use mlpol_lang::eval::{FactCall, FactError};
use mlpol_lang::types::{Schema, Type};
use mlpol_lang::value::{record, Origin, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The largest response body read (bucket policies are at most 20 KiB).
pub const MAX_BODY: usize = 1 << 20;

pub fn schema(s: &mut Schema) {
    let opt_str = || Type::optional(Type::Str);
    let opt_bool = || Type::optional(Type::Bool);
    s.record(
        "Bucket",
        "A cloud storage bucket (S3), bucket (GCS) or container (Azure Blob) and its security settings, \
         read through the provider's API. Every value is located at the bucket URI. A setting the provider's \
         API does not expose for this kind of bucket is null.",
        &[
            ("uri", Type::Str, "The URI as given (`s3://name/prefix`)."),
            ("provider", Type::Str, "`s3`, `gcs` or `azure`."),
            ("name", Type::Str, "The bucket (or Azure container) name."),
            ("region", opt_str(), "The bucket's region or location (`eu-west-1`, `us-central1`); null for Azure."),
            (
                "encrypted",
                Type::Bool,
                "Whether objects are encrypted at rest by default: S3 with a default encryption rule; always \
                 true for GCS and Azure, which encrypt every object.",
            ),
            (
                "encryption",
                opt_str(),
                "The default encryption: `AES256` (SSE-S3), `aws:kms`, `aws:kms:dsse`, `google-managed`, \
                 `cloud-kms` (a default Cloud KMS key), `microsoft-managed`, or `encryption-scope` (an Azure \
                 container whose default encryption scope is not the account's: the Blob API does not say \
                 whose key it uses); null when not encrypted.",
            ),
            (
                "kms_key",
                opt_str(),
                "The KMS key (S3 `KMSMasterKeyID`, GCS `defaultKmsKeyName`) or the Azure encryption scope, when set.",
            ),
            (
                "public",
                Type::Bool,
                "Whether anyone on the internet can read or list it: true exactly when `public_reasons` is \
                 not empty. S3: a public ACL grant (unless the public access block's `IgnorePublicAcls` is \
                 on) or a public bucket policy (unless `RestrictPublicBuckets` is on); GCS: an IAM binding \
                 or ACL entry for `allUsers`/`allAuthenticatedUsers` (unless public access prevention is \
                 `enforced`); Azure: public access level `container` or `blob`. Account-level settings \
                 (the S3 account public access block, Azure's `AllowBlobPublicAccess`) are not read.",
            ),
            (
                "public_reasons",
                Type::list(Type::Str),
                "Why it is public, one sentence each (`ACL grants READ to AllUsers`, `bucket policy allows \
                 Principal \"*\" s3:GetObject`, `IAM binds allUsers to roles/storage.objectViewer`, \
                 `` container public access level is `container` ``).",
            ),
            (
                "secure_transport",
                opt_bool(),
                "S3: whether the bucket policy denies requests with `aws:SecureTransport` false (HTTPS only). \
                 Null for GCS and Azure, whose bucket and container APIs do not tell.",
            ),
            (
                "versioning",
                opt_bool(),
                "Whether object versioning is enabled (S3 `Suspended` is false); null for Azure (an account setting).",
            ),
            (
                "logging",
                opt_bool(),
                "Whether access logging is configured (S3 server access logging, GCS usage logs); null for Azure.",
            ),
            (
                "public_access_block",
                opt_bool(),
                "S3: whether all four public access block settings of the bucket are on; null elsewhere.",
            ),
            ("uniform_access", opt_bool(), "GCS: whether uniform bucket-level access is enabled; null elsewhere."),
            ("public_access_prevention", opt_str(), "GCS: `enforced` or `inherited`; null elsewhere."),
            (
                "retention",
                opt_str(),
                "A retention rule, in words: GCS retention period (`30d`, `locked`), S3 object lock \
                 (`object lock COMPLIANCE 30d`), Azure immutability policy or legal hold; null when none.",
            ),
        ],
    );
    s.namespace(
        "bucket",
        "Cloud storage buckets through their providers' APIs. Credentials come from the environment: S3 from \
         `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`/`AWS_DEFAULT_REGION` \
         and `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL`; GCS from `GOOGLE_OAUTH_ACCESS_TOKEN` or \
         `CLOUDSDK_AUTH_ACCESS_TOKEN` (none with `STORAGE_EMULATOR_HOST`); Azure from \
         `AZURE_STORAGE_CONNECTION_STRING` (or `AZURE_STORAGE_ACCOUNT` and `AZURE_STORAGE_KEY`). Missing \
         credentials, a denied call or an unreachable endpoint make the check `error`.",
    )
    .function(
        "bucket",
        "get",
        &[("uri", Type::Str), ("endpoint", Type::Str), ("region", Type::Str)],
        1,
        Type::record("Bucket"),
        true,
        "The bucket at `s3://name[/prefix]`, `gs://name[/prefix]` or `azure://container[/prefix]` (DVC's \
         remote URLs; the prefix is ignored). `endpoint` overrides the provider's endpoint (DVC's \
         `endpointurl`: an S3-compatible server, an emulator, an Azure blob endpoint), `region` the S3 \
         region (DVC's `region`).",
    );
}

/// Where the collector reads its environment variables: the process, or
/// a map given by a test.
enum Env {
    Process,
    Map(BTreeMap<String, String>),
}

impl Env {
    /// The variable's value; unset and empty are the same.
    fn var(&self, name: &str) -> Option<String> {
        let v = match self {
            Env::Process => std::env::var(name).ok(),
            Env::Map(m) => m.get(name).cloned(),
        };
        v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }
}

pub struct BucketCollector {
    inner: Arc<Inner>,
}

struct Inner {
    http: Result<Http, String>,
    env: Env,
}

impl BucketCollector {
    /// The collector with credentials from the process environment.
    pub fn new(settings: &Settings) -> BucketCollector {
        BucketCollector::build(settings, Env::Process)
    }

    /// The collector with credentials from `env` instead of the process
    /// environment (tests: the environment is process-global).
    pub fn with_env(settings: &Settings, env: BTreeMap<String, String>) -> BucketCollector {
        BucketCollector::build(settings, Env::Map(env))
    }

    fn build(settings: &Settings, env: Env) -> BucketCollector {
        BucketCollector { inner: Arc::new(Inner { http: Http::new(settings.timeout), env }) }
    }
}

impl Collector for BucketCollector {
    fn namespaces(&self) -> &[&str] {
        &["bucket"]
    }
    fn collect(&self, call: FactCall) -> FactFuture {
        let inner = self.inner.clone();
        Box::pin(async move { inner.get(&call).await })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provider {
    S3,
    Gcs,
    Azure,
}

/// One `bucket.get` call, parsed.
struct Target {
    uri: String,
    provider: Provider,
    name: String,
    /// The `endpoint` argument, when not empty.
    endpoint: Option<String>,
    /// The `region` argument, when not empty.
    region: Option<String>,
}

impl Inner {
    async fn get(&self, call: &FactCall) -> Result<Value, FactError> {
        if call.name != "get" {
            return Err(FactError::new(format!("unknown function `bucket.{}`", call.name)));
        }
        let arg = |i: usize| call.args.get(i).and_then(Value::as_str).map(str::trim).unwrap_or("").to_string();
        let uri = arg(0);
        let origin = Origin::uri(uri.clone());
        let (provider, name) = parse_uri(&uri).map_err(|e| FactError::new(e).at(origin.clone()))?;
        let non_empty = |s: String| Some(s).filter(|s| !s.is_empty());
        let target =
            Target { uri: uri.clone(), provider, name, endpoint: non_empty(arg(1)), region: non_empty(arg(2)) };
        let http = self.http.as_ref().map_err(|e| FactError::new(e.clone()).at(origin.clone()))?;
        let facts = match provider {
            Provider::S3 => s3::collect(http, &self.env, &target).await,
            Provider::Gcs => gcs::collect(http, &self.env, &target).await,
            Provider::Azure => azure::collect(http, &self.env, &target).await,
        };
        facts.map(|f| f.into_value(&target)).map_err(|e| FactError::new(e).at(origin))
    }
}

/// `s3://name/prefix` → (S3, "name").
fn parse_uri(uri: &str) -> Result<(Provider, String), String> {
    let (scheme, rest) = uri.split_once("://").ok_or_else(|| not_a_bucket(uri))?;
    let provider = match scheme.to_ascii_lowercase().as_str() {
        "s3" => Provider::S3,
        "gs" => Provider::Gcs,
        "azure" => Provider::Azure,
        _ => return Err(not_a_bucket(uri)),
    };
    let name = rest.split('/').next().unwrap_or("");
    let valid = !name.is_empty()
        && name.len() <= 222
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'$'));
    if !valid {
        return Err(format!("`{uri}` has no valid bucket name"));
    }
    Ok((provider, name.to_string()))
}

fn not_a_bucket(uri: &str) -> String {
    format!("`{uri}` is not a bucket URI: expected `s3://NAME`, `gs://NAME` or `azure://CONTAINER`")
}

/// What a provider found out; [`Facts::into_value`] makes the record.
#[derive(Debug, Default)]
struct Facts {
    region: Option<String>,
    encrypted: bool,
    encryption: Option<String>,
    kms_key: Option<String>,
    public_reasons: Vec<String>,
    secure_transport: Option<bool>,
    versioning: Option<bool>,
    logging: Option<bool>,
    public_access_block: Option<bool>,
    uniform_access: Option<bool>,
    public_access_prevention: Option<String>,
    retention: Option<String>,
}

impl Facts {
    fn into_value(self, target: &Target) -> Value {
        let origin = Origin::uri(target.uri.clone());
        let at = |v: Value| v.with_origin(origin.clone());
        let s = |v: Option<String>| at(v.map_or_else(Value::null, Value::str));
        let b = |v: Option<bool>| at(v.map_or_else(Value::null, Value::bool));
        let provider = match target.provider {
            Provider::S3 => "s3",
            Provider::Gcs => "gcs",
            Provider::Azure => "azure",
        };
        let public = !self.public_reasons.is_empty();
        let reasons = self.public_reasons.into_iter().map(|r| at(Value::str(r))).collect();
        record(vec![
            ("uri", at(Value::str(&target.uri))),
            ("provider", at(Value::str(provider))),
            ("name", at(Value::str(&target.name))),
            ("region", s(self.region)),
            ("encrypted", at(Value::bool(self.encrypted))),
            ("encryption", s(self.encryption)),
            ("kms_key", s(self.kms_key)),
            ("public", at(Value::bool(public))),
            ("public_reasons", at(Value::list(reasons))),
            ("secure_transport", b(self.secure_transport)),
            ("versioning", b(self.versioning)),
            ("logging", b(self.logging)),
            ("public_access_block", b(self.public_access_block)),
            ("uniform_access", b(self.uniform_access)),
            ("public_access_prevention", s(self.public_access_prevention)),
            ("retention", s(self.retention)),
        ])
        .with_origin(origin)
    }
}

/// The shared HTTP client.
struct Http {
    client: reqwest::Client,
    timeout: Duration,
}

/// A response read whole (up to [`MAX_BODY`]).
struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
    }
    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl Http {
    fn new(timeout: Duration) -> Result<Http, String> {
        let roots = crate::net::roots(Vec::new())?;
        let client = crate::net::client_builder(roots)?
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {}", root_cause(&e)))?;
        Ok(Http { client, timeout })
    }

    /// GETs `url` with `headers`; the error names the host and the reason,
    /// never the query or the headers.
    async fn get(&self, url: &reqwest::Url, headers: &[(String, String)]) -> Result<Reply, String> {
        let mut req = self.client.get(url.clone());
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let host = host_of(url);
        let mut resp = req.send().await.map_err(|e| self.transport_error(&host, e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport_error(&host, e))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(format!("{host} answered more than {} KiB", MAX_BODY / 1024));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Reply { status, headers, body })
    }

    fn transport_error(&self, host: &str, e: reqwest::Error) -> String {
        // The URL may carry an Azure SAS token in its query.
        let e = e.without_url();
        if e.is_timeout() {
            format!("{host} did not answer within {}s", self.timeout.as_secs_f64())
        } else {
            format!("cannot reach {host}: {}", root_cause(&e))
        }
    }
}

/// `scheme://host[:port]` of a URL: what an error may name.
fn host_of(url: &reqwest::Url) -> String {
    match url.port() {
        Some(p) => format!("{}://{}:{p}", url.scheme(), url.host_str().unwrap_or("")),
        None => format!("{}://{}", url.scheme(), url.host_str().unwrap_or("")),
    }
}

/// The innermost cause of an error, lowercase, without ` (os error N)`.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    let text = cur.to_string();
    let text = match text.find(" (os error") {
        Some(i) => text.get(..i).unwrap_or(&text).to_string(),
        None => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

/// Parses an endpoint given by the user or the environment; a bare
/// `host:port` gets `http://` (as emulator variables are often written).
fn parse_endpoint(raw: &str) -> Result<reqwest::Url, String> {
    let raw = raw.trim().trim_end_matches('/');
    let with_scheme = if raw.contains("://") { raw.to_string() } else { format!("http://{raw}") };
    match reqwest::Url::parse(&with_scheme) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(u),
        _ => Err(format!("`{raw}` is not an http(s) endpoint")),
    }
}

/// The Host header value of a URL as reqwest sends it.
fn host_header(url: &reqwest::Url) -> String {
    match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or("")),
        None => url.host_str().unwrap_or("").to_string(),
    }
}

/// `url` with its path extended by `segments` (each already safe: bucket
/// names are `[a-z0-9._-]`) and `query` appended (`("acl", "")` → `?acl`).
fn url_with(base: &reqwest::Url, segments: &[&str], query: &[(&str, &str)]) -> Result<reqwest::Url, String> {
    let mut path = base.path().trim_end_matches('/').to_string();
    for s in segments {
        path.push('/');
        path.push_str(&sign::uri_encode(s, false));
    }
    if path.is_empty() {
        path.push('/');
    }
    let query: Vec<String> = query
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                sign::uri_encode(k, false)
            } else {
                format!("{}={}", sign::uri_encode(k, false), sign::uri_encode(v, false))
            }
        })
        .collect();
    let mut text = format!("{}://{}{path}", base.scheme(), host_header(base));
    if !query.is_empty() {
        text.push('?');
        text.push_str(&query.join("&"));
    }
    reqwest::Url::parse(&text).map_err(|e| format!("bad URL for {}: {e}", host_of(base)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert_eq!(parse_uri("s3://my-bucket/data/x").unwrap(), (Provider::S3, "my-bucket".to_string()));
        assert_eq!(parse_uri("gs://b").unwrap(), (Provider::Gcs, "b".to_string()));
        assert_eq!(parse_uri("azure://c/p").unwrap(), (Provider::Azure, "c".to_string()));
        assert!(parse_uri("ftp://x").unwrap_err().contains("not a bucket URI"));
        assert!(parse_uri("s3://").unwrap_err().contains("no valid bucket name"));
        assert!(parse_uri("bucket").is_err());
    }

    #[test]
    fn urls() {
        let base = parse_endpoint("127.0.0.1:9000").unwrap();
        assert_eq!(url_with(&base, &["b"], &[("acl", "")]).unwrap().as_str(), "http://127.0.0.1:9000/b?acl");
        let base = parse_endpoint("https://s3.eu-west-1.amazonaws.com/").unwrap();
        assert_eq!(host_header(&base), "s3.eu-west-1.amazonaws.com");
        assert_eq!(url_with(&base, &[], &[]).unwrap().as_str(), "https://s3.eu-west-1.amazonaws.com/");
        assert!(parse_endpoint("ftp://x").is_err());
    }
}
