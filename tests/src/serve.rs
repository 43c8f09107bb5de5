//! A running `dircache serve` spoken to over HTTP: request helpers, and SIGTERM from a test's
//! runtime.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Result;
use reqwest::{Client, Method, RequestBuilder};
use testkit::{Dircache, Stopped};

use crate::answer::Answer;
use crate::raw::raw_get;

/// A [`testkit::Served`] with an HTTP client; dropping it stops the process.
#[derive(Debug)]
pub struct Served {
    process: testkit::Served,
    client: Client,
}

/// Starting `dircache serve` from an async test.
pub trait Start {
    /// Starts `dircache serve --listen 127.0.0.1:0` ([`Dircache::serve`]) without blocking the
    /// test's runtime, and gives it an HTTP client.
    fn start(self) -> impl Future<Output = Result<Served>> + Send;
}

impl Start for Dircache {
    async fn start(self) -> Result<Served> {
        let process = tokio::task::spawn_blocking(move || self.serve()).await??;
        let client = Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Served { process, client })
    }
}

impl Served {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.process.addr()
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        self.process.url(path)
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

    /// `GET /v1/directories/{id}`, which must answer 200.
    pub async fn read_directory(&self, id: &str) -> Result<Answer> {
        let answer = self.get_directory(id).await?;
        anyhow::ensure!(
            answer.status == 200,
            "GET of {id}: {} {}",
            answer.status,
            answer.text()
        );
        Ok(answer)
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
        raw_get(self.addr(), target).await
    }

    /// Everything it printed on stderr (its logs) so far.
    pub fn stderr(&self) -> String {
        self.process.stderr()
    }

    /// Sends SIGTERM and waits (at most 15 s) for it to exit, without blocking the test's
    /// runtime (a request of the test may still be in flight); what it left behind is returned.
    pub async fn stop(self) -> Result<Stopped> {
        let process = self.process;
        Ok(tokio::task::spawn_blocking(move || process.stop()).await??)
    }
}

fn bearer(request: RequestBuilder, token: Option<&str>) -> RequestBuilder {
    match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}
