//! `bucket.get` against real servers: S3 on moto (`MLPOL_TEST_S3`), Azure
//! Blob on Azurite (`MLPOL_TEST_AZURITE`), GCS on gcp-storage-emulator
//! (`MLPOL_TEST_GCS`). Each test arranges its own uniquely named buckets
//! with `tests/buckets/arrange.py` (boto3, azure-storage-blob, plain JSON
//! calls) run by `MLPOL_PYTHON`, then reads them back through the
//! collector with an explicit environment (`BucketCollector::with_env`),
//! so no test touches the process environment.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{at, text};
use mlpol_lang::eval::{FactCall, FactError};
use mlpol_lang::value::{Kind, Value};
use mlpol_stdlib::buckets::BucketCollector;
use mlpol_stdlib::collect::{Collector, Settings};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The value of a variable `.ci/run` sets; `None` (test skipped) outside
/// CI when it is unset, a failure in CI.
fn required_var(var: &str, component: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(std::env::var("CI").is_err(), "{var} must be set by .ci/run");
            eprintln!("SKIPPED: {component} not running ({var} unset)");
            None
        }
    }
}

/// The server's endpoint and the Python that arranges buckets on it.
fn server(var: &str, component: &str) -> Option<(String, String)> {
    let endpoint = required_var(var, component)?;
    let python = required_var("MLPOL_PYTHON", "the arranging Python")?;
    Some((endpoint.trim_end_matches('/').to_string(), python))
}

/// A bucket name no other test (or earlier run against the same server)
/// uses: lowercase letters, digits and dashes, valid for all three providers.
fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() % 1_000_000_000;
    format!("{prefix}-{}-{}-{nanos}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

fn arrange_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/buckets/arrange.py")
}

/// Runs `arrange.py PROVIDER SCENARIO NAME`; returns its stdout.
fn arrange(python: &str, provider: &str, scenario: &str, name: &str, env: &[(&str, &str)]) -> String {
    let out = Command::new(python)
        .arg(arrange_script())
        .args([provider, scenario, name])
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    assert!(
        out.status.success(),
        "arrange.py {provider} {scenario} {name} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn settings(timeout: Duration) -> Settings {
    Settings { timeout, ..Settings::default() }
}

/// `bucket.get(args…)` through a collector reading `env`.
fn get_with(settings: &Settings, env: &[(&str, &str)], args: &[&str]) -> Result<Value, FactError> {
    let env: BTreeMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let collector = BucketCollector::with_env(settings, env);
    let call = FactCall {
        namespace: "bucket".to_string(),
        name: "get".to_string(),
        args: args.iter().map(Value::str).collect(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(collector.collect(call))
}

fn get(env: &[(&str, &str)], args: &[&str]) -> Result<Value, FactError> {
    get_with(&settings(Duration::from_secs(10)), env, args)
}

fn flag(v: &Value, field: &str) -> Option<bool> {
    match at(v, &[field]).kind {
        Kind::Bool(b) => Some(b),
        Kind::Null => None,
        ref k => panic!("{field} is not a bool or null: {k:?}"),
    }
}

fn opt_text(v: &Value, field: &str) -> Option<String> {
    let x = at(v, &[field]);
    if x.is_null() {
        None
    } else {
        Some(x.as_str().unwrap_or_else(|| panic!("{field} is not a string: {x}")).to_string())
    }
}

fn reasons(v: &Value) -> Vec<String> {
    match &at(v, &["public_reasons"]).kind {
        Kind::List(xs) => xs.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
        k => panic!("public_reasons is not a list: {k:?}"),
    }
}

/// Every field is located at the bucket URI, and the record has exactly
/// the schema's fields, in its order.
fn assert_shape(v: &Value, uri: &str) {
    let schema = mlpol_stdlib::schema::schema();
    let fields: Vec<&str> = schema.records["Bucket"].fields.iter().map(|f| f.name.as_str()).collect();
    let Kind::Map(entries) = &v.kind else { panic!("not a record: {v}") };
    let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, fields);
    for (k, x) in entries.iter() {
        assert_eq!(x.origin.as_ref().and_then(|o| o.uri.as_deref()), Some(uri), "origin of {k}");
    }
    assert_eq!(text(v, &["uri"]), uri);
    assert_eq!(flag(v, "public"), Some(!reasons(v).is_empty()));
}

fn assert_error(r: Result<Value, FactError>, uri: &str, needle: &str) -> String {
    let e = r.expect_err("expected an error");
    assert!(e.message.contains(needle), "`{}` does not contain `{needle}`", e.message);
    assert_eq!(e.origin.as_ref().and_then(|o| o.uri.as_deref()), Some(uri));
    assert!(!e.skipped);
    e.message
}

// ---- S3 (moto) ----------------------------------------------------------

/// Fake credentials for moto, which accepts any unless auth is switched on.
fn s3_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", ["mlpol", "test", "key"].join("-")),
        ("AWS_SECRET_ACCESS_KEY", ["mlpol", "test", "secret"].join("-")),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
    ]
}

