//! HTTP to metrics.k8s.io: version discovery, one GET per list, and error classification.
//!
//! The client must be built with kube's retry layer off ([`super::no_retry_client`]): kube
//! otherwise retries 429/503/504 up to 15 times, hiding exactly the outages this poller reports.
//! Every request runs under a `tokio::time::timeout`. Errors are classified by HTTP status code
//! (metrics-server's 503 bodies are plain text, not `Status` JSON) or, for transport failures,
//! by the error's type; body text is only ever logged.

use std::time::Duration;

use axum::http::{Request, header};
use bytes::Bytes;
use kube::Client;
use kube::client::Body;
use serde::Deserialize;

use crate::watch::error_chain;

/// The API group polled.
pub const GROUP: &str = "metrics.k8s.io";

/// Versions this poller speaks, preferred first.
pub const VERSIONS: [&str; 2] = ["v1", "v1beta1"];

/// Why a poll failed: the `reason` label of `kube_metrics_api_errors_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// HTTP 503: the APIService is unavailable (metrics-server down or not ready).
    ServiceUnavailable,
    /// HTTP 404: the APIService (or the group) is not installed.
    NotFound,
    /// HTTP 403: RBAC (ours, or the aggregator's proxied identity).
    Forbidden,
    /// HTTP 401.
    Unauthorized,
    /// HTTP 429: API priority and fairness throttling.
    TooManyRequests,
    /// The client timeout fired, or HTTP 504 from the apiserver.
    Timeout,
    /// Any other 5xx.
    ServerError,
    /// No connection to the API server (refused, reset, DNS).
    Connection,
    /// TLS handshake or certificate failure.
    Tls,
    /// The response (or one item or value of it) could not be decoded.
    Decode,
    /// Anything else (unexpected status, client-side errors).
    Other,
}

impl Reason {
    /// Every reason, in label output order.
    pub const ALL: [Reason; 11] = [
        Reason::ServiceUnavailable,
        Reason::NotFound,
        Reason::Forbidden,
        Reason::Unauthorized,
        Reason::TooManyRequests,
        Reason::Timeout,
        Reason::ServerError,
        Reason::Connection,
        Reason::Tls,
        Reason::Decode,
        Reason::Other,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ServiceUnavailable => "ServiceUnavailable",
            Reason::NotFound => "NotFound",
            Reason::Forbidden => "Forbidden",
            Reason::Unauthorized => "Unauthorized",
            Reason::TooManyRequests => "TooManyRequests",
            Reason::Timeout => "Timeout",
            Reason::ServerError => "ServerError",
            Reason::Connection => "Connection",
            Reason::Tls => "TLS",
            Reason::Decode => "Decode",
            Reason::Other => "Other",
        }
    }

    /// Position in [`Reason::ALL`].
    pub fn index(self) -> usize {
        Reason::ALL
            .iter()
            .position(|r| *r == self)
            .unwrap_or(Reason::ALL.len() - 1)
    }
}

/// A failed request: the classified reason and a one-line description for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PollError {
    /// Classified reason.
    pub reason: Reason,
    /// What happened, for logs only.
    pub message: String,
}

impl PollError {
    /// An error with a reason and message.
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        PollError {
            reason,
            message: message.into(),
        }
    }
}

/// The reason for a non-2xx HTTP status.
pub fn classify_status(code: u16) -> Reason {
    match code {
        503 => Reason::ServiceUnavailable,
        404 => Reason::NotFound,
        403 => Reason::Forbidden,
        401 => Reason::Unauthorized,
        429 => Reason::TooManyRequests,
        504 => Reason::Timeout,
        500..=599 => Reason::ServerError,
        _ => Reason::Other,
    }
}

/// The reason for a transport-level failure, from the error's type and its source chain.
pub fn classify_transport(error: &kube::Error) -> Reason {
    match error {
        kube::Error::Api(status) => return classify_status(status.code),
        kube::Error::SerdeError(_) => return Reason::Decode,
        kube::Error::HyperError(e) if e.is_timeout() => return Reason::Timeout,
        kube::Error::HyperError(e) if e.is_incomplete_message() || e.is_closed() || e.is_canceled() => {
            return Reason::Connection;
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) => {}
        _ => return Reason::Other,
    }
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                TimedOut => return Reason::Timeout,
                // tokio-rustls reports handshake and certificate failures as InvalidData.
                InvalidData => return Reason::Tls,
                ConnectionRefused | ConnectionReset | ConnectionAborted | NotConnected | AddrNotAvailable
                | BrokenPipe | UnexpectedEof | HostUnreachable | NetworkUnreachable | NetworkDown => {
                    return Reason::Connection;
                }
                _ => {}
            }
            // A wrapped io error (kind Other around the real one) hides its inner error from
            // `source()`: look inside.
            if let Some(inner) = io.get_ref() {
                source = Some(inner);
                continue;
            }
        }
        source = e.source();
    }
    // hyper-util's client error for a failed connect (e.g. DNS) has no typed io kind to go by;
    // its Display names the stage: "client error (Connect)".
    if error.to_string().contains("(Connect)") {
        Reason::Connection
    } else {
        Reason::Other
    }
}

