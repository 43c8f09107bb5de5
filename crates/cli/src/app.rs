//! Wiring: from a validated `Config` to a running `DirectoryCache` with its Genesys client,
//! backend, audit log, webhooks and Prometheus recorder. `serve`, the one-shot commands and
//! `demo` all start here.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use audit::{AuditWriter, Auditor, JsonLinesSink};
use cache_core::{
    BackendField, CacheBackend, Clock, ConfigField, DirectoryCache, MemoryBackend, OrgDirectories,
    WebhookField, WebhookListener,
};
use cache_redis::{RedisBackend, TieredBackend};

use crate::directories::DirectoriesReport;
use genesys_client::{GenesysClient, UpstreamBudget};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use secrecy::{ExposeSecret, SecretString};

use crate::config::{
    BackendSettings, Config, ConfigError, EdgeSettings, GenesysSettings, Named, Setting,
};
use crate::failure::{Failure, one_line};

/// Histogram buckets of every `_seconds` metric: from a 100 µs hit to a 30 s upstream retry
/// budget.
const SECONDS_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 30.0,
];

/// Everything a command works with.
#[derive(Debug)]
pub(crate) struct App {
    /// The cache pipeline.
    pub(crate) cache: DirectoryCache,
    /// Renders `/metrics`.
    pub(crate) metrics: PrometheusHandle,
    /// This instance's name (audit log, `/v1/stats`).
    pub(crate) instance_id: String,
    /// `memory` or `redis`.
    pub(crate) backend_name: &'static str,
    /// The declared directories (`dircache directories`, `/v1/directories`).
    pub(crate) directories: Arc<DirectoriesReport>,
    audit_writer: Option<AuditWriter>,
}

impl App {
    /// Builds everything `config` describes. Must run inside the tokio runtime (the audit
    /// writer, the webhooks and the Redis subscriber run tasks on it). Nothing here talks to
    /// Genesys yet; a Redis backend connects once, and an unreachable Redis is not an error.
    pub(crate) async fn build(config: &Config) -> Result<App, Failure> {
        let metrics = metrics_recorder()?;
        let (auditor, audit_writer) = match &config.audit.path {
            Some(path) => {
                let (sink, writer) = JsonLinesSink::open(&path.value).map_err(|e| {
                    ConfigError::new(
                        path.name.clone(),
                        format!("cannot open {}: {}", path.value.display(), one_line(&e)),
                    )
                })?;
                let auditor = Auditor::new(Arc::new(sink), config.instance_id.clone())
                    .with_hits(config.audit.hits);
                (auditor, Some(writer))
            }
            None => (Auditor::disabled(), None),
        };
        // One clock decides freshness and retention in the pipeline and every tier.
        let clock = Clock::new();
        let (backend, redis) = backend(config, &auditor, clock).await?;
        let budget = crate::budget::shared_budget(config, redis.as_ref());
        let client = genesys_client(
            &config.genesys,
            config.economy.unknown_share,
            budget,
            &config.edge,
        )?;
        let mut directories = OrgDirectories::new(client).undeclared(config.directories.undeclared);
        for directory in &config.directories.declared {
            directories = directories.declare(directory.id.clone(), directory.declared.clone());
        }
        let mut builder = DirectoryCache::builder()
            .source(directories)
            .shared_backend(backend)
            .clock(clock)
            .ttl(config.ttl.clone())
            .limits(config.limits)
            .eager_encodings(&config.edge.eager_encodings)
            .stale_if_error(config.stale_if_error)
            .negative_ttl(config.economy.negative_ttl)
            .declared(config.directories.declared_ids())
            .auditor(auditor.clone());
        for webhook in &config.webhooks {
            let listener = WebhookListener::builder(webhook.url.clone())
                .secret(webhook.secret.clone())
                .auditor(auditor.clone())
                .build()
                .map_err(|e| match e {
                    cache_core::Error::Config {
                        setting: ConfigField::Webhook(field),
                        reason,
                    } => ConfigError::new(webhook_key(&webhook.name, field), reason),
                    other => ConfigError::new(webhook.name.clone(), one_line(&other)),
                })?;
            builder = builder.listener(Arc::new(listener));
        }
        let cache = builder.build()?;
        Ok(App {
            cache,
            metrics,
            instance_id: config.instance_id.clone(),
            backend_name: config.backend.value.name(),
            directories: Arc::new(DirectoriesReport::of(config)),
            audit_writer,
        })
    }

