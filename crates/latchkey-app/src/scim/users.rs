//! SCIM `/Users`: the tenant's users as SCIM User resources. Create,
//! read, list, replace, patch and delete, each through `UserAdmin`'s
//! rules: validated fields, no roles, never a user holding a role, and a
//! disable or delete ends the user's sessions and tokens at once.

use std::collections::HashMap;

use latchkey_core::UserStatus;
use latchkey_store::{ScimAttributes, UserRecord};
use serde_json::{Map, Value, json};

use super::{
    ListQuery, PATCH_SCHEMA, ScimError, ScimResource, ScimService, USER_SCHEMA, base_url, check_if_match, finish,
    list_response, require_write,
};
use crate::admin::Actor;
use crate::admin::diff;
use crate::admin::users::{USER_ID_PREFIX, check_fields, is_name, user_authority};
use crate::tenants::TenantContext;

/// What a User resource may set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInput {
    pub user_name: String,
    pub external_id: Option<String>,
    pub display_name: String,
    pub email: Option<String>,
    pub active: bool,
    pub password: Option<String>,
    /// The `name` object as the connector wrote it (its string
    /// sub-attributes), kept so it reads back as written.
    pub name: Option<Map<String, Value>>,
    /// The `emails` list as written (`value`, `type`, `primary`, `display`).
    pub emails: Option<Vec<Value>>,
}

/// The most emails one user keeps.
const MAX_EMAILS: usize = 20;

/// The sub-attributes of `name` (RFC 7643 §4.1.1).
const NAME_PARTS: [&str; 6] =
    ["formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"];

fn get<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v).filter(|v| !v.is_null())
}

fn string(m: &Map<String, Value>, key: &str) -> Result<Option<String>, ScimError> {
    match get(m, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ScimError::invalid_value(format!("{key} is a string"))),
    }
}

fn boolean(v: &Value, key: &str) -> Result<bool, ScimError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ScimError::invalid_value(format!("{key} is a boolean"))),
    }
}

/// Reads a User resource from a request body.
///
/// # Errors
/// `invalidSyntax` for a body that is not a User; `invalidValue` for
/// attributes of the wrong type or a missing `userName`.
pub fn parse_user(body: &Value) -> Result<UserInput, ScimError> {
    let m = body.as_object().ok_or_else(|| ScimError::invalid_syntax("a User is a JSON object"))?;
    if let Some(s) = get(m, "schemas") {
        let named = s.as_array().is_some_and(|a| a.iter().any(|x| x.as_str() == Some(USER_SCHEMA)));
        if !named {
            return Err(ScimError::invalid_syntax(format!("schemas must name {USER_SCHEMA}")));
        }
    }
    let user_name = string(m, "userName")?.filter(|u| !u.is_empty());
    let user_name = user_name.ok_or_else(|| ScimError::invalid_value("userName is required"))?;
    let external_id = string(m, "externalId")?.filter(|x| !x.is_empty());
    if external_id.as_ref().is_some_and(|x| x.len() > 255) {
        return Err(ScimError::invalid_value("externalId is at most 255 characters"));
    }
    let name = match get(m, "name") {
        None => Map::new(),
        Some(Value::Object(n)) => {
            let mut kept = Map::new();
            for part in NAME_PARTS {
                if let Some(v) = string(n, part)?.filter(|v| !v.is_empty()) {
                    if v.chars().count() > 255 {
                        return Err(ScimError::invalid_value(format!("name.{part} is at most 255 characters")));
                    }
                    kept.insert(part.to_owned(), json!(v));
                }
            }
            kept
        }
        Some(_) => return Err(ScimError::invalid_value("name is a complex attribute")),
    };
    let display_name = match string(m, "displayName")? {
        Some(d) => d,
        None => match string(&name, "formatted")? {
            Some(f) => f,
            None => [string(&name, "givenName")?, string(&name, "familyName")?]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
        },
    };
    let active = get(m, "active").map(|v| boolean(v, "active")).transpose()?.unwrap_or(true);
    let emails = match get(m, "emails") {
        None => Vec::new(),
        Some(Value::Array(list)) if list.len() > MAX_EMAILS => {
            return Err(ScimError::invalid_value(format!("a user has at most {MAX_EMAILS} emails")));
        }
        Some(Value::Array(list)) => list.iter().map(email_entry).collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(ScimError::invalid_value("emails is a list")),
    };
    let primary = emails.iter().find(|e| e.get("primary").and_then(Value::as_bool) == Some(true));
    let email = primary.or(emails.first()).and_then(|e| e.get("value")).and_then(Value::as_str).map(str::to_owned);
    let name = (!name.is_empty()).then_some(name);
    let emails = (!emails.is_empty()).then_some(emails);
    let password = string(m, "password")?;
    Ok(UserInput { user_name, external_id, display_name, email, active, password, name, emails })
}

