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

#[derive(Debug, Default)]
pub struct Metrics {
    pub tokens_issued: Family<IssueLabels, Counter>,
    pub client_auth_failures: Counter,
    pub introspections: Counter,
    pub revocations: Counter,
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
    }
}