    /// Flushes and closes the audit log: everything recorded so far is on disk afterwards.
    pub(crate) async fn shutdown(self) -> Result<(), Failure> {
        drop(self.cache);
        if let Some(writer) = self.audit_writer {
            writer.shutdown().await.map_err(|e| {
                Failure::Failed(format!("cannot flush the audit log: {}", one_line(&e)))
            })?;
        }
        Ok(())
    }
}

/// The cache backend, and its Redis tier when it has one (for the shared upstream budget).
/// Every backend is one arm here.
async fn backend(
    config: &Config,
    auditor: &Auditor,
    clock: Clock,
) -> Result<(Arc<dyn CacheBackend>, Option<RedisBackend>), Failure> {
    // Expired copies are kept as long as stale-if-error may serve them, in every tier.
    let memory = || {
        MemoryBackend::builder()
            .retention(config.stale_if_error)
            .clock(clock)
            .auditor(auditor.clone())
            .build()
    };
    match &config.backend.value {
        BackendSettings::Memory => Ok((Arc::new(memory()), None)),
        BackendSettings::Redis { urls, prefix, l1 } => {
            let redis = redis_backend(urls, prefix, config.stale_if_error, clock, auditor).await?;
            let backend: Arc<dyn CacheBackend> = if *l1 {
                Arc::new(TieredBackend::new(memory(), redis.clone()))
            } else {
                Arc::new(redis.clone())
            };
            Ok((backend, Some(redis)))
        }
    }
}

/// The shared tier: one server for one URL, a Redis Cluster for several. Credentials Redis
/// refuses are a configuration error under the name the user gave the URL; an unreachable
/// Redis is not an error (the backend connects when it can, and `/readyz` says so meanwhile).
async fn redis_backend(
    urls: &Named<Vec<SecretString>>,
    prefix: &str,
    retention: Duration,
    clock: Clock,
    auditor: &Auditor,
) -> Result<RedisBackend, Failure> {
    let builder = match urls.value.as_slice() {
        [url] => RedisBackend::builder(url.expose_secret()),
        nodes => RedisBackend::cluster_builder(nodes.iter().map(|u| u.expose_secret().to_owned())),
    };
    builder
        .prefix(prefix)
        .retention(retention)
        .clock(clock)
        .auditor(auditor.clone())
        .build()
        .await
        .map_err(|e| match e {
            // cache-redis never puts a password in its reasons.
            cache_core::Error::Config {
                setting: setting @ ConfigField::Backend { field, .. },
                reason,
            } => {
                let name = match field {
                    BackendField::Url => urls.name.to_string(),
                    BackendField::Prefix => Setting::RedisPrefix.env().to_owned(),
                    // dircache leaves these at cache-redis' defaults: a refusal is a bug,
                    // named as the library names it.
                    BackendField::CommandTimeout
                    | BackendField::PoolSize
                    | BackendField::Retention
                    | BackendField::TlsRootCertificates => setting.to_string(),
                };
                Failure::Config(ConfigError::new(name, reason))
            }
            other => Failure::failed(&other),
        })
}

