use super::*;
use crate::cli::declarative::parse;

fn index(live: &[LiveClient]) -> HashMap<&str, &LiveClient> {
    live.iter().map(|c| (c.spec.client_id.as_str(), c)).collect()
}

fn parsed(yaml: &str) -> Parsed {
    parse(yaml, std::path::Path::new(".")).unwrap()
}

#[test]
fn plan_without_server_state() {
    let p = parsed(
        "version: 1\nscopes:\n  - name: api:read\n    description: Read\nclients:\n  - client_id: b\n    name: B\n    type: m2m\n    scopes: [api:read]\n",
    );
    let live_clients = [
        json!({"client_id": "b", "name": "B", "type": "m2m", "scopes": ["api:read"], "managed_by": "latchkey-apply", "revision": 3}),
        json!({"client_id": "old", "name": "Old", "managed_by": "latchkey-apply"}),
        json!({"client_id": "mine", "name": "Mine", "managed_by": null}),
        json!({"client_id": "latchkey-admin", "name": "Admin", "managed_by": "latchkey-apply", "protected": true}),
    ];
    let live_clients: Vec<LiveClient> = live_clients.iter().map(|v| LiveClient::from_view(v).unwrap()).collect();
    let mut plan = Plan::default();
    plan_catalog(&p, &[json!({"name": "api:read", "description": "Old text"})], &[], &mut plan);
    plan_clients(&p, &index(&live_clients), &HashSet::new(), &mut plan).unwrap();
    plan_prune(&p, &live_clients, &mut plan);
    assert_eq!(plan.summary(), "Plan: 0 to create, 1 to update, 1 to delete, 1 unchanged.");
    assert_eq!(
        plan.render(),
        "~ update scope api:read\n    description: Old text -> Read\n- delete client Old (old)\n"
    );
}

#[test]
fn creates_and_adoption() {
    let p = parsed("version: 1\nclients:\n  - client_id: a\n    name: A\n  - client_id: m\n    name: Mine\n");
    let live_clients =
        [LiveClient::from_view(&json!({"client_id": "m", "name": "Mine", "managed_by": null, "revision": 1})).unwrap()];
    let mut plan = Plan::default();
    plan_clients(&p, &index(&live_clients), &HashSet::new(), &mut plan).unwrap();
    assert_eq!(
        plan.render(),
        "+ create client A (a)\n    name: A\n~ update client Mine (m)\n    managed_by: (unset) -> latchkey-apply\n"
    );
    let Op::CreateClient(i) = &plan.steps[0].op else { panic!() };
    let body = create_body(&p.doc.clients[*i], None).unwrap();
    assert_eq!(body, json!({"client_id": "a", "name": "A", "managed_by": "latchkey-apply"}));
    let Op::UpdateClient { patch, revision, .. } = &plan.steps[1].op else { panic!() };
    assert_eq!(patch, &Some(json!({"managed_by": "latchkey-apply"})));
    assert_eq!(revision, &Some(1));
}

#[test]
fn create_needs_a_name() {
    let p = parsed("version: 1\nclients:\n  - client_id: a\n");
    let mut plan = Plan::default();
    let e = plan_clients(&p, &HashMap::new(), &HashSet::new(), &mut plan).unwrap_err();
    assert!(e.to_string().contains("a name is needed"), "{e}");
}

#[test]
fn creates_show_their_attributes_and_the_plan_is_data_too() {
    let p = parse(
        "version: 1\nscopes:\n  - name: api:read\n    description: Read\nsecurity_classes:\n  - name: billing\n    scopes: [api:read]\nclients:\n  - client_id: b\n    name: B\n    type: m2m\n    scopes: [api:read]\n    access_token_lifetime: 600\n    secret: {env: B_SECRET}\n",
        std::path::Path::new("."),
    )
    .unwrap();
    let mut plan = Plan::default();
    plan_catalog(&p, &[], &[], &mut plan);
    plan_clients(&p, &HashMap::new(), &HashSet::new(), &mut plan).unwrap();
    assert_eq!(
        plan.render(),
        "+ create scope api:read\n    description: Read\n\
         + create security class billing\n    scopes: [api:read]\n\
         + create client B (b)\n    name: B\n    type: m2m\n    scopes: [api:read]\n    access_token_lifetime: 600\n    secret: (env B_SECRET)\n"
    );
    let v = plan.to_value();
    assert_eq!(v["summary"], json!({"create": 3, "update": 0, "delete": 0, "unchanged": 0}));
    assert_eq!(
        v["steps"][2],
        json!({"action": "create", "type": "client", "id": "b", "secret": "env B_SECRET",
               "attributes": {"name": "B", "type": "m2m", "scopes": ["api:read"], "access_token_lifetime": 600}})
    );
}
