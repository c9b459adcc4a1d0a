//! Hostile networks (issue 9, item 3), end to end: the bundled service
//! checks (`mlflow.auth.server_probe`, `mlflow.https.certificate`,
//! `bentoml.auth.api_key`) probe servers started here on 127.0.0.1 that
//! refuse, never answer, break TLS, show bad certificates, send 100 MB,
//! dribble, loop, fail or send garbage. Every run ends within a bound set by
//! `--timeout 2`, and the check says why it could not pass. A redirect to
//! another origin never carries the credentials.

use crate::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Per-fact and per-request timeout given to mlpol.
const TIMEOUT: &str = "2";
/// A check makes a few requests one after the other; each is cut at 2 s.
const BOUND: Duration = Duration::from_secs(30);

/// A server on 127.0.0.1: one thread per connection, running `handle`
/// with the request head already read (`None` when the client sent none,
/// e.g. a TLS client on a plain port). Returns the port and the heads.
pub fn serve(handle: impl Fn(&mut TcpStream, Option<&str>) + Send + Sync + 'static) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    let handle = Arc::new(handle);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let (handle, seen) = (handle.clone(), seen.clone());
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let head = read_head(&mut stream);
                if let Some(h) = &head {
                    seen.lock().unwrap().push(h.clone());
                }
                handle(&mut stream, head.as_deref());
            });
        }
    });
    (port, heads)
}

/// The request line and headers, when they look like HTTP.
fn read_head(stream: &mut impl Read) -> Option<String> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
        if seen.len() > 64 << 10 || !seen.iter().take(3).all(u8::is_ascii_uppercase) {
            return None;
        }
    }
    Some(String::from_utf8_lossy(&seen).into_owned())
}