/// The Genesys client; its refusals are reported under the name the user gave the setting.
fn genesys_client(
    settings: &GenesysSettings,
    unknown_share: f64,
    budget: Option<Arc<dyn UpstreamBudget>>,
    edge: &EdgeSettings,
) -> Result<GenesysClient, ConfigError> {
    let mut builder = GenesysClient::builder()
        .max_directory_bytes(edge.max_directory_bytes)
        .region(settings.region)
        .page_size(settings.page_size.value)
        .requests_per_minute(settings.requests_per_minute.value)
        .unknown_share(unknown_share);
    if let Some(budget) = budget {
        builder = builder.budget(budget);
    }
    if let Some(id) = &settings.client_id {
        builder = builder.client_id(id.value.clone());
    }
    if let Some(secret) = &settings.client_secret {
        builder = builder.client_secret(secret.value.clone());
    }
    if let Some(url) = &settings.api_url {
        builder = builder.api_url(&url.value);
    }
    if let Some(url) = &settings.login_url {
        builder = builder.login_url(&url.value);
    }
    builder.build().map_err(|e| match e {
        genesys_client::Error::Config {
            setting, reason, ..
        } => ConfigError::new(genesys_name(settings, setting), reason),
        other => ConfigError::new("genesys", one_line(&other)),
    })
}

/// The name the user gave the setting the Genesys client calls `field`.
fn genesys_name(settings: &GenesysSettings, field: genesys_client::ConfigField) -> String {
    use genesys_client::ConfigField as Field;
    let named = |given: Option<&Cow<'static, str>>, setting: Setting| {
        given.map_or_else(|| setting.env().to_owned(), ToString::to_string)
    };
    match field {
        Field::ClientId => named(
            settings.client_id.as_ref().map(|n| &n.name),
            Setting::ClientId,
        ),
        Field::ClientSecret => named(
            settings.client_secret.as_ref().map(|n| &n.name),
            Setting::ClientSecret,
        ),
        // Parsed (and refused) by the configuration already.
        Field::Region => Setting::Region.env().to_owned(),
        Field::ApiUrl => named(settings.api_url.as_ref().map(|n| &n.name), Setting::ApiUrl),
        Field::LoginUrl => named(
            settings.login_url.as_ref().map(|n| &n.name),
            Setting::LoginUrl,
        ),
        Field::PageSize => settings.page_size.name.to_string(),
        Field::RequestsPerMinute => settings.requests_per_minute.name.to_string(),
        // Checked (and refused) by the configuration already.
        Field::UnknownShare => Setting::UnknownShare.env().to_owned(),
        // dircache leaves these at the client's defaults: a refusal is a bug, named as the
        // library names it.
        Field::RateLimitBurst
        | Field::RequestTimeout
        | Field::MaxPages
        | Field::SnapshotAttempts => field.to_string(),
    }
}

/// The name of a webhook's setting the listener calls `field`: `webhooks[i].url`.
fn webhook_key(webhook: &str, field: WebhookField) -> String {
    let key = match field {
        WebhookField::Url => "url",
        WebhookField::Secret => "secret",
        // dircache leaves these at the listener's defaults: a refusal is a bug, named as the
        // library names it.
        WebhookField::QueueCapacity | WebhookField::MaxAttempts | WebhookField::Timeout => {
            field.name().unwrap_or_default()
        }
        // The HTTP client or the runtime: about the webhook as a whole.
        WebhookField::Listener => return webhook.to_owned(),
    };
    format!("{webhook}.{key}")
}

/// Installs the Prometheus recorder (once per process) and describes every metric, so the
/// handles the cache registers are live and each metric has its HELP text.
pub(crate) fn metrics_recorder() -> Result<PrometheusHandle, Failure> {
    static RECORDER: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    let handle = RECORDER
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS_BUCKETS)
                .and_then(PrometheusBuilder::install_recorder)
                .map_err(|e| format!("cannot install the Prometheus recorder: {e}"))
        })
        .clone()
        .map_err(Failure::Failed)?;
    cache_core::describe_metrics();
    genesys_client::metrics::describe();
    audit::describe_metrics();
    Ok(handle)
}

/// Drains histogram samples into the exporter's buckets now and then, as
/// metrics-exporter-prometheus asks of a recorder installed without its own HTTP listener.
pub(crate) fn spawn_metrics_upkeep(handle: PrometheusHandle) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            handle.run_upkeep();
        }
    })
}
