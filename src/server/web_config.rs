//! The web configuration file (`--tls-config-file`, KSM's `--tls-config`): the Prometheus
//! exporter-toolkit format, so the file a KSM deployment mounts works unchanged. TLS (server
//! certificate, client certificates, versions, cipher suites, curves), basic auth with bcrypt
//! hashes, extra response headers and a request rate limit, for both listeners.
//!
//! Parsed strictly, as the toolkit's `yaml.UnmarshalStrict` does: an unknown key is an error.
//! Errors name the field (`tls_server_config.client_auth_type: …`); the caller adds the flag.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use rustls::SupportedCipherSuite;
use rustls::crypto::SupportedKxGroup;
use rustls::crypto::ring::{cipher_suite, kx_group};
use rustls::version::{TLS12, TLS13};
use serde::Deserialize;

use crate::usage::parse::parse_go_duration;

/// The file as written: every key of the toolkit's schema, nothing else.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    tls_server_config: Option<RawTls>,
    http_server_config: Option<RawHttp>,
    basic_auth_users: Option<BTreeMap<String, String>>,
    rate_limit: Option<RawRateLimit>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: Option<String>,
    key: Option<String>,
    client_ca: Option<String>,
    cert_file: Option<String>,
    key_file: Option<String>,
    client_auth_type: Option<String>,
    client_ca_file: Option<String>,
    client_allowed_sans: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
    curve_preferences: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    interval: Option<String>,
    burst: Option<u32>,
}

/// A validated web configuration.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// TLS settings; `None` serves plain HTTP (auth and headers still apply), as the toolkit
    /// does when no TLS key is set.
    pub tls: Option<TlsSettings>,
    /// `basic_auth_users`: user → bcrypt hash; empty = no authentication.
    pub users: BTreeMap<String, String>,
    /// `http_server_config.headers` with a non-empty value, set on every response.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// `rate_limit`: requests per listener, token bucket of `burst` refilled every `interval`.
    pub rate_limit: Option<RateLimit>,
}

/// Token-bucket parameters of `rate_limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// One token per interval.
    pub interval: Duration,
    /// Bucket size (and initial fill).
    pub burst: u32,
}

/// Where a PEM document comes from: a file (re-read when it changes) or inline text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PemSource {
    /// `*_file`, resolved against the web config file's directory.
    File(PathBuf),
    /// `cert`, `key`, `client_ca` given inline.
    Inline(String),
}

impl PemSource {
    /// The file path, if any (what the reloader watches).
    pub fn path(&self) -> Option<&Path> {
        match self {
            PemSource::File(p) => Some(p),
            PemSource::Inline(_) => None,
        }
    }

    /// The PEM bytes; `field` names the source in errors.
    pub fn read(&self, field: &str) -> Result<Vec<u8>, String> {
        match self {
            PemSource::File(p) => {
                std::fs::read(p).map_err(|e| format!("tls_server_config.{field}: cannot read {}: {e}", p.display()))
            }
            PemSource::Inline(s) => Ok(s.as_bytes().to_vec()),
        }
    }
}

/// `client_auth_type`, Go's five `tls.ClientAuthType` policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// No certificate requested (the default).
    NoClientCert,
    /// A certificate is requested, not required, and not verified.
    RequestClientCert,
    /// A certificate is required but not verified (`RequireClientCert` is an old alias).
    RequireAnyClientCert,
    /// A certificate is verified against `client_ca_file` when the client sends one.
    VerifyClientCertIfGiven,
    /// A certificate is required and verified against `client_ca_file`.
    RequireAndVerifyClientCert,
}

impl ClientAuth {
    const NAMES: &'static str =
        "NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert";

    fn parse(raw: &str) -> Result<ClientAuth, String> {
        Ok(match raw {
            "" | "NoClientCert" => ClientAuth::NoClientCert,
            "RequestClientCert" => ClientAuth::RequestClientCert,
            "RequireAnyClientCert" | "RequireClientCert" => ClientAuth::RequireAnyClientCert,
            "VerifyClientCertIfGiven" => ClientAuth::VerifyClientCertIfGiven,
            "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerifyClientCert,
            other => {
                return Err(format!(
                    "tls_server_config.client_auth_type: unknown value {other:?}; one of {}",
                    Self::NAMES
                ));
            }
        })
    }

