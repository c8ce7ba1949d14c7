//! The admin CLI (SPEC §6), run as a real process against a real server:
//! output formats, exit codes, secrets lifecycle, export, plan and apply.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;

use serde_json::Value;

use crate::harness::*;

/// The CLI of one test: a server to talk to and its own runtime directory.
pub(crate) struct Cli {
    server: String,
    pub(crate) dir: tempfile::TempDir,
}

pub(crate) struct Out {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Out {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

impl Cli {
    pub(crate) fn new(s: &Server) -> Self {
        Self { server: s.base.clone(), dir: tempfile::tempdir().unwrap() }
    }

    pub(crate) async fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_latchkey"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("LATCHKEY_SERVER", &self.server)
            .env("LATCHKEY_CLIENT_ID", "latchkey-admin")
            .env("LATCHKEY_CLIENT_SECRET", ADMIN_SECRET)
            .env("XDG_RUNTIME_DIR", self.dir.path().join("run"))
            .env_remove("LATCHKEY_TENANT")
            .env_remove("LATCHKEY_CONFIG")
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().await.unwrap();
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub(crate) async fn run(&self, args: &[&str]) -> Out {
        self.run_env(args, &[]).await
    }

    /// Runs and asserts success.
    pub(crate) async fn ok(&self, args: &[&str]) -> Out {
        let o = self.run(args).await;
        assert_eq!(o.code, 0, "latchkey {args:?} failed:\nstdout: {}\nstderr: {}", o.stdout, o.stderr);
        o
    }

    pub(crate) fn write(&self, name: &str, text: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    }
}

/// An error exit (1, or one of the specific codes 3-7; 2 is for usage) and
/// exactly one line on stderr, starting with `latchkey: `.
pub(crate) fn assert_one_line_error(o: &Out) -> &str {
    assert!(matches!(o.code, 1 | 3..=7), "exit {}\nstdout: {}\nstderr: {}", o.code, o.stdout, o.stderr);
    let lines: Vec<&str> = o.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {:?}", o.stderr);
    assert!(lines[0].starts_with("latchkey: "), "{}", lines[0]);
    lines[0]
}

pub(crate) async fn token_status(s: &Server, id: &str, secret: &str) -> u16 {
    post_basic(&s.url("/oauth2/token"), id, secret, &[("grant_type", "client_credentials")]).await.0
}

pub(crate) async fn audit_count(s: &Server) -> usize {
    let token = admin_token(s, "admin:read").await;
    let v: Value = get_json(s.url("/api/v1/audit-events?limit=500"), token).await;
    v["items"].as_array().map_or(0, Vec::len)
}

pub(crate) async fn create(cli: &Cli, args: &[&str]) -> Value {
    let mut full = vec!["client", "create"];
    full.extend_from_slice(args);
    cli.ok(&full).await.json()
}

#[tokio::test]
async fn cli_create_each_type_then_search_list_and_show() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let cli = Cli::new(&s);
    let cb = ["--redirect-uri", "https://app.example.com/cb"];
    let cases: [(&str, &[&str]); 7] = [
        ("m2m", &[]),
        ("web", &cb),
        ("spa", &cb),
        ("hybrid", &cb),
        ("device", &[]),
        ("connector", &[]),
        ("custom", &["--grant", "client_credentials"]),
    ];
    for (ty, extra) in cases {
        let name = format!("cli-e2e {ty}");
        let mut args = vec!["--name", name.as_str(), "--type", ty];
        args.extend_from_slice(extra);
        let v = create(&cli, &args).await;
        assert_eq!(v["type"], ty, "{v}");
        let public = matches!(ty, "spa" | "device");
        assert_eq!(v["client_secret"].is_string(), !public, "{ty}: {v}");
    }
    // Piped: JSON by default.
    let all = cli.ok(&["client", "list", "--search", "cli-e2e"]).await.json();
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 7, "{all}");
    let found = cli.ok(&["client", "list", "--search", "cli-e2e hyb"]).await.json();
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    // Table on request.
    let table = cli.ok(&["client", "list", "--search", "cli-e2e", "--output", "table"]).await.stdout;
    let header = table.lines().next().unwrap();
    for col in ["CLIENT", "CLIENT ID", "TYPE", "GRANT TYPES", "STATUS", "CREATED"] {
        assert!(header.contains(col), "{header}");
    }
    assert_eq!(table.lines().count(), 8, "{table}");
    assert!(table.contains("cli-e2e device") && table.contains("device_code"), "{table}");
    let id = items[0]["client_id"].as_str().unwrap();
    let shown = cli.ok(&["client", "show", id]).await.json();
    assert_eq!(shown["client_id"], id);
    let shown = cli.ok(&["client", "show", id, "-o", "table"]).await.stdout;
    assert!(shown.contains("client_id") && shown.contains(id), "{shown}");
}

