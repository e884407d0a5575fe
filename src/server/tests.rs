//! Serving-layer tests over real sockets on 127.0.0.1.

use super::*;

#[test]
fn gzip_negotiation() {
    let mut h = HeaderMap::new();
    assert!(!accepts_gzip(&h));
    h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
    assert!(accepts_gzip(&h));
    h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("deflate, gzip;q=0"));
    assert!(!accepts_gzip(&h));
    h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    assert!(!accepts_gzip(&h));
    h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("br, GZIP;q=0.5"));
    assert!(accepts_gzip(&h));
}

#[test]
fn gzip_stream_decodes_to_the_input() {
    let chunks: Vec<Bytes> = (0..50)
        .map(|i| Bytes::from(format!("line {i}\n").repeat(500)))
        .collect();
    let expected: Vec<u8> = chunks.iter().flat_map(|c| c.to_vec()).collect();
    let gz = GzipChunks {
        inner: chunks.into_iter(),
        writer: MemberWriter::default(),
        out: Vec::new(),
        done: false,
    };
    let compressed: Vec<u8> = gz.flat_map(|c| c.to_vec()).collect();
    let mut decoded = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&compressed[..]), &mut decoded).unwrap();
    assert_eq!(decoded, expected);
}

// ---------------------------------------------------------------------------------------------
// Helpers: a server on 127.0.0.1, an HTTP/1.1 client (plain or TLS), test certificates.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::exposition::MetricType;
use crate::families::{FamilyHeader, Rendered};
use crate::store::{KindStore, ObjectKey};

/// A running `serve` and the switch that starts its shutdown.
struct TestServer {
    addr: std::net::SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

async fn start(router: Router, options: ServerOptions) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        serve(listener, router, &options, shutdown).await.unwrap();
    });
    TestServer { addr, stop, task }
}

/// Short timeouts so the tests that wait for one stay quick.
fn quick_options() -> ServerOptions {
    ServerOptions {
        read_timeout: Duration::from_secs(5),
        write_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(5),
        read_header_timeout: Duration::from_secs(5),
        shutdown_grace_period: Duration::from_secs(5),
        ..ServerOptions::default()
    }
}

/// A store of `objects` objects, each one line of `line_len` bytes, and handler state over it.
fn state_with(objects: usize, line_len: usize, max_concurrent_scrapes: usize) -> AppState {
    let kind = KindStore::new(
        "widgets",
        vec![FamilyHeader::new("widget_info", "A widget.", MetricType::Gauge)],
        &[],
    );
    let scope = &kind.scopes()[0];
    // Filled as a watcher's initial list is, so the kind counts as synced (`/readyz` 200).
    let mut relist = scope.begin_relist();
    for i in 0..objects {
        let mut line = format!("widget_info{{widget=\"w{i:06}\",pad=\"");
        line.push_str(&"x".repeat(line_len.saturating_sub(line.len() + 5)));
        line.push_str("\"} 1\n");
        let bytes: Box<[u8]> = line.into_bytes().into_boxed_slice();
        let ends: Box<[u32]> = Box::new([bytes.len() as u32]);
        relist.apply(
            scope,
            ObjectKey::new(Some("default"), Some(&format!("w{i:06}"))),
            &format!("uid-{i}"),
            "1",
            || Rendered {
                bytes,
                ends,
                index: None,
            },
        );
    }
    scope.commit_relist(relist);
    let store = Arc::new(Store::new(vec![kind]));
    AppState::new(store, Arc::new(Telemetry::new().unwrap()), max_concurrent_scrapes)
}

async fn connect(addr: std::net::SocketAddr) -> SendRequest<Empty<Bytes>> {
    handshake(tokio::net::TcpStream::connect(addr).await.unwrap())
        .await
        .unwrap()
}

async fn handshake<IO>(io: IO) -> Result<SendRequest<Empty<Bytes>>, hyper::Error>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

type Reply = (StatusCode, HeaderMap, Bytes);