/// One entry of `emails`: a non-empty string `value`, and the `type`,
/// `primary` and `display` it may carry.
fn email_entry(e: &Value) -> Result<Value, ScimError> {
    let e = e.as_object().ok_or_else(|| ScimError::invalid_value("an email is an object"))?;
    let mut kept = Map::new();
    match get(e, "value") {
        Some(Value::String(v)) if !v.is_empty() && v.len() <= 254 => kept.insert("value".into(), json!(v)),
        _ => return Err(ScimError::invalid_value("an email's value is a string of at most 254 characters")),
    };
    for key in ["type", "display"] {
        if let Some(v) = string(e, key)? {
            if v.chars().count() > 255 {
                return Err(ScimError::invalid_value(format!("an email's {key} is at most 255 characters")));
            }
            kept.insert(key.into(), json!(v));
        }
    }
    if let Some(p) = get(e, "primary") {
        kept.insert("primary".into(), json!(boolean(p, "primary")?));
    }
    Ok(Value::Object(kept))
}

/// What SCIM stores of a user beyond the user row. The `name` is stored
/// with the display name it gave, so a display name changed elsewhere
/// (the admin API, the console) is not contradicted by a stale `name`.
#[must_use]
pub fn attributes_of(input: &UserInput) -> ScimAttributes {
    ScimAttributes {
        external_id: input.external_id.clone(),
        name: input.name.as_ref().map(|n| json!({"displayName": input.display_name, "name": n}).to_string()),
        emails: input.emails.as_ref().map(|l| Value::Array(l.clone()).to_string()),
    }
}

/// A user as a SCIM User resource, without `meta`: the `name` and `emails`
/// as the connector wrote them while they still agree with the user's
/// display name and email, else as the user row has them.
#[must_use]
pub fn user_json(u: &UserRecord, a: &ScimAttributes) -> Value {
    let mut m = Map::new();
    m.insert("schemas".into(), json!([USER_SCHEMA]));
    m.insert("id".into(), json!(u.user_id));
    if let Some(x) = &a.external_id {
        m.insert("externalId".into(), json!(x));
    }
    m.insert("userName".into(), json!(u.username));
    if !u.display_name.is_empty() {
        m.insert("displayName".into(), json!(u.display_name));
    }
    match written_name(u, a) {
        Some(n) => {
            m.insert("name".into(), n);
        }
        None if !u.display_name.is_empty() => {
            m.insert("name".into(), json!({"formatted": u.display_name}));
        }
        None => {}
    }
    m.insert("active".into(), json!(u.status.is_active()));
    let written: Option<Vec<Value>> = a.emails.as_deref().and_then(|l| serde_json::from_str(l).ok());
    let emails = written.filter(|list| {
        let primary = list.iter().find(|e| e.get("primary").and_then(Value::as_bool) == Some(true));
        primary.or(list.first()).and_then(|e| e.get("value")).and_then(Value::as_str) == u.email.as_deref()
    });
    match (emails, &u.email) {
        (Some(list), _) => {
            m.insert("emails".into(), Value::Array(list));
        }
        (None, Some(e)) => {
            m.insert("emails".into(), json!([{"value": e, "type": "work", "primary": true}]));
        }
        (None, None) => {}
    }
    if !u.groups.is_empty() {
        m.insert("groups".into(), Value::Array(u.groups.iter().map(|g| json!({"display": g})).collect()));
    }
    Value::Object(m)
}

/// The `name` object a connector wrote for a user, while the display name
/// it gave is still the user's (an administrator may have renamed them).
#[must_use]
pub(crate) fn written_name(u: &UserRecord, a: &ScimAttributes) -> Option<Value> {
    let written: Value = serde_json::from_str(a.name.as_deref()?).ok()?;
    if written.get("displayName").and_then(Value::as_str) != Some(u.display_name.as_str()) {
        return None;
    }
    written.get("name").cloned().filter(Value::is_object)
}

/// Group names to the ids of the SCIM groups over them.
type GroupIds = HashMap<String, String>;