#[tokio::test]
async fn cli_rotate_with_grace_keeps_the_old_secret_until_revoked() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let cli = Cli::new(&s);
    let v = create(&cli, &["--name", "rotating", "--type", "m2m"]).await;
    let id = v["client_id"].as_str().unwrap().to_owned();
    let old = v["client_secret"].as_str().unwrap().to_owned();
    let old_id = v["secrets"][0]["id"].as_str().unwrap().to_owned();
    // A loop keeps fetching tokens with the old secret throughout the rotation.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let fetcher = {
        let (url, id, old, stop) = (s.url("/oauth2/token"), id.clone(), old.clone(), stop.clone());
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                statuses.push(post_basic(&url, &id, &old, &[("grant_type", "client_credentials")]).await.0);
            }
            statuses
        })
    };
    let r = cli.ok(&["client", "secret", "rotate", &id, "--grace", "1h", "--label", "v2"]).await.json();
    let new = r["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(r["expiring"][0]["id"], old_id.as_str(), "{r}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let statuses = fetcher.await.unwrap();
    assert!(!statuses.is_empty() && statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(token_status(&s, &id, &new).await, 200);
    assert_eq!(token_status(&s, &id, &old).await, 200, "old secret works during the grace period");
    let list = cli.ok(&["client", "secret", "list", &id]).await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "{list}");
    cli.ok(&["client", "secret", "revoke", &id, "--secret-id", &old_id]).await;
    assert_eq!(token_status(&s, &id, &old).await, 401, "revoked");
    assert_eq!(token_status(&s, &id, &new).await, 200);
    // Without --grace the old secret keeps working for a day, as the
    // console's default; `--grace 0` must be asked for to revoke at once.
    let r = cli.ok(&["client", "secret", "rotate", &id]).await.json();
    let newer = r["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(token_status(&s, &id, &new).await, 200, "the default grace keeps the old secret");
    let created = r["secret"]["created_at"].as_i64().unwrap();
    let expires = r["expiring"][0]["expires_at"].as_i64().unwrap();
    assert!((expires - created - 86_400).abs() <= 5, "one day of grace: {r}");
    let r = cli.ok(&["client", "secret", "rotate", &id, "--grace", "0"]).await.json();
    assert_eq!(token_status(&s, &id, &new).await, 401);
    assert_eq!(token_status(&s, &id, &newer).await, 401);
    assert_eq!(token_status(&s, &id, r["client_secret"].as_str().unwrap()).await, 200);
}

#[tokio::test]
async fn cli_update_delete_and_audit_trail() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let cli = Cli::new(&s);
    let v = create(&cli, &["--name", "webapp", "--type", "web", "--redirect-uri", "https://a.example.com/cb"]).await;
    let id = v["client_id"].as_str().unwrap().to_owned();
    let u = cli
        .ok(&[
            "client",
            "update",
            &id,
            "--name",
            "webapp 2",
            "--add-redirect-uri",
            "https://b.example.com/cb",
            "--remove-redirect-uri",
            "https://a.example.com/cb",
            "--token-lifetime",
            "600",
            "--label",
            "team=web",
        ])
        .await
        .json();
    assert_eq!(u["name"], "webapp 2");
    assert_eq!(u["redirect_uris"], serde_json::json!(["https://b.example.com/cb"]));
    assert_eq!(u["access_token_lifetime"], 600);
    assert_eq!(u["labels"]["team"], "web");
    let u = cli.ok(&["client", "update", &id, "--token-lifetime", "inherit", "--remove-label", "team"]).await.json();
    assert_eq!(u["access_token_lifetime"], Value::Null);
    assert_eq!(u["labels"], serde_json::json!({}));
    let o = cli.ok(&["client", "update", &id, "--name", "webapp 2"]).await;
    assert!(o.stderr.contains("Nothing to change"), "{}", o.stderr);
    let t = cli.ok(&["client", "test-redirect", &id, "https://b.example.com/cb"]).await.json();
    assert_eq!(t["matches"], true, "{t}");
    let t = cli.ok(&["client", "test-redirect", &id, "https://evil.example.com/cb", "-o", "table"]).await.stdout;
    assert!(t.contains("matches") && t.contains("no"), "{t}");
    cli.ok(&["client", "disable", &id]).await;
    cli.ok(&["client", "enable", &id]).await;
    // Protected default clients need --force.
    let o = cli.run(&["client", "delete", "latchkey-console"]).await;
    assert!(assert_one_line_error(&o).contains("403"), "{}", o.stderr);
    cli.ok(&["client", "delete", &id]).await;
    let o = cli.run(&["client", "show", &id]).await;
    assert!(assert_one_line_error(&o).contains("404"));
    let events = cli.ok(&["audit", "list", "--target-id", &id]).await.json();
    let actions: Vec<&str> =
        events["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in ["client.create", "client.update", "client.disable", "client.enable", "client.delete"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    let table = cli.ok(&["audit", "list", "--target-id", &id, "-o", "table"]).await.stdout;
    assert!(
        table.starts_with("TIME") && table.contains("CHANGED FIELDS") && table.contains("redirect_uris"),
        "{table}"
    );
}

#[tokio::test]
async fn cli_scopes_and_classes() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let cli = Cli::new(&s);
    cli.ok(&["scope", "create", "api:read", "--description", "Read the API"]).await;
    cli.ok(&["scope", "update", "api:read", "--description", "Read it all"]).await;
    assert_eq!(cli.ok(&["scope", "show", "api:read"]).await.json()["description"], "Read it all");
    let list = cli.ok(&["scope", "list", "-o", "table"]).await.stdout;
    assert!(list.contains("api:read") && list.contains("openid"), "{list}");
    cli.ok(&["class", "create", "billing", "--scope", "api:read"]).await;
    let c = cli.ok(&["class", "show", "billing"]).await.json();
    assert_eq!(c["scopes"], serde_json::json!(["api:read"]));
    let o = cli.run(&["scope", "delete", "api:read"]).await;
    assert!(assert_one_line_error(&o).contains("409"), "in use by the class: {}", o.stderr);
    cli.ok(&["class", "delete", "billing"]).await;
    cli.ok(&["scope", "delete", "api:read"]).await;
}