/// GETs `path` and returns the body of a 2xx response; anything else is a classified error.
/// The whole exchange (connect, headers, body) runs under `timeout`.
pub async fn get(client: &Client, path: &str, timeout: Duration) -> Result<Bytes, PollError> {
    let request = Request::get(path)
        .header(header::ACCEPT, "application/json")
        .body(Body::empty())
        .map_err(|e| PollError::new(Reason::Other, format!("building request: {e}")))?;
    let exchange = async {
        let response = client
            .send(request)
            .await
            .map_err(|e| PollError::new(classify_transport(&e), error_chain(&e)))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect_bytes()
            .await
            .map_err(|e| PollError::new(classify_transport(&e), format!("reading body: {}", error_chain(&e))))?;
        if status.is_success() {
            Ok(body)
        } else {
            let text = String::from_utf8_lossy(&body);
            let text: String = text.trim().chars().take(200).collect();
            Err(PollError::new(
                classify_status(status.as_u16()),
                format!("HTTP {}: {text}", status.as_u16()),
            ))
        }
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(PollError::new(
            Reason::Timeout,
            format!("no complete response within {}s", timeout.as_secs_f64()),
        )),
    }
}

#[derive(Deserialize)]
struct GroupVersion {
    #[serde(default)]
    version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiGroup {
    #[serde(default)]
    versions: Vec<GroupVersion>,
    #[serde(default)]
    preferred_version: Option<GroupVersion>,
}

/// Picks the version to poll from a `GET /apis/metrics.k8s.io` body: the preferred version when
/// it is one this poller speaks, else `v1` when served, else `v1beta1`.
pub fn choose_version(body: &[u8]) -> Result<&'static str, PollError> {
    let group: ApiGroup =
        serde_json::from_slice(body).map_err(|e| PollError::new(Reason::Decode, format!("discovery: {e}")))?;
    let known = |v: &str| VERSIONS.iter().copied().find(|k| *k == v);
    if let Some(preferred) = group.preferred_version.as_ref().and_then(|p| known(&p.version)) {
        return Ok(preferred);
    }
    Ok(VERSIONS
        .iter()
        .copied()
        .find(|v| group.versions.iter().any(|g| g.version == *v))
        .unwrap_or("v1beta1"))
}

/// Discovers the served version.
pub async fn discover(client: &Client, timeout: Duration) -> Result<&'static str, PollError> {
    let body = get(client, &format!("/apis/{GROUP}"), timeout).await?;
    choose_version(&body)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[test]
    fn statuses_classify_by_code() {
        let cases = [
            (503, "ServiceUnavailable"),
            (404, "NotFound"),
            (403, "Forbidden"),
            (401, "Unauthorized"),
            (429, "TooManyRequests"),
            (504, "Timeout"),
            (500, "ServerError"),
            (502, "ServerError"),
            (400, "Other"),
            (410, "Other"),
        ];
        for (code, want) in cases {
            assert_eq!(classify_status(code).as_str(), want, "{code}");
        }
        for (i, r) in Reason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
    }

    #[test]
    fn version_choice() {
        let both = br#"{"kind":"APIGroup","name":"metrics.k8s.io","versions":[{"groupVersion":"metrics.k8s.io/v1","version":"v1"},{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"}],"preferredVersion":{"groupVersion":"metrics.k8s.io/v1","version":"v1"}}"#;
        assert_eq!(choose_version(both).unwrap(), "v1");
        let beta = br#"{"versions":[{"version":"v1beta1"}],"preferredVersion":{"version":"v1beta1"}}"#;
        assert_eq!(choose_version(beta).unwrap(), "v1beta1");
        let odd_preference =
            br#"{"versions":[{"version":"v2alpha1"},{"version":"v1"}],"preferredVersion":{"version":"v2alpha1"}}"#;
        assert_eq!(choose_version(odd_preference).unwrap(), "v1");
        assert_eq!(choose_version(b"{}").unwrap(), "v1beta1");
        assert_eq!(choose_version(b"not json").unwrap_err().reason, Reason::Decode);
    }

    /// A one-shot HTTP server answering every connection with `response` after `delay`.
    async fn serve(response: &'static [u8], delay: Duration) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf).await;
                    tokio::time::sleep(delay).await;
                    let _ = stream.write_all(response).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        format!("{addr}")
    }

    fn client(url: &str) -> Client {
        let config = kube::Config::new(url.parse().unwrap());
        crate::usage::no_retry_client(config).unwrap()
    }

    #[tokio::test]
    async fn a_503_is_reported_at_once_without_retries() {
        let addr = serve(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n\r\nservice unavailable\n",
            Duration::ZERO,
        )
        .await;
        let started = Instant::now();
        let err = get(
            &client(&format!("http://{addr}")),
            "/apis/metrics.k8s.io/v1beta1/pods",
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
        assert_eq!(err.reason, Reason::ServiceUnavailable);
        assert!(err.message.contains("503"), "{}", err.message);
        assert!(started.elapsed() < Duration::from_secs(2), "no retry loop");
    }

    #[tokio::test]
    async fn transport_failures_are_classified() {
        // Refused: a port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = get(
            &client(&format!("http://127.0.0.1:{port}")),
            "/apis/metrics.k8s.io",
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
        assert_eq!(err.reason, Reason::Connection, "{}", err.message);

        // Slow: the client timeout fires.
        let addr = serve(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
            Duration::from_secs(5),
        )
        .await;
        let err = get(&client(&format!("http://{addr}")), "/x", Duration::from_millis(200))
            .await
            .unwrap_err();
        assert_eq!(err.reason, Reason::Timeout);

        // TLS spoken to a plain-text server.
        let addr = serve(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", Duration::ZERO).await;
        let err = get(&client(&format!("https://{addr}")), "/x", Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(err.reason, Reason::Tls, "{}", err.message);

        // A 200 arrives intact.
        let addr = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", Duration::ZERO).await;
        let body = get(&client(&format!("http://{addr}")), "/x", Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(&body[..], b"{}");
    }
}
