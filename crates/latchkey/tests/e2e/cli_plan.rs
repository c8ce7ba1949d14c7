//! `latchkey plan` as Terraform's: creates shown with their attributes,
//! every change checked by the server as `apply` would make it (dry runs,
//! nothing written), and `--detailed-exitcode`.

use crate::cli::{Cli, audit_count, create};
use crate::harness::*;

const GOOD: &str = "
version: 1
scopes:
  - name: orders:read
    description: Read orders
clients:
  - client_id: orders-svc
    name: Orders service
    type: m2m
    scopes: [orders:read]
    access_token_lifetime: 600
    secret: {env: ORDERS_SECRET}
";
const ORDERS_SECRET: &str = "orders-secret-from-the-environment-0123456789";

#[tokio::test]
async fn cli_plan_shows_attributes_checks_like_apply_and_has_a_detailed_exitcode() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let cli = Cli::new(&s);
    let env = [("ORDERS_SECRET", ORDERS_SECRET)];
    let good = cli.write("good.yaml", GOOD);
    let before = audit_count(&s).await;

    // Changes: exit 2 with --detailed-exitcode (0 without); creates list
    // their attributes; the client's new scope does not exist yet, and the
    // dry run does not hold that against it.
    let o = cli.run_env(&["plan", &good, "--detailed-exitcode"], &env).await;
    assert_eq!(o.code, 2, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains(
            "+ create client Orders service (orders-svc)\n    name: Orders service\n    type: m2m\n    scopes: [orders:read]\n    access_token_lifetime: 600\n    secret: (env ORDERS_SECRET)\n"
        ),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("+ create scope orders:read\n    description: Read orders\n"), "{}", o.stdout);
    assert_eq!(cli.run_env(&["plan", &good], &env).await.code, 0);
    let data = cli.run_env(&["plan", &good, "-o", "json"], &env).await.json();
    assert_eq!(data["steps"][1]["attributes"]["type"], "m2m", "{data}");
    assert_eq!(audit_count(&s).await, before, "plan writes nothing");
    assert_eq!(cli.run_env(&["apply", &good], &env).await.code, 0);
    let o = cli.run_env(&["plan", &good, "--detailed-exitcode"], &env).await;
    assert_eq!(o.code, 0, "no changes: {}\n{}", o.stdout, o.stderr);

    // A change the server refuses: plan fails as apply would, naming the
    // client (exit 5; 1 with --detailed-exitcode), and writes nothing.
    let before = audit_count(&s).await;
    let bad_create = cli.write(
        "bad.yaml",
        "version: 1\nclients:\n  - client_id: shop\n    name: Shop\n    type: web\n    redirect_uris: [http://shop.example.com/cb]\n",
    );
    let o = cli.run(&["plan", &bad_create]).await;
    assert_eq!(o.code, 5, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("+ create client Shop (shop)"), "the plan is still shown: {}", o.stdout);
    assert!(o.stderr.contains("client Shop (shop): 422") && o.stderr.contains("redirect_uris"), "{}", o.stderr);
    assert!(o.stderr.contains("1 of 1 changes would fail; nothing was written"), "{}", o.stderr);
    assert_eq!(cli.run(&["plan", &bad_create, "--detailed-exitcode"]).await.code, 1);
    let apply = cli.run(&["apply", &bad_create]).await;
    assert_eq!(apply.code, 5, "apply fails the same way: {}", apply.stderr);
    let bad_update =
        cli.write("bad-update.yaml", &GOOD.replace("access_token_lifetime: 600", "access_token_lifetime: 1"));
    let o = cli.run_env(&["plan", &bad_update], &env).await;
    assert_eq!(o.code, 5, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("    access_token_lifetime: 600 -> 1"), "{}", o.stdout);
    assert!(o.stderr.contains("access_token_lifetime"), "{}", o.stderr);
    assert_eq!(audit_count(&s).await, before, "no dry run wrote anything");

    // A name another client has: a conflict (exit 4) before anything is sent.
    create(&cli, &["--name", "Hand made", "--type", "m2m"]).await;
    let clash =
        cli.write("clash.yaml", "version: 1\nclients:\n  - client_id: hm\n    name: hand made\n    type: m2m\n");
    let o = cli.run(&["plan", &clash]).await;
    assert_eq!(o.code, 4, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("is taken by client"), "{}", o.stderr);

    // Read-only credentials still plan (drift detection in CI): the server
    // cannot check, which is said.
    let v =
        create(&cli, &["--name", "drift", "--type", "m2m", "--scope", "admin:read", "--admin-role", "viewer"]).await;
    let viewer = [
        ("LATCHKEY_CLIENT_ID", v["client_id"].as_str().unwrap()),
        ("LATCHKEY_CLIENT_SECRET", v["client_secret"].as_str().unwrap()),
    ];
    let o = cli.run_env(&["plan", &bad_create, "--detailed-exitcode"], &viewer).await;
    assert_eq!(o.code, 2, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("read-only credentials"), "{}", o.stderr);

    // With --detailed-exitcode, 2 means changes only: a usage error is 1.
    assert_eq!(cli.run(&["plan", "--detailed-exitcode", "--no-such-flag", &good]).await.code, 1);
    assert_eq!(cli.run(&["plan", "--no-such-flag", &good]).await.code, 2);
}

/// Two CLIs apply the same file at the same moment (issue 15, races):
/// both finish, and the installation converges on the file — every object
/// once, a second plan shows no changes — whichever request lands first.
#[tokio::test]
async fn concurrent_apply_of_one_file_from_two_clis_converges() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let cli = Cli::new(&s);
    let mut yaml = String::from("version: 1\nscopes:\n");
    for i in 0..4 {
        yaml.push_str(&format!("  - name: race:{i}\n    description: Race scope {i}\n"));
    }
    yaml.push_str("clients:\n");
    for i in 0..6 {
        yaml.push_str(&format!(
            "  - client_id: race-{i}\n    name: Race client {i}\n    type: m2m\n    scopes: [race:{}]\n",
            i % 4
        ));
    }
    let file = cli.write("race.yaml", &yaml);
    for round in 0..3 {
        if round > 0 {
            // The next round starts from a partly applied state.
            let token = admin_token(&s, "admin").await;
            let r = http().delete(s.url("/api/v1/clients/race-1?force=true")).bearer_auth(token).send().await.unwrap();
            assert_eq!(r.status(), 204);
        }
        let args = ["apply", file.as_str()];
        let (a, b) = tokio::join!(cli.run(&args), cli.run(&args));
        assert_eq!((a.code, b.code), (0, 0), "round {round}: both applies finish:\n{}\n{}", a.stderr, b.stderr);
        let o = cli.run(&["plan", &file, "--detailed-exitcode"]).await;
        assert_eq!(o.code, 0, "round {round}: converged, nothing left to change:\n{}", o.stdout);
    }
    let token = admin_token(&s, "admin:read").await;
    let list: serde_json::Value = get_json(s.url("/api/v1/clients?limit=500&q=race"), token).await;
    let ids: Vec<&str> = list["items"].as_array().unwrap().iter().map(|c| c["client_id"].as_str().unwrap()).collect();
    assert_eq!(ids.iter().filter(|id| id.starts_with("race-")).count(), 6, "each client once: {ids:?}");
}