#[tokio::test]
async fn cli_export_never_contains_a_secret() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let cli = Cli::new(&s);
    let generated = create(&cli, &["--name", "exp gen", "--type", "m2m"]).await;
    let imported = "imported-secret-value-that-is-long-enough-0123";
    let o = cli
        .run_env(
            &["client", "create", "--name", "exp imp", "--type", "m2m", "--secret-env", "IMP"],
            &[("IMP", imported)],
        )
        .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let path = cli.dir.path().join("export.yaml");
    cli.ok(&["export", "--output-file", path.to_str().unwrap()]).await;
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("exp gen") && text.contains("exp imp"), "{text}");
    for needle in ["lks_", generated["client_secret"].as_str().unwrap(), imported, ADMIN_SECRET, "secret:", "hint"] {
        assert!(!text.contains(needle), "export contains {needle:?}");
    }
    // Standard output is the same document.
    assert_eq!(cli.ok(&["export"]).await.stdout, text);
}

const FILE: &str = r"
version: 1
scopes:
  - name: api:read
    description: Read the API
security_classes:
  - name: billing
    description: Billing services
    scopes: [api:read]
clients:
  - client_id: billing-svc
    name: Billing service
    type: m2m
    scopes: [api:read]
    security_classes: [billing]
    access_token_lifetime: 600
    labels: {team: payments}
    secret: {env: BILLING_SECRET}
  - client_id: shop-web
    name: Shop
    type: web
    redirect_uris: [https://shop.example.com/cb]
    secret: {file: shop.secret}
  - client_id: shop-spa
    name: Shop SPA
    type: spa
    redirect_uris: [https://spa.example.com/cb]
    allowed_cors_origins: [https://spa.example.com]
";
const BILLING_SECRET: &str = "billing-secret-from-the-environment-0123456789";
const SHOP_SECRET: &str = "shop-secret-from-a-file-0123456789abcdefghij";

#[tokio::test]
async fn cli_plan_writes_nothing_and_apply_is_idempotent() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let cli = Cli::new(&s);
    let file = cli.write("latchkey.yaml", FILE);
    cli.write("shop.secret", &format!("{SHOP_SECRET}\n"));
    let env = [("BILLING_SECRET", BILLING_SECRET)];
    let before = audit_count(&s).await;
    let plan = cli.run_env(&["plan", &file], &env).await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(plan.stdout.contains("+ create scope api:read"), "{}", plan.stdout);
    assert!(plan.stdout.contains("+ create client Billing service (billing-svc)"), "{}", plan.stdout);
    assert!(plan.stdout.contains("Plan: 5 to create, 0 to update, 0 to delete"), "{}", plan.stdout);
    assert_eq!(audit_count(&s).await, before, "plan writes nothing");
    let o = cli.run_env(&["apply", &file], &env).await;
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("Apply complete: 5 created, 0 updated, 0 deleted, 0 failed"), "{}", o.stdout);
    assert_eq!(token_status(&s, "billing-svc", BILLING_SECRET).await, 200);
    // A web client has no client_credentials grant: authenticate at the revocation endpoint.
    assert_eq!(revoke(&s, "shop-web", SHOP_SECRET, "not-a-token").await, 200);
    assert_eq!(revoke(&s, "shop-web", BILLING_SECRET, "not-a-token").await, 401);
    let shown = cli.ok(&["client", "show", "billing-svc"]).await.json();
    assert_eq!(shown["managed_by"], "latchkey-apply");
    assert_eq!(shown["access_token_lifetime"], 600);
    let after_first = audit_count(&s).await;
    // Second apply: nothing to do, nothing written.
    let o = cli.run_env(&["apply", &file], &env).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("Plan: 0 to create, 0 to update, 0 to delete, 5 unchanged."), "{}", o.stdout);
    assert_eq!(audit_count(&s).await, after_first, "second apply changed something");
    // A manual edit shows up as a readable diff and is undone by apply.
    let o = cli.run(&["client", "update", "billing-svc", "--name", "Billing (edited)"]).await;
    assert!(assert_one_line_error(&o).contains("managed by a declarative file"), "{}", o.stderr);
    let edit =
        ["client", "update", "billing-svc", "--name", "Billing (edited)", "--label", "team=ops", "--label", "x=1"];
    cli.ok(&[&edit[..], &["--force"]].concat()).await;
    let plan = cli.run_env(&["plan", &file], &env).await.stdout;
    assert!(plan.contains("~ update client Billing (edited) (billing-svc)"), "{plan}");
    assert!(plan.contains("    name: Billing (edited) -> Billing service"), "{plan}");
    assert!(plan.contains("    labels: {\"team\":\"ops\",\"x\":\"1\"} -> {\"team\":\"payments\"}"), "{plan}");
    assert!(plan.contains("Plan: 0 to create, 1 to update, 0 to delete, 4 unchanged."), "{plan}");
    let o = cli.run_env(&["apply", &file], &env).await;
    assert!(o.stdout.contains("0 created, 1 updated"), "{}\n{}", o.stdout, o.stderr);
    let shown = cli.ok(&["client", "show", "billing-svc"]).await.json();
    assert_eq!(shown["name"], "Billing service");
    assert_eq!(shown["labels"], serde_json::json!({"team": "payments"}));
    let o = cli.run_env(&["apply", &file], &env).await;
    assert!(o.stdout.contains("0 to create, 0 to update"), "{}", o.stdout);
    // The export of what apply made applies cleanly: nothing to change.
    let exported = cli.dir.path().join("export.yaml");
    cli.ok(&["export", "--output-file", exported.to_str().unwrap()]).await;
    let o = cli.ok(&["plan", exported.to_str().unwrap()]).await.stdout;
    assert!(o.contains("0 to create, 0 to update, 0 to delete"), "{o}");
}