fn borrow<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn arrange_s3(endpoint: &str, python: &str, scenario: &str) -> (String, String) {
    let name = unique(scenario);
    arrange(python, "s3", scenario, &name, &[("MLPOL_TEST_S3", endpoint)]);
    let uri = format!("s3://{name}/data");
    (name, uri)
}

#[test]
fn s3_encrypted_blocked_https_only_versioned_bucket() {
    let Some((endpoint, python)) = server("MLPOL_TEST_S3", "moto") else { return };
    let (name, uri) = arrange_s3(&endpoint, &python, "secure");
    let v = get(&borrow(&s3_env(&endpoint)), &[&uri]).unwrap();
    assert_shape(&v, &uri);
    assert_eq!(text(&v, &["provider"]), "s3");
    assert_eq!(text(&v, &["name"]), name);
    assert_eq!(opt_text(&v, "region").as_deref(), Some("us-east-1"));
    assert_eq!(flag(&v, "encrypted"), Some(true));
    assert_eq!(opt_text(&v, "encryption").as_deref(), Some("AES256"));
    assert_eq!(opt_text(&v, "kms_key"), None);
    assert_eq!(flag(&v, "public"), Some(false));
    assert_eq!(flag(&v, "secure_transport"), Some(true));
    assert_eq!(flag(&v, "public_access_block"), Some(true));
    assert_eq!(flag(&v, "versioning"), Some(true));
    assert_eq!(flag(&v, "logging"), Some(false));
    assert_eq!(flag(&v, "uniform_access"), None);
    assert_eq!(opt_text(&v, "public_access_prevention"), None);
    assert_eq!(opt_text(&v, "retention"), None);
}

#[test]
fn s3_public_read_acl_is_public() {
    let Some((endpoint, python)) = server("MLPOL_TEST_S3", "moto") else { return };
    let (_, uri) = arrange_s3(&endpoint, &python, "public-acl");
    let v = get(&borrow(&s3_env(&endpoint)), &[&uri]).unwrap();
    assert_shape(&v, &uri);
    assert_eq!(flag(&v, "public"), Some(true));
    assert_eq!(reasons(&v), vec!["ACL grants READ to AllUsers"]);
    assert_eq!(flag(&v, "encrypted"), Some(false));
    assert_eq!(opt_text(&v, "encryption"), None);
    assert_eq!(flag(&v, "secure_transport"), Some(false));
    assert_eq!(flag(&v, "public_access_block"), Some(false));
    assert_eq!(flag(&v, "versioning"), Some(false));
}

#[test]
fn s3_public_acl_is_neutralised_by_ignore_public_acls() {
    let Some((endpoint, python)) = server("MLPOL_TEST_S3", "moto") else { return };
    let (_, uri) = arrange_s3(&endpoint, &python, "public-acl-ignored");
    let v = get(&borrow(&s3_env(&endpoint)), &[&uri]).unwrap();
    assert_eq!(flag(&v, "public"), Some(false));
    assert!(reasons(&v).is_empty());
    // Only one of the four settings is on.
    assert_eq!(flag(&v, "public_access_block"), Some(false));
}

