//! TLS for both listeners: the rustls configuration built from the web config's
//! `tls_server_config`, rebuilt when the certificate, key or client CA files change on disk, so a
//! renewed certificate (cert-manager, a rotated Secret) is served without a restart.
//!
//! The files are checked (one `stat` each) when a connection is accepted, before its handshake;
//! a change builds a new configuration for that and later connections, while connections
//! already open keep theirs. A broken or half-written new file keeps the last good
//! configuration and logs one WARN per broken version of the files.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{NoClientAuth, WebPkiClientVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme};

use super::web_config::{ClientAuth, TlsSettings};

/// Identity of a file's current content: modification time, size and inode. A replaced file
/// (rename over it, or a Kubernetes Secret's symlink swap) changes at least one of them.
type Stamp = Vec<Option<(SystemTime, u64, u64)>>;

/// The current rustls configuration, rebuilt when its files change.
pub struct TlsReloader {
    settings: TlsSettings,
    files: Vec<PathBuf>,
    state: Mutex<State>,
}

struct State {
    config: Arc<ServerConfig>,
    stamp: Stamp,
    /// The stamp of files that failed to load, so one broken version is reported once.
    failed: Option<Stamp>,
}

impl fmt::Debug for TlsReloader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsReloader").field("files", &self.files).finish()
    }
}

impl TlsReloader {
    /// Loads the certificate, key and client CA once; an error names the field at fault.
    pub fn new(settings: TlsSettings) -> Result<TlsReloader, String> {
        let files: Vec<PathBuf> = [Some(&settings.cert), Some(&settings.key), settings.client_ca.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|s| s.path().map(PathBuf::from))
            .collect();
        let stamp = stamp(&files);
        let config = build(&settings)?;
        Ok(TlsReloader {
            settings,
            files,
            state: Mutex::new(State {
                config,
                stamp,
                failed: None,
            }),
        })
    }

    /// The configuration for a new connection, rebuilt first if a file changed.
    pub fn current(&self) -> Arc<ServerConfig> {
        let now = stamp(&self.files);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if now == state.stamp || state.failed.as_ref() == Some(&now) {
            return state.config.clone();
        }
        match build(&self.settings) {
            Ok(config) => {
                tracing::info!(files = ?self.files, "TLS certificate files changed; new connections use them");
                state.config = config;
                state.stamp = now;
                state.failed = None;
            }
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "TLS certificate files changed but cannot be loaded; still serving the previous certificate"
                );
                state.failed = Some(now);
            }
        }
        state.config.clone()
    }
}

fn stamp(files: &[PathBuf]) -> Stamp {
    files
        .iter()
        .map(|p| {
            let m = std::fs::metadata(p).ok()?;
            #[cfg(unix)]
            let ino = std::os::unix::fs::MetadataExt::ino(&m);
            #[cfg(not(unix))]
            let ino = 0;
            Some((m.modified().ok()?, m.len(), ino))
        })
        .collect()
}

/// The ring provider narrowed to the configured suites and groups.
fn provider(settings: &TlsSettings) -> CryptoProvider {
    CryptoProvider {
        cipher_suites: settings.cipher_suites.clone(),
        kx_groups: settings.kx_groups.clone(),
        ..rustls::crypto::ring::default_provider()
    }
}

/// Builds the rustls configuration from the settings, reading the files.
pub fn build(settings: &TlsSettings) -> Result<Arc<ServerConfig>, String> {
    let cert_pem = settings.cert.read("cert_file")?;
    let key_pem = settings.key.read("key_file")?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("tls_server_config.cert_file: invalid PEM: {e}"))?;
    if certs.is_empty() {
        return Err("tls_server_config.cert_file: no certificate found".into());
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| format!("tls_server_config.key_file: no usable private key: {e}"))?;
    let provider = Arc::new(provider(settings));
    let verifier = client_verifier(settings, &provider)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&settings.versions)
        .map_err(|e| format!("tls_server_config: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| format!("tls_server_config.key_file: does not fit cert_file: {e}"))?;
    config.ignore_client_order = settings.prefer_server_cipher_suites;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn client_verifier(
    settings: &TlsSettings,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, String> {
    let algorithms = provider.signature_verification_algorithms;
    let inner: Arc<dyn ClientCertVerifier> = match settings.client_auth {
        ClientAuth::NoClientCert => return Ok(Arc::new(NoClientAuth)),
        ClientAuth::RequestClientCert | ClientAuth::RequireAnyClientCert => Arc::new(AnyClientCert {
            mandatory: settings.client_auth.mandatory(),
            algorithms,
        }),
        ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert => {
            let Some(source) = &settings.client_ca else {
                return Err("tls_server_config.client_ca_file: required by client_auth_type".into());
            };
            let pem = source.read("client_ca_file")?;
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| format!("tls_server_config.client_ca_file: invalid PEM: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("tls_server_config.client_ca_file: unusable CA certificate: {e}"))?;
            }
            if roots.is_empty() {
                return Err("tls_server_config.client_ca_file: no certificate found".into());
            }
            let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let builder = if settings.client_auth.mandatory() {
                builder
            } else {
                builder.allow_unauthenticated()
            };
            builder
                .build()
                .map_err(|e| format!("tls_server_config.client_ca_file: {e}"))?
        }
    };
    Ok(match &settings.client_allowed_sans {
        Some(sans) => Arc::new(AllowedSans {
            inner,
            sans: sans.clone(),
        }),
        None => inner,
    })
}

/// `RequestClientCert` / `RequireAnyClientCert`: any certificate is taken without checking its
/// chain; the handshake signature still proves the client holds its key.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// `client_allowed_sans`: after the policy's own check, the client certificate must name one of
/// the allowed DNS names or IP addresses among its subject alternative names.
#[derive(Debug)]
struct AllowedSans {
    inner: Arc<dyn ClientCertVerifier>,
    sans: Vec<String>,
}

impl ClientCertVerifier for AllowedSans {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self.inner.verify_client_cert(end_entity, intermediates, now)?;
        let cert = webpki::EndEntityCert::try_from(end_entity)
            .map_err(|_| rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding))?;
        // Exact match on DNS names (no wildcard expansion), as the toolkit compares strings.
        let dns: Vec<&str> = cert.valid_dns_names().collect();
        let allowed = self.sans.iter().any(|san| match san.parse::<std::net::IpAddr>() {
            Ok(ip) => cert
                .verify_is_valid_for_subject_name(&ServerName::IpAddress(ip.into()))
                .is_ok(),
            Err(_) => dns.iter().any(|d| d.eq_ignore_ascii_case(san)),
        });
        if allowed {
            Ok(verified)
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
