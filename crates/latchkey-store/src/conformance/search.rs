//! Conformance cases for client search: filters, sorts, keyset pages, and
//! every search strategy an adapter may pick, against a plain filter.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support: failing loudly is the point

use super::*;

pub async fn search_filters_sorts_and_pages(store: Arc<dyn Store>) {
    use crate::{ClientQuery, ClientSort, SortKey};
    let t = with_tenant(&*store, "acme").await;
    for (i, (name, kind, grant, label)) in [
        ("Alpha Billing", ClientType::M2m, GrantType::ClientCredentials, "team=payments"),
        ("beta web", ClientType::Web, GrantType::AuthorizationCode, "team=web"),
        ("Gamma_100% tool", ClientType::M2m, GrantType::ClientCredentials, "team=payments"),
        ("delta", ClientType::Device, GrantType::DeviceCode, "env=prod"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut c = client(&t, &format!("id-{i}"), name, 2_000 + i64::try_from(i).unwrap());
        c.client_type = kind;
        c.config.grant_types = vec![grant];
        let (k, v) = label.split_once('=').unwrap();
        c.config.labels.insert(k.into(), v.into());
        store.insert_client(&c, &[], &audit("c", name)).await.unwrap();
    }
    let names = |v: Vec<Client>| v.into_iter().map(|c| c.name).collect::<Vec<_>>();
    let q = |f: fn(&mut ClientQuery)| {
        let mut q = ClientQuery { limit: 100, ..ClientQuery::default() };
        f(&mut q);
        q
    };
    let run = |query: ClientQuery| {
        let store = store.clone();
        let t = t.clone();
        async move { names(store.search_clients(&t, &query, 10_000).await.unwrap()) }
    };
    assert_eq!(run(q(|q| q.q = Some("BILLING".into()))).await, vec!["Alpha Billing"]);
    // '%' and '_' in the search are literal characters, not wildcards.
    assert_eq!(run(q(|q| q.q = Some("100%".into()))).await, vec!["Gamma_100% tool"]);
    assert_eq!(run(q(|q| q.q = Some("ma%1".into()))).await, Vec::<String>::new(), "% is literal");
    assert_eq!(run(q(|q| q.q = Some("gamma_1".into()))).await, vec!["Gamma_100% tool"]);
    assert_eq!(run(q(|q| q.q = Some("alph_".into()))).await, Vec::<String>::new(), "_ is literal");
    assert_eq!(run(q(|q| q.q = Some("ID-3".into()))).await, vec!["delta"], "search covers client_id");
    assert_eq!(run(q(|q| q.client_type = Some("web".into()))).await, vec!["beta web"]);
    assert_eq!(run(q(|q| q.grant_type = Some("client_credentials".into()))).await.len(), 3, "with the boot client");
    assert_eq!(run(q(|q| q.grant_type = Some("client".into()))).await.len(), 0, "whole grant names only");
    assert_eq!(run(q(|q| q.label = Some("team=payments".into()))).await.len(), 2);
    // The count of a search is the number of its matches, whatever the page.
    let count = |query: ClientQuery, cap: u32| {
        let store = store.clone();
        let t = t.clone();
        async move { store.count_clients(&t, &query, cap).await.unwrap() }
    };
    assert_eq!(count(q(|_| ()), 100).await, 5, "every client, the boot client too");
    assert_eq!(count(q(|q| q.label = Some("team=payments".into())), 100).await, 2);
    assert_eq!(count(q(|q| q.q = Some("100%".into())), 100).await, 1, "% is literal in a count too");
    assert_eq!(count(q(|q| q.grant_type = Some("client_credentials".into())), 100).await, 3);
    assert_eq!(count(q(|q| q.limit = 1), 100).await, 5, "the page size does not bound a count");
    assert_eq!(count(q(|_| ()), 3).await, 4, "counts stop at cap + 1: more than the cap");
    assert_eq!(store.count_clients(&with_tenant(&*store, "empty").await, &q(|_| ()), 100).await.unwrap(), 1);
    assert_eq!(
        run(q(|q| q.sort = ClientSort::NameAsc)).await,
        vec!["Alpha Billing", "beta web", "Boot Client", "delta", "Gamma_100% tool"]
    );
    assert_eq!(run(q(|q| q.sort = ClientSort::CreatedDesc)).await[0], "delta");
    // Keyset paging by name, descending: two pages of two, then the rest.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .search_clients(
                &t,
                &ClientQuery { sort: ClientSort::NameDesc, after: after.clone(), limit: 2, ..ClientQuery::default() },
                0,
            )
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some((SortKey::Text(last.name.to_lowercase()), last.client_id.to_string()));
        seen.extend(page.into_iter().map(|c| c.name));
    }
    assert_eq!(seen, vec!["Gamma_100% tool", "delta", "Boot Client", "beta web", "Alpha Billing"]);
    // Usage and secret expiry filters.
    store
        .record_usage(&[crate::Usage { tenant: t.clone(), client_id: "id-0".into(), secret_id: None, at: 9_000 }])
        .await
        .unwrap();
    let unused = run(q(|q| q.unused_since = Some(8_000))).await;
    assert!(!unused.contains(&"Alpha Billing".to_owned()) && unused.contains(&"beta web".to_owned()));
    let mut s = secret("exp");
    s.expires_at = Some(5_000);
    assert!(
        store.add_secret(&t, &ClientId::parse("id-1").unwrap(), &s, None, 5, 1_000, &audit("s", "1")).await.unwrap()
    );
    assert_eq!(run(q(|q| q.secret_expires_between = Some((4_000, 6_000)))).await, vec!["beta web"]);
    assert!(run(q(|q| q.secret_expires_between = Some((5_000, 6_000)))).await.is_empty());
}

