//! Certificates for TLS tests (the OTLP receiver over TLS, gRPC over TLS), made with the `openssl`
//! command.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A directory of PEM files: `ca.pem`, `server.pem`/`server.key` (for 127.0.0.1 and localhost) and
/// `client.pem`/`client.key`, both signed by the CA.
///
/// ```no_run
/// let pki = tracewire_testing::pki::pki("doc");
/// println!("{}", pki.path("ca.pem").display());
/// ```
#[derive(Debug)]
pub struct Pki {
    dir: PathBuf,
}

impl Pki {
    /// The path of one file.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The contents of one file.
    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).expect("PEM")
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command (Debian: openssl)");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, both signed by the CA, made
/// with the `openssl` command in a temporary directory named after `name`.
///
/// ```no_run
/// let pki = tracewire_testing::pki::pki("doc");
/// assert!(!pki.read("server.pem").is_empty());
/// ```
pub fn pki(name: &str) -> Pki {
    let dir = std::env::temp_dir().join(format!("tracewire-tls-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=tracewire test CA",
        ],
    );
    for (who, usage) in [("server", "serverAuth"), ("client", "clientAuth")] {
        openssl(
            &dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{who}.key"),
                "-out",
                &format!("{who}.csr"),
                "-subj",
                &format!("/CN=tracewire test {who}"),
            ],
        );
        std::fs::write(
            dir.join(format!("{who}.ext")),
            format!(
                "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
                 keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage={usage}\n"
            ),
        )
        .expect("ext");
        openssl(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{who}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &format!("{who}.pem"),
                "-days",
                "2",
                "-extfile",
                &format!("{who}.ext"),
            ],
        );
    }
    Pki { dir }
}
