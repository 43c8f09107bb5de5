//! `dircache demo`: a guided tour of the sidecar against a fake Genesys org (genesys-mock),
//! all in process: a miss, a hit, a 304, an upstream change found by verify, an invalidation,
//! and the metrics. No credentials, no network.

use std::hash::{BuildHasher, RandomState};
use std::time::Instant;

use genesys_mock::{GenesysMock, MockDirectory, MockSource};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::oneshot;

use crate::app::App;
use crate::config::{Config, FileConfig, Inputs, Layer, Setting, Upstream};
use crate::failure::Failure;
use crate::serve::{ServeState, bind, router};

/// The directory the tour reads: the seed's routing directory.
const DIRECTORY: &str = "external_vendors";
/// A directory of a real-shaped source, declared beside it: one queue's members.
const QUEUE_DIRECTORY: &str = "support_queue";
/// The queue whose members it holds.
const QUEUE_ID: &str = "5f0b8b3c-9d1e-4c2a-8f6b-0a1b2c3d4e5f";

/// Runs the tour and prints it.
pub(crate) async fn run() -> Result<(), Failure> {
    let mock = GenesysMock::start()
        .map_err(|e| Failure::Failed(format!("cannot start genesys-mock: {e}")))?;
    mock.put_directory(
        DIRECTORY,
        MockDirectory::generated(480, 42).validators(true),
    );
    let members = MockSource::QueueMembers(QUEUE_ID.into());
    mock.put_listing(&members, members.generated(230, 42));
    let declared = format!(
        "[directories.{QUEUE_DIRECTORY}]\nsource = \"queue_members\"\nqueue_id = \"{QUEUE_ID}\"\n"
    );
    let file = FileConfig::parse(&declared, std::path::Path::new("demo.toml"), "demo")?;
    // A fresh token per run: the demo server listens on loopback only, but is a real server.
    let token = format!(
        "demo-{:016x}{:016x}",
        RandomState::new().hash_one(1),
        RandomState::new().hash_one(2)
    );
    let (api, login) = (mock.api_url(), mock.login_url());
    let env = Layer::of([
        (Setting::ClientId, mock.client_id()),
        (Setting::ClientSecret, mock.client_secret()),
        (Setting::ApiUrl, api.as_str()),
        (Setting::LoginUrl, login.as_str()),
        (Setting::Listen, "127.0.0.1:0"),
        (Setting::AdminToken, token.as_str()),
        (Setting::InstanceId, "demo"),
    ]);
    let config = Config::resolve(
        &Inputs {
            env,
            file,
            ..Inputs::default()
        },
        Upstream::NotNeeded,
    )?;

    let app = App::build(&config).await?;
    let (listener, addr) = bind(config.listen.value).await?;
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(
        axum::serve(
            listener,
            router(ServeState::new(&app, config.admin_token.clone())),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .into_future(),
    );
    println!(
        "dircache demo: a fake Genesys Cloud org (genesys-mock) on {}, and `dircache serve` on \
         http://{addr} in front of it.\n",
        mock.base_url()
    );
    let tour = Tour {
        http: reqwest::Client::new(),
        base: format!("http://{addr}"),
        token,
        mock: &mock,
    };
    let walked = tour.walk().await;
    let _ = stop.send(());
    let _ = server.await;
    app.shutdown().await?;
    walked
}

/// The client side of the tour.
struct Tour<'a> {
    http: reqwest::Client,
    base: String,
    token: String,
    mock: &'a GenesysMock,
}