/// Large enough for every search strategy an adapter may pick (a trigram
/// probe with few matches, a bounded ordered scan, the index after a window
/// that held too few, a complete scan): each must give exactly what a plain
/// filter over the rows gives, in order, page after page.
pub async fn search_at_scale_matches_a_plain_filter(store: Arc<dyn Store>) {
    use crate::{ClientQuery, ClientSort, SortKey};
    let t = with_tenant(&*store, "acme").await;
    let other = with_tenant(&*store, "other").await;
    const N: usize = 10_600;
    let describe = |i: usize| {
        let mut d = format!("group {} unit", i % 7);
        if [3, 5_000, 10_500].contains(&i) {
            d.push_str(" rare-marker");
        }
        if i >= 10_000 {
            d.push_str(" late arrival");
        }
        d
    };
    let uri = |s: &str| latchkey_core::redirect::RedirectUri::parse_syntax(s).unwrap();
    let mut all = Vec::with_capacity(N);
    for i in 0..N {
        let mut c = client(
            &t,
            &format!("item-{i:05}"),
            &format!("Item {:05}", (i * 7_919) % N),
            5_000 + i64::try_from(i / 3).unwrap(),
        );
        c.description = describe(i);
        // Redirect URIs are searched too: a few rare ones, and a common one.
        if [7, 6_000, 10_400].contains(&i) {
            c.config.redirect_uris = vec![uri(&format!("https://callback.rare.example/CB{i}"))];
        } else if i % 10 == 0 {
            c.config.redirect_uris = vec![uri("https://app.example/signin"), uri("http://127.0.0.1:8080/cb")];
        }
        all.push(c);
    }
    for chunk in all.chunks(2_000) {
        let batch: Vec<ClientInsert> = chunk
            .iter()
            .map(|c| ClientInsert { client: c.clone(), secrets: vec![], audit: audit("client.create", "x") })
            .collect();
        store.insert_clients(&t, &batch).await.unwrap();
    }
    // Another tenant's rows match the same needles and must never appear.
    let mut theirs = client(&other, "item-00003", "Item rare-marker late arrival", 5_000);
    theirs.description = "group 1 unit rare-marker late arrival".into();
    store.insert_client(&theirs, &[], &audit("c", "o")).await.unwrap();

    let key = |c: &Client, sort: ClientSort| match sort {
        ClientSort::CreatedAsc | ClientSort::CreatedDesc => SortKey::Int(c.created_at),
        ClientSort::NameAsc | ClientSort::NameDesc => SortKey::Text(c.name.to_lowercase()),
        ClientSort::LastUsedDesc => SortKey::Int(c.last_used_at.unwrap_or(0)),
    };
    let expected = |needle: &str, sort: ClientSort| {
        let mut v: Vec<&Client> = all
            .iter()
            .filter(|c| {
                let uris: Vec<String> = c.config.redirect_uris.iter().map(|u| u.as_str().to_lowercase()).collect();
                let text =
                    format!("{} {} {}", c.name.to_lowercase(), c.client_id.as_str(), c.description.to_lowercase());
                text.contains(needle) || uris.iter().any(|u| u.contains(needle))
            })
            .collect();
        v.sort_by(|a, b| (key(a, sort), a.client_id.as_str()).cmp(&(key(b, sort), b.client_id.as_str())));
        if matches!(sort, ClientSort::CreatedDesc | ClientSort::NameDesc | ClientSort::LastUsedDesc) {
            v.reverse();
        }
        v.into_iter().map(|c| c.client_id.to_string()).collect::<Vec<_>>()
    };
    for needle in [
        "rare-marker",
        "late arrival",
        "group 3",
        "unit",
        "item 0",
        "item-0999",
        "item 00007 item-",
        "callback.rare",
        "app.example/signin",
        "127.0.0.1:8080",
    ] {
        for sort in [ClientSort::CreatedAsc, ClientSort::CreatedDesc, ClientSort::NameAsc, ClientSort::NameDesc] {
            let want = expected(needle, sort);
            // Three pages of 50 (or all there is), each continuing the last.
            let mut got = Vec::new();
            let mut after = None;
            for _ in 0..3 {
                let q = ClientQuery {
                    q: Some(needle.to_uppercase()),
                    sort,
                    after: after.clone(),
                    limit: 50,
                    ..ClientQuery::default()
                };
                let page = store.search_clients(&t, &q, 0).await.unwrap();
                let Some(last) = page.last() else { break };
                after = Some((key(last, sort), last.client_id.to_string()));
                got.extend(page.iter().map(|c| c.client_id.to_string()));
            }
            let n = want.len().min(150);
            assert_eq!(got, want[..n], "needle {needle:?}, sort {sort:?}");
        }
        // Counted by whichever strategy the adapter picks, and bounded.
        let q = ClientQuery { q: Some(needle.to_uppercase()), limit: 50, ..ClientQuery::default() };
        let want = u64::try_from(expected(needle, ClientSort::CreatedAsc).len()).unwrap();
        assert_eq!(store.count_clients(&t, &q, 20_000).await.unwrap(), want, "count of {needle:?}");
        assert_eq!(store.count_clients(&t, &q, 100).await.unwrap(), want.min(101), "capped count of {needle:?}");
    }
}

