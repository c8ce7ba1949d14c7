//! Configuration: defaults, then `latchkey.toml`, then `LATCHKEY_*`
//! environment variables (the environment wins). SPEC §9.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Public base URL: the default tenant's issuer. Default `http://{listen}`.
    pub public_url: Option<String>,
    /// Where the SQLite database, the master key file and the initial
    /// credentials live.
    pub data_dir: PathBuf,
    /// `sqlite://…` (default: `{data_dir}/latchkey.db`) or `postgres://…`.
    pub database_url: Option<String>,
    /// 32 bytes, base64 or hex. Default: `{data_dir}/master.key`, generated
    /// on first start.
    pub master_key: Option<String>,
    /// `text` or `json`.
    pub log_format: String,
    /// A tracing filter, e.g. `info` or `latchkey=debug`.
    pub log_level: String,
    /// The bootstrap admin user's password (first start only).
    pub bootstrap_admin_password: Option<String>,
    /// The `latchkey-admin` client's secret (first start only).
    pub bootstrap_admin_secret: Option<String>,
    /// argon2id memory cost in KiB (default 19456, the OWASP minimum).
    pub password_hash_memory_kib: u32,
    /// argon2id iterations (default 2).
    pub password_hash_iterations: u32,
    /// Non-public addresses (IPs or CIDR networks) that provider discovery
    /// and token requests may reach, e.g. `["10.0.0.0/8"]`. Default: none,
    /// only public addresses (SSRF guard).
    pub remote_allow_private: Vec<String>,
    /// Reverse proxies (IPs or CIDR networks) whose `X-Forwarded-For` names
    /// the client's address. Default: none, the socket's peer is the client.
    pub trusted_proxies: Vec<String>,
    /// Seconds a connection has to send a request's headers (default 10);
    /// slower connections are closed (slowloris).
    pub http_header_timeout_seconds: u64,
    /// Seconds in-flight requests get to finish after SIGTERM (default 10).
    pub shutdown_grace_seconds: u64,
    /// Seconds a node keeps serving after SIGTERM while `/readyz` says it
    /// is draining, before it stops accepting (default 0; behind a load
    /// balancer, a little more than its health-check interval).
    pub shutdown_delay_seconds: u64,
    /// Seconds between writes of client usage counters and last-used times
    /// (default 5); they are written once more at shutdown.
    pub usage_flush_seconds: u64,
    /// PEM certificate chain to serve HTTPS with (with `tls_key_file`);
    /// reloaded on `SIGHUP` and when the file changes.
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of `tls_cert_file`.
    pub tls_key_file: Option<PathBuf>,
    /// Requests this node serves at once (default 1024); more are refused
    /// at once with 503 and `Retry-After` instead of queueing.
    pub max_in_flight_requests: usize,
    /// Password hashes (argon2id, `password_hash_memory_kib` each) this node
    /// runs at once; 0 (default): one per core.
    pub password_hash_concurrency: usize,
    /// Milliseconds a password check waits for a hashing slot before the
    /// caller is told the server is busy (default 2000).
    pub password_hash_queue_ms: u64,
    /// Requests per second each authenticated client may make to the token,
    /// introspection, revocation and device endpoints and the admin API
    /// (together); 0 (default): no limit.
    pub rate_limit_per_client: f64,
    /// Requests a client may make at once above its rate; 0: one second's worth.
    pub rate_limit_per_client_burst: u32,
    /// Requests per second from one source address (IPv6: one /64) to the
    /// same endpoints; 0 (default): no limit.
    pub rate_limit_per_source: f64,
    /// Requests a source may make at once above its rate; 0: one second's worth.
    pub rate_limit_per_source_burst: u32,
    /// OpenTelemetry collector to send traces to over OTLP/HTTP (protobuf),
    /// e.g. `http://otel-collector:4318` (spans go to `{url}/v1/traces`).
    /// Default: none, no traces are recorded or sent.
    pub otlp_endpoint: Option<String>,
    /// `service.name` of the traces (default `latchkey`).
    pub otlp_service_name: String,
    /// Share of traces recorded, 0.0 to 1.0 (default 1.0), for requests
    /// that do not arrive with a sampling decision in `traceparent`.
    pub otlp_sample_ratio: f64,
    /// Milliseconds between two exports of finished spans (default 5000).
    pub otlp_export_interval_ms: u64,
}