fn resource(ctx: &TenantContext, u: &UserRecord, a: &ScimAttributes, groups: &GroupIds) -> ScimResource {
    let base = base_url(ctx);
    let location = format!("{base}/Users/{}", u.user_id);
    let mut body = user_json(u, a);
    if let Some(Value::Array(list)) = body.get_mut("groups") {
        for g in list {
            if let Some(id) = g.get("display").and_then(Value::as_str).and_then(|n| groups.get(n)).cloned() {
                g["$ref"] = json!(format!("{base}/Groups/{id}"));
                g["value"] = json!(id);
            }
        }
    }
    finish(body, "User", location, u.created_at, u.updated_at)
}

/// The canonical name of a writable User attribute (lower-cased path
/// head), or `None` for attributes this server does not keep.
fn canonical(head: &str) -> Result<Option<&'static str>, ScimError> {
    Ok(Some(match head {
        "username" => "userName",
        "externalid" => "externalId",
        "displayname" => "displayName",
        "active" => "active",
        "emails" => "emails",
        "name" => "name",
        "password" => "password",
        "id" | "meta" | "groups" | "schemas" => {
            return Err(ScimError::new(400, Some("mutability"), format!("{head} cannot be changed here")));
        }
        _ => return Ok(None),
    }))
}

/// Applies one PATCH operation (RFC 7644 §3.5.2) to a User's attributes.
fn apply(doc: &mut Map<String, Value>, op: &str, path: Option<&str>, value: Option<&Value>) -> Result<(), ScimError> {
    let Some(path) = path.filter(|p| !p.trim().is_empty()) else {
        if op == "remove" {
            return Err(ScimError::new(400, Some("noTarget"), "remove needs a path"));
        }
        let Some(Value::Object(v)) = value else {
            return Err(ScimError::invalid_value("an operation without a path takes an object"));
        };
        for (k, x) in v {
            apply(doc, op, Some(k), Some(x))?;
        }
        return Ok(());
    };
    // `emails[type eq "work"].value`: entries of `emails` chosen by a
    // filter on their `type` or `value`.
    let mut chosen: Option<(String, String)> = None;
    let (head, sub) = if let Some((attr, rest)) = path.split_once('[') {
        let attr = latchkey_core::scim::attribute_path(attr).map_err(|e| invalid_path(&e.0))?;
        let Some((filter, tail)) = rest.split_once(']').filter(|_| attr == "emails") else {
            return Err(invalid_path(&format!("{path} is not a path this server can apply")));
        };
        chosen = Some(
            email_filter(filter).ok_or_else(|| invalid_path(&format!("{filter} is not a filter on type or value")))?,
        );
        let tail = tail.trim_start_matches('.');
        ("emails".to_owned(), Some(tail.to_ascii_lowercase()).filter(|t| !t.is_empty()))
    } else {
        let p = latchkey_core::scim::attribute_path(path).map_err(|e| invalid_path(&e.0))?;
        match p.split_once('.') {
            Some((h, s)) => (h.to_owned(), Some(s.to_owned())),
            None => (p, None),
        }
    };
    let Some(key) = canonical(&head)? else { return Ok(()) };
    let matches = |e: &Value| {
        chosen.as_ref().is_none_or(|(attr, want)| {
            e.get(attr).and_then(Value::as_str).is_some_and(|v| v.eq_ignore_ascii_case(want))
        })
    };
    if op == "remove" {
        match (key, sub.as_deref()) {
            ("emails", _) if chosen.is_some() => {
                if let Some(Value::Array(list)) = doc.get_mut("emails") {
                    list.retain(|e| !matches(e));
                }
            }
            ("name", Some(s)) => {
                if let Some(Value::Object(n)) = doc.get_mut("name") {
                    n.retain(|k, _| !k.eq_ignore_ascii_case(s));
                }
                if s == "formatted" {
                    doc.remove("displayName");
                }
            }
            // A user is always active or disabled (RFC 7644 §3.5.2.2: a
            // required attribute is not removed). Removing it used to read
            // as the default, `true`: a disabled user came back.
            ("active", _) => {
                return Err(ScimError::new(400, Some("mutability"), "active is required: set it to true or false"));
            }
            // One display name stands behind both attributes.
            ("name" | "displayName", _) => {
                doc.remove("name");
                doc.remove("displayName");
            }
            _ => {
                doc.remove(key);
            }
        }
        return Ok(());
    }
    let value = value.ok_or_else(|| ScimError::invalid_value(format!("{op} needs a value")))?.clone();
    match (key, sub.as_deref()) {
        ("emails", Some(field)) => {
            let list = doc.entry("emails").or_insert_with(|| json!([]));
            if !list.is_array() {
                *list = json!([]);
            }
            let Value::Array(list) = list else { return Ok(()) };
            let mut hit = false;
            for e in list.iter_mut().filter(|e| matches(e)) {
                if let Value::Object(o) = e {
                    o.insert(field.to_owned(), value.clone());
                    hit = true;
                }
            }
            if !hit {
                // Nothing matched: a new entry, and the user's email from now
                // on (the one primary: the others stop being it).
                for e in list.iter_mut() {
                    if let Value::Object(o) = e {
                        o.remove("primary");
                    }
                }
                let mut e = Map::new();
                if let Some((attr, want)) = &chosen {
                    e.insert(attr.clone(), json!(want));
                }
                e.insert(field.to_owned(), value);
                e.insert("primary".into(), json!(true));
                list.push(Value::Object(e));
            }
        }
        ("emails", None) => {
            let new = if let Value::Array(v) = value { v } else { vec![value] };
            match (op, doc.get_mut("emails")) {
                // Adding to a multi-valued attribute adds values (RFC 7644
                // §3.5.2.1); an entry already there is not doubled.
                ("add", Some(Value::Array(list))) => {
                    for e in new {
                        if !list.contains(&e) {
                            list.push(e);
                        }
                    }
                }
                _ => {
                    doc.insert("emails".into(), Value::Array(new));
                }
            }
        }
        ("name", Some(s)) => {
            let name = doc.entry("name").or_insert_with(|| json!({}));
            if let Value::Object(n) = name {
                n.insert(s.to_owned(), value);
            }
            if s == "formatted" || s == "givenname" || s == "familyname" {
                doc.remove("displayName");
            }
        }
        ("name", None) => {
            doc.remove("displayName");
            // Adding to a complex attribute sets the sub-attributes given.
            match (op, doc.get_mut("name"), value) {
                ("add", Some(Value::Object(n)), Value::Object(v)) => n.extend(v),
                (_, _, v) => {
                    doc.insert("name".into(), v);
                }
            }
        }
        (k, None) => {
            doc.insert(k.to_owned(), value);
        }
        (_, Some(_)) => return Err(invalid_path(&format!("{path} is not a path this server can apply"))),
    }
    Ok(())
}