    /// Whether the policy checks the chain against the client CA.
    pub fn verifies(self) -> bool {
        matches!(
            self,
            ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert
        )
    }

    /// Whether a client without a certificate is refused.
    pub fn mandatory(self) -> bool {
        matches!(
            self,
            ClientAuth::RequireAnyClientCert | ClientAuth::RequireAndVerifyClientCert
        )
    }
}

/// The validated `tls_server_config`.
#[derive(Clone, Debug)]
pub struct TlsSettings {
    /// Server certificate chain.
    pub cert: PemSource,
    /// Its private key.
    pub key: PemSource,
    /// CA bundle client certificates are verified against.
    pub client_ca: Option<PemSource>,
    /// Client certificate policy.
    pub client_auth: ClientAuth,
    /// A client certificate must carry one of these SANs (DNS names or IP addresses).
    pub client_allowed_sans: Option<Vec<String>>,
    /// Offered protocol versions (TLS 1.2 and/or 1.3).
    pub versions: Vec<&'static rustls::SupportedProtocolVersion>,
    /// TLS 1.2 suites in preference order, followed by every TLS 1.3 suite (TLS 1.3 suites are
    /// not configurable, as in Go).
    pub cipher_suites: Vec<SupportedCipherSuite>,
    /// Key exchange groups in preference order.
    pub kx_groups: Vec<&'static dyn SupportedKxGroup>,
    /// The server picks the suite by its own order (`prefer_server_cipher_suites`).
    pub prefer_server_cipher_suites: bool,
}

/// Go's names of the TLS 1.2 suites rustls (ring) implements.
const TLS12_SUITES: &[(&str, SupportedCipherSuite)] = &[
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
];

/// Go's TLS 1.3 suite names: accepted and, as in Go, without effect.
const TLS13_SUITE_NAMES: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// Suites Go's `tls.CipherSuites()` lists (so the toolkit accepts them) that rustls does not
/// implement: RSA key exchange and CBC modes.
const GO_ONLY_SUITES: &[&str] = &[
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
];

/// Response headers the toolkit lets a web config set, with their allowed values (empty = any).
const EXTRA_HEADERS: &[(&str, &[&str])] = &[
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

impl WebConfig {
    /// Reads and validates the file; relative paths in it are resolved against its directory,
    /// as the toolkit does. The certificate files themselves are checked by the TLS loader.
    pub fn load(path: &Path) -> Result<WebConfig, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        WebConfig::parse(&text, &dir)
    }

    /// Parses the text of a web config; `dir` anchors relative file names.
    pub fn parse(text: &str, dir: &Path) -> Result<WebConfig, String> {
        let raw: RawConfig = if text.trim().is_empty() {
            RawConfig::default()
        } else {
            serde_saphyr::from_str(text).map_err(|e| {
                // The first line names the key and its position; the rest is a source excerpt.
                let e = e.to_string();
                let first = e.lines().next().unwrap_or_default();
                first.strip_prefix("error: ").unwrap_or(first).to_string()
            })?
        };
        let tls = match raw.tls_server_config {
            Some(t) => tls_settings(t, dir)?,
            None => None,
        };
        let users = raw.basic_auth_users.unwrap_or_default();
        for (user, hash) in &users {
            hash.parse::<bcrypt::HashParts>().map_err(|e| {
                format!("basic_auth_users.{user}: not a bcrypt hash ({e}); make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`")
            })?;
        }
        let http = raw.http_server_config.unwrap_or_default();
        // HTTP/2 is accepted for compatibility; the listeners speak HTTP/1.1, which is what
        // Prometheus scrapes with.
        let _ = http.http2;
        let mut headers = Vec::new();
        for (name, value) in http.headers.unwrap_or_default() {
            let Some((_, allowed)) = EXTRA_HEADERS.iter().find(|(n, _)| *n == name) else {
                return Err(format!(
                    "http_server_config.headers: header {name:?} can not be configured; allowed: {}",
                    EXTRA_HEADERS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                ));
            };
            if !allowed.is_empty() && !allowed.contains(&value.as_str()) {
                return Err(format!(
                    "http_server_config.headers.{name}: invalid value {value:?}; expected one of {allowed:?}"
                ));
            }
            // "Unset if blank", as documented by the toolkit.
            if value.is_empty() {
                continue;
            }
            let value = HeaderValue::from_str(&value)
                .map_err(|_| format!("http_server_config.headers.{name}: invalid header value {value:?}"))?;
            headers.push((HeaderName::from_static(static_header_name(&name)), value));
        }
        let rate_limit = match raw.rate_limit {
            None => None,
            Some(r) => {
                let interval = match r.interval.as_deref() {
                    None => Duration::ZERO,
                    Some(s) => parse_go_duration(s)
                        .filter(|d| d.is_finite() && *d >= 0.0)
                        .map(Duration::from_secs_f64)
                        .ok_or_else(|| format!("rate_limit.interval: invalid duration {s:?} (use e.g. 1s, 100ms)"))?,
                };
                let burst = r.burst.unwrap_or(0);
                if interval.is_zero() {
                    None
                } else if burst == 0 {
                    return Err("rate_limit.burst: must be at least 1 when rate_limit.interval is set".into());
                } else {
                    Some(RateLimit { interval, burst })
                }
            }
        };
        Ok(WebConfig {
            tls,
            users,
            headers,
            rate_limit,
        })
    }
}