#[tokio::test]
async fn cli_apply_prune_deletes_only_what_apply_manages() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let cli = Cli::new(&s);
    let env = [("BILLING_SECRET", BILLING_SECRET)];
    cli.write("shop.secret", SHOP_SECRET);
    let file = cli.write("all.yaml", FILE);
    assert_eq!(cli.run_env(&["apply", &file], &env).await.code, 0);
    let manual = create(&cli, &["--name", "hand made", "--type", "m2m"]).await;
    let fewer = FILE.split("  - client_id: shop-web").next().unwrap();
    let file = cli.write("fewer.yaml", fewer);
    // Without --prune nothing goes; without --yes and a terminal, deletion is refused.
    let o = cli.run_env(&["apply", &file], &env).await;
    assert!(o.stdout.contains("0 to delete"), "{}", o.stdout);
    let o = cli.run_env(&["apply", &file, "--prune"], &env).await;
    assert!(assert_one_line_error(&o).contains("--yes"), "{}", o.stderr);
    let plan = cli.run_env(&["plan", &file, "--prune"], &env).await.stdout;
    assert!(plan.contains("- delete client Shop (shop-web)") && plan.contains("2 to delete"), "{plan}");
    let o = cli.run_env(&["apply", &file, "--prune", "--yes"], &env).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("0 created, 0 updated, 2 deleted"), "{}", o.stdout);
    assert_eq!(cli.run(&["client", "show", "shop-web"]).await.code, 3);
    cli.ok(&["client", "show", "billing-svc"]).await;
    cli.ok(&["client", "show", manual["client_id"].as_str().unwrap()]).await;
    cli.ok(&["client", "show", "latchkey-admin"]).await;
}

