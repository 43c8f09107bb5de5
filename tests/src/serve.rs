//! A running `dircache serve` on a free port: start, request helpers, SIGTERM, and kill on drop.

use std::fs::File;
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use reqwest::{Client, Method, RequestBuilder};

use crate::answer::Answer;
use crate::raw::raw_get;
use crate::setup::{Setup, read_all};

/// How long `serve` may take to print its address and answer `/healthz`.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long `serve` may take to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// The stdout line that gives the address (SPEC §5, the CLI contract).
const LISTENING: &str = "dircache listening on http://";

/// A `dircache serve --listen 127.0.0.1:0` process; dropping it sends SIGTERM, then kills it if
/// it lingers.
#[derive(Debug)]
pub struct Served {
    process: Process,
    setup: Setup,
    addr: SocketAddr,
    client: Client,
}

impl Setup {
    /// Starts `dircache serve --listen 127.0.0.1:0`, learns its port from the line it prints,
    /// and waits until `/healthz` answers 200.
    pub async fn serve(self) -> Result<Served> {
        let stdout = File::create(self.path("serve.stdout"))?;
        let stderr = File::create(self.path("serve.stderr"))?;
        let mut command = self.command(&["serve", "--listen", "127.0.0.1:0"])?;
        command.stdout(stdout).stderr(stderr);
        let mut process = Process::spawn(command)?;
        let addr = self.listening_addr(&mut process).await?;
        let client = Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()?;
        let served = Served {
            process,
            setup: self,
            addr,
            client,
        };
        served.wait_healthy().await?;
        Ok(served)
    }

    async fn listening_addr(&self, process: &mut Process) -> Result<SocketAddr> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let stdout = std::fs::read_to_string(self.path("serve.stdout"))?;
            if let Some(line) = stdout.lines().find(|line| line.starts_with(LISTENING)) {
                let addr = line[LISTENING.len()..].trim().trim_end_matches('/');
                return addr
                    .parse()
                    .with_context(|| format!("serve printed an unparsable address: {line:?}"));
            }
            if let Some(status) = process.child.try_wait()? {
                bail!(
                    "dircache serve exited ({status}) before listening\nstdout:\n{stdout}\nstderr:\n{}",
                    std::fs::read_to_string(self.path("serve.stderr"))?
                );
            }
            if Instant::now() >= deadline {
                bail!("dircache serve printed no `{LISTENING}…` line within {START_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Served {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// An HTTP client for it (no proxy, generous timeout).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A request to `path`.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// Sends `request` and reads the whole answer.
    pub async fn send(&self, request: RequestBuilder) -> Result<Answer> {
        Answer::read(request.send().await?).await
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Result<Answer> {
        self.send(self.request(Method::GET, path)).await
    }

    /// `GET /v1/directories/{id}`.
    pub async fn get_directory(&self, id: &str) -> Result<Answer> {
        self.get(&format!("/v1/directories/{id}")).await
    }

    /// `DELETE /v1/directories/{id}`, with `Authorization: Bearer <token>` when a token is given.
    pub async fn delete_directory(&self, id: &str, token: Option<&str>) -> Result<Answer> {
        let request = self.request(Method::DELETE, &format!("/v1/directories/{id}"));
        self.send(bearer(request, token)).await
    }

    /// `POST /v1/directories/{id}/verify`, with the bearer token when one is given.
    pub async fn verify(&self, id: &str, token: Option<&str>) -> Result<Answer> {
        let request = self.request(Method::POST, &format!("/v1/directories/{id}/verify"));
        self.send(bearer(request, token)).await
    }

    /// `GET target` sent byte for byte, for paths an HTTP client would normalise (`%2E%2E`).
    pub async fn raw_get(&self, target: &str) -> Result<Answer> {
        raw_get(self.addr, target).await
    }

    /// The setup it was started with (its scratch directory holds the audit log).
    pub fn setup(&self) -> &Setup {
        &self.setup
    }

    /// Everything it printed on stderr (its logs) so far.
    pub fn stderr(&self) -> Result<String> {
        Ok(std::fs::read_to_string(self.setup.path("serve.stderr"))?)
    }

    /// Sends SIGTERM and waits (at most 15 s) for it to exit; what it left behind is returned.
    pub async fn stop(self) -> Result<Stopped> {
        let Served {
            mut process, setup, ..
        } = self;
        process.signal_term()?;
        let deadline = Instant::now() + STOP_TIMEOUT;
        let status = loop {
            if let Some(status) = process.child.try_wait()? {
                break status;
            }
            if Instant::now() >= deadline {
                bail!("dircache serve still ran {STOP_TIMEOUT:?} after SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let audit = setup.audit_log();
        Ok(Stopped {
            status,
            stdout: read_all(&mut File::open(setup.path("serve.stdout"))?)?,
            stderr: read_all(&mut File::open(setup.path("serve.stderr"))?)?,
            audit_log: audit
                .exists()
                .then(|| std::fs::read_to_string(&audit))
                .transpose()?,
        })
    }

    async fn wait_healthy(&self) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let answer = self.client.get(self.url("/healthz")).send().await;
            if answer.as_ref().is_ok_and(|answer| answer.status() == 200) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("/healthz did not answer 200 within {START_TIMEOUT:?}: {answer:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A `serve` process after SIGTERM: how it exited and the files it wrote.
#[derive(Debug)]
pub struct Stopped {
    /// The exit status.
    pub status: ExitStatus,
    /// Everything printed on stdout.
    pub stdout: String,
    /// Everything printed on stderr (its logs).
    pub stderr: String,
    /// The audit log file's content, when the file exists.
    pub audit_log: Option<String>,
}

fn bearer(request: RequestBuilder, token: Option<&str>) -> RequestBuilder {
    match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}

/// A child process that is ended (SIGTERM, then SIGKILL) when dropped.
#[derive(Debug)]
struct Process {
    child: Child,
}

impl Process {
    fn spawn(mut command: Command) -> Result<Process> {
        let child = command.spawn().context("starting dircache serve")?;
        Ok(Process { child })
    }

    /// SIGTERM through `kill(1)`: the workspace forbids the unsafe code a libc call needs.
    fn signal_term(&self) -> Result<()> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .context("running kill -TERM")?;
        if !status.success() {
            bail!("kill -TERM {} failed: {status}", self.child.id());
        }
        Ok(())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        if self.signal_term().is_ok() {
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // A test must not leave a server behind, whatever state it is in.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