async fn fetch(sender: &mut SendRequest<Empty<Bytes>>, path: &str, headers: &[(&str, &str)]) -> Result<Reply, String> {
    let mut req = axum::http::Request::get(path).header("host", "localhost");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    sender.ready().await.map_err(|e| e.to_string())?;
    let response = sender
        .send_request(req.body(Empty::new()).unwrap())
        .await
        .map_err(|e| e.to_string())?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok((parts.status, parts.headers, body))
}

async fn get_once(addr: std::net::SocketAddr, path: &str) -> Reply {
    fetch(&mut connect(addr).await, path, &[]).await.unwrap()
}

/// A test CA issuing server and client certificates.
struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "kse test CA");
        Pki {
            ca: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// A leaf certificate and key (PEM) for `san`; `expired` puts its validity in 2000.
    fn leaf(&self, san: &str, expired: bool) -> (String, String) {
        let mut params = CertificateParams::new(vec![san.to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, san);
        if expired {
            params.not_before = rcgen::date_time_ymd(2000, 1, 1);
            params.not_after = rcgen::date_time_ymd(2000, 12, 31);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &*self.ca).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "kse-server-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// Writes `name` atomically (write beside, rename over), as a Secret update does.
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        let tmp = self.0.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Server options from a web config text whose relative paths are in `dir`.
fn options_with_web_config(dir: &Path, yaml: &str) -> ServerOptions {
    let path = dir.join("web-config.yml");
    std::fs::write(&path, yaml).unwrap();
    let args = crate::cli::ListenArgs {
        tls_config_file: Some(path),
        ..crate::cli::ListenArgs::default()
    };
    ServerOptions {
        ..args.server_options().unwrap()
    }
}

fn client_tls(ca_pem: &str, client: Option<&(String, String)>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    Arc::new(match client {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => builder
            .with_client_auth_cert(
                CertificateDer::pem_slice_iter(cert.as_bytes())
                    .map(Result::unwrap)
                    .collect(),
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
    })
}

/// Connects over TLS; returns the HTTP sender and the certificate the server presented.
async fn connect_tls(
    addr: std::net::SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> Result<(SendRequest<Empty<Bytes>>, CertificateDer<'static>), String> {
    let tcp = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let presented = tls.get_ref().1.peer_certificates().unwrap()[0].clone().into_owned();
    let sender = handshake(tls).await.map_err(|e| e.to_string())?;
    Ok((sender, presented))
}

fn der_of(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
}

/// Waits (bounded) until `check` holds; panics with `what` if it never does.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A TCP client with a tiny receive buffer that sends a request and then never reads.
async fn stalled_request(addr: std::net::SocketAddr, path: &str) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nhost: localhost\r\n\r\n").as_bytes())
        .await
        .unwrap();
    stream
}

/// Reads until EOF or error; returns the bytes read.
async fn drain(mut stream: tokio::net::TcpStream) -> usize {
    let mut total = 0;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return total,
            Ok(n) => total += n,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// TLS and authentication.

#[tokio::test]
async fn https_scrape_with_basic_auth_and_headers() {
    let pki = Pki::new();
    let dir = Scratch::new("auth");
    let (cert, key) = pki.leaf("localhost", false);
    dir.write("server.crt", &cert);
    dir.write("server.key", &key);
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let options = options_with_web_config(
        &dir.0,
        &format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n\
             http_server_config:\n  headers:\n    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=31536000\n\
             basic_auth_users:\n  prometheus: {hash}\n"
        ),
    );
    let state = state_with(10, 100, 10);
    let server = start(main_router(state), options).await;
    let config = client_tls(&pki.ca_pem(), None);
    let (mut sender, presented) = connect_tls(server.addr, config.clone()).await.unwrap();
    assert_eq!(presented, der_of(&cert));

    let (status, headers, _) = fetch(&mut sender, "/metrics", &[]).await.unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Basic");
    assert_eq!(headers["x-frame-options"], "deny");

    let wrong = format!(
        "Basic {}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "prometheus:wrong")
    );
    let (status, headers, _) = fetch(&mut sender, "/metrics", &[("authorization", &wrong)])
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Basic");
    let unknown = format!(
        "Basic {}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "nobody:s3cret")
    );
    let (status, _, _) = fetch(&mut sender, "/healthz", &[("authorization", &unknown)])
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let right = format!(
        "Basic {}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "prometheus:s3cret")
    );
    let (status, headers, body) = fetch(&mut sender, "/metrics", &[("authorization", &right)])
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-frame-options"], "deny");
    assert_eq!(headers["strict-transport-security"], "max-age=31536000");
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert!(text.starts_with("# HELP widget_info A widget.\n"), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("widget_info{")).count(), 10);
    // The remembered result serves the next request too.
    let (status, _, _) = fetch(&mut sender, "/healthz", &[("authorization", &right)])
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);

    // Plain HTTP on a TLS port gets no answer.
    let mut plain = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = plain.read_to_end(&mut buf).await;
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
}

#[tokio::test]
async fn client_certificate_required_and_verified() {
    let pki = Pki::new();
    let dir = Scratch::new("mtls");
    let (cert, key) = pki.leaf("localhost", false);
    dir.write("server.crt", &cert);
    dir.write("server.key", &key);
    dir.write("ca.crt", &pki.ca_pem());
    let options = options_with_web_config(
        &dir.0,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: ca.crt\n  \
         client_auth_type: RequireAndVerifyClientCert\n",
    );
    let server = start(main_router(state_with(1, 80, 10)), options).await;

    // Without a certificate the handshake fails (with TLS 1.3 the client may only learn it
    // on its first read): no response either way.
    let refused = match connect_tls(server.addr, client_tls(&pki.ca_pem(), None)).await {
        Err(_) => true,
        Ok((mut sender, _)) => fetch(&mut sender, "/healthz", &[]).await.is_err(),
    };
    assert!(refused, "a client without a certificate was served");

    // A certificate from another CA is refused too.
    let stranger = Pki::new().leaf("prometheus", false);
    let refused = match connect_tls(server.addr, client_tls(&pki.ca_pem(), Some(&stranger))).await {
        Err(_) => true,
        Ok((mut sender, _)) => fetch(&mut sender, "/healthz", &[]).await.is_err(),
    };
    assert!(refused, "a client certificate from an unknown CA was accepted");

    let client = pki.leaf("prometheus", false);
    let (mut sender, _) = connect_tls(server.addr, client_tls(&pki.ca_pem(), Some(&client)))
        .await
        .unwrap();
    let (status, _, body) = fetch(&mut sender, "/metrics", &[]).await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(!body.is_empty());
}

#[tokio::test]
async fn renewed_certificate_is_served_without_restart() {
    let pki = Pki::new();
    let dir = Scratch::new("reload");
    // Start with an expired certificate: a verifying client refuses it.
    let (expired, expired_key) = pki.leaf("localhost", true);
    dir.write("tls.crt", &expired);
    dir.write("tls.key", &expired_key);
    let options = options_with_web_config(
        &dir.0,
        "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n",
    );
    let server = start(main_router(state_with(1, 80, 10)), options).await;
    let config = client_tls(&pki.ca_pem(), None);
    let err = connect_tls(server.addr, config.clone())
        .await
        .expect_err("expired certificate accepted");
    assert!(err.to_lowercase().contains("expired"), "{err}");

    // Renewed on disk (key and certificate replaced): the next connection gets it.
    let (renewed, renewed_key) = pki.leaf("localhost", false);
    dir.write("tls.key", &renewed_key);
    dir.write("tls.crt", &renewed);
    let (mut sender, presented) = connect_tls(server.addr, config.clone()).await.unwrap();
    assert_eq!(presented, der_of(&renewed));
    assert_eq!(fetch(&mut sender, "/healthz", &[]).await.unwrap().0, StatusCode::OK);

    // Replaced again: served again, while the open connection keeps working.
    let (third, third_key) = pki.leaf("localhost", false);
    dir.write("tls.key", &third_key);
    dir.write("tls.crt", &third);
    let (_, presented) = connect_tls(server.addr, config.clone()).await.unwrap();
    assert_eq!(presented, der_of(&third));
    assert_eq!(fetch(&mut sender, "/healthz", &[]).await.unwrap().0, StatusCode::OK);

    // A broken file keeps the last good certificate.
    dir.write(
        "tls.crt",
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    );
    let (_, presented) = connect_tls(server.addr, config.clone()).await.unwrap();
    assert_eq!(presented, der_of(&third));
    // So does a key that does not fit the certificate (a half-done renewal).
    dir.write("tls.crt", &renewed);
    let (_, presented) = connect_tls(server.addr, config).await.unwrap();
    assert_eq!(presented, der_of(&third));
}

#[test]
fn web_config_is_strict_and_errors_name_the_field() {
    let dir = Path::new("/etc/kse");
    let err = |yaml: &str| WebConfig::parse(yaml, dir).unwrap_err();
    let e = err("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  bogus_key: 1\n");
    assert!(e.contains("unknown field `bogus_key`"), "{e}");
    let e = err("basic_auth_user:\n  a: b\n");
    assert!(e.contains("unknown field `basic_auth_user`"), "{e}");
    let e = err("http_server_config:\n  headers:\n    X-Powered-By: rust\n");
    assert!(
        e.starts_with("http_server_config.headers:") && e.contains("X-Powered-By"),
        "{e}"
    );
    let e = err("http_server_config:\n  headers:\n    X-Frame-Options: allow\n");
    assert!(e.starts_with("http_server_config.headers.X-Frame-Options:"), "{e}");
    let e = err("basic_auth_users:\n  alice: plaintext\n");
    assert!(e.starts_with("basic_auth_users.alice: not a bcrypt hash"), "{e}");
    let e = err("tls_server_config:\n  cert_file: a.crt\n");
    assert!(e.contains("missing one of key or key_file"), "{e}");
    let e = err("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Sometimes\n");
    assert!(
        e.starts_with("tls_server_config.client_auth_type: unknown value \"Sometimes\""),
        "{e}"
    );
    let e = err("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n");
    assert!(e.contains("needs client_ca_file"), "{e}");
    let e = err("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: ca\n");
    assert!(e.starts_with("tls_server_config.client_ca_file:"), "{e}");
    let e = err("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS10\n");
    assert!(
        e.starts_with("tls_server_config.min_version: TLS10 is not supported"),
        "{e}"
    );
    let e = err("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n  max_version: TLS12\n");
    assert!(e.starts_with("tls_server_config.min_version:"), "{e}");
    let e = err("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n");
    assert!(
        e.starts_with("tls_server_config.cipher_suites: TLS_RSA_WITH_AES_128_CBC_SHA is not supported"),
        "{e}"
    );
    let e = err("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_MADE_UP]\n");
    assert!(e.contains("unknown cipher suite \"TLS_MADE_UP\""), "{e}");
    let e = err("tls_server_config:\n  cert_file: a\n  key_file: b\n  curve_preferences: [CurveP521]\n");
    assert!(e.starts_with("tls_server_config.curve_preferences: CurveP521"), "{e}");
    let e = err("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_allowed_sans: [x]\n");
    assert!(e.starts_with("tls_server_config.client_allowed_sans:"), "{e}");
    let e = err("rate_limit:\n  interval: 1s\n");
    assert!(e.starts_with("rate_limit.burst:"), "{e}");

    // A full, valid file: relative paths resolve against the file's directory; TLS 1.2 suites
    // keep their order, TLS 1.3 names are accepted (and, as in Go, change nothing).
    let full = r#"
tls_server_config:
  cert_file: tls/server.crt
  key_file: /abs/server.key
  client_ca_file: ca.crt
  client_auth_type: VerifyClientCertIfGiven
  min_version: TLS12
  max_version: TLS13
  cipher_suites:
    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
    - TLS_AES_128_GCM_SHA256
    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
  prefer_server_cipher_suites: false
  curve_preferences: [CurveP384, X25519]
http_server_config:
  http2: false
  headers:
    X-Content-Type-Options: nosniff
    Content-Security-Policy: ""
rate_limit:
  interval: 100ms
  burst: 5
"#;
    let ok = WebConfig::parse(full, dir).unwrap();
    let tls = ok.tls.unwrap();
    assert_eq!(
        tls.cert,
        web_config::PemSource::File(PathBuf::from("/etc/kse/tls/server.crt"))
    );
    assert_eq!(tls.key, web_config::PemSource::File(PathBuf::from("/abs/server.key")));
    assert_eq!(tls.client_auth, web_config::ClientAuth::VerifyClientCertIfGiven);
    let names: Vec<String> = tls.cipher_suites.iter().map(|s| format!("{:?}", s.suite())).collect();
    assert_eq!(
        names[..2],
        [
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
        ]
    );
    assert!(names[2..].iter().all(|n| n.starts_with("TLS13_")), "{names:?}");
    assert!(!tls.prefer_server_cipher_suites);
    assert_eq!(tls.kx_groups.len(), 2);
    assert_eq!(ok.headers.len(), 1, "blank headers are unset");
    assert_eq!(
        ok.rate_limit,
        Some(web_config::RateLimit {
            interval: Duration::from_millis(100),
            burst: 5
        })
    );
    // No TLS keys at all: plain HTTP, auth and headers still apply.
    let plain = WebConfig::parse(
        "http_server_config:\n  headers:\n    X-Frame-Options: sameorigin\n",
        dir,
    )
    .unwrap();
    assert!(plain.tls.is_none());
    assert!(WebConfig::parse("", dir).unwrap().tls.is_none());
}

#[test]
fn bad_serving_flags_name_the_flag() {
    use crate::cli::ListenArgs;
    let check = |args: ListenArgs, prefix: &str| {
        let e = args.server_options().unwrap_err();
        assert!(e.starts_with(prefix), "{e}");
        e
    };
    check(
        ListenArgs {
            server_write_timeout: "1 minute".into(),
            ..ListenArgs::default()
        },
        "--server-write-timeout: invalid duration",
    );
    check(
        ListenArgs {
            server_read_header_timeout: "-5s".into(),
            ..ListenArgs::default()
        },
        "--server-read-header-timeout:",
    );
    check(
        ListenArgs {
            shutdown_grace_period: "soon".into(),
            ..ListenArgs::default()
        },
        "--shutdown-grace-period:",
    );
    check(
        ListenArgs {
            max_concurrent_scrapes: 0,
            ..ListenArgs::default()
        },
        "--max-concurrent-scrapes:",
    );
    let dir = Scratch::new("flags");
    let missing = dir.0.join("nope.yml");
    let e = check(
        ListenArgs {
            tls_config_file: Some(missing.clone()),
            ..ListenArgs::default()
        },
        &format!("--tls-config-file {}: cannot read", missing.display()),
    );
    assert!(e.contains("nope.yml"));
    let file = dir.write(
        "web.yml",
        "tls_server_config:\n  cert_file: gone.crt\n  key_file: gone.key\n",
    );
    check(
        ListenArgs {
            tls_config_file: Some(file.clone()),
            ..ListenArgs::default()
        },
        &format!(
            "--tls-config-file {}: tls_server_config.cert_file: cannot read",
            file.display()
        ),
    );
    let file = dir.write(
        "web2.yml",
        "tls_server_config:\n  cert_file: a\n  key_file: b\n  bogus: true\n",
    );
    let e = check(
        ListenArgs {
            tls_config_file: Some(file),
            ..ListenArgs::default()
        },
        "--tls-config-file",
    );
    assert!(e.contains("bogus"), "{e}");

    // KSM's defaults, and KSM's flag names.
    let o = ListenArgs::default().server_options().unwrap();
    assert_eq!(
        (o.read_timeout, o.write_timeout, o.idle_timeout, o.read_header_timeout),
        (
            Duration::from_secs(60),
            Duration::from_secs(60),
            Duration::from_secs(300),
            Duration::from_secs(5)
        )
    );
    assert_eq!(o.shutdown_grace_period, Duration::from_secs(10));
    assert_eq!(o.max_concurrent_scrapes, 10);
    let cli = <crate::cli::Cli as clap::Parser>::try_parse_from([
        "kube-state-exporter",
        "--tls-config",
        "/web.yml",
        "--server-idle-timeout",
        "90s",
    ])
    .unwrap();
    assert_eq!(cli.run.listen.tls_config_file, Some(PathBuf::from("/web.yml")));
    assert_eq!(cli.run.listen.server_idle_timeout, "90s");
    let defaults = <crate::cli::Cli as clap::Parser>::try_parse_from(["kube-state-exporter"]).unwrap();
    assert_eq!(defaults.run.listen, ListenArgs::default());
}

// ---------------------------------------------------------------------------------------------
// Bounded scrapes.

#[tokio::test]
async fn stalled_reader_is_cut_after_the_write_timeout_and_the_limit_answers_503() {
    // A body far larger than socket buffers: 320 objects of 64 KiB lines, about 20 MiB.
    let state = state_with(320, 64 * 1024, 1);
    let telemetry = state.telemetry.clone();
    let options = ServerOptions {
        write_timeout: Duration::from_millis(1500),
        max_concurrent_scrapes: 1,
        ..quick_options()
    };
    let telemetry_server = start(telemetry_router(state.clone()), quick_options()).await;
    let server = start(main_router(state), options).await;

    let stalled = stalled_request(server.addr, "/metrics").await;
    eventually("the stalled scrape to start", || telemetry.scrapes_in_flight.get() == 1).await;

    // The one scrape slot is taken: the next scrape is told to come back.
    let (status, headers, body) = get_once(server.addr, "/metrics").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers[header::RETRY_AFTER], "1");
    assert!(String::from_utf8_lossy(&body).contains("--max-concurrent-scrapes"));
    assert_eq!(telemetry.scrapes_rejected.get(), 1);
    // Health endpoints keep answering meanwhile.
    assert_eq!(get_once(server.addr, "/healthz").await.0, StatusCode::OK);
    assert_eq!(get_once(server.addr, "/readyz").await.0, StatusCode::OK);

    // The write timeout closes the stalled connection, freeing its slot, while the client has
    // still read nothing: what it can still read is what the kernel buffered, not the body.
    eventually("the stalled scrape to be cut", || {
        telemetry.scrapes_in_flight.get() == 0
    })
    .await;
    let received = drain(stalled).await;
    assert!(received < 20 * 1024 * 1024, "received {received} bytes");
    let (status, _, body) = get_once(server.addr, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body.len(),
        320 * 64 * 1024 + "# HELP widget_info A widget.\n# TYPE widget_info gauge\n".len()
    );
    // The telemetry port shows the rejection.
    let (status, _, body) = get_once(telemetry_server.addr, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert!(
        text.contains("kube_state_exporter_scrapes_rejected_total 1\n"),
        "{text}"
    );
    assert!(text.contains("kube_state_exporter_scrapes_in_flight 0\n"), "{text}");
}

#[tokio::test]
async fn stalled_reader_holds_a_bounded_part_of_its_body() {
    // 2 000 chunks of 64 KiB (125 MiB, shared, never copied) counted as they are produced.
    let produced = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicBool::new(false));
    struct Counting {
        left: usize,
        chunk: Bytes,
        produced: Arc<AtomicUsize>,
        finished: Arc<AtomicBool>,
    }
    impl Iterator for Counting {
        type Item = Bytes;
        fn next(&mut self) -> Option<Bytes> {
            self.left = self.left.checked_sub(1)?;
            self.produced.fetch_add(1, Ordering::SeqCst);
            Some(self.chunk.clone())
        }
    }
    impl Drop for Counting {
        fn drop(&mut self) {
            self.finished.store(true, Ordering::SeqCst);
        }
    }
    let (p, f) = (produced.clone(), finished.clone());
    let router = Router::new().route(
        "/big",
        get(move || {
            let chunks = Counting {
                left: 2000,
                chunk: Bytes::from(vec![b'x'; CHUNK_SIZE]),
                produced: p.clone(),
                finished: f.clone(),
            };
            async move { streamed_response(chunks, false) }
        }),
    );
    let options = ServerOptions {
        write_timeout: Duration::from_secs(60),
        ..quick_options()
    };
    let server = start(router, options).await;
    let stalled = stalled_request(server.addr, "/big").await;

    // Production stops once the socket buffers, hyper's buffer and the queue are full.
    let mut last = usize::MAX;
    let mut stable = 0;
    while stable < 10 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = produced.load(Ordering::SeqCst);
        stable = if now == last { stable + 1 } else { 0 };
        last = now;
    }
    // The kernel may buffer up to its send-buffer maximum plus our 4 KiB receive window.
    let wmem_max: usize = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|s| s.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or(8 << 20);
    let kernel_chunks = (wmem_max + 64 * 1024).div_ceil(CHUNK_SIZE);
    // Beyond the kernel: the queue, the chunk the producer holds, hyper's buffer (two chunks).
    let bound = kernel_chunks + BODY_QUEUE_CHUNKS + 1 + 2;
    assert!(last <= bound, "produced {last} chunks, bound {bound}");
    assert!(
        last < 2000,
        "the whole body was produced for a client that reads nothing"
    );
    assert!(!finished.load(Ordering::SeqCst));

    // The client leaves: production stops and the iterator (the snapshot) is released.
    drop(stalled);
    eventually("the producer to stop", || finished.load(Ordering::SeqCst)).await;
    assert!(produced.load(Ordering::SeqCst) < 2000);
}