/// `type eq "work"` or `value eq "a@example.com"`: the attribute and value
/// a filter on `emails` entries compares (the only filters applied here).
fn email_filter(filter: &str) -> Option<(String, String)> {
    let mut parts = filter.trim().splitn(3, ' ');
    let attr = parts.next()?.to_ascii_lowercase();
    let op = parts.next()?;
    let want = parts.next()?.trim().strip_prefix('"')?.strip_suffix('"')?;
    (matches!(attr.as_str(), "type" | "value") && op.eq_ignore_ascii_case("eq")).then(|| (attr, want.to_owned()))
}

fn invalid_path(detail: &str) -> ScimError {
    ScimError::new(400, Some("invalidPath"), detail)
}

/// Applies a PatchOp request to a user's resource and reads the result.
///
/// # Errors
/// `invalidSyntax` for a malformed PatchOp; the errors of [`parse_user`].
pub fn patch_user(current: &Value, body: &Value) -> Result<UserInput, ScimError> {
    let m = body.as_object().ok_or_else(|| ScimError::invalid_syntax("a PatchOp is a JSON object"))?;
    let named = get(m, "schemas").and_then(Value::as_array).is_some_and(|a| a.iter().any(|x| x == PATCH_SCHEMA));
    if !named {
        return Err(ScimError::invalid_syntax(format!("schemas must name {PATCH_SCHEMA}")));
    }
    let ops = get(m, "Operations").and_then(Value::as_array);
    let ops = ops.filter(|o| !o.is_empty()).ok_or_else(|| ScimError::invalid_syntax("Operations is a list"))?;
    let mut doc = current.as_object().cloned().unwrap_or_default();
    doc.retain(|k, _| !matches!(k.as_str(), "id" | "meta" | "groups"));
    for o in ops {
        let o = o.as_object().ok_or_else(|| ScimError::invalid_syntax("an operation is an object"))?;
        let op = get(o, "op").and_then(Value::as_str).map(str::to_ascii_lowercase);
        let op = op.filter(|op| matches!(op.as_str(), "add" | "replace" | "remove"));
        let op = op.ok_or_else(|| ScimError::invalid_syntax("op is add, replace or remove"))?;
        let path = match get(o, "path") {
            None => None,
            Some(Value::String(p)) => Some(p.as_str()),
            Some(_) => return Err(invalid_path("path is a string")),
        };
        apply(&mut doc, &op, path, o.iter().find(|(k, _)| k.eq_ignore_ascii_case("value")).map(|(_, v)| v))?;
    }
    parse_user(&Value::Object(doc))
}

