//! Runs the storage conformance suite on the backend of this test run
//! (`LATCHKEY_TEST_BACKEND`, see `scripts/test.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use std::sync::Arc;

use latchkey_store::testing::TestDb;
use latchkey_store::{Store, conformance};

async fn fresh() -> (TestDb, Arc<dyn Store>) {
    let db = TestDb::new().await;
    let store = latchkey_store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    (db, store)
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let (_db, store) = fresh().await;
            conformance::$name(store).await;
        }
    )*};
}

cases!(
    migrate_is_idempotent,
    database_time_is_unix_seconds,
    bootstrap_writes_once,
    concurrent_bootstrap_creates_exactly_one,
    client_round_trip_with_secrets,
    client_names_and_ids_are_unique_per_tenant,
    batch_insert_is_all_or_nothing,
    list_clients_pages_by_cursor,
    disable_and_delete,
    user_epochs_end_tokens_on_status_and_password_changes,
    jwt_revocation_and_purge,
    assertion_jtis_are_single_use,
    tenant_isolation,
    checklist_60_every_catalogue_operation_is_tenant_scoped,
    scopes_keys_and_audit,
    search_filters_sorts_and_pages,
    search_at_scale_matches_a_plain_filter,
    search_matches_redirect_uris,
    key_rotation_retires_the_keys_in_use_at_activation,
    tenants_list_update_and_delete_with_everything_in_them,
    update_checks_revision,
    secrets_limit_expiry_and_usage,
    scopes_and_classes_crud_and_references,
    audit_search_filters_and_pages,
    users_crud_roles_groups,
    scim_users_external_ids_renames_and_deletes,
    scim_groups_keep_user_groups_in_sync,
    sessions_round_trip_and_expire,
    d31_code_is_single_use,
    d33_concurrent_redemptions_exactly_one_wins,
    refresh_rotation_reuse_and_revocation,
    f47_concurrent_refreshes_exactly_one_wins,
    consents_upsert_list_delete,
    cors_origins_are_found_exactly,
    i60_flows_are_isolated_per_tenant,
    expired_flows_are_purged,
    device_codes_are_decided_once_and_redeemed_once,
    device_concurrent_redemptions_exactly_one_wins,
    device_codes_are_isolated_per_tenant_and_purged,
    open_device_codes_are_listed_per_client_and_user_and_revoked_once,
    redeemed_device_codes_are_listed_while_their_family_lives,
    scim_errors_keep_the_latest_per_connector_and_go_with_it,
    remote_round_trip,
    checklist_60_remote_tenant_isolation,
    usage_counts_add_up_per_hour_and_purge,
    throttle_counters_are_shared_and_windowed,
    rate_counters_are_exchanged_between_nodes,
    sealed_values_are_listed_and_replaced_only_while_unchanged,
    remote_flows_are_taken_once,
    federated_links_and_provisioning,
    checklist_60_federation_tenant_isolation,
    a_deleted_providers_links_and_flows_never_come_back,
);

/// Migrations are added for both databases in the same change.
#[test]
fn migration_folders_match() {
    let list = |b: &str| {
        let mut v: Vec<String> = std::fs::read_dir(format!("{}/migrations/{b}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(list("sqlite"), list("postgres"));
}