#[tokio::test]
async fn a_hundred_stuck_clients_do_not_wedge_the_server() {
    let state = state_with(50, 200, 10);
    let options = ServerOptions {
        read_header_timeout: Duration::from_millis(800),
        ..quick_options()
    };
    let server = start(main_router(state), options).await;
    // Half send nothing, half send half a request head.
    let mut stuck = Vec::new();
    for i in 0..100 {
        let mut s = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        if i % 2 == 1 {
            s.write_all(b"GET /metrics HTTP/1.1\r\nhost: loc").await.unwrap();
        }
        stuck.push(s);
    }
    assert_eq!(get_once(server.addr, "/healthz").await.0, StatusCode::OK);
    assert_eq!(get_once(server.addr, "/readyz").await.0, StatusCode::OK);
    let (status, _, body) = get_once(server.addr, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(String::from_utf8_lossy(&body).lines().count(), 52);
    // The read-header timeout closes every one of them.
    for s in stuck {
        let mut s = s;
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("a stuck connection was not closed")
            .unwrap_or(0);
        assert_eq!(n, 0, "{}", String::from_utf8_lossy(&buf[..n]));
    }
}

#[tokio::test]
async fn keep_alive_outlives_the_write_timeout_and_ends_after_idle() {
    let options = ServerOptions {
        write_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_millis(1500),
        ..quick_options()
    };
    let server = start(main_router(state_with(5, 100, 10)), options).await;
    let mut sender = connect(server.addr).await;
    assert_eq!(fetch(&mut sender, "/metrics", &[]).await.unwrap().0, StatusCode::OK);
    // Longer than the write timeout, shorter than idle: the connection is still open.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(fetch(&mut sender, "/healthz", &[]).await.unwrap().0, StatusCode::OK);
    // Idle past the idle timeout: the server closed it.
    eventually("the idle connection to close", || sender.is_closed()).await;
}

// ---------------------------------------------------------------------------------------------
// Graceful shutdown.

#[tokio::test]
async fn shutdown_lets_an_in_flight_scrape_finish_and_refuses_new_connections() {
    // A body made slowly: 10 chunks, 100 ms apart (on the producer thread, as compression is).
    let router = Router::new().route(
        "/slow",
        get(|| async {
            let chunks = (0..10u8).map(|i| {
                std::thread::sleep(Duration::from_millis(100));
                Bytes::from(vec![b'a' + i; 1000])
            });
            streamed_response(chunks, true)
        }),
    );
    let server = start(router, quick_options()).await;
    let mut sender = connect(server.addr).await;
    let mut idle = connect(server.addr).await;
    let request = axum::http::Request::get("/slow")
        .header("host", "localhost")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    server.stop.send(true).unwrap();
    // New connections are refused once the listener is closed...
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(server.addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "the listener still accepts after shutdown");
    // ...an idle keep-alive connection is closed...
    eventually("the idle connection to close", || idle.is_closed()).await;
    assert!(fetch(&mut idle, "/slow", &[]).await.is_err());
    // ...and the scrape in flight completes, whole.
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let mut decoded = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut decoded).unwrap();
    assert_eq!(decoded.len(), 10_000);
    assert!(decoded.ends_with(&[b'j'; 1000]));
    tokio::time::timeout(Duration::from_secs(10), server.task)
        .await
        .expect("serve did not return after its connections drained")
        .unwrap();
}

