//! Router-level tests: the API served on 127.0.0.1 in front of genesys-mock.

use std::net::SocketAddr;

use genesys_mock::{Fault, GenesysMock, MockDirectory, RetryAfter};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::config::{Inputs, Layer, Setting, Upstream};

const TOKEN: &str = "adm1n-t0ken";

struct Harness {
    mock: GenesysMock,
    addr: SocketAddr,
    http: reqwest::Client,
    _app: App,
}

impl Harness {
    async fn start(admin_token: Option<&str>) -> Harness {
        let mock = GenesysMock::start().unwrap();
        let (api, login) = (mock.api_url(), mock.login_url());
        let mut env = Layer::of([
            (Setting::ClientId, mock.client_id()),
            (Setting::ClientSecret, mock.client_secret()),
            (Setting::ApiUrl, api.as_str()),
            (Setting::LoginUrl, login.as_str()),
            (Setting::MaxEntries, "50"),
            (Setting::InstanceId, "router-test"),
        ]);
        if let Some(token) = admin_token {
            env.set(Setting::AdminToken, token.to_owned());
        }
        let config = Config::resolve(
            &Inputs {
                env,
                ..Inputs::default()
            },
            Upstream::Required,
        )
        .unwrap();
        let app = App::build(&config).await.unwrap();
        let state = ServeState::new(&app, config.admin_token.clone());
        let (listener, addr) = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        tokio::spawn(axum::serve(listener, router(state)).into_future());
        Harness {
            mock,
            addr,
            http: reqwest::Client::new(),
            _app: app,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    /// `POST url` with the admin token.
    async fn admin_post(&self, url: &str) -> reqwest::Response {
        self.http.post(url).bearer_auth(TOKEN).send().await.unwrap()
    }

    /// Sends `method path` as written, byte for byte: an HTTP client library would normalise
    /// `..` away before sending.
    async fn raw(&self, method: &str, path: &str) -> (u16, Value) {
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let request =
            format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        let status = answer[9..12].parse().unwrap();
        let body = answer.split_once("\r\n\r\n").unwrap().1;
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }
}

async fn json(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_miss_then_a_hit_with_its_etag_then_304() {
    let h = Harness::start(None).await;
    h.mock
        .put_directory("internal_agents", MockDirectory::generated(30, 3));

    let first = h.get("/v1/directories/internal_agents").await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["x-cache"], "MISS");
    assert_eq!(first.headers()["content-type"], "application/json");
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(
        etag.starts_with("W/\"xxh3:") && etag.ends_with('"'),
        "{etag}"
    );
    let body = json(first).await;
    assert_eq!(body["directory_id"], "internal_agents");
    assert_eq!(body["source"], "routing_directory");
    assert_eq!(body["entry_count"], 30);
    assert_eq!(body["entries"].as_array().unwrap().len(), 30);
    assert_eq!(body["invalidation_directive"], "fresh");
    assert_eq!(
        format!("W/\"{}\"", body["fingerprint"].as_str().unwrap()),
        etag
    );

    let second = h.get("/v1/directories/internal_agents").await;
    assert_eq!(second.headers()["x-cache"], "HIT");
    assert_eq!(second.headers()["etag"], etag.as_str());
    assert_eq!(json(second).await, body);

    let conditional = h
        .http
        .get(h.url("/v1/directories/internal_agents"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(conditional.status(), 304);
    assert_eq!(conditional.headers()["etag"], etag.as_str());
    assert!(conditional.bytes().await.unwrap().is_empty());
    assert_eq!(h.mock.stats().requests_for("internal_agents"), 1);

    let stats = json(h.get("/v1/stats").await).await;
    assert_eq!(
        (stats["hits"].as_u64(), stats["misses"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(stats["cache_size"], 1);
    assert_eq!(stats["backend"], "memory");
    assert_eq!(stats["instance_id"], "router-test");
    for key in [
        "stale",
        "errors",
        "hit_ratio",
        "avg_latency_ms",
        "p99_latency_ms",
    ] {
        assert!(stats[key].is_number(), "{key}: {stats}");
    }
}

#[tokio::test]
async fn invalid_ids_are_400_without_any_upstream_request() {
    let h = Harness::start(Some(TOKEN)).await;
    let long = "x".repeat(300);
    for path in [
        "/v1/directories/..".to_owned(),
        "/v1/directories/.".to_owned(),
        "/v1/directories/a%20b".to_owned(),
        "/v1/directories/a%2Fb".to_owned(),
        "/v1/directories/%FF".to_owned(),
        format!("/v1/directories/{long}"),
    ] {
        let (status, body) = h.raw("GET", &path).await;
        assert_eq!(status, 400, "{path}");
        assert_eq!(body["error"]["code"], "invalid_directory_id", "{path}");
    }
    let (status, _) = h.raw("DELETE", "/v1/directories/..").await;
    assert_eq!(status, 400, "the id is checked before the token");
    let stats = h.mock.stats();
    assert_eq!((stats.token_requests, stats.directory_requests), (0, 0));
}

#[tokio::test]
async fn upstream_refusals_map_to_their_statuses() {
    let h = Harness::start(None).await;
    h.mock
        .put_directory("secret", MockDirectory::generated(3, 1));
    h.mock
        .put_directory("huge", MockDirectory::generated(60, 1));
    h.mock.put_directory("busy", MockDirectory::generated(3, 1));
    h.mock
        .put_directory("broken", MockDirectory::generated(3, 1));
    h.mock.fail_directory("secret", Fault::Forbidden, 1);
    h.mock
        .fail_directory("busy", Fault::rate_limited(RetryAfter::Seconds(120)), 1);
    h.mock.fail_directory("broken", Fault::Status(500), 1);

    // Each failure: its status, its code, and a correlation id where upstream gave one. The
    // 429 comes last: it pauses every later upstream request for its Retry-After.
    for (id, status, code, correlated) in [
        ("secret", 403, "forbidden", true),
        ("nowhere", 404, "not_found", false),
        ("huge", 422, "too_many_entries", false),
        ("broken", 502, "upstream_error", true),
        ("busy", 429, "rate_limited", false),
    ] {
        let answer = h.get(&format!("/v1/directories/{id}")).await;
        assert_eq!(answer.status(), status, "{id}");
        if id == "busy" {
            assert_eq!(answer.headers()["retry-after"], "120");
        }
        let body = json(answer).await;
        assert_eq!(body["error"]["code"], code, "{id}");
        if correlated {
            assert!(body["error"]["correlation_id"].is_string(), "{body}");
        }
    }

    let stats = json(h.get("/v1/stats").await).await;
    assert_eq!(stats["errors"], 5);
    assert_eq!(stats["cache_size"], 0, "nothing refused was cached");
}

#[tokio::test]
async fn mutating_requests_need_the_admin_token() {
    let h = Harness::start(Some(TOKEN)).await;
    h.mock
        .put_directory("vendors", MockDirectory::generated(5, 2).validators(true));
    let url = h.url("/v1/directories/vendors");

    let anonymous = h.http.delete(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    assert_eq!(json(anonymous).await["error"]["code"], "unauthorized");
    let verify_url = format!("{url}/verify");
    for wrong in [h.http.delete(&url), h.http.post(&verify_url)] {
        let refused = wrong.bearer_auth("guess").send().await.unwrap();
        assert_eq!(refused.status(), 401);
    }
    assert_eq!(h.mock.stats().directory_requests, 0);

    let filled = h.admin_post(&verify_url).await;
    assert_eq!(filled.status(), 200);
    let report = json(filled).await;
    assert_eq!(report["result"], "filled");
    assert_eq!(report["directory_id"], "vendors");
    assert_eq!(report["entry_count"], 5);
    assert!(report["previous_fingerprint"].is_null());

    h.mock.update_directory("vendors", |entries| {
        entries[0]["name"] = "Renamed upstream".into();
    });
    let changed = json(h.admin_post(&verify_url).await).await;
    assert_eq!(
        (changed["changed"].as_bool(), changed["result"].as_str()),
        (Some(true), Some("changed"))
    );
    assert_eq!(changed["method"], "conditional");
    assert_eq!(changed["previous_fingerprint"], report["fingerprint"]);
    let unchanged = json(h.admin_post(&verify_url).await).await;
    assert_eq!(unchanged["result"], "unchanged");

    for _ in 0..2 {
        let deleted = h.http.delete(&url).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(deleted.status(), 204, "whether or not it was cached");
    }
    assert_eq!(
        h.get("/v1/directories/vendors").await.headers()["x-cache"],
        "MISS"
    );
}

#[tokio::test]
async fn without_an_admin_token_mutating_requests_are_refused() {
    let h = Harness::start(None).await;
    let url = h.url("/v1/directories/vendors");
    let refused = h.http.delete(&url).bearer_auth("").send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let refused = h
        .http
        .post(format!("{url}/verify"))
        .bearer_auth("anything")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn health_metrics_and_unknown_routes() {
    let h = Harness::start(None).await;
    h.mock.put_directory("d", MockDirectory::generated(2, 1));
    assert_eq!(json(h.get("/healthz").await).await["status"], "ok");
    assert_eq!(json(h.get("/readyz").await).await["status"], "ready");

    let unknown = h.get("/v2/anything").await;
    assert_eq!(unknown.status(), 404);
    assert_eq!(json(unknown).await["error"]["code"], "no_route");
    let wrong_method = h.http.put(h.url("/v1/stats")).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);

    assert_eq!(h.get("/v1/directories/d").await.status(), 200);
    let metrics = h.get("/metrics").await;
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = metrics.text().await.unwrap();
    for line in [
        "# HELP dircache_requests_total ",
        "# TYPE dircache_requests_total counter",
        "# TYPE dircache_request_duration_seconds histogram",
        "# HELP dircache_upstream_requests_total ",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    let every_metric_has_help = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .all(|l| {
            let name = l.split(' ').next().unwrap();
            text.contains(&format!("# HELP {name} ")) && name.starts_with("dircache_")
        });
    assert!(every_metric_has_help, "{text}");
}

/// Routing directory entries with the keys lookups need, as upstream writes them.
fn people() -> MockDirectory {
    MockDirectory::new(vec![
        serde_json::json!({"id": "e1", "name": "José Ñúñez", "email": "Jose.Nunez@Example.com",
            "phone": "+1 (317) 555-0100", "selfUri": "/api/v2/routing/directories/entries/e1"}),
        serde_json::json!({"id": "e2", "name": "Joselyn Park", "email": null, "phone": "+44 20 7946 0018"}),
        serde_json::json!({"id": "e3", "name": "Mary Jose", "email": "mary@example.com"}),
    ])
}

#[tokio::test]
async fn lookups_answer_from_the_cached_copy_with_its_etag() {
    let h = Harness::start(None).await;
    h.mock.put_directory("people", people());

    let first = h
        .get("/v1/directories/people/entries?phone=317.555.0100")
        .await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["x-cache"], "MISS");
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let body = json(first).await;
    assert_eq!(body["directory_id"], "people");
    assert_eq!(
        format!("W/\"{}\"", body["fingerprint"].as_str().unwrap()),
        etag
    );
    assert_eq!(body["query"], serde_json::json!({"phone": "317.555.0100"}));
    assert_eq!(body["matches"][0]["id"], "e1");
    assert_eq!(
        body["matches"][0]["selfUri"],
        "/api/v2/routing/directories/entries/e1"
    );
    assert_eq!(
        (body["match_count"].as_u64(), body["truncated"].as_bool()),
        (Some(1), Some(false))
    );

    let by_email = h
        .get("/v1/directories/people/entries?email=JOSE.NUNEZ%40example.com")
        .await;
    assert_eq!(by_email.headers()["x-cache"], "HIT");
    assert_eq!(json(by_email).await["matches"][0]["id"], "e1");
    let by_name = json(
        h.get("/v1/directories/people/entries?name=jose&limit=2")
            .await,
    )
    .await;
    let names: Vec<&str> = by_name["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["e1", "e2"]);
    assert_eq!(
        (
            by_name["match_count"].as_u64(),
            by_name["truncated"].as_bool()
        ),
        (Some(3), Some(true))
    );
    let by_q = json(
        h.get("/v1/directories/people/entries?q=%2B44%2020%207946%200018")
            .await,
    )
    .await;
    assert_eq!(by_q["matches"][0]["id"], "e2");
    let none = json(
        h.get("/v1/directories/people/entries?phone=%2B15550000000")
            .await,
    )
    .await;
    assert_eq!(
        (
            none["match_count"].as_u64(),
            none["matches"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );

    let entry = h.get("/v1/directories/people/entries/e3").await;
    assert_eq!(entry.status(), 200);
    assert_eq!(entry.headers()["etag"], etag.as_str());
    assert_eq!(entry.headers()["x-cache"], "HIT");
    assert_eq!(json(entry).await, people().entries()[2]);
    let missing = h.get("/v1/directories/people/entries/nobody").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(json(missing).await["error"]["code"], "entry_not_found");
    for path in [
        "/v1/directories/people/entries/e1",
        "/v1/directories/people/entries?name=mary",
    ] {
        let conditional = h
            .http
            .get(h.url(path))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(conditional.status(), 304, "{path}");
    }
    assert_eq!(h.mock.stats().requests_for("people"), 1);

    let stats = json(h.get("/v1/stats").await).await;
    assert_eq!(
        (stats["hits"].as_u64(), stats["misses"].as_u64()),
        (Some(8), Some(1))
    );
    // The recorder is the process's one: tests running beside this one count in it too, so
    // /metrics holds at least these 8 lookup hits (the instance's own count is /v1/stats').
    let text = h.get("/metrics").await.text().await.unwrap();
    let lookup_hits = text
        .lines()
        .find(|l| {
            l.starts_with("dircache_requests_total{")
                && l.contains("outcome=\"hit\"")
                && l.contains("route=\"lookup\"")
        })
        .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok());
    assert!(lookup_hits.is_some_and(|hits| hits >= 8), "{text}");
}

#[tokio::test]
async fn bad_lookups_are_400_before_any_request() {
    let h = Harness::start(None).await;
    h.mock.put_directory("people", people());
    for query in [
        "",
        "?limit=5",
        "?phone=1&name=a",
        "?name=",
        "?phone=%20",
        "?city=x",
        "?q=a&limit=0",
        "?q=a&limit=x",
    ] {
        let answer = h
            .get(&format!("/v1/directories/people/entries{query}"))
            .await;
        assert_eq!(answer.status(), 400, "{query}");
        assert_eq!(
            json(answer).await["error"]["code"],
            "invalid_query",
            "{query}"
        );
    }
    let (status, body) = h.raw("GET", "/v1/directories/../entries?q=a").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_directory_id"))
    );
    let stats = h.mock.stats();
    assert_eq!((stats.token_requests, stats.directory_requests), (0, 0));
}

#[tokio::test]
async fn concurrent_lookups_of_an_uncached_directory_share_one_fetch() {
    let h = Harness::start(None).await;
    h.mock.put_directory("people", people());
    let lookups = (0..20).map(|i| {
        h.get(if i % 2 == 0 {
            "/v1/directories/people/entries?name=mary"
        } else {
            "/v1/directories/people/entries/e2"
        })
    });
    for answer in futures::future::join_all(lookups).await {
        assert_eq!(answer.status(), 200);
    }
    assert_eq!(h.mock.stats().requests_for("people"), 1);
}

#[tokio::test]
async fn a_lookup_after_an_upstream_change_and_verify_sees_the_new_copy() {
    let h = Harness::start(Some(TOKEN)).await;
    h.mock.put_directory("people", people());
    let before = json(
        h.get("/v1/directories/people/entries?phone=%2B13175550100")
            .await,
    )
    .await;
    assert_eq!(before["matches"][0]["name"], "José Ñúñez");

    h.mock.update_directory("people", |entries| {
        entries[0]["phone"] = "+1 317 555 0111".into();
        entries[0]["name"] = "José Núñez-Ruiz".into();
    });
    let report = json(h.admin_post(&h.url("/v1/directories/people/verify")).await).await;
    assert_eq!(report["result"], "changed");

    let old = json(
        h.get("/v1/directories/people/entries?phone=%2B13175550100")
            .await,
    )
    .await;
    assert_eq!(old["match_count"], 0);
    let new = json(
        h.get("/v1/directories/people/entries?phone=3175550111")
            .await,
    )
    .await;
    assert_eq!(new["matches"][0]["name"], "José Núñez-Ruiz");
    assert_eq!(new["fingerprint"], report["fingerprint"]);
    let by_word = json(h.get("/v1/directories/people/entries?name=ruiz").await).await;
    assert_eq!(by_word["matches"][0]["id"], "e1");
}