impl Tour<'_> {
    async fn walk(&self) -> Result<(), Failure> {
        let path = format!("/v1/directories/{DIRECTORY}");
        let url = format!("{}{path}", self.base);

        let (miss, took) = self.timed(self.http.get(&url)).await?;
        let etag = header(&miss, "etag");
        let body: Value = miss.json().await.map_err(failed)?;
        println!(
            "1. GET {path}\n   → 200, X-Cache: MISS: {} entries fetched in {} upstream requests \
             (pages of 250), {took:.1} ms",
            body["entry_count"],
            self.upstream_requests(),
        );

        let (hit, took) = self.timed(self.http.get(&url)).await?;
        println!(
            "2. the same again\n   → {}, X-Cache: {}: no upstream request (still {}), {took:.2} ms",
            hit.status().as_u16(),
            header(&hit, "x-cache"),
            self.upstream_requests(),
        );

        let (not_modified, _) = self
            .timed(self.http.get(&url).header("if-none-match", &etag))
            .await?;
        println!(
            "3. again with If-None-Match: {}\n   → {}: the caller's copy is current, no body sent",
            short(&etag),
            not_modified.status(),
        );

        self.mock.update_directory(DIRECTORY, |entries| {
            entries[0]["name"] = "Zoë Ångström (renamed upstream)".into();
        });
        let (verified, _) = self
            .timed(
                self.http
                    .post(format!("{url}/verify"))
                    .bearer_auth(&self.token),
            )
            .await?;
        let report: Value = verified.json().await.map_err(failed)?;
        println!(
            "4. someone renames an entry in Genesys; POST {path}/verify (admin token)\n   → {} \
             (by {} request): {} → {}",
            report["result"].as_str().unwrap_or_default(),
            report["method"].as_str().unwrap_or_default(),
            short(report["previous_fingerprint"].as_str().unwrap_or("none")),
            short(report["fingerprint"].as_str().unwrap_or_default()),
        );

        let (deleted, _) = self
            .timed(self.http.delete(&url).bearer_auth(&self.token))
            .await?;
        let (again, _) = self.timed(self.http.get(&url)).await?;
        println!(
            "5. DELETE {path} (admin token)\n   → {}; the next GET → X-Cache: {} (fetched again)",
            deleted.status().as_u16(),
            header(&again, "x-cache"),
        );

        let (metrics, _) = self
            .timed(self.http.get(format!("{}/metrics", self.base)))
            .await?;
        let metrics = metrics.text().await.map_err(failed)?;
        let mut figures: Vec<&str> = metrics
            .lines()
            .filter(|line| {
                [
                    "dircache_requests_total",
                    "dircache_upstream_requests_total",
                    "dircache_verifications_total",
                    "dircache_invalidations_total",
                ]
                .iter()
                .any(|name| line.starts_with(name))
                    // The series of what did not happen (lookups, stale answers) say nothing.
                    && !line.ends_with(" 0")
            })
            .collect();
        figures.sort_unstable();
        println!("6. GET /metrics (a few of its lines)");
        for figure in figures {
            println!("     {figure}");
        }

        let (stats, _) = self
            .timed(self.http.get(format!("{}/v1/stats", self.base)))
            .await?;
        let stats: Value = stats.json().await.map_err(failed)?;
        println!(
            "7. GET /v1/stats\n   → {} hits, {} misses, hit ratio {:.2}, p99 {:.2} ms, {} directory cached",
            stats["hits"],
            stats["misses"],
            stats["hit_ratio"].as_f64().unwrap_or_default(),
            stats["p99_latency_ms"].as_f64().unwrap_or_default(),
            stats["cache_size"],
        );
        let queue_path = format!("/v1/directories/{QUEUE_DIRECTORY}");
        let (queue, took) = self
            .timed(self.http.get(format!("{}{queue_path}", self.base)))
            .await?;
        let queue: Value = queue.json().await.map_err(failed)?;
        let (listed, _) = self
            .timed(self.http.get(format!("{}/v1/directories", self.base)))
            .await?;
        let listed: Value = listed.json().await.map_err(failed)?;
        let sources: Vec<String> = listed["directories"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|row| {
                let text = |key: &str| row[key].as_str().unwrap_or_default().to_owned();
                format!("{} ({})", text("directory_id"), text("source"))
            })
            .collect();
        println!(
            "8. a real-shaped source beside the seed's: [directories.{QUEUE_DIRECTORY}] source = \
             \"queue_members\"\n   GET {queue_path} → X-Cache: MISS: {} members of queue {QUEUE_ID} \
             in {} upstream requests (pages of 100, no totals: the last page is the one without \
             nextUri), {took:.1} ms\n   GET /v1/directories → {}",
            queue["entry_count"],
            self.mock
                .stats()
                .requests_for_listing(&MockSource::QueueMembers(QUEUE_ID.into())),
            sources.join(", "),
        );
        println!(
            "\nWith a real org: set GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_REGION, \
             then `dircache get {DIRECTORY}` or `dircache serve`."
        );
        Ok(())
    }

    /// Sends `request`; a status other than the one each step expects is a failed demo.
    async fn timed(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(reqwest::Response, f64), Failure> {
        let started = Instant::now();
        let response = request.send().await.map_err(failed)?;
        let took = started.elapsed().as_secs_f64() * 1e3;
        match response.status() {
            StatusCode::OK | StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED => {
                Ok((response, took))
            }
            status => Err(Failure::Failed(format!(
                "the demo server answered {status}: {}",
                response.text().await.unwrap_or_default()
            ))),
        }
    }

    fn upstream_requests(&self) -> u64 {
        self.mock.stats().requests_for(DIRECTORY)
    }
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The start of a fingerprint or ETag, enough to tell two apart.
fn short(tag: &str) -> String {
    match tag.char_indices().nth(20) {
        Some((cut, _)) => format!("{}…", &tag[..cut]),
        None => tag.to_owned(),
    }
}

fn failed(error: reqwest::Error) -> Failure {
    Failure::failed(&error)
}