#[tokio::test]
async fn shutdown_grace_period_bounds_a_scrape_that_does_not_finish() {
    let router = Router::new().route(
        "/endless",
        get(|| async { streamed_response(std::iter::repeat_with(|| Bytes::from_static(b"x\n")), false) }),
    );
    let options = ServerOptions {
        shutdown_grace_period: Duration::from_millis(300),
        write_timeout: Duration::from_secs(60),
        ..quick_options()
    };
    let server = start(router, options).await;
    let stalled = stalled_request(server.addr, "/endless").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server.task)
        .await
        .expect("serve outlived its grace period")
        .unwrap();
    drain(stalled).await;
}

#[test]
fn readme_web_config_example_is_valid() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = &readme[readme.find("### TLS and authentication").expect("README section")..];
    let start = section.find("```yaml\n").expect("yaml example") + "```yaml\n".len();
    let example = &section[start..start + section[start..].find("```").unwrap()];
    let config = WebConfig::parse(example, Path::new("/etc/kube-state-exporter")).unwrap();
    let tls = config.tls.expect("the example enables TLS");
    assert_eq!(tls.client_auth, web_config::ClientAuth::RequireAndVerifyClientCert);
    // The example's hash is the one its comment names.
    assert!(bcrypt::verify("change-me", &config.users["prometheus"]).unwrap());
    assert_eq!(config.headers.len(), 2);
}

