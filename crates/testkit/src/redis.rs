//! Real `redis-server` processes for tests: one server on a free loopback port, or a
//! three-node Redis Cluster. Never the machine's own Redis on port 6379.
//!
//! Needs `redis-server` and `redis-cli` on the `PATH` (`apt-get install -y redis-server`;
//! `.ci/run` installs it). Without them, starting fails with an error that says so: tests
//! fail rather than skip.
//!
//! ```no_run
//! use testkit::RedisServer;
//!
//! let server = RedisServer::start().expect("redis-server starts");
//! println!("test Redis at {}", server.url());
//! // Killed when `server` is dropped.
//! ```

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

const INSTALL_HINT: &str = "redis-server is not installed: install it with `apt-get install -y redis-server` (.ci/run does)";
const START_TIMEOUT: Duration = Duration::from_secs(10);
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(30);
/// A cluster node also listens on its port + 10000 (the cluster bus).
const CLUSTER_BUS_OFFSET: u16 = 10_000;

/// A `redis-server` on 127.0.0.1 and a free port, without persistence (`--save ""`,
/// `--appendonly no`), killed when dropped.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    password: Option<String>,
    cluster: bool,
    /// The TLS port, for a server started with [`RedisServer::start_tls`].
    tls_port: Option<u16>,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server without a password and waits until it answers PING.
    pub fn start() -> io::Result<Self> {
        Self::start_with(None, false)
    }

    /// Starts a server that requires `password` (`--requirepass`).
    pub fn start_with_password(password: &str) -> io::Result<Self> {
        Self::start_with(Some(password.to_owned()), false)
    }

    /// Starts a server that also accepts TLS on a second port, with a server certificate for
    /// `127.0.0.1` signed by a throwaway CA ([`RedisServer::tls_ca_pem`]); made with the
    /// `openssl` command.
    pub fn start_tls() -> io::Result<Self> {
        let mut server = Self::start()?;
        server.stop();
        make_test_certificates(server.dir.path())?;
        server.tls_port = Some(free_port(false)?);
        server.restart()?;
        Ok(server)
    }

    /// The `rediss://` URL of a server started with [`RedisServer::start_tls`].
    ///
    /// # Panics
    ///
    /// For a server started without TLS.
    pub fn tls_url(&self) -> String {
        let port = self
            .tls_port
            .expect("the server was started with start_tls");
        format!("rediss://127.0.0.1:{port}/")
    }

    /// The PEM of the CA that signed the server certificate of [`RedisServer::start_tls`].
    pub fn tls_ca_pem(&self) -> io::Result<Vec<u8>> {
        std::fs::read(self.dir.path().join("ca.pem"))
    }

    fn start_with(password: Option<String>, cluster: bool) -> io::Result<Self> {
        let mut last_error = None;
        // A free port can be taken by someone else before the server binds it: try others.
        for _ in 0..5 {
            let mut server = Self {
                port: free_port(cluster)?,
                password: password.clone(),
                cluster,
                tls_port: None,
                dir: tempfile::Builder::new()
                    .prefix("dircache-redis-")
                    .tempdir()?,
                child: None,
            };
            match server.launch() {
                Ok(()) => return Ok(server),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(e),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("redis-server did not start")))
    }

    /// The URL of this server, with the password if it has one.
    pub fn url(&self) -> String {
        match &self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}/", self.port),
            None => format!("redis://127.0.0.1:{}/", self.port),
        }
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the server process is running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Kills the server (an outage); its data is gone. [`RedisServer::restart`] brings it
    /// back on the same port.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (empty) and waits until it answers.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        let deadline = Instant::now() + START_TIMEOUT;
        // The old process's socket may take a moment to free the port.
        loop {
            match self.launch() {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound || Instant::now() >= deadline => {
                    return Err(e);
                }
                Err(_) => sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Runs `redis-cli` against this server with `args` and returns what it printed.
    pub fn cli(&self, args: &[&str]) -> io::Result<String> {
        let mut command = Command::new("redis-cli");
        command.args(["-h", "127.0.0.1", "-p", &self.port.to_string()]);
        if let Some(password) = &self.password {
            command.args(["--no-auth-warning", "-a", password]);
        }
        command.args(args);
        redis_cli(command, &format!("redis-cli {args:?}"))
    }

    fn launch(&mut self) -> io::Result<()> {
        let log = self.dir.path().join(format!("redis-{}.log", self.port));
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(&log);
        if let Some(password) = &self.password {
            command.args(["--requirepass", password]);
        }
        if let Some(tls_port) = self.tls_port {
            let dir = self.dir.path();
            command
                .args(["--tls-port", &tls_port.to_string()])
                .arg("--tls-cert-file")
                .arg(dir.join("server.pem"))
                .arg("--tls-key-file")
                .arg(dir.join("server.key"))
                .arg("--tls-ca-cert-file")
                .arg(dir.join("ca.pem"))
                .args(["--tls-auth-clients", "no"]);
        }
        if self.cluster {
            let nodes_file = self.dir.path().join(format!("nodes-{}.conf", self.port));
            command
                .args(["--cluster-enabled", "yes", "--cluster-config-file"])
                .arg(nodes_file)
                .args(["--cluster-node-timeout", "5000"]);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = command.spawn().map_err(not_found_hint)?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait()? {
                return Err(io::Error::other(format!(
                    "redis-server on port {} exited with {status}: {}",
                    self.port,
                    log_tail(&log)
                )));
            }
            if answers_ping(self.port) {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "redis-server on port {} did not answer PING within {START_TIMEOUT:?}: {}",
                        self.port,
                        log_tail(&log)
                    ),
                ));
            }
            sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Three `redis-server`s in cluster mode, all slots assigned (no replicas), killed when
/// dropped.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts three nodes, joins them with `redis-cli --cluster create`, and waits until
    /// every node reports `cluster_state:ok`.
    pub fn start() -> io::Result<Self> {
        let nodes = (0..3)
            .map(|_| RedisServer::start_with(None, true))
            .collect::<io::Result<Vec<_>>>()?;
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let mut command = Command::new("redis-cli");
        command
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"]);
        redis_cli(command, "redis-cli --cluster create")?;
        let cluster = Self { nodes };
        cluster.wait_until_ok()?;
        Ok(cluster)
    }

    /// The URLs of the nodes.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The nodes.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    fn wait_until_ok(&self) -> io::Result<()> {
        let deadline = Instant::now() + CLUSTER_TIMEOUT;
        loop {
            let mut all_ok = true;
            for node in &self.nodes {
                let info = node.cli(&["CLUSTER", "INFO"])?;
                all_ok &= info.lines().any(|l| l.trim() == "cluster_state:ok");
            }
            if all_ok {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "the cluster did not reach cluster_state:ok within {CLUSTER_TIMEOUT:?}"
                    ),
                ));
            }
            sleep(Duration::from_millis(100));
        }
    }
}

