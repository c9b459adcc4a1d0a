//! Test servers on 127.0.0.1:0: hand-written HTTP/1.1 (one request per
//! connection), optionally behind TLS with certificates made by rcgen, and
//! a test CA.
#![allow(dead_code, deprecated)]

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// What the server does with a request.
pub enum Reply {
    /// These bytes, then close.
    Raw(Vec<u8>),
    /// Nothing, ever (until the client goes away).
    Hang,
    /// These bytes, then nothing more (a body that never ends).
    Stall(Vec<u8>),
    /// Close with a TCP reset (plain servers only).
    Reset,
    /// 200 with `Content-Length: len`, streamed in 64 KiB chunks of `a`.
    Stream(u64),
}

/// A complete response with `Content-Length` and `Connection: close`.
pub fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut text = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (n, v) in headers {
        text.push_str(&format!("{n}: {v}\r\n"));
    }
    text.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()));
    Reply::Raw(text.into_bytes())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        401 => "Unauthorized",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

pub struct Server {
    pub addr: SocketAddr,
    /// Every request received, in order.
    pub requests: Arc<Mutex<Vec<Request>>>,
    /// Body bytes written by `Reply::Stream`.
    pub streamed: Arc<AtomicU64>,
    tls: bool,
}

impl Server {
    /// A plain HTTP server.
    pub async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Server {
        Server::spawn(None, Arc::new(handler)).await
    }

    /// An HTTPS server presenting `chain`.
    pub async fn start_tls(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Server {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        Server::spawn(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))), Arc::new(handler)).await
    }

    async fn spawn(tls: Option<tokio_rustls::TlsAcceptor>, handler: Handler) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let streamed = Arc::new(AtomicU64::new(0));
        let is_tls = tls.is_some();
        let (reqs, bytes) = (requests.clone(), streamed.clone());
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { return };
                let (handler, reqs, bytes, tls) = (handler.clone(), reqs.clone(), bytes.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        None => serve_plain(tcp, &handler, &reqs, &bytes).await,
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(tcp).await {
                                serve(stream, &handler, &reqs, &bytes).await;
                            }
                        }
                    }
                });
            }
        });
        Server { addr, requests, streamed, tls: is_tls }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", if self.tls { "https" } else { "http" }, self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

/// Reads one request head; `None` for a closed connection, `Some(Err)` for
/// bytes that are not HTTP (a TLS ClientHello).
async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Result<Request, ()>> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1024];
    loop {
        let n = stream.read(&mut byte).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&byte[..n]);
        if !buf[0].is_ascii_uppercase() {
            return Some(Err(()));
        }
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let mut lines = head.split("\r\n");
            let mut first = lines.next().unwrap_or_default().split(' ');
            let method = first.next().unwrap_or_default().to_string();
            let path = first.next().unwrap_or_default().to_string();
            let headers = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
                .collect();
            return Some(Ok(Request { method, path, headers }));
        }
        if buf.len() > 64 * 1024 {
            return Some(Err(()));
        }
    }
}

const BAD_REQUEST: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

async fn serve_plain(mut tcp: TcpStream, handler: &Handler, reqs: &Mutex<Vec<Request>>, bytes: &AtomicU64) {
    let req = match read_request(&mut tcp).await {
        None => return,
        Some(Err(())) => {
            let _ = tcp.write_all(BAD_REQUEST).await;
            return;
        }
        Some(Ok(r)) => r,
    };
    reqs.lock().unwrap().push(req.clone());
    match handler(&req) {
        Reply::Reset => {
            let _ = tcp.set_zero_linger();
            drop(tcp);
        }
        reply => answer(tcp, reply, bytes).await,
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    handler: &Handler,
    reqs: &Mutex<Vec<Request>>,
    bytes: &AtomicU64,
) {
    let req = match read_request(&mut stream).await {
        None => return,
        Some(Err(())) => {
            let _ = stream.write_all(BAD_REQUEST).await;
            return;
        }
        Some(Ok(r)) => r,
    };
    reqs.lock().unwrap().push(req.clone());
    let reply = handler(&req);
    answer(stream, reply, bytes).await;
}

async fn answer<S: AsyncWrite + Unpin>(mut stream: S, reply: Reply, bytes: &AtomicU64) {
    match reply {
        Reply::Raw(b) => {
            let _ = stream.write_all(&b).await;
            let _ = stream.shutdown().await;
        }
        Reply::Hang => tokio::time::sleep(Duration::from_secs(3600)).await,
        Reply::Stall(b) => {
            let _ = stream.write_all(&b).await;
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Reply::Reset => {}
        Reply::Stream(len) => {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n");
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = vec![b'a'; 64 * 1024];
            let mut sent = 0u64;
            while sent < len {
                let n = chunk.len().min((len - sent) as usize);
                if stream.write_all(&chunk[..n]).await.is_err() {
                    return;
                }
                sent += n as u64;
                bytes.fetch_add(n as u64, Ordering::SeqCst);
            }
        }
    }
}

/// A free port nobody listens on (bound, then released).
pub async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

// ------------------------------------------------------------ certificates

/// A certificate authority made at test time.
pub struct Ca {
    pub issuer: Issuer<'static, KeyPair>,
    pub der: CertificateDer<'static>,
}

pub fn ca() -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "mlpol test CA");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Ca { issuer: Issuer::new(params, key), der: cert.der().clone() }
}

/// Validity of a leaf: `None` for rcgen's default (1975–4096); else days
/// from today (UTC) for not_before and not_after.
pub struct Validity {
    pub from_days: i64,
    pub until_days: i64,
}

fn params(names: &[&str], cn: &str, validity: Option<Validity>) -> CertificateParams {
    let mut params = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    if let Some(v) = validity {
        let (y, m, d) = ymd(v.from_days);
        params.not_before = rcgen::date_time_ymd(y, m, d);
        let (y, m, d) = ymd(v.until_days);
        params.not_after = rcgen::date_time_ymd(y, m, d);
    }
    params
}

/// A leaf for `names` signed by `ca`: the chain (leaf, CA) and its key.
pub fn leaf(
    ca: &Ca,
    names: &[&str],
    validity: Option<Validity>,
) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let cert = params(names, "mlpol test server", validity).signed_by(&key, &ca.issuer).unwrap();
    (vec![cert.der().clone(), ca.der.clone()], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())))
}

/// A self-signed leaf for `names`.
pub fn self_signed(names: &[&str]) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let cert = params(names, "mlpol self-signed", None).self_signed(&key).unwrap();
    (vec![cert.der().clone()], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())))
}

/// The date (UTC) `offset` days from today.
fn ymd(offset: i64) -> (i32, u8, u8) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let d = mlpol_stdlib::config::Date::from_days(now.div_euclid(86_400) + offset);
    (d.year, d.month, d.day)
}
