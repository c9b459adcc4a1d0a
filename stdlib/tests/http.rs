#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
//! The `http` collector against servers started by the tests on
//! 127.0.0.1:0 (plain and TLS, certificates made by rcgen), and against the
//! MLflow basic-auth server of `.ci/run` when `MLPOL_TEST_MLFLOW_URL` is set.

#[path = "http/server.rs"]
mod server;

use mlpol_lang::eval::{FactCall, FactError};
use mlpol_lang::value::{Kind, Value};
use mlpol_stdlib::collect::{Collector, Collectors, Settings};
use mlpol_stdlib::http::HttpCollector;
use server::{ca, closed_port, leaf, response, self_signed, Reply, Server, Validity};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- helpers

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(f)
}

fn settings(seconds: f64) -> Settings {
    Settings { timeout: Duration::from_secs_f64(seconds), ..Settings::default() }
}

fn collector() -> HttpCollector {
    HttpCollector::new(&settings(5.0))
}

async fn call(c: &HttpCollector, name: &str, args: &[&str]) -> Result<Value, FactError> {
    let args = args.iter().map(Value::str).collect();
    c.collect(FactCall { namespace: "http".into(), name: name.into(), args }).await
}

async fn ok(c: &HttpCollector, name: &str, args: &[&str]) -> Value {
    match call(c, name, args).await {
        Ok(v) => v,
        Err(e) => panic!("http.{name}({args:?}) failed: {e}"),
    }
}

async fn err(c: &HttpCollector, name: &str, args: &[&str]) -> String {
    match call(c, name, args).await {
        Ok(v) => panic!("http.{name}({args:?}) should fail, got {v:?}"),
        Err(e) => {
            assert!(!e.to_string().contains(&password()), "a password in an error: {e}");
            e.message
        }
    }
}

fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
    v.get(name).unwrap_or_else(|| panic!("no field `{name}` in {v:?}"))
}

fn int(v: &Value, name: &str) -> i64 {
    match field(v, name).kind {
        Kind::Int(n) => n,
        ref other => panic!("`{name}` is not an int: {other:?}"),
    }
}

fn boolean(v: &Value, name: &str) -> bool {
    match field(v, name).kind {
        Kind::Bool(b) => b,
        ref other => panic!("`{name}` is not a bool: {other:?}"),
    }
}

fn text<'a>(v: &'a Value, name: &str) -> &'a str {
    field(v, name).as_str().unwrap_or_else(|| panic!("`{name}` is not a string: {v:?}"))
}

fn header<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    field(v, "headers").get(name).and_then(Value::as_str)
}

fn strings(v: &Value, name: &str) -> Vec<String> {
    match &field(v, name).kind {
        Kind::List(xs) => xs.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
        other => panic!("`{name}` is not a list: {other:?}"),
    }
}

/// A password assembled at test time, unique to the process.
fn password() -> String {
    format!("pw-{}-{}-tEsT", "Zq7xK", std::process::id())
}

/// A unique environment variable name with this value.
fn env_var(test: &str, what: &str, value: &str) -> String {
    let name = format!("MLPOL_HTTP_TEST_{}_{}", test.to_uppercase(), what.to_uppercase());
    std::env::set_var(&name, value);
    name
}

