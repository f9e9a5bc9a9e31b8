//! A tansu broker (a Kafka-compatible broker) for tests: started on a free 127.0.0.1 port with in-memory
//! storage, killed when dropped. The binary comes from `TANSU_BIN`, else `$HOME/.cache/tansu/bin/tansu`
//! (where `.ci/run` installs it: `cargo install tansu --locked --features dynostore --root $HOME/.cache/tansu`).
//!
//! ```no_run
//! let broker = tracewire_testing::tansu::TansuBroker::start();
//! broker.create_topic("orders", 1);
//! println!("bootstrap.servers = {}", broker.bootstrap_servers());
//! ```

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running tansu broker.
///
/// ```no_run
/// use tracewire_testing::tansu::TansuBroker;
/// let broker = TansuBroker::start(); // killed when dropped
/// broker.create_topic("orders", 3);
/// assert!(broker.bootstrap_servers().starts_with("127.0.0.1:"));
/// ```
#[derive(Debug)]
pub struct TansuBroker {
    child: Child,
    bin: String,
    url: String,
    bootstrap: String,
}

fn spawn(bin: &str, url: &str, port: u16) -> Child {
    let child = Command::new(bin)
        .args([
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
        ])
        .args(["--storage-engine", "memory://tansu/"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tansu broker");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "tansu did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

impl Drop for TansuBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TansuBroker {
    /// Starts a broker and waits until it listens. Panics, saying how to install tansu, when the binary is
    /// missing.
    ///
    /// ```no_run
    /// let broker = tracewire_testing::tansu::TansuBroker::start();
    /// println!("bootstrap.servers = {}", broker.bootstrap_servers());
    /// ```
    pub fn start() -> Self {
        let bin = std::env::var("TANSU_BIN").unwrap_or_else(|_| {
            format!(
                "{}/.cache/tansu/bin/tansu",
                std::env::var("HOME").unwrap_or_default()
            )
        });
        assert!(
            std::path::Path::new(&bin).exists(),
            "tansu not found at {bin}: `cargo install tansu --locked --features dynostore --root $HOME/.cache/tansu` (bash .ci/run does it)"
        );
        let port = TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let url = format!("tcp://127.0.0.1:{port}");
        let child = spawn(&bin, &url, port);
        TansuBroker {
            child,
            bin,
            url,
            bootstrap: format!("127.0.0.1:{port}"),
        }
    }

    /// Kills the broker (clients see it go away), and waits for the process to end.
    ///
    /// ```no_run
    /// let mut broker = tracewire_testing::tansu::TansuBroker::start();
    /// broker.create_topic("orders", 1);
    /// broker.stop(); // producers now see the broker go away
    /// ```
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the broker again on the same port. Storage is in memory: topics must be created again.
    ///
    /// ```no_run
    /// let mut broker = tracewire_testing::tansu::TansuBroker::start();
    /// broker.create_topic("orders", 1);
    /// broker.restart(); // same address; the in-memory topics are gone
    /// broker.create_topic("orders", 1);
    /// ```
    pub fn restart(&mut self) {
        self.stop();
        let port = self
            .bootstrap
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        self.child = spawn(&self.bin, &self.url, port);
    }

    /// `bootstrap.servers` for clients.
    ///
    /// ```no_run
    /// let broker = tracewire_testing::tansu::TansuBroker::start();
    /// let bootstrap: &str = broker.bootstrap_servers(); // for `bootstrap.servers`
    /// assert!(bootstrap.starts_with("127.0.0.1:"));
    /// ```
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// Creates a topic (tansu does not create topics on first use).
    ///
    /// ```no_run
    /// let broker = tracewire_testing::tansu::TansuBroker::start();
    /// broker.create_topic("orders", 3); // three partitions
    /// ```
    pub fn create_topic(&self, name: &str, partitions: u32) {
        let status = Command::new(&self.bin)
            .args(["topic", "create", name, "--broker", &self.url])
            .args(["--partitions", &partitions.to_string()])
            .stdout(Stdio::null())
            .status()
            .expect("tansu topic create");
        assert!(status.success(), "topic {name}");
    }
}