/// A port on 127.0.0.1 that was free a moment ago; with `cluster_bus`, one whose bus port
/// (port + 10000) was free too.
fn free_port(cluster_bus: bool) -> io::Result<u16> {
    for _ in 0..100 {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        if port == 6379 {
            continue;
        }
        if !cluster_bus {
            return Ok(port);
        }
        let Some(bus) = port.checked_add(CLUSTER_BUS_OFFSET) else {
            continue;
        };
        if TcpListener::bind(("127.0.0.1", bus)).is_ok() {
            return Ok(port);
        }
    }
    Err(io::Error::other(
        "no free port pair for a cluster node was found",
    ))
}

/// Whether a server answers PING on `port` (`-NOAUTH` counts: it is up, and wants a password).
fn answers_ping(port: u16) -> bool {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0; 16];
    match stream.read(&mut reply) {
        Ok(n) => reply[..n].starts_with(b"+PONG") || reply[..n].starts_with(b"-NOAUTH"),
        Err(_) => false,
    }
}

/// Writes `ca.pem`, `server.pem` and `server.key` (P-256, for IP 127.0.0.1) into `dir`.
fn make_test_certificates(dir: &Path) -> io::Result<()> {
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )?;
    // One line per openssl call; no argument has a space in it.
    let key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    let steps = [
        format!(
            "req -x509 {key} -keyout ca.key -out ca.pem -days 2 -subj /CN=dircache-test-CA \
             -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"
        ),
        format!("req {key} -keyout server.key -out server.csr -subj /CN=127.0.0.1"),
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
         -days 2 -extfile server.ext"
            .to_owned(),
    ];
    for step in &steps {
        let args: Vec<&str> = step.split_whitespace().collect();
        let output = Command::new("openssl")
            .args(&args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    io::Error::new(
                        io::ErrorKind::NotFound,
                        "openssl is not installed: `apt-get install -y openssl`",
                    )
                } else {
                    e
                }
            })?;
        if !output.status.success() {
            return Err(io::Error::other(format!(
                "openssl {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )));
        }
    }
    Ok(())
}

/// Runs a `redis-cli` command and returns what it printed; its failure names `what` and says
/// what it printed.
fn redis_cli(mut command: Command, what: &str) -> io::Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(not_found_hint)?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn not_found_hint(error: io::Error) -> io::Error {
    if error.kind() == io::ErrorKind::NotFound {
        io::Error::new(io::ErrorKind::NotFound, INSTALL_HINT)
    } else {
        error
    }
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_answers_stops_and_restarts_on_the_same_port() {
        let mut server = RedisServer::start().expect("redis-server starts");
        assert_ne!(server.port(), 6379);
        assert!(server.cli(&["PING"]).unwrap().contains("PONG"));
        let port = server.port();
        server.stop();
        assert!(!server.is_running());
        assert!(!answers_ping(port));
        server.restart().unwrap();
        assert_eq!(server.port(), port);
        assert!(server.is_running());
        assert!(answers_ping(port));
    }

    #[test]
    fn a_password_is_required_and_in_the_url() {
        let server = RedisServer::start_with_password("pa55word").unwrap();
        assert_eq!(
            server.url(),
            format!("redis://:pa55word@127.0.0.1:{}/", server.port())
        );
        assert!(server.cli(&["PING"]).unwrap().contains("PONG"));
    }
}