impl ScimService {
    async fn group_ids(&self, ctx: &TenantContext) -> Result<GroupIds, ScimError> {
        let groups = self.kernel.store.list_scim_groups(&ctx.id).await.map_err(crate::AppError::from)?;
        Ok(groups.into_iter().map(|g| (g.display_name, g.group_id)).collect())
    }

    async fn load(&self, ctx: &TenantContext, id: &str) -> Result<(UserRecord, ScimAttributes), ScimError> {
        let user = self.kernel.store.get_user(&ctx.id, id).await.map_err(crate::AppError::from)?;
        let user = user.ok_or_else(|| ScimError::new(404, None, format!("no user {id}")))?;
        let attrs = self.kernel.store.scim_attributes(&ctx.id, id).await.map_err(crate::AppError::from)?;
        Ok((user, attrs))
    }

    /// A user the connector may change: it writes, and the user holds no role.
    async fn load_for_change(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(UserRecord, ScimAttributes), ScimError> {
        require_write(actor)?;
        let (user, ext) = self.load(ctx, id).await?;
        actor.require_authority_over(user_authority(&user.roles), "this user")?;
        check_if_match(if_match, &resource(ctx, &user, &ext, &self.group_ids(ctx).await?).version)?;
        Ok((user, ext))
    }

    /// # Errors
    /// 404 for an unknown user.
    pub async fn get_user(&self, ctx: &TenantContext, id: &str) -> Result<ScimResource, ScimError> {
        let (user, ext) = self.load(ctx, id).await?;
        Ok(resource(ctx, &user, &ext, &self.group_ids(ctx).await?))
    }

    /// Users filtered, sorted and paged (RFC 7644 §3.4.2).
    ///
    /// # Errors
    /// `invalidFilter`, `invalidValue`; 503 without a database.
    pub async fn list_users(&self, ctx: &TenantContext, q: &ListQuery) -> Result<Value, ScimError> {
        list_response(self.user_bodies(ctx).await?, q)
    }

    /// Every user of the tenant as a SCIM resource, by username.
    pub(crate) async fn user_bodies(&self, ctx: &TenantContext) -> Result<Vec<Value>, ScimError> {
        let store = &self.kernel.store;
        let ext: std::collections::HashMap<String, ScimAttributes> =
            store.scim_attributes_all(&ctx.id).await.map_err(crate::AppError::from)?.into_iter().collect();
        let none = ScimAttributes::default();
        let groups = self.group_ids(ctx).await?;
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = store.list_users(&ctx.id, None, after.as_deref(), 500).await.map_err(crate::AppError::from)?;
            let full = page.len() == 500;
            after = page.last().map(|u| u.username.to_lowercase());
            all.extend(page.iter().map(|u| resource(ctx, u, ext.get(&u.user_id).unwrap_or(&none), &groups).body));
            if !full {
                break;
            }
        }
        Ok(all)
    }

    /// # Errors
    /// 403 without `users:write`; 400 `invalidValue`; 409 `uniqueness`.
    pub async fn create_user(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        body: &Value,
    ) -> Result<ScimResource, ScimError> {
        require_write(actor)?;
        let input = parse_user(body)?;
        check_user_fields(&input, actor)?;
        let attrs = attributes_of(&input);
        let password = input.password.clone().unwrap_or_else(|| self.kernel.random_id(18));
        let now = self.kernel.now();
        let rec = UserRecord {
            user_id: format!("{USER_ID_PREFIX}{}", self.kernel.random_id(12)),
            username: input.user_name,
            email: input.email,
            display_name: input.display_name,
            password_hash: self.kernel.hash_password(&password).await?,
            status: UserStatus::from_active(input.active),
            roles: Vec::new(),
            groups: Vec::new(),
            created_at: now,
            updated_at: now,
            token_epoch: self.kernel.new_epoch(),
        };
        let made = resource(ctx, &rec, &attrs, &GroupIds::new());
        let changes = diff(&json!({}), &user_json(&rec, &attrs));
        let audit = self.kernel.audit_record(actor, "user.create", "user", &rec.user_id, &changes);
        self.kernel.store.insert_scim_user(&ctx.id, &rec, &attrs, &audit).await.map_err(
            |e| match crate::AppError::from(e) {
                crate::AppError::Conflict(_) => ScimError::new(409, Some("uniqueness"), "userName is taken"),
                other => other.into(),
            },
        )?;
        Ok(made)
    }