fn reply(stream: &mut TcpStream, status: &str, headers: &str, body: &str) {
    let text =
        format!("HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    let _ = stream.write_all(text.as_bytes());
}

/// `mlpol eval --only CHECK --timeout 2` with params and env; the check's
/// result, everything mlpol printed, and how long it took.
fn probe(check_id: &str, params: &[String], env: &[(&str, &str)]) -> (Value, String, Duration) {
    let dir = temp_dir("net");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mlpol"));
    cmd.args(["eval", ".", "--format", "json", "--timeout", TIMEOUT, "--only", check_id])
        .current_dir(&dir)
        .env("MLPOL_TODAY", TODAY)
        .env_remove("CI");
    for p in params {
        cmd.args(["--param", p]);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let out = cmd.output().unwrap();
    let took = start.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(took < BOUND, "{check_id} took {took:?}: {stdout}\n{stderr}");
    assert_eq!(out.status.code(), Some(1), "the gate fails: {stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"));
    (check(&report, check_id).clone(), format!("{stdout}\n{stderr}"), took)
}

/// The check is `error`, and its message names `url` and says `why`.
fn assert_error(check: &Value, url: &str, why: &[&str]) {
    assert_eq!(check["status"], "error", "{check}");
    let message = check["message"].as_str().unwrap();
    assert!(message.contains(url), "`{message}` does not name {url}");
    assert!(why.iter().any(|w| message.contains(w)), "`{message}` does not say {why:?}");
}

fn mlflow(url: &str) -> Vec<String> {
    vec![format!("mlflow_url={url}")]
}

#[test]
fn refused_black_holed_and_dribbling_servers_are_errors_within_the_timeout() {
    // Refused: a port that was just closed.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let (c, _, took) = probe("mlflow.auth.server_probe", &mlflow(&url), &[]);
    assert_error(&c, &format!("127.0.0.1:{port}"), &["refused"]);
    eprintln!("refused: {took:?}");

    // Black hole: accepts, reads, never answers.
    let (port, _) = serve(|_, _| std::thread::sleep(Duration::from_secs(60)));
    let url = format!("http://127.0.0.1:{port}");
    let (c, _, took) = probe("mlflow.auth.server_probe", &mlflow(&url), &[]);
    assert_error(&c, &url, &["timed out", "timeout"]);
    assert!(took < Duration::from_secs(12), "{took:?}");
    eprintln!("black hole: {took:?}");

    // Slow loris: the status line one byte every 300 ms, for a minute.
    let (port, _) = serve(|s, _| {
        for b in b"HTTP/1.1 200 OK\r\nX-Slow: ".iter().chain([b'a'; 200].iter()) {
            if s.write_all(&[*b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    });
    let url = format!("http://127.0.0.1:{port}");
    let (c, _, took) = probe("mlflow.auth.server_probe", &mlflow(&url), &[]);
    assert_error(&c, &url, &["timed out", "timeout"]);
    assert!(took < Duration::from_secs(12), "{took:?}");
    eprintln!("slow loris: {took:?}");

    // A TLS probe of a black hole: the handshake never ends.
    let (port, _) = serve(|_, _| std::thread::sleep(Duration::from_secs(60)));
    let url = format!("https://localhost:{port}");
    let (c, _, took) = probe("mlflow.https.certificate", &mlflow(&url), &[]);
    assert_error(&c, &format!("localhost:{port}"), &["timed out", "timeout"]);
    eprintln!("TLS black hole: {took:?}");
}

#[test]
fn huge_bodies_loops_server_errors_and_garbage_are_bounded_and_explained() {
    // 100 MB announced and streamed: mlpol reads at most a bounded prefix.
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let (port, _) = serve(move |s, _| {
        let total: u64 = 100 << 20;
        let _ = s.write_all(format!("HTTP/1.1 200 OK\r\nContent-Length: {total}\r\n\r\n").as_bytes());
        let chunk = vec![b'a'; 64 << 10];
        let mut n = 0;
        while n < total {
            if s.write_all(&chunk).is_err() {
                break;
            }
            n += chunk.len() as u64;
            counter.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        }
    });
    let url = format!("http://127.0.0.1:{port}");
    let (c, _, took) = probe("mlflow.auth.server_probe", &mlflow(&url), &[]);
    // It answered 200 without credentials: that is the finding.
    assert_eq!(c["status"], "fail", "{c}");
    assert!(c["findings"][0]["message"].as_str().unwrap().contains("without credentials (HTTP 200)"), "{c}");
    let streamed = sent.load(Ordering::SeqCst);
    assert!(streamed < 50 << 20, "mlpol read {streamed} bytes of a 100 MB body");
    eprintln!("100 MB body: {took:?}, {} KiB sent before mlpol hung up", streamed >> 10);

    // A redirect loop.
    let (port, _) = serve(|s, head| {
        let path = head.and_then(|h| h.split(' ').nth(1)).unwrap_or("/");
        let next = if path.starts_with("/b") { "/a" } else { "/b" };
        reply(s, "302 Found", &format!("Location: {next}\r\n"), "");
    });
    let url = format!("http://127.0.0.1:{port}");
    let (c, _, _) = probe("mlflow.auth.server_probe", &mlflow(&url), &[]);
    assert_error(&c, &url, &["redirect loop", "too many redirects"]);

    // 5xx: the probe cannot decide, so `error` with the status.
    let (port, _) = serve(|s, _| reply(s, "503 Service Unavailable", "", "down"));
    let url = format!("http://127.0.0.1:{port}");
    let (c, _, _) = probe("mlflow.auth.server_probe", &mlflow(&url), &[]);
    assert_error(&c, &url, &["HTTP 503"]);

    // Invalid responses: not HTTP, a broken header, a bad length.
    for garbage in [
        "SSH-2.0-OpenSSH_9.6\r\n".to_string(),
        "HTTP/1.1 200 OK\r\nBad Header Without Colon\r\n\r\n".to_string(),
        "HTTP/1.1 200 OK\r\nContent-Length: twelve\r\n\r\nbody".to_string(),
        "HTTP/1.1 2000 Weird\r\nContent-Length: 0\r\n\r\n".to_string(),
    ] {
        let g = garbage.clone();
        let (port, _) = serve(move |s, _| {
            let _ = s.write_all(g.as_bytes());
        });
        let url = format!("http://127.0.0.1:{port}");
        let (c, _, _) = probe("mlflow.auth.server_probe", &mlflow(&url), &[]);
        assert_eq!(c["status"], "error", "{garbage:?}: {c}");
        assert!(c["message"].as_str().unwrap().contains(&url), "{garbage:?}: {c}");
    }
}

/// Days since 1970-01-01 as (year, month, day).
fn civil(days: i64) -> (i32, u8, u8) {
    let d = mlpol_stdlib::config::Date::from_days(days);
    (d.year, d.month, d.day)
}

/// An HTTPS server with a self-signed certificate for `names`, valid from
/// `from` to `to` days from today; answers 200.
pub(crate) fn tls_server(names: &[&str], from: i64, to: i64) -> u16 {
    let today = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() / 86_400) as i64;
    let mut params = rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    let (y, m, d) = civil(today + from);
    params.not_before = rcgen::date_time_ymd(y, m, d);
    let (y, m, d) = civil(today + to);
    params.not_after = rcgen::date_time_ymd(y, m, d);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = config.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let Ok(conn) = rustls::ServerConnection::new(config) else { return };
                let mut tls = rustls::StreamOwned::new(conn, stream);
                if read_head(&mut tls).is_none() {
                    return;
                }
                let _ = tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    port
}

#[test]
fn bad_certificates_and_broken_handshakes_are_reported_with_their_reason() {
    // Expired, self-signed, for another host.
    let expired = tls_server(&["localhost"], -400, -35);
    let (c, _, _) = probe("mlflow.https.certificate", &mlflow(&format!("https://localhost:{expired}")), &[]);
    assert_eq!(c["status"], "fail", "{c}");
    let text = c.to_string();
    assert!(text.contains("expired on") && text.contains("self-signed"), "{c}");
    // A request over it is refused by the verifier: error, with the reason.
    let url = format!("https://localhost:{expired}");
    let (c, _, _) = probe("mlflow.auth.server_probe", &mlflow(&url), &[]);
    assert_error(&c, &format!("localhost:{expired}"), &["certificate", "Certificate"]);

    let wrong_host = tls_server(&["mlflow.example.com"], -30, 300);
    let (c, _, _) = probe("mlflow.https.certificate", &mlflow(&format!("https://localhost:{wrong_host}")), &[]);
    assert_eq!(c["status"], "fail", "{c}");
    assert!(c.to_string().contains("does not name localhost"), "{c}");

    // A plain-HTTP server on the HTTPS port, and one that closes at once.
    let (plain, _) = serve(|s, _| reply(s, "200 OK", "", "plain"));
    let url = format!("https://localhost:{plain}");
    let (c, _, _) = probe("mlflow.https.certificate", &mlflow(&url), &[]);
    assert_error(&c, &format!("localhost:{plain}"), &["handshake"]);
    let (c, _, _) = probe("mlflow.auth.server_probe", &mlflow(&url), &[]);
    assert_eq!(c["status"], "error", "{c}");
    let (closing, _) = serve(|s, _| {
        let _ = s.shutdown(std::net::Shutdown::Both);
    });
    let url = format!("https://localhost:{closing}");
    let (c, _, _) = probe("mlflow.https.certificate", &mlflow(&url), &[]);
    assert_error(&c, &format!("localhost:{closing}"), &["handshake", "closed", "reset"]);
}

#[test]
fn credentials_never_follow_a_redirect_to_another_origin() {
    let token = ["cross", "origin", "token", &std::process::id().to_string()].join("-");
    let password = ["pw", "that", "must", "stay", "home"].join("_");
    // The other origin: records what it receives, answers 200.
    let (other, other_heads) = serve(|s, _| reply(s, "200 OK", "", "landed"));
    // Home: every request is sent to the other origin.
    let (home, home_heads) = serve(move |s, _| {
        reply(s, "302 Found", &format!("Location: http://127.0.0.1:{other}/landing\r\n"), "");
    });
    let url = format!("http://127.0.0.1:{home}");
    let env = [("E2E_NET_TOKEN", format!("Bearer {token}")), ("E2E_NET_USER", "admin".to_string())];
    let env2 = [("E2E_NET_PASSWORD", password.clone())];
    let all_env: Vec<(&str, &str)> = env.iter().chain(env2.iter()).map(|(k, v)| (*k, v.as_str())).collect();
    let (bento, out1, _) = probe(
        "bentoml.auth.api_key",
        &[
            format!("bentoml_url={url}"),
            "bentoml_api_key_env=E2E_NET_TOKEN".to_string(),
            "bentoml_api_key_header=Authorization".to_string(),
        ],
        &all_env,
    );
    let (mlflow_check, out2, _) = probe(
        "mlflow.auth.server_probe",
        &[
            format!("mlflow_url={url}"),
            "mlflow_username_env=E2E_NET_USER".to_string(),
            "mlflow_password_env=E2E_NET_PASSWORD".to_string(),
        ],
        &all_env,
    );
    // Both checks fail: the other origin answered 200 without credentials.
    assert_eq!(bento["status"], "fail", "{bento}");
    assert_eq!(mlflow_check["status"], "fail", "{mlflow_check}");
    let home_heads = home_heads.lock().unwrap().clone();
    let other_heads = other_heads.lock().unwrap().clone();
    // The first hop carried the credentials (so the test can see a leak)…
    assert!(home_heads.iter().any(|h| h.contains(&token)), "{home_heads:#?}");
    assert!(home_heads.iter().any(|h| h.to_ascii_lowercase().contains("authorization: basic")), "{home_heads:#?}");
    // …the redirects were followed, and none carried them.
    assert!(other_heads.len() >= 3, "{other_heads:#?}");
    for h in &other_heads {
        assert!(!h.to_ascii_lowercase().contains("authorization:"), "credentials crossed origins:\n{h}");
        assert!(!h.contains(&token) && !h.contains(&password), "{h}");
    }
    for out in [out1, out2] {
        assert!(!out.contains(&token) && !out.contains(&password), "{out}");
    }
}