/// Every configuration key, as `LATCHKEY_{KEY}` in the environment.
pub const KEYS: [&str; 30] = [
    "listen",
    "public_url",
    "data_dir",
    "database_url",
    "master_key",
    "log_format",
    "log_level",
    "bootstrap_admin_password",
    "bootstrap_admin_secret",
    "password_hash_memory_kib",
    "password_hash_iterations",
    "remote_allow_private",
    "trusted_proxies",
    "http_header_timeout_seconds",
    "shutdown_grace_seconds",
    "shutdown_delay_seconds",
    "usage_flush_seconds",
    "tls_cert_file",
    "tls_key_file",
    "max_in_flight_requests",
    "password_hash_concurrency",
    "password_hash_queue_ms",
    "rate_limit_per_client",
    "rate_limit_per_client_burst",
    "rate_limit_per_source",
    "rate_limit_per_source_burst",
    "otlp_endpoint",
    "otlp_service_name",
    "otlp_sample_ratio",
    "otlp_export_interval_ms",
];

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            data_dir: PathBuf::from("latchkey-data"),
            database_url: None,
            master_key: None,
            log_format: "text".into(),
            log_level: "info".into(),
            bootstrap_admin_password: None,
            bootstrap_admin_secret: None,
            password_hash_memory_kib: 19 * 1024,
            password_hash_iterations: 2,
            remote_allow_private: Vec::new(),
            trusted_proxies: Vec::new(),
            http_header_timeout_seconds: 10,
            shutdown_grace_seconds: 10,
            shutdown_delay_seconds: 0,
            usage_flush_seconds: 5,
            tls_cert_file: None,
            tls_key_file: None,
            max_in_flight_requests: 1024,
            password_hash_concurrency: 0,
            password_hash_queue_ms: 2_000,
            rate_limit_per_client: 0.0,
            rate_limit_per_client_burst: 0,
            rate_limit_per_source: 0.0,
            rate_limit_per_source_burst: 0,
            otlp_endpoint: None,
            otlp_service_name: "latchkey".into(),
            otlp_sample_ratio: 1.0,
            otlp_export_interval_ms: 5_000,
        }
    }
}

impl Config {
    /// Loads the configuration. `file` defaults to `./latchkey.toml` when it exists.
    ///
    /// # Errors
    /// When the file or an environment variable does not parse.
    pub fn load(file: Option<&Path>) -> Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Self::default()));
        match file {
            Some(f) => {
                anyhow::ensure!(f.exists(), "configuration file {} does not exist", f.display());
                fig = fig.merge(Toml::file(f));
            }
            None if Path::new("latchkey.toml").exists() => fig = fig.merge(Toml::file("latchkey.toml")),
            None => {}
        }
        // Only our own keys: other LATCHKEY_* variables (the CLI's, the test
        // suite's) are not configuration.
        fig = fig.merge(Env::prefixed("LATCHKEY_").only(&KEYS));
        let c: Self = fig.extract().context("invalid configuration")?;
        anyhow::ensure!(c.log_format == "text" || c.log_format == "json", "log_format must be text or json");
        for (key, rate) in
            [("rate_limit_per_client", c.rate_limit_per_client), ("rate_limit_per_source", c.rate_limit_per_source)]
        {
            anyhow::ensure!(
                rate.is_finite() && rate >= 0.0,
                "{key} must be a number of requests per second, 0 for none"
            );
        }
        anyhow::ensure!(
            c.tls_cert_file.is_some() == c.tls_key_file.is_some(),
            "tls_cert_file and tls_key_file go together: set both to serve HTTPS, or neither"
        );
        if let Some(endpoint) = &c.otlp_endpoint {
            let url = reqwest::Url::parse(endpoint).ok().filter(|u| matches!(u.scheme(), "http" | "https"));
            anyhow::ensure!(
                url.is_some_and(|u| u.has_host() && u.query().is_none()),
                "otlp_endpoint must be an http(s) URL of an OTLP/HTTP collector, e.g. http://otel-collector:4318"
            );
        }
        anyhow::ensure!(
            (0.0..=1.0).contains(&c.otlp_sample_ratio),
            "otlp_sample_ratio must be a number from 0.0 (no traces) to 1.0 (every trace)"
        );
        anyhow::ensure!(c.otlp_export_interval_ms > 0, "otlp_export_interval_ms must be at least 1");
        anyhow::ensure!(!c.otlp_service_name.trim().is_empty(), "otlp_service_name must not be empty");
        Ok(c)
    }

    /// The configured public URL, or `http(s)://{bound address}`.
    #[must_use]
    pub fn public_url(&self, bound: std::net::SocketAddr) -> String {
        let scheme = if self.tls().is_some() { "https" } else { "http" };
        self.public_url.clone().unwrap_or_else(|| format!("{scheme}://{bound}")).trim_end_matches('/').to_owned()
    }

    /// The TLS files, when HTTPS is configured.
    #[must_use]
    pub fn tls(&self) -> Option<crate::tls::TlsFiles> {
        match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(cert), Some(key)) => Some(crate::tls::TlsFiles { cert: cert.clone(), key: key.clone() }),
            _ => None,
        }
    }

    /// The services' settings, for an issuer at `public_url`.
    #[must_use]
    pub fn app_options(&self, public_url: String) -> latchkey_app::AppOptions {
        use latchkey_app::rate_limit::{Rate, RateLimits};
        latchkey_app::AppOptions {
            public_url,
            password_cost: latchkey_crypto::password::PasswordCost {
                memory_kib: self.password_hash_memory_kib,
                iterations: self.password_hash_iterations,
            },
            remote_allow_private: self.remote_allow_private.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
            password_hash_concurrency: match self.password_hash_concurrency {
                0 => latchkey_app::default_password_hash_concurrency(),
                n => n,
            },
            password_hash_queue: std::time::Duration::from_millis(self.password_hash_queue_ms),
            rate_limits: RateLimits {
                per_client: Rate::new(self.rate_limit_per_client, self.rate_limit_per_client_burst),
                per_source: Rate::new(self.rate_limit_per_source, self.rate_limit_per_source_burst),
            },
        }
    }

    #[must_use]
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("latchkey.db").display()))
    }
}