/// The lower-case `'static` name of one of [`EXTRA_HEADERS`].
fn static_header_name(name: &str) -> &'static str {
    match name {
        "Strict-Transport-Security" => "strict-transport-security",
        "X-Content-Type-Options" => "x-content-type-options",
        "X-Frame-Options" => "x-frame-options",
        "X-XSS-Protection" => "x-xss-protection",
        _ => "content-security-policy",
    }
}

fn tls_settings(raw: RawTls, dir: &Path) -> Result<Option<TlsSettings>, String> {
    let nonempty = |v: Option<String>| v.filter(|s| !s.is_empty());
    let file = |v: Option<String>| nonempty(v).map(|p| PemSource::File(dir.join(p)));
    let (cert_inline, key_inline, ca_inline) = (nonempty(raw.cert), nonempty(raw.key), nonempty(raw.client_ca));
    let (cert_file, key_file, ca_file) = (file(raw.cert_file), file(raw.key_file), file(raw.client_ca_file));
    let client_auth_raw = raw.client_auth_type.unwrap_or_default();
    // The toolkit turns TLS on when any of these is set, and stays on plain HTTP otherwise.
    let enabled = cert_inline.is_some()
        || key_inline.is_some()
        || ca_inline.is_some()
        || cert_file.is_some()
        || key_file.is_some()
        || ca_file.is_some()
        || !client_auth_raw.is_empty();
    if !enabled {
        return Ok(None);
    }
    let pick =
        |inline: Option<String>, file: Option<PemSource>, inline_name: &str, file_name: &str| match (inline, file) {
            (Some(_), Some(_)) => Err(format!(
                "tls_server_config: set only one of {inline_name} and {file_name}"
            )),
            (Some(text), None) => Ok(Some(PemSource::Inline(text))),
            (None, file) => Ok(file),
        };
    let cert = pick(cert_inline, cert_file, "cert", "cert_file")?
        .ok_or("tls_server_config: missing one of cert or cert_file")?;
    let key =
        pick(key_inline, key_file, "key", "key_file")?.ok_or("tls_server_config: missing one of key or key_file")?;
    let client_ca = pick(ca_inline, ca_file, "client_ca", "client_ca_file")?;
    let client_auth = ClientAuth::parse(&client_auth_raw)?;
    if client_ca.is_some() && client_auth == ClientAuth::NoClientCert {
        return Err(
            "tls_server_config.client_ca_file: a client CA is set but client_auth_type is NoClientCert; \
             use RequireAndVerifyClientCert"
                .into(),
        );
    }
    if client_auth.verifies() && client_ca.is_none() {
        return Err(format!(
            "tls_server_config.client_auth_type: {client_auth_raw} needs client_ca_file (or client_ca) to verify \
             client certificates against"
        ));
    }
    if let Some(sans) = &raw.client_allowed_sans {
        if !client_auth.mandatory() {
            return Err(
                "tls_server_config.client_allowed_sans: needs client_auth_type RequireAnyClientCert or \
                 RequireAndVerifyClientCert"
                    .into(),
            );
        }
        for san in sans {
            let dns = rustls::pki_types::DnsName::try_from(san.as_str()).is_ok();
            if !dns && san.parse::<std::net::IpAddr>().is_err() {
                return Err(format!(
                    "tls_server_config.client_allowed_sans: {san:?} is not supported; only DNS names and IP \
                     addresses are matched"
                ));
            }
        }
    }
    let version = |field: &str, raw: Option<String>, default: &'static rustls::SupportedProtocolVersion| match raw
        .as_deref()
        .unwrap_or("")
    {
        "" => Ok(default),
        "TLS12" => Ok(&TLS12),
        "TLS13" => Ok(&TLS13),
        v @ ("TLS10" | "TLS11") => Err(format!(
            "tls_server_config.{field}: {v} is not supported (only TLS12 and TLS13 are offered)"
        )),
        v => Err(format!(
            "tls_server_config.{field}: unknown TLS version {v:?}; use TLS12 or TLS13"
        )),
    };
    let min = version("min_version", raw.min_version, &TLS12)?;
    let max = version("max_version", raw.max_version, &TLS13)?;
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = match (min == &TLS13, max == &TLS12) {
        (true, true) => {
            return Err("tls_server_config.min_version: TLS13 is above max_version TLS12".into());
        }
        (true, false) => vec![&TLS13],
        (false, true) => vec![&TLS12],
        (false, false) => vec![&TLS13, &TLS12],
    };
    let mut cipher_suites = Vec::new();
    match raw.cipher_suites.filter(|l| !l.is_empty()) {
        None => cipher_suites.extend(TLS12_SUITES.iter().map(|(_, s)| *s)),
        Some(names) => {
            for name in names {
                if let Some((_, suite)) = TLS12_SUITES.iter().find(|(n, _)| *n == name) {
                    if !cipher_suites.contains(suite) {
                        cipher_suites.push(*suite);
                    }
                } else if TLS13_SUITE_NAMES.contains(&name.as_str()) {
                    // Go ignores TLS 1.3 suites here; so do we.
                } else if GO_ONLY_SUITES.contains(&name.as_str()) {
                    return Err(format!(
                        "tls_server_config.cipher_suites: {name} is not supported (no RSA key exchange or CBC); \
                         supported: {}",
                        supported_suites()
                    ));
                } else {
                    return Err(format!(
                        "tls_server_config.cipher_suites: unknown cipher suite {name:?}; supported: {}",
                        supported_suites()
                    ));
                }
            }
            if cipher_suites.is_empty() && versions == [&TLS12] {
                return Err(
                    "tls_server_config.cipher_suites: no TLS 1.2 suite listed while max_version is TLS12".into(),
                );
            }
        }
    }
    cipher_suites.extend([
        cipher_suite::TLS13_AES_128_GCM_SHA256,
        cipher_suite::TLS13_AES_256_GCM_SHA384,
        cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
    ]);
    let kx_groups: Vec<&'static dyn SupportedKxGroup> = match raw.curve_preferences.filter(|l| !l.is_empty()) {
        None => rustls::crypto::ring::ALL_KX_GROUPS.to_vec(),
        Some(names) => {
            let mut groups: Vec<&'static dyn SupportedKxGroup> = Vec::new();
            for name in names {
                let group = match name.as_str() {
                    "X25519" => kx_group::X25519,
                    "CurveP256" => kx_group::SECP256R1,
                    "CurveP384" => kx_group::SECP384R1,
                    "CurveP521" => {
                        return Err(
                            "tls_server_config.curve_preferences: CurveP521 is not supported; use X25519, CurveP256 \
                             or CurveP384"
                                .into(),
                        );
                    }
                    other => {
                        return Err(format!(
                            "tls_server_config.curve_preferences: unknown curve {other:?}; use X25519, CurveP256 or \
                             CurveP384"
                        ));
                    }
                };
                if !groups.iter().any(|g| g.name() == group.name()) {
                    groups.push(group);
                }
            }
            groups
        }
    };
    Ok(Some(TlsSettings {
        cert,
        key,
        client_ca,
        client_auth,
        client_allowed_sans: raw.client_allowed_sans,
        versions,
        cipher_suites,
        kx_groups,
        prefer_server_cipher_suites: raw.prefer_server_cipher_suites.unwrap_or(true),
    }))
}

fn supported_suites() -> String {
    TLS12_SUITES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}