/// The text search matches redirect URIs (issue 17): what is stored on
/// insert, what an update changes, case-insensitive, per tenant.
pub async fn search_matches_redirect_uris(store: Arc<dyn Store>) {
    use crate::ClientQuery;
    let t = with_tenant(&*store, "acme").await;
    let other = with_tenant(&*store, "other").await;
    let uri = |s: &str| latchkey_core::redirect::RedirectUri::parse_syntax(s).unwrap();
    let mut portal = client(&t, "portal", "Portal", 1_000);
    portal.config.redirect_uris = vec![uri("https://portal.example.com/OAuth/Callback"), uri("com.example.app:/cb")];
    store.insert_client(&portal, &[], &audit("c", "portal")).await.unwrap();
    let mut batch = client(&t, "batch", "Batch", 1_001);
    batch.config.redirect_uris = vec![uri("https://batch.example.net/cb")];
    store.insert_clients(&t, &[ClientInsert { client: batch, secrets: vec![], audit: audit("c", "b") }]).await.unwrap();
    let mut theirs = client(&other, "portal", "Theirs", 1_000);
    theirs.config.redirect_uris = vec![uri("https://portal.example.com/oauth/callback")];
    store.insert_client(&theirs, &[], &audit("c", "o")).await.unwrap();
    let find = |needle: &'static str| {
        let store = store.clone();
        let t = t.clone();
        async move {
            let q = ClientQuery { q: Some(needle.into()), limit: 10, ..ClientQuery::default() };
            let n = store.count_clients(&t, &q, 100).await.unwrap();
            let ids: Vec<String> =
                store.search_clients(&t, &q, 0).await.unwrap().into_iter().map(|c| c.client_id.to_string()).collect();
            assert_eq!(u64::try_from(ids.len()).unwrap(), n, "count of {needle:?}");
            ids
        }
    };
    assert_eq!(find("portal.example.com/oauth").await, ["portal"]);
    assert_eq!(find("OAUTH/CALLBACK").await, ["portal"], "case does not matter");
    assert_eq!(find("com.example.app:/").await, ["portal"], "private-use schemes too");
    assert_eq!(find("batch.example.net").await, ["batch"], "batch inserts are searchable");
    assert_eq!(find(".example.").await, ["portal", "batch"]);
    assert_eq!(find("/c").await, ["portal", "batch"], "a needle shorter than a trigram");
    // An update replaces what is searched.
    let (mut current, _) = store.get_client_with_secrets(&t, &portal.client_id).await.unwrap().unwrap();
    current.config.redirect_uris = vec![uri("https://new.example.org/return")];
    assert!(store.update_client(&current, current.revision, &audit("u", "portal")).await.unwrap());
    assert_eq!(find("new.example.org/return").await, ["portal"]);
    assert!(find("oauth/callback").await.is_empty(), "the old URI is no longer found");
    assert_eq!(find("portal").await, ["portal"], "the name is still found");
}