    /// PUT: replaces what SCIM sets of a user.
    ///
    /// # Errors
    /// As [`Self::create_user`]; 404; 412 on a stale `If-Match`; 403 for a
    /// user holding a role.
    pub async fn replace_user(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<ScimResource, ScimError> {
        let (before, ext) = self.load_for_change(ctx, actor, id, if_match).await?;
        let mut input = parse_user(body)?;
        if body.as_object().is_some_and(|m| get(m, "active").is_none()) {
            // A replacement that does not say keeps the status: leaving
            // `active` out never re-enables a deprovisioned user.
            input.active = before.status.is_active();
        }
        self.write(ctx, actor, &before, ext, input).await
    }

    /// PATCH: add, replace and remove operations on a user.
    ///
    /// # Errors
    /// As [`Self::replace_user`]; `invalidSyntax` / `invalidPath` for a
    /// malformed PatchOp.
    pub async fn patch_user(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<ScimResource, ScimError> {
        let (before, ext) = self.load_for_change(ctx, actor, id, if_match).await?;
        let input = patch_user(&user_json(&before, &ext), body)?;
        self.write(ctx, actor, &before, ext, input).await
    }

    /// Deletes a user, ending its sessions and tokens.
    ///
    /// # Errors
    /// 403, 404, 412 as for a change.
    pub async fn delete_user(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), ScimError> {
        self.load_for_change(ctx, actor, id, if_match).await?;
        Ok(self.users.delete_user(ctx, actor, id).await?)
    }

    async fn write(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        before: &UserRecord,
        before_ext: ScimAttributes,
        input: UserInput,
    ) -> Result<ScimResource, ScimError> {
        check_user_fields(&input, actor)?;
        let attrs = attributes_of(&input);
        let mut after = before.clone();
        after.username = input.user_name;
        after.email = input.email;
        after.display_name = input.display_name;
        after.status = UserStatus::from_active(input.active);
        if let Some(p) = &input.password {
            after.password_hash = self.kernel.hash_password(p).await?;
        }
        after.updated_at = self.kernel.now();
        let action = match (before.status.is_active(), input.active) {
            (true, false) => "user.disable",
            (false, true) => "user.enable",
            _ => "user.update",
        };
        let mut changes = diff(&user_json(before, &before_ext), &user_json(&after, &attrs));
        if input.password.is_some()
            && let Value::Object(m) = &mut changes
        {
            m.insert("password".into(), json!({"before": "(set)", "after": "(changed)"}));
        }
        let audit = self.kernel.audit_record(actor, action, "user", &before.user_id, &changes);
        let written = self.kernel.store.update_scim_user(&ctx.id, &after, &attrs, &audit).await.map_err(|e| {
            match crate::AppError::from(e) {
                crate::AppError::Conflict(_) => ScimError::new(409, Some("uniqueness"), "userName is taken"),
                other => other.into(),
            }
        })?;
        if !written {
            return Err(ScimError::new(404, None, format!("no user {}", before.user_id)));
        }
        if input.password.is_some() || action == "user.disable" {
            // The same path as a disable or password reset in the admin API.
            self.users.sign_out_everywhere(ctx, &before.user_id).await?;
        }
        // Read back: the database moved the token epoch.
        let (user, ext) = self.load(ctx, &before.user_id).await?;
        Ok(resource(ctx, &user, &ext, &self.group_ids(ctx).await?))
    }
}

fn check_user_fields(input: &UserInput, actor: &Actor) -> Result<(), ScimError> {
    if !is_name(&input.user_name, 64) {
        return Err(ScimError::invalid_value("userName is 1-64 letters, digits and . _ - @"));
    }
    check_fields(input.email.as_deref(), &input.display_name, &[], &[], actor)?;
    Ok(())
}