#[tokio::test]
async fn any_client_cert_with_allowed_sans_and_rate_limit() {
    let pki = Pki::new();
    let dir = Scratch::new("sans");
    let (cert, key) = pki.leaf("localhost", false);
    dir.write("server.crt", &cert);
    dir.write("server.key", &key);
    let options = options_with_web_config(
        &dir.0,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  \
         client_auth_type: RequireAnyClientCert\n  client_allowed_sans: [scraper.monitoring, 10.0.0.7]\n\
         rate_limit:\n  interval: 1h\n  burst: 2\n",
    );
    let server = start(main_router(state_with(1, 80, 10)), options).await;
    // Any issuer will do (the chain is not checked), but the SAN must be an allowed one.
    let other_ca = Pki::new();
    let wrong_san = other_ca.leaf("intruder.example", false);
    let refused = match connect_tls(server.addr, client_tls(&pki.ca_pem(), Some(&wrong_san))).await {
        Err(_) => true,
        Ok((mut sender, _)) => fetch(&mut sender, "/healthz", &[]).await.is_err(),
    };
    assert!(refused, "a client certificate without an allowed SAN was accepted");
    let allowed = other_ca.leaf("scraper.monitoring", false);
    let (mut sender, _) = connect_tls(server.addr, client_tls(&pki.ca_pem(), Some(&allowed)))
        .await
        .unwrap();
    // The bucket holds two requests; the third is refused with 429.
    assert_eq!(fetch(&mut sender, "/healthz", &[]).await.unwrap().0, StatusCode::OK);
    assert_eq!(fetch(&mut sender, "/healthz", &[]).await.unwrap().0, StatusCode::OK);
    assert_eq!(
        fetch(&mut sender, "/healthz", &[]).await.unwrap().0,
        StatusCode::TOO_MANY_REQUESTS
    );
}
