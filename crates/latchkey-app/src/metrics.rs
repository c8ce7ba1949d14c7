//! Prometheus metrics of the services (the web layer adds HTTP metrics and
//! renders the registry at `/metrics`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IssueLabels {
    pub grant_type: String,
    pub format: String,
}

/// Which rate limit refused a request (`client` or `source`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    pub limit: String,
}

#[derive(Debug, Default)]
pub struct Metrics {
    pub tokens_issued: Family<IssueLabels, Counter>,
    pub client_auth_failures: Counter,
    pub introspections: Counter,
    pub revocations: Counter,
    /// Password checks refused because every hashing slot stayed taken.
    pub password_hashes_refused: Counter,
    /// Requests refused by a rate limit, per limit.
    pub rate_limited: Family<LimitLabels, Counter>,
    /// Exchanges of rate-limit counters with the other nodes.
    pub rate_limit_syncs: Counter,
    /// Requests admitted uncounted because a node's buckets were full.
    pub rate_limit_overflows: Counter,
}

impl Metrics {
    /// Registers every metric under `latchkey_`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register("latchkey_tokens_issued", "Access tokens issued", self.tokens_issued.clone());
        registry.register(
            "latchkey_client_auth_failures",
            "Failed client authentications",
            self.client_auth_failures.clone(),
        );
        registry.register("latchkey_introspections", "Introspection requests answered", self.introspections.clone());
        registry.register("latchkey_revocations", "Revocation requests answered", self.revocations.clone());
        registry.register(
            "latchkey_password_hashes_refused",
            "Password checks refused at once because every hashing slot stayed taken",
            self.password_hashes_refused.clone(),
        );
        registry.register("latchkey_rate_limited", "Requests refused by a rate limit", self.rate_limited.clone());
        registry.register(
            "latchkey_rate_limit_syncs",
            "Exchanges of rate-limit counters with the other nodes",
            self.rate_limit_syncs.clone(),
        );
        registry.register(
            "latchkey_rate_limit_overflows",
            "Requests admitted uncounted because the node's rate-limit buckets were full",
            self.rate_limit_overflows.clone(),
        );
    }
}
