//! Certificates made in the test (rcgen): a certificate authority, the
//! certificates it signs, and their PEM files on disk for the binaries.
use docclass::service::client::{connect, endpoint, ClientError, ClientTls};
use rcgen::{BasicConstraints, Certificate, CertificateParams, IsCa, KeyPair};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tonic::transport::Channel;

/// The names a server certificate is issued for: what the tests dial.
pub const SERVER_NAMES: &[&str] = &["localhost", "127.0.0.1"];

/// A certificate authority and the certificates it signs.
pub struct Authority {
    cert: Certificate,
    key: KeyPair,
}

/// A signed certificate and its key, PEM.
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

impl Authority {
    pub fn new(name: &str) -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("CA certificate");
        Authority { cert, key }
    }

    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A certificate for `names` (DNS names, or IP addresses as text).
    pub fn issue(&self, names: &[&str]) -> Issued {
        let params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("params");
        let key = KeyPair::generate().expect("key");
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("signed certificate");
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// Writes the CA certificate to `dir/NAME.pem`; its path.
    pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
        write(dir, &format!("{name}.pem"), &self.pem())
    }
}

impl Issued {
    /// Writes `dir/NAME.pem` and `dir/NAME.key`; their paths.
    pub fn write(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        (
            write(dir, &format!("{name}.pem"), &self.cert_pem),
            write(dir, &format!("{name}.key"), &self.key_pem),
        )
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a PEM file");
    path
}

/// A TLS channel to `addr` that trusts `ca`, optionally presenting
/// `identity`: the connection the `docclass` client makes.
pub async fn tls_channel(
    addr: SocketAddr,
    ca: &Authority,
    identity: Option<&Issued>,
) -> Result<Channel, ClientError> {
    let tls = ClientTls {
        ca_pem: ca.pem().into_bytes(),
        identity: identity.map(|id| {
            (
                id.cert_pem.clone().into_bytes(),
                id.key_pem.clone().into_bytes(),
            )
        }),
    };
    let endpoint = endpoint(format!("http://{addr}"), Duration::from_secs(10))?;
    connect(&endpoint, Some(&tls)).await
}