#[tokio::test]
async fn cli_apply_batches_creates_and_isolates_a_failing_client() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let cli = Cli::new(&s);
    // A hand-made client whose name one of the file's clients will clash with.
    create(&cli, &["--name", "Client 0275", "--type", "m2m"]).await;
    let mut file = String::from("version: 1\nclients:\n");
    for i in 0..300 {
        file.push_str(&format!("  - client_id: bulk-{i:04}\n    name: Client {i:04}\n    type: m2m\n"));
    }
    file.push_str("    secret:\n      env: BULK_SECRET\n");
    let path = cli.write("bulk.yaml", &file);
    let before = audit_count(&s).await;
    let o = cli.run_env(&["apply", &path], &[("BULK_SECRET", BILLING_SECRET)]).await;
    // The batch holding the clash fell back to single creates: one failure, named.
    assert_eq!(o.code, 4, "the failure is a conflict: {}\n{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("299 created, 0 updated, 0 deleted, 1 failed"), "{}", o.stdout);
    assert!(o.stderr.contains("client Client 0275 (bulk-0275)"), "{}", o.stderr);
    assert_eq!(audit_count(&s).await, before + 299, "one audit event per created client");
    cli.ok(&["client", "show", "bulk-0000"]).await;
    cli.ok(&["client", "show", "bulk-0299"]).await;
    assert_eq!(cli.run(&["client", "show", "bulk-0275"]).await.code, 3);
    // Batched: clients of one batch were created by one request.
    let request_of = |id: &'static str| {
        let s = &s;
        async move {
            let token = admin_token(s, "admin:read").await;
            let url = s.url(&format!("/api/v1/audit-events?target_id={id}&action=client.create"));
            let v: Value = get_json(url, token).await;
            v["items"][0]["request_id"].as_str().expect("request id").to_owned()
        }
    };
    assert_eq!(request_of("bulk-0000").await, request_of("bulk-0249").await);
    assert_ne!(request_of("bulk-0000").await, request_of("bulk-0250").await);
    // The file's secret reached the batch-created client; 298 generated ones
    // are too many to keep, which apply says.
    assert_eq!(token_status(&s, "bulk-0299", BILLING_SECRET).await, 200);
    assert_eq!(token_status(&s, "bulk-0298", BILLING_SECRET).await, 401);
    assert!(o.stderr.contains("298 new clients got generated secrets that were not shown"), "{}", o.stderr);
}