#[test]
fn s3_policy_allowing_everyone_is_public() {
    let Some((endpoint, python)) = server("MLPOL_TEST_S3", "moto") else { return };
    let (_, uri) = arrange_s3(&endpoint, &python, "public-policy");
    let v = get(&borrow(&s3_env(&endpoint)), &[&uri]).unwrap();
    assert_shape(&v, &uri);
    assert_eq!(flag(&v, "public"), Some(true));
    assert_eq!(reasons(&v), vec!["bucket policy allows Principal \"*\" s3:GetObject"]);
    assert_eq!(flag(&v, "secure_transport"), Some(false));
}

/// The endpoint and region given as arguments (as DVC's `endpointurl` and
/// `region`), no endpoint in the environment; the region comes from
/// GetBucketLocation.
#[test]
fn s3_kms_object_lock_logging_and_region_with_endpoint_argument() {
    let Some((endpoint, python)) = server("MLPOL_TEST_S3", "moto") else { return };
    let (_, uri) = arrange_s3(&endpoint, &python, "kms-locked");
    let mut env = s3_env(&endpoint);
    env.retain(|(k, _)| !k.starts_with("AWS_ENDPOINT") && *k != "AWS_REGION");
    let v = get(&borrow(&env), &[&uri, &endpoint, "us-east-1"]).unwrap();
    assert_shape(&v, &uri);
    assert_eq!(opt_text(&v, "region").as_deref(), Some("eu-west-1"));
    assert_eq!(flag(&v, "encrypted"), Some(true));
    assert_eq!(opt_text(&v, "encryption").as_deref(), Some("aws:kms"));
    assert_eq!(opt_text(&v, "kms_key").as_deref(), Some("alias/mlpol-test"));
    assert_eq!(opt_text(&v, "retention").as_deref(), Some("object lock GOVERNANCE 30d"));
    assert_eq!(flag(&v, "logging"), Some(true));
    // Object lock turns versioning on.
    assert_eq!(flag(&v, "versioning"), Some(true));
}

#[test]
fn s3_missing_bucket_is_an_error() {
    let Some((endpoint, _)) = server("MLPOL_TEST_S3", "moto") else { return };
    let uri = format!("s3://{}", unique("absent"));
    assert_error(get(&borrow(&s3_env(&endpoint)), &[&uri]), &uri, "bucket does not exist");
}

