//! Black-box tests: the real `latchkey` binary on a random port, a temporary
//! data directory and a fresh database on the backend of this test run
//! (`LATCHKEY_TEST_BACKEND`), driven over real sockets by client libraries
//! Latchkey's authors did not write (the `oauth2` and `openidconnect` crates, `jsonwebtoken`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

mod api_shapes;
mod authz_matrix;
mod bad_input;
mod bootstrap;
mod cli;
mod cli_conventions;
mod cli_plan;
mod cli_tenants;
mod client_credentials;
mod clients_api;
mod console;
mod console_client_form;
mod console_tenants;
mod deploy;
mod discovery;
mod doctor;
mod durability;
mod harness;
mod hygiene;
mod multi_node;
mod oidc;
mod outage;
mod remote;
mod remote_code;
mod rolling;
mod throttle;
mod tidy;
mod tls;
mod traces;