#[tokio::test]
async fn cli_apply_reports_bad_files_before_writing() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let cli = Cli::new(&s);
    let before = audit_count(&s).await;
    let file = cli.write("bad.yaml", "version: 1\nclients:\n  - client_id: x\n    nmae: typo\n");
    let o = cli.run(&["apply", &file]).await;
    assert!(assert_one_line_error(&o).contains("nmae"), "{}", o.stderr);
    let file = cli.write("missing.yaml", FILE);
    let o = cli.run(&["apply", &file]).await;
    assert!(assert_one_line_error(&o).contains("BILLING_SECRET"), "{}", o.stderr);
    assert!(!Path::new(&cli.dir.path().join("shop.secret")).exists());
    assert_eq!(audit_count(&s).await, before);
}

#[tokio::test]
async fn cli_users_create_list_disable_and_reset_password() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let cli = Cli::new(&s);
    let o = cli
        .ok(&["user", "create", "grace", "--email", "grace@example.com", "--role", "tenant-admin", "--group", "ops"])
        .await;
    let created = o.json();
    let password = created["password"].as_str().expect("a generated password, once").to_owned();
    assert!(password.len() >= 12);
    assert!(o.stderr.contains("shown once"), "{}", o.stderr);
    let id = created["id"].as_str().unwrap().to_owned();
    let list = cli.ok(&["user", "list", "--search", "GRAC", "-o", "table"]).await.stdout;
    assert!(list.contains("grace") && list.contains("tenant-admin"), "{list}");
    // Reading a user never shows a password or its hash; a user is named
    // by username (any case) or id.
    let shown = cli.ok(&["user", "show", &id]).await.stdout;
    assert!(!shown.contains(&password) && !shown.contains("argon2"), "{shown}");
    assert_eq!(cli.ok(&["user", "show", "Grace"]).await.json()["id"], id.as_str());
    assert_eq!(cli.run(&["user", "show", "nobody"]).await.code, 3);
    assert_eq!(cli.ok(&["user", "disable", "grace"]).await.json()["status"], "disabled");
    let o = cli
        .run_env(&["user", "reset-password", "grace", "--password-env", "NEWPW"], &[("NEWPW", "a-brand-new-password")])
        .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.json()["password"], serde_json::Value::Null, "a given password is not echoed");
    let o = cli.run(&["user", "create", "bad name"]).await;
    assert!(assert_one_line_error(&o).contains("422"), "{}", o.stderr);
    // Every change is audited, without the password.
    let audit = cli.ok(&["audit", "list", "--target-id", &id]).await.stdout;
    assert!(
        audit.contains("user.create") && audit.contains("user.disable") && audit.contains("user.password_reset"),
        "{audit}"
    );
    assert!(!audit.contains(&password) && !audit.contains("a-brand-new-password"));
}