fn base64(input: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            out.push(if i <= chunk.len() { A[((n >> (18 - 6 * i)) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
}

/// A server that wants `Authorization: <expected>` and echoes what it got
/// back in a header and in the body, as a careless server would.
async fn auth_server(expected: String) -> Server {
    Server::start(move |req| {
        let got = req.header("authorization").unwrap_or_default().to_string();
        if got == expected {
            response(200, &[("Authorization", &got), ("X-Seen", &got)], &format!("{{\"seen\": \"{got}\"}}"))
        } else {
            response(401, &[("WWW-Authenticate", "Basic realm=\"test\"")], "unauthorized")
        }
    })
    .await
}

/// The secret does not appear anywhere in the value, printed or debugged.
fn assert_hidden(v: &Value, secret: &str) {
    assert!(!format!("{v:?}").contains(secret), "secret in value: {v:?}");
    assert!(!v.to_string().contains(secret), "secret in value: {v}");
}

// ------------------------------------------------------------ credentials

#[test]
fn basic_auth_from_environment_variables() {
    run(async {
        let pw = password();
        let srv = auth_server(basic("admin", &pw)).await;
        let c = collector();
        let url = srv.url("/api");

        let anonymous = ok(&c, "get", &[&url]).await;
        assert_eq!(int(&anonymous, "status"), 401);
        assert_eq!(header(&anonymous, "www-authenticate"), Some("Basic realm=\"test\""));

        let user = env_var("basic", "user", "admin");
        let pass = env_var("basic", "pass", &pw);
        let v = ok(&c, "get_basic", &[&url, &user, &pass]).await;
        assert_eq!(int(&v, "status"), 200);
        assert_eq!(srv.requests().last().unwrap().header("authorization"), Some(basic("admin", &pw).as_str()));
        // The server echoed the credentials: masked in the header map and the body.
        assert_hidden(&v, &pw);
        assert_hidden(&v, &base64(format!("admin:{pw}").as_bytes()));
        assert!(header(&v, "authorization").unwrap().contains('*'));
        assert!(header(&v, "x-seen").unwrap().contains('*'));
        assert!(text(&v, "body").contains("\"seen\""));

        let wrong = env_var("basic", "wrong", "not-the-password");
        assert_eq!(int(&ok(&c, "get_basic", &[&url, &user, &wrong]).await, "status"), 401);
    });
}

#[test]
fn basic_auth_with_credentials_written_in_the_policy() {
    run(async {
        let pw = password();
        let srv = auth_server(basic("admin", &pw)).await;
        let c = collector();
        let v = ok(&c, "get_login", &[&srv.url("/"), "admin", &pw]).await;
        assert_eq!(int(&v, "status"), 200);
        assert_hidden(&v, &pw);
        assert_eq!(int(&ok(&c, "get_login", &[&srv.url("/"), "admin", "password1234"]).await, "status"), 401);
    });
}

#[test]
fn unset_or_empty_environment_variable_is_an_error_naming_it() {
    run(async {
        let pw = password();
        let srv = auth_server(basic("admin", &pw)).await;
        let c = collector();
        let url = srv.url("/");
        let pass = env_var("unset", "pass", &pw);
        let missing = "MLPOL_HTTP_TEST_UNSET_NEVER_SET";
        std::env::remove_var(missing);
        let e = err(&c, "get_basic", &[&url, missing, &pass]).await;
        assert!(e.contains(missing) && e.contains("not set"), "{e}");
        assert!(!e.contains(&pw), "{e}");
        let e = err(&c, "get_basic", &[&url, &env_var("unset", "user", "admin"), missing]).await;
        assert!(e.contains(missing), "{e}");
        let empty = env_var("unset", "empty", "");
        let e = err(&c, "get_header", &[&url, "X-API-Key", &empty]).await;
        assert!(e.contains(&empty) && e.contains("empty"), "{e}");
        let e = err(&c, "get_basic", &[&url, "", &pass]).await;
        assert!(e.contains("is not an environment variable name"), "{e}");
        // Nothing was sent.
        assert!(srv.requests().is_empty());
    });
}

#[test]
fn api_key_header_from_an_environment_variable() {
    run(async {
        let key = format!("k-{}-{}", "a1b2c3d4", std::process::id());
        let expected = key.clone();
        let srv = Server::start(move |req| {
            if req.header("x-api-key") == Some(expected.as_str()) {
                response(200, &[("X-API-Key", &expected)], "ok")
            } else {
                response(401, &[], "no key")
            }
        })
        .await;
        let c = collector();
        let var = env_var("apikey", "value", &key);
        assert_eq!(int(&ok(&c, "get", &[&srv.url("/")]).await, "status"), 401);
        let v = ok(&c, "get_header", &[&srv.url("/"), "X-API-Key", &var]).await;
        assert_eq!(int(&v, "status"), 200);
        assert_hidden(&v, &key);
        assert!(header(&v, "x-api-key").unwrap().contains('*'));
        let e = err(&c, "get_header", &[&srv.url("/"), "bad header", &var]).await;
        assert!(e.contains("not a valid header name"), "{e}");
    });
}

#[test]
fn bearer_token_in_authorization() {
    run(async {
        let token = format!("tok{}{}", "en0123456789", std::process::id());
        let expected = format!("Bearer {token}");
        let srv = Server::start(move |req| {
            let got = req.header("authorization").unwrap_or_default().to_string();
            response(if got == expected { 200 } else { 401 }, &[], &format!("you sent {got}"))
        })
        .await;
        let c = collector();
        let var = env_var("bearer", "token", &format!("Bearer {token}"));
        let v = ok(&c, "get_header", &[&srv.url("/"), "Authorization", &var]).await;
        assert_eq!(int(&v, "status"), 200);
        assert_hidden(&v, &token);
    });
}

#[test]
fn credentials_stay_with_their_origin_on_redirects() {
    run(async {
        let pw = password();
        let other = Server::start(|_| response(200, &[], "landed")).await;
        let other_url = other.url("/landing");
        let expected = basic("admin", &pw);
        let home = Server::start(move |req| match req.path.as_str() {
            "/away" => response(302, &[("Location", &other_url)], ""),
            "/same" => response(301, &[("Location", "/ok")], ""),
            "/ok" if req.header("authorization") == Some(expected.as_str()) => response(200, &[], "welcome"),
            _ => response(401, &[], "who are you"),
        })
        .await;
        let c = collector();
        let user = env_var("redirect", "user", "admin");
        let pass = env_var("redirect", "pass", &pw);

        // Same origin: the credentials follow.
        let v = ok(&c, "get_basic", &[&home.url("/same"), &user, &pass]).await;
        assert_eq!(int(&v, "status"), 200, "{v:?}");
        assert_eq!(text(&v, "final_url"), home.url("/ok"));
        assert_eq!(strings(&v, "redirects"), vec![home.url("/ok")]);
        assert_eq!(text(&v, "url"), home.url("/same"));

        // Another origin: they do not.
        let v = ok(&c, "get_basic", &[&home.url("/away"), &user, &pass]).await;
        assert_eq!(int(&v, "status"), 200);
        assert_eq!(text(&v, "final_url"), other.url("/landing"));
        assert_eq!(text(&v, "body"), "landed");
        let key = env_var("redirect", "key", &pw);
        ok(&c, "get_header", &[&home.url("/away"), "X-API-Key", &key]).await;
        let seen = other.requests();
        assert_eq!(seen.len(), 2);
        for r in &seen {
            assert_eq!(r.header("authorization"), None, "credentials leaked to another origin: {r:?}");
            assert_eq!(r.header("x-api-key"), None, "credentials leaked to another origin: {r:?}");
        }
        // The first hop did carry them.
        assert!(home.requests().iter().any(|r| r.path == "/away" && r.header("x-api-key") == Some(pw.as_str())));
    });
}

#[test]
fn url_with_credentials_or_another_scheme_is_refused() {
    run(async {
        let c = collector();
        let pw = password();
        let e = call(&c, "get", &[&format!("http://admin:{pw}@127.0.0.1:9/")]).await.unwrap_err();
        assert!(e.message.contains("credentials"), "{e}");
        assert!(!e.to_string().contains(&pw) && !format!("{e:?}").contains(&pw), "{e:?}");
        assert!(e.message.contains("admin:****@"), "{e}");
        let e = err(&c, "get", &["ftp://127.0.0.1/file"]).await;
        assert!(e.contains("only http and https"), "{e}");
        let e = err(&c, "get", &["file:///etc/passwd"]).await;
        assert!(e.contains("only http and https"), "{e}");
        let e = err(&c, "get", &["not a url"]).await;
        assert!(e.contains("not a URL"), "{e}");
    });
}

// ------------------------------------------------------ redirects, errors

#[test]
fn redirect_loop_and_too_many_redirects_are_errors() {
    run(async {
        let srv = Server::start(|req| {
            if let Some(n) = req.path.strip_prefix("/chain/") {
                let n: u32 = n.parse().unwrap();
                return response(302, &[("Location", &format!("/chain/{}", n + 1))], "");
            }
            match req.path.as_str() {
                "/a" => response(302, &[("Location", "/b")], ""),
                "/b" => response(307, &[("Location", "/a")], ""),
                "/ten" => response(302, &[("Location", "/chain/1")], ""),
                _ => response(404, &[], ""),
            }
        })
        .await;
        let c = collector();
        let e = err(&c, "get", &[&srv.url("/a")]).await;
        assert!(e.contains("redirect loop") && e.contains(&srv.url("/a")), "{e}");
        let e = err(&c, "get", &[&srv.url("/chain/0")]).await;
        assert!(e.contains("too many redirects"), "{e}");
        // Exactly 10 redirects: 0 → 1 … → 10 is 10 hops, the 11th fails.
        assert_eq!(srv.requests().iter().filter(|r| r.path.starts_with("/chain/")).count(), 11);
    });
}

/// A 5xx answer cannot show whether authentication or TLS is right: the
/// fact is an error naming the status, never a value a check could pass on.
#[test]
fn server_error_is_an_error() {
    run(async {
        let srv = Server::start(|_| {
            response(503, &[("Retry-After", "7"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")], "down")
        })
        .await;
        let e = err(&collector(), "get", &[&srv.url("/health")]).await;
        assert!(e.contains("/health") && e.contains("HTTP 503"), "{e}");
    });
}

/// Client errors are what the probes look at (401 means authentication is
/// on): a value, with repeated headers joined.
#[test]
fn client_error_is_a_value() {
    run(async {
        let srv = Server::start(|_| {
            response(401, &[("WWW-Authenticate", "Basic"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")], "no")
        })
        .await;
        let v = ok(&collector(), "get", &[&srv.url("/health")]).await;
        assert_eq!(int(&v, "status"), 401);
        assert_eq!(header(&v, "set-cookie"), Some("a=1, b=2"));
        assert_eq!(header(&v, "www-authenticate"), Some("Basic"));
        assert_eq!(text(&v, "body"), "no");
        assert!(!boolean(&v, "truncated"));
        assert!(int(&v, "elapsed_ms") >= 0);
    });
}

#[test]
fn hanging_server_times_out() {
    run(async {
        let srv = Server::start(|_| Reply::Hang).await;
        let c = HttpCollector::new(&settings(1.0));
        let start = Instant::now();
        let e = err(&c, "get", &[&srv.url("/slow")]).await;
        assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
        assert_eq!(e, format!("GET {}: timed out after 1s", srv.url("/slow")));
    });
}

#[test]
fn body_that_never_ends_times_out() {
    run(async {
        let srv =
            Server::start(|_| Reply::Stall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nthe first bytes".to_vec()))
                .await;
        let c = HttpCollector::new(&settings(1.0));
        let start = Instant::now();
        let e = err(&c, "get", &[&srv.url("/drip")]).await;
        assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
        assert_eq!(e, format!("GET {}: timed out after 1s", srv.url("/drip")));
    });
}

#[test]
fn reset_and_refused_connections_are_errors() {
    run(async {
        let srv = Server::start(|_| Reply::Reset).await;
        let c = collector();
        let e = err(&c, "get", &[&srv.url("/x")]).await;
        assert!(e.starts_with(&format!("GET {}: ", srv.url("/x"))), "{e}");
        assert!(e.contains("reset") || e.contains("closed"), "{e}");
        let port = closed_port().await;
        let e = err(&c, "get", &[&format!("http://127.0.0.1:{port}/x")]).await;
        assert_eq!(e, format!("GET http://127.0.0.1:{port}/x: connection refused"));
    });
}

#[test]
fn huge_body_is_cut_at_one_mebibyte() {
    run(async {
        const HUNDRED_MB: u64 = 100 * 1024 * 1024;
        let srv = Server::start(|_| Reply::Stream(HUNDRED_MB)).await;
        let start = Instant::now();
        let v = ok(&collector(), "get", &[&srv.url("/big")]).await;
        assert!(boolean(&v, "truncated"));
        assert_eq!(text(&v, "body").len(), 1 << 20);
        assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
        // The client stopped reading: the server could not send the rest.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let sent = srv.streamed.load(Ordering::SeqCst);
        assert!(sent < HUNDRED_MB / 4, "the server sent {sent} bytes");
    });
}

#[test]
fn exactly_one_mebibyte_is_not_truncated() {
    run(async {
        let srv = Server::start(|_| Reply::Stream(1 << 20)).await;
        let v = ok(&collector(), "get", &[&srv.url("/")]).await;
        assert!(!boolean(&v, "truncated"));
        assert_eq!(text(&v, "body").len(), 1 << 20);
    });
}

#[test]
fn every_value_is_located_at_the_url() {
    run(async {
        let srv = Server::start(|req| match req.path.as_str() {
            "/start" => response(301, &[("Location", "/next")], ""),
            _ => response(200, &[("X-Thing", "1")], "here"),
        })
        .await;
        let url = srv.url("/start");
        let v = ok(&collector(), "get", &[&url]).await;
        let mut stack = vec![&v];
        while let Some(x) = stack.pop() {
            assert_eq!(x.origin.as_ref().and_then(|o| o.uri.as_deref()), Some(url.as_str()), "{x:?}");
            match &x.kind {
                Kind::List(xs) => stack.extend(xs.iter()),
                Kind::Map(m) => stack.extend(m.iter().map(|(_, x)| x)),
                _ => {}
            }
        }
    });
}

// ------------------------------------------------------------------- cors

#[test]
fn cors_sends_the_origin() {
    run(async {
        let srv = Server::start(|req| {
            let origin = req.header("origin").unwrap_or("none").to_string();
            response(200, &[("Access-Control-Allow-Origin", &origin), ("Vary", "Origin")], "")
        })
        .await;
        let v = ok(&collector(), "cors", &[&srv.url("/api"), "https://evil.example"]).await;
        assert_eq!(header(&v, "access-control-allow-origin"), Some("https://evil.example"));
        let v = ok(&collector(), "get", &[&srv.url("/api")]).await;
        assert_eq!(header(&v, "access-control-allow-origin"), Some("none"));
    });
}

// ---------------------------------------------------------------- upgrade

#[test]
fn upgrade_to_https_on_the_same_host() {
    run(async {
        let srv = Server::start(|req| {
            let host = req.header("host").unwrap().to_string();
            match req.path.as_str() {
                "/moved" => response(301, &[("Location", &format!("https://{host}/moved"))], ""),
                "/elsewhere" => response(302, &[("Location", "https://other.example/")], ""),
                _ => response(200, &[], "plain"),
            }
        })
        .await;
        let c = collector();
        // The https form of the URL is given; its http form is probed.
        let https = format!("https://{}/moved", srv.addr);
        let v = ok(&c, "upgrade", &[&https]).await;
        assert_eq!(text(&v, "url"), srv.url("/moved"));
        assert_eq!(int(&v, "status"), 301);
        assert_eq!(text(&v, "location"), format!("https://{}/moved", srv.addr));
        assert!(boolean(&v, "upgrades"));

        let v = ok(&c, "upgrade", &[&srv.url("/plain")]).await;
        assert_eq!(int(&v, "status"), 200);
        assert!(field(&v, "location").is_null());
        assert!(!boolean(&v, "upgrades"));

        let v = ok(&c, "upgrade", &[&srv.url("/elsewhere")]).await;
        assert!(!boolean(&v, "upgrades"), "another host is not an upgrade");
        // Not followed.
        assert_eq!(srv.requests().len(), 3);
    });
}

// -------------------------------------------------------------------- TLS

async fn tls_server(
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> Server {
    Server::start_tls(chain, key, |_| response(200, &[], "secure")).await
}

#[test]
fn tls_valid_certificate_from_a_trusted_ca() {
    run(async {
        let ca = ca();
        let (chain, key) = leaf(&ca, &["localhost", "127.0.0.1"], Some(Validity { from_days: -1, until_days: 90 }));
        let srv = tls_server(chain, key).await;
        let c = HttpCollector::with_extra_roots(&settings(5.0), vec![ca.der.clone()]);
        let v = ok(&c, "tls", &[&srv.url("/")]).await;
        assert_eq!(text(&v, "host"), "127.0.0.1");
        assert_eq!(int(&v, "port"), i64::from(srv.port()));
        assert_eq!(text(&v, "protocol"), "TLSv1.3");
        assert!(text(&v, "subject").contains("CN=mlpol test server"), "{v}");
        assert!(text(&v, "issuer").contains("CN=mlpol test CA"), "{v}");
        assert_eq!(strings(&v, "sans"), vec!["localhost", "127.0.0.1"]);
        assert!(text(&v, "not_after").ends_with("T00:00:00Z"), "{v}");
        assert!((88..=90).contains(&int(&v, "days_left")), "{v}");
        assert!(!boolean(&v, "expired"));
        assert!(boolean(&v, "hostname_ok"));
        assert!(!boolean(&v, "self_signed"));
        assert!(boolean(&v, "trusted"), "{v}");
        assert!(field(&v, "problem").is_null(), "{v}");
        // The same CA also makes HTTPS requests work.
        let r = ok(&c, "get", &[&srv.url("/")]).await;
        assert_eq!(int(&r, "status"), 200);
        assert_eq!(text(&r, "body"), "secure");

        // Without the test CA: described all the same, but not trusted.
        let plain = collector();
        let v = ok(&plain, "tls", &[&srv.url("/")]).await;
        assert!(!boolean(&v, "trusted"));
        assert!(boolean(&v, "hostname_ok"));
        assert!(text(&v, "problem").contains("not a trusted authority"), "{v}");
        let e = err(&plain, "get", &[&srv.url("/")]).await;
        assert!(e.contains("TLS handshake failed"), "{e}");
    });
}

#[test]
fn tls_expired_certificate() {
    run(async {
        let ca = ca();
        let (chain, key) = leaf(&ca, &["127.0.0.1"], Some(Validity { from_days: -400, until_days: -3 }));
        let srv = tls_server(chain, key).await;
        let c = HttpCollector::with_extra_roots(&settings(5.0), vec![ca.der.clone()]);
        let v = ok(&c, "tls", &[&srv.url("/")]).await;
        assert!(boolean(&v, "expired"));
        assert!(int(&v, "days_left") < 0, "{v}");
        // Midnight three days ago, seen from later in the day.
        assert!((-4..=-3).contains(&int(&v, "days_left")), "{v}");
        assert!(!boolean(&v, "trusted"));
        assert!(text(&v, "problem").contains("expired"), "{v}");
    });
}

#[test]
fn tls_certificate_expiring_in_ten_days() {
    run(async {
        let ca = ca();
        let (chain, key) = leaf(&ca, &["127.0.0.1"], Some(Validity { from_days: -30, until_days: 10 }));
        let srv = tls_server(chain, key).await;
        let c = HttpCollector::with_extra_roots(&settings(5.0), vec![ca.der.clone()]);
        let v = ok(&c, "tls", &[&srv.url("/")]).await;
        assert!((9..=10).contains(&int(&v, "days_left")), "{v}");
        assert!(!boolean(&v, "expired"));
        assert!(boolean(&v, "trusted"));
    });
}

#[test]
fn tls_wrong_host_name() {
    run(async {
        let ca = ca();
        let (chain, key) = leaf(&ca, &["other.example"], None);
        let srv = tls_server(chain, key).await;
        let c = HttpCollector::with_extra_roots(&settings(5.0), vec![ca.der.clone()]);
        let v = ok(&c, "tls", &[&srv.url("/")]).await;
        assert!(!boolean(&v, "hostname_ok"));
        assert!(boolean(&v, "trusted"), "the chain itself is fine: {v}");
        let problem = text(&v, "problem");
        assert!(problem.contains("not valid for `127.0.0.1`") && problem.contains("other.example"), "{v}");
    });
}

#[test]
fn tls_self_signed_certificate() {
    run(async {
        let (chain, key) = self_signed(&["127.0.0.1"]);
        let srv = tls_server(chain, key).await;
        let v = ok(&collector(), "tls", &[&srv.url("/")]).await;
        assert!(boolean(&v, "self_signed"));
        assert!(!boolean(&v, "trusted"));
        assert!(boolean(&v, "hostname_ok"));
        assert_eq!(text(&v, "subject"), text(&v, "issuer"));
        assert!(text(&v, "problem").contains("self-signed"), "{v}");
    });
}

#[test]
fn tls_on_a_plain_http_port_or_a_closed_port_is_an_error() {
    run(async {
        let srv = Server::start(|_| response(200, &[], "plain")).await;
        let c = collector();
        let e = err(&c, "tls", &[&format!("https://{}/", srv.addr)]).await;
        assert!(e.starts_with(&format!("TLS https://{}/: TLS handshake failed: ", srv.addr)), "{e}");
        // The port of an http URL is the port probed.
        let e = err(&c, "tls", &[&srv.url("/")]).await;
        assert!(e.starts_with(&format!("TLS {}: TLS handshake failed: ", srv.url("/"))), "{e}");
        let port = closed_port().await;
        let e = err(&c, "tls", &[&format!("https://127.0.0.1:{port}/")]).await;
        assert_eq!(e, format!("TLS https://127.0.0.1:{port}/: connection refused"));
    });
}

// ------------------------------------------------------------------ burst

#[test]
fn burst_sees_rate_limiting() {
    run(async {
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        let srv = Server::start(move |_| {
            if seen.fetch_add(1, Ordering::SeqCst) < 5 {
                response(200, &[], "ok")
            } else {
                response(429, &[("Retry-After", "3")], "slow down")
            }
        })
        .await;
        let c = HttpCollector::new(&settings(10.0));
        let v = c
            .collect(FactCall {
                namespace: "http".into(),
                name: "burst".into(),
                args: vec![Value::str(srv.url("/api")), Value::int(20)],
            })
            .await
            .unwrap();
        assert_eq!(int(&v, "requests"), 20);
        assert!(boolean(&v, "limited"));
        assert_eq!(text(&v, "retry_after"), "3");
        assert_eq!(int(field(&v, "statuses"), "200"), 5);
        assert_eq!(int(field(&v, "statuses"), "429"), 15);
        assert_eq!(int(&v, "errors"), 0);
        assert_eq!(count.load(Ordering::SeqCst), 20);
    });
}

#[test]
fn burst_without_limits_and_clamped() {
    run(async {
        let srv = Server::start(|_| response(200, &[], "ok")).await;
        let c = HttpCollector::new(&settings(20.0));
        let burst = |n: i64| {
            c.collect(FactCall {
                namespace: "http".into(),
                name: "burst".into(),
                args: vec![Value::str(srv.url("/")), Value::int(n)],
            })
        };
        let v = burst(1000).await.unwrap();
        assert_eq!(int(&v, "requests"), 200);
        assert!(!boolean(&v, "limited"));
        assert!(field(&v, "retry_after").is_null());
        assert_eq!(int(field(&v, "statuses"), "200"), 200);
        let v = burst(0).await.unwrap();
        assert_eq!(int(&v, "requests"), 1);
        assert_eq!(srv.requests().len(), 201);

        let port = closed_port().await;
        let e = HttpCollector::new(&settings(5.0))
            .collect(FactCall {
                namespace: "http".into(),
                name: "burst".into(),
                args: vec![Value::str(format!("http://127.0.0.1:{port}/")), Value::int(3)],
            })
            .await
            .unwrap_err();
        assert!(e.message.contains("all 3 requests failed: connection refused"), "{e}");
    });
}

// ------------------------------------------------- schema and --offline

#[test]
fn every_http_function_is_a_network_fact_skipped_offline() {
    let schema = Arc::new(mlpol_stdlib::schema::schema());
    let names = ["get", "get_basic", "get_login", "get_header", "cors", "upgrade", "tls", "burst"];
    for name in names {
        let f = schema.fact_fn("http", name).unwrap_or_else(|| panic!("http.{name} is not declared"));
        assert!(f.network, "http.{name}");
        assert!(!f.doc.is_empty());
    }
    for record in ["Response", "Upgrade", "Tls", "Burst"] {
        assert!(schema.records.contains_key(record), "{record}");
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let mut collectors = Collectors::new(schema, vec![Arc::new(collector())]);
    collectors.offline = true;
    let call = FactCall { namespace: "http".into(), name: "get".into(), args: vec![Value::str("http://127.0.0.1:9/")] };
    let out = collectors.collect_all(&rt, vec![call], &mut |_, _| {});
    let e = out[0].1.clone().unwrap_err();
    assert!(e.skipped, "{e:?}");
}

// ----------------------------------------------------------------- MLflow

#[test]
fn mlflow_basic_auth_server() {
    let Ok(base) = std::env::var("MLPOL_TEST_MLFLOW_URL") else {
        assert!(std::env::var("CI").is_err(), "MLPOL_TEST_MLFLOW_URL must be set by .ci/run");
        eprintln!("SKIPPED: MLflow basic-auth server not running (MLPOL_TEST_MLFLOW_URL unset)");
        return;
    };
    run(async {
        let url = format!("{}/api/2.0/mlflow/experiments/search?max_results=1", base.trim_end_matches('/'));
        let c = collector();
        let v = ok(&c, "get", &[&url]).await;
        assert_eq!(int(&v, "status"), 401, "{v}");
        assert!(header(&v, "www-authenticate").unwrap_or_default().starts_with("Basic"), "{v}");
        let default_password = format!("password{}", 1234);
        let v = ok(&c, "get_login", &[&url, "admin", &default_password]).await;
        assert_eq!(int(&v, "status"), 200, "{v}");
        assert!(text(&v, "body").contains("experiments"), "{v}");
        assert_hidden(&v, &default_password);
    });
}