#[test]
fn s3_missing_credentials_name_the_variables() {
    let uri = "s3://any-bucket";
    let e = assert_error(get(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:9")], &[uri]), uri, "no AWS credentials");
    assert!(e.contains("AWS_ACCESS_KEY_ID") && e.contains("AWS_SECRET_ACCESS_KEY"), "{e}");
    // Only one of the two is not enough.
    let r = get(&[("AWS_ACCESS_KEY_ID", "x"), ("AWS_ENDPOINT_URL", "http://127.0.0.1:9")], &[uri]);
    assert_error(r, uri, "no AWS credentials");
}

/// A moto started by this test with authentication on
/// (`INITIAL_NO_AUTH_ACTION_COUNT`: the first three calls create an IAM
/// user with an access key and an s3:* policy); moto then verifies SigV4
/// like S3 does.
struct AuthMoto {
    child: Child,
    endpoint: String,
}

impl Drop for AuthMoto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_auth_moto(python: &str) -> Option<AuthMoto> {
    let moto = PathBuf::from(python).with_file_name("moto_server");
    if !moto.exists() {
        assert!(std::env::var("CI").is_err(), "{} must exist next to MLPOL_PYTHON", moto.display());
        eprintln!("SKIPPED: no {} to start an authenticating moto", moto.display());
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(&moto)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("INITIAL_NO_AUTH_ACTION_COUNT", "3")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = AuthMoto { child, endpoint: format!("http://127.0.0.1:{port}") };
    let deadline = Instant::now() + Duration::from_secs(30);
    // A TCP connect only: an HTTP request would use up an unauthenticated action.
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto_server did not start on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(server)
}

#[test]
fn s3_signature_is_verified_by_an_authenticating_moto() {
    let Some((_, python)) = server("MLPOL_TEST_S3", "moto") else { return };
    let Some(moto) = start_auth_moto(&python) else { return };
    let name = unique("signed");
    let out = arrange(&python, "s3", "iam-user", &name, &[("MLPOL_TEST_S3", &moto.endpoint)]);
    let keys: serde_json::Value = serde_json::from_str(&out).unwrap();
    let (id, secret) = (keys["id"].as_str().unwrap(), keys["secret"].as_str().unwrap());
    let uri = format!("s3://{name}");
    let env = |secret: &str| {
        vec![
            ("AWS_ACCESS_KEY_ID", id.to_string()),
            ("AWS_SECRET_ACCESS_KEY", secret.to_string()),
            ("AWS_ENDPOINT_URL_S3", moto.endpoint.clone()),
        ]
    };
    let v = get(&borrow(&env(secret)), &[&uri]).unwrap();
    assert_eq!(text(&v, &["name"]), name);
    let wrong = format!("{secret}x");
    let message = assert_error(get(&borrow(&env(&wrong)), &[&uri]), &uri, "403 SignatureDoesNotMatch");
    assert!(message.starts_with("GetBucketLocation: "), "{message}");
    assert!(!message.contains(secret) && !message.contains(&wrong), "{message}");
}

// ---- Azure Blob (Azurite) ----------------------------------------------

/// Azurite's well-known development account key, assembled here.
fn azurite_key() -> String {
    ["Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq", "/K1SZFPTOtr/KBHBeksoGMGw=="].concat()
}

fn azure_connection_string(endpoint: &str, key: &str) -> String {
    format!("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};BlobEndpoint={endpoint};")
}

#[test]
fn azure_public_access_levels() {
    let Some((endpoint, python)) = server("MLPOL_TEST_AZURITE", "Azurite") else { return };
    let cs = azure_connection_string(&endpoint, &azurite_key());
    for (scenario, expected) in [
        ("container", vec!["container public access level is `container`"]),
        ("blob", vec!["container public access level is `blob`"]),
        ("private", vec![]),
    ] {
        let name = unique(&format!("az-{scenario}"));
        arrange(&python, "azure", scenario, &name, &[("MLPOL_TEST_AZURE_CONNECTION_STRING", &cs)]);
        let uri = format!("azure://{name}/models");
        let v = get(&[("AZURE_STORAGE_CONNECTION_STRING", &cs)], &[&uri]).unwrap();
        assert_shape(&v, &uri);
        assert_eq!(text(&v, &["provider"]), "azure");
        assert_eq!(text(&v, &["name"]), name);
        assert_eq!(reasons(&v), expected, "{scenario}");
        assert_eq!(flag(&v, "public"), Some(!expected.is_empty()));
        assert_eq!(flag(&v, "encrypted"), Some(true));
        assert_eq!(opt_text(&v, "encryption").as_deref(), Some("microsoft-managed"));
        assert_eq!(opt_text(&v, "region"), None);
        assert_eq!(flag(&v, "secure_transport"), None);
        assert_eq!(flag(&v, "versioning"), None);
        assert_eq!(flag(&v, "public_access_block"), None);
    }
}

#[test]
fn azure_missing_container_and_wrong_key_are_errors() {
    let Some((endpoint, python)) = server("MLPOL_TEST_AZURITE", "Azurite") else { return };
    let cs = azure_connection_string(&endpoint, &azurite_key());
    let uri = format!("azure://{}", unique("az-absent"));
    assert_error(get(&[("AZURE_STORAGE_CONNECTION_STRING", &cs)], &[&uri]), &uri, "container does not exist");

    let name = unique("az-signed");
    arrange(&python, "azure", "private", &name, &[("MLPOL_TEST_AZURE_CONNECTION_STRING", &cs)]);
    let uri = format!("azure://{name}");
    // Another valid base64 key of the same length: the signature no longer matches.
    let wrong_key = azurite_key().replacen("Eby8", "Fby8", 1);
    let wrong = azure_connection_string(&endpoint, &wrong_key);
    let message = assert_error(get(&[("AZURE_STORAGE_CONNECTION_STRING", &wrong)], &[&uri]), &uri, "403");
    assert!(message.contains("AuthorizationFailure") || message.contains("AuthenticationFailed"), "{message}");
    assert!(!message.contains(&wrong_key), "{message}");
    // The endpoint argument overrides BlobEndpoint.
    let elsewhere = azure_connection_string("http://127.0.0.1:9/devstoreaccount1", &azurite_key());
    let v = get(&[("AZURE_STORAGE_CONNECTION_STRING", &elsewhere)], &[&uri, &endpoint]).unwrap();
    assert_eq!(flag(&v, "public"), Some(false));
}

#[test]
fn azure_missing_credentials_name_the_variables() {
    let uri = "azure://models";
    let e = assert_error(get(&[], &[uri]), uri, "no Azure credentials");
    assert!(e.contains("AZURE_STORAGE_CONNECTION_STRING"), "{e}");
}

// ---- GCS (gcp-storage-emulator) -----------------------------------------

fn arrange_gcs(endpoint: &str, python: &str, scenario: &str) -> String {
    let name = unique(&format!("gcs-{scenario}"));
    arrange(python, "gcs", scenario, &name, &[("MLPOL_TEST_GCS", endpoint)]);
    name
}

#[test]
fn gcs_all_users_binding_is_public() {
    let Some((endpoint, python)) = server("MLPOL_TEST_GCS", "gcp-storage-emulator") else { return };
    let name = arrange_gcs(&endpoint, &python, "public");
    let uri = format!("gs://{name}/dvc");
    let v = get(&[("STORAGE_EMULATOR_HOST", &endpoint)], &[&uri]).unwrap();
    assert_shape(&v, &uri);
    assert_eq!(text(&v, &["provider"]), "gcs");
    assert_eq!(flag(&v, "public"), Some(true));
    assert_eq!(reasons(&v), vec!["IAM binds allUsers to roles/storage.objectViewer"]);
    assert_eq!(flag(&v, "uniform_access"), Some(false));
    assert_eq!(flag(&v, "versioning"), Some(true));
    assert_eq!(flag(&v, "logging"), Some(false));
    assert_eq!(flag(&v, "encrypted"), Some(true));
    assert_eq!(opt_text(&v, "encryption").as_deref(), Some("google-managed"));
    assert_eq!(opt_text(&v, "region").as_deref(), Some("us"));
    assert_eq!(flag(&v, "secure_transport"), None);
    assert_eq!(flag(&v, "public_access_block"), None);
}

#[test]
fn gcs_uniform_access_with_enforced_prevention_is_private() {
    let Some((endpoint, python)) = server("MLPOL_TEST_GCS", "gcp-storage-emulator") else { return };
    let name = arrange_gcs(&endpoint, &python, "private");
    let uri = format!("gs://{name}");
    // The endpoint as an argument instead of STORAGE_EMULATOR_HOST.
    let v = get(&[], &[&uri, &endpoint]).unwrap();
    assert_shape(&v, &uri);
    assert_eq!(flag(&v, "public"), Some(false));
    assert_eq!(flag(&v, "uniform_access"), Some(true));
    assert_eq!(opt_text(&v, "public_access_prevention").as_deref(), Some("enforced"));
    assert_eq!(flag(&v, "versioning"), Some(false));
}

#[test]
fn gcs_enforced_prevention_neutralises_an_all_users_binding() {
    let Some((endpoint, python)) = server("MLPOL_TEST_GCS", "gcp-storage-emulator") else { return };
    let name = arrange_gcs(&endpoint, &python, "prevented");
    let uri = format!("gs://{name}");
    let v = get(&[("STORAGE_EMULATOR_HOST", &endpoint)], &[&uri]).unwrap();
    assert_eq!(flag(&v, "public"), Some(false));
    assert!(reasons(&v).is_empty());
    assert_eq!(opt_text(&v, "public_access_prevention").as_deref(), Some("enforced"));
}

#[test]
fn gcs_missing_bucket_is_an_error() {
    let Some((endpoint, _)) = server("MLPOL_TEST_GCS", "gcp-storage-emulator") else { return };
    let uri = format!("gs://{}", unique("gcs-absent"));
    assert_error(get(&[("STORAGE_EMULATOR_HOST", &endpoint)], &[&uri]), &uri, "bucket does not exist");
}

#[test]
fn gcs_without_token_names_the_variables() {
    let uri = "gs://models";
    let e = assert_error(get(&[], &[uri]), uri, "no Google Cloud access token");
    assert!(e.contains("GOOGLE_OAUTH_ACCESS_TOKEN") && e.contains("CLOUDSDK_AUTH_ACCESS_TOKEN"), "{e}");
    assert!(!e.contains("GOOGLE_APPLICATION_CREDENTIALS"), "{e}");
    let e = get(&[("GOOGLE_APPLICATION_CREDENTIALS", "/tmp/sa.json")], &[uri]).unwrap_err().message;
    assert!(e.contains("GOOGLE_APPLICATION_CREDENTIALS is set, but mlpol does not exchange"), "{e}");
}

// ---- Every provider: unreachable and silent endpoints ------------------

fn closed_port_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn provider_calls(endpoint: &str) -> Vec<(String, Vec<(&'static str, String)>)> {
    vec![
        ("s3://b".to_string(), s3_env(endpoint)),
        ("gs://b".to_string(), vec![("STORAGE_EMULATOR_HOST", endpoint.to_string())]),
        (
            "azure://b".to_string(),
            vec![("AZURE_STORAGE_CONNECTION_STRING", azure_connection_string(endpoint, &azurite_key()))],
        ),
    ]
}

#[test]
fn unreachable_endpoint_is_an_error() {
    let endpoint = closed_port_endpoint();
    for (uri, env) in provider_calls(&endpoint) {
        let message = assert_error(get(&borrow(&env), &[&uri]), &uri, "connection refused");
        assert!(message.contains(&format!("cannot reach {endpoint}")), "{message}");
    }
}

#[test]
fn silent_endpoint_times_out_within_the_timeout() {
    // Accepts connections (the kernel does) but never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let settings = settings(Duration::from_millis(800));
    for (uri, env) in provider_calls(&endpoint) {
        let started = Instant::now();
        let message = assert_error(get_with(&settings, &borrow(&env), &[&uri]), &uri, "did not answer within 0.8s");
        assert!(started.elapsed() < Duration::from_secs(3), "{uri} took {:?}: {message}", started.elapsed());
    }
    drop(listener);
}

/// Certificates are verified against the platform's roots: a self-signed
/// server is refused (and the TLS set-up does not panic).
#[test]
fn untrusted_certificate_is_an_error() {
    let key = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(ring_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![key.cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.signing_key.serialize_der().into()),
        )
        .unwrap();
    let config = std::sync::Arc::new(config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        // One handshake per provider; each ends when the client refuses the certificate.
        for _ in 0..3 {
            let (tcp, _) = listener.accept().unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut stream = rustls::StreamOwned::new(conn, tcp);
            let _ = std::io::Read::read(&mut stream, &mut [0u8; 64]);
        }
    });
    let endpoint = format!("https://127.0.0.1:{port}");
    for (uri, env) in provider_calls(&endpoint) {
        let message = assert_error(get(&borrow(&env), &[&uri]), &uri, "certificate");
        assert!(message.contains(&format!("cannot reach {endpoint}")), "{message}");
    }
    server.join().unwrap();
}

#[allow(deprecated)]
fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

#[test]
fn not_a_bucket_uri_is_an_error() {
    let e = assert_error(get(&[], &["ftp://x/y"]), "ftp://x/y", "not a bucket URI");
    assert!(e.contains("s3://"), "{e}");
}