#[tokio::test]
async fn cli_keys_rotate_with_a_token_signed_just_before_it() {
    use crate::client_credentials::verify_jwt;
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let cli = Cli::new(&s);
    let before = admin_token(&s, "admin:read").await;
    let (old_header, _) = verify_jwt(&s, &before).await;
    // Scheduled rotation: published at once, not used yet.
    let o = cli.ok(&["keys", "rotate", "--purpose", "access_token", "-o", "json"]).await.json();
    let pending = o["items"][0]["kid"].as_str().unwrap().to_owned();
    assert_eq!(o["items"][0]["status"], "pending");
    let jwks = http().get(s.url("/oauth2/jwks")).send().await.unwrap().text().await.unwrap();
    assert!(jwks.contains(&pending), "published before use");
    let still = admin_token(&s, "admin:read").await;
    assert_eq!(verify_jwt(&s, &still).await.0.kid, old_header.kid, "not used before activation");
    // A second rotation waits for the first: one clear line, exit 1.
    let o = cli.run(&["keys", "rotate", "--purpose", "access_token"]).await;
    assert!(assert_one_line_error(&o).contains("waiting for its activation"), "{}", o.stderr);
    // An immediate rotation of the ID-token key, and the list shows every state.
    cli.ok(&["keys", "rotate", "--purpose", "id_token", "--now"]).await;
    let keys = cli.ok(&["keys", "list", "-o", "json"]).await.json();
    let states: Vec<(&str, &str)> = keys["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["purpose"].as_str().unwrap(), k["status"].as_str().unwrap()))
        .collect();
    for want in
        [("access_token", "active"), ("access_token", "pending"), ("id_token", "active"), ("id_token", "retired")]
    {
        assert!(states.contains(&want), "{states:?}");
    }
    // The token signed before the rotations still verifies against the JWKS
    // and introspects as active.
    let (h, _) = verify_jwt(&s, &before).await;
    assert_eq!(h.kid, old_header.kid);
    assert_eq!(introspect(&s, "latchkey-admin", ADMIN_SECRET, &before).await["active"], true);
    // Viewers cannot rotate.
    let viewer = admin_token(&s, "admin:read").await;
    let r = http().post(s.url("/api/v1/keys/rotate")).bearer_auth(viewer).json(&serde_json::json!({})).send().await;
    assert_eq!(r.unwrap().status(), 403);
}

/// A client's admin role from the CLI: set at creation, shown, changed,
/// removed; the client's own admin token acts with it.
#[tokio::test]
async fn cli_client_admin_role_is_set_shown_and_used() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let cli = Cli::new(&s);
    let v =
        create(&cli, &["--name", "reporting bot", "--type", "m2m", "--scope", "admin:read", "--admin-role", "viewer"])
            .await;
    assert_eq!(v["admin_role"], "viewer", "{v}");
    let (id, secret) = (v["client_id"].as_str().unwrap().to_owned(), v["client_secret"].as_str().unwrap().to_owned());
    let shown = cli.ok(&["client", "show", &id, "-o", "table"]).await.stdout;
    assert!(shown.lines().any(|l| l.contains("admin_role") && l.contains("viewer")), "{shown}");
    let (status, body) = post_basic(
        &s.url("/oauth2/token"),
        &id,
        &secret,
        &[("grant_type", "client_credentials"), ("scope", "admin:read")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    let list = http().get(s.url("/api/v1/clients")).bearer_auth(token).send().await.unwrap();
    assert_eq!(list.status().as_u16(), 200, "a viewer reads");
    let write = http().post(s.url("/api/v1/scopes")).bearer_auth(token).json(&serde_json::json!({"name": "x:y"}));
    assert_eq!(write.send().await.unwrap().status().as_u16(), 403, "a viewer writes nothing");
    let updated = cli.ok(&["client", "update", &id, "--admin-role", "none"]).await.json();
    assert_eq!(updated["admin_role"], Value::Null, "{updated}");
    let list = http().get(s.url("/api/v1/clients")).bearer_auth(token).send().await.unwrap();
    assert_eq!(list.status().as_u16(), 403, "without a role the same token opens nothing, at once");
}
