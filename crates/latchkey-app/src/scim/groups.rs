//! SCIM `/Groups`: groups as first-class objects whose members are the
//! users holding the group's name in their `groups` (what clients'
//! `allowed_groups` read), kept in sync in one transaction. A change that
//! would add or remove a user holding a role is refused, like any change
//! to such a user.

use std::collections::BTreeSet;

use latchkey_store::ScimGroupRecord;
use serde_json::{Map, Value, json};

use super::{
    GROUP_SCHEMA, ListQuery, PATCH_SCHEMA, ScimError, ScimResource, ScimService, base_url, check_if_match, finish,
    list_response, require_write, values_at,
};
use crate::AppError;
use crate::admin::Actor;
use crate::admin::diff;
use crate::admin::users::{is_name, user_authority};
use crate::tenants::TenantContext;

/// What a Group resource may set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInput {
    pub display_name: String,
    pub external_id: Option<String>,
    /// User ids, without repeats.
    pub members: Vec<String>,
}

fn get<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v).filter(|v| !v.is_null())
}

fn member_ids(v: Option<&Value>) -> Result<Vec<String>, ScimError> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let list = v.as_array().ok_or_else(|| ScimError::invalid_value("members is a list"))?;
    let mut out = Vec::new();
    for m in list {
        match m.get("value") {
            Some(Value::String(id)) if !out.contains(id) => out.push(id.clone()),
            Some(Value::String(_)) => {}
            _ => return Err(ScimError::invalid_value("a member's value is a user id")),
        }
    }
    Ok(out)
}

/// Reads a Group resource from a request body.
///
/// # Errors
/// `invalidSyntax` for a body that is not a Group; `invalidValue` for
/// attributes of the wrong type or a missing `displayName`.
pub fn parse_group(body: &Value) -> Result<GroupInput, ScimError> {
    let m = body.as_object().ok_or_else(|| ScimError::invalid_syntax("a Group is a JSON object"))?;
    if let Some(s) = get(m, "schemas") {
        let named = s.as_array().is_some_and(|a| a.iter().any(|x| x.as_str() == Some(GROUP_SCHEMA)));
        if !named {
            return Err(ScimError::invalid_syntax(format!("schemas must name {GROUP_SCHEMA}")));
        }
    }
    let display_name = match get(m, "displayName") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(ScimError::invalid_value("displayName is required")),
    };
    let external_id = match get(m, "externalId") {
        None => None,
        Some(Value::String(s)) if s.len() <= 255 => Some(s.clone()).filter(|s| !s.is_empty()),
        Some(_) => return Err(ScimError::invalid_value("externalId is a string of at most 255 characters")),
    };
    Ok(GroupInput { display_name, external_id, members: member_ids(get(m, "members"))? })
}

/// A group as a SCIM Group resource, without `meta`.
#[must_use]
pub fn group_json(ctx: &TenantContext, g: &ScimGroupRecord, members: &[(String, String)]) -> Value {
    let mut m = Map::new();
    m.insert("schemas".into(), json!([GROUP_SCHEMA]));
    m.insert("id".into(), json!(g.group_id));
    if let Some(x) = &g.external_id {
        m.insert("externalId".into(), json!(x));
    }
    m.insert("displayName".into(), json!(g.display_name));
    let base = base_url(ctx);
    let list = members.iter().map(|(id, _)| json!({"value": id, "$ref": format!("{base}/Users/{id}")})).collect();
    m.insert("members".into(), Value::Array(list));
    Value::Object(m)
}

fn resource(ctx: &TenantContext, g: &ScimGroupRecord, members: &[(String, String)]) -> ScimResource {
    let location = format!("{}/Groups/{}", base_url(ctx), g.group_id);
    finish(group_json(ctx, g, members), "Group", location, g.created_at, g.updated_at)
}

fn invalid_path(detail: &str) -> ScimError {
    ScimError::new(400, Some("invalidPath"), detail)
}

/// Applies one PATCH operation to a Group's attributes.
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
    // `members[value eq "id"]`: the members matching the filter.
    if let Some((attr, rest)) = path.split_once('[') {
        let attr = latchkey_core::scim::attribute_path(attr).map_err(|e| invalid_path(&e.0))?;
        let inner = rest.strip_suffix(']').filter(|_| attr == "members" && op == "remove");
        let inner = inner.ok_or_else(|| invalid_path(&format!("{path} is not a path this server can apply")))?;
        let f = latchkey_core::scim::parse_filter(inner)?;
        if let Some(Value::Array(list)) = doc.get_mut("members") {
            list.retain(|m| !f.matches(&|p: &str| values_at(m, p)));
        }
        return Ok(());
    }
    let head = latchkey_core::scim::attribute_path(path).map_err(|e| invalid_path(&e.0))?;
    let key = match head.as_str() {
        "displayname" => "displayName",
        "externalid" => "externalId",
        "members" => "members",
        "id" | "meta" | "schemas" => {
            return Err(ScimError::new(400, Some("mutability"), format!("{head} cannot be changed")));
        }
        _ => return Err(invalid_path(&format!("{path} is not an attribute of a Group"))),
    };
    if op == "remove" {
        doc.remove(key);
        return Ok(());
    }
    let value = value.ok_or_else(|| ScimError::invalid_value(format!("{op} needs a value")))?.clone();
    if key == "members" && op == "add" {
        let more = if value.is_array() { value } else { json!([value]) };
        let list = doc.entry("members").or_insert_with(|| json!([]));
        if let (Value::Array(list), Value::Array(more)) = (list, more) {
            list.extend(more);
        }
    } else {
        doc.insert(key.to_owned(), value);
    }
    Ok(())
}

/// Applies a PatchOp request to a group's resource and reads the result.
///
/// # Errors
/// `invalidSyntax` for a malformed PatchOp; the errors of [`parse_group`].
pub fn patch_group(current: &Value, body: &Value) -> Result<GroupInput, ScimError> {
    let m = body.as_object().ok_or_else(|| ScimError::invalid_syntax("a PatchOp is a JSON object"))?;
    let named = get(m, "schemas").and_then(Value::as_array).is_some_and(|a| a.iter().any(|x| x == PATCH_SCHEMA));
    if !named {
        return Err(ScimError::invalid_syntax(format!("schemas must name {PATCH_SCHEMA}")));
    }
    let ops = get(m, "Operations").and_then(Value::as_array);
    let ops = ops.filter(|o| !o.is_empty()).ok_or_else(|| ScimError::invalid_syntax("Operations is a list"))?;
    let mut doc = current.as_object().cloned().unwrap_or_default();
    doc.retain(|k, _| !matches!(k.as_str(), "id" | "meta"));
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
        apply(&mut doc, &op, path, get(o, "value"))?;
    }
    parse_group(&Value::Object(doc))
}

impl ScimService {
    async fn load_group(
        &self,
        ctx: &TenantContext,
        id: &str,
    ) -> Result<(ScimGroupRecord, Vec<(String, String)>), ScimError> {
        let store = &self.kernel.store;
        let g = store.get_scim_group(&ctx.id, id).await.map_err(AppError::from)?;
        let g = g.ok_or_else(|| ScimError::new(404, None, format!("no group {id}")))?;
        let members = store.group_members(&ctx.id, &g.display_name).await.map_err(AppError::from)?;
        Ok((g, members))
    }

    /// # Errors
    /// 404 for an unknown group.
    pub async fn get_group(&self, ctx: &TenantContext, id: &str) -> Result<ScimResource, ScimError> {
        let (g, members) = self.load_group(ctx, id).await?;
        Ok(resource(ctx, &g, &members))
    }

    /// Groups filtered, sorted and paged.
    ///
    /// # Errors
    /// `invalidFilter`, `invalidValue`; 503 without a database.
    pub async fn list_groups(&self, ctx: &TenantContext, q: &ListQuery) -> Result<Value, ScimError> {
        list_response(self.group_bodies(ctx).await?, q)
    }

    /// Users and groups together: a search at the root (RFC 7644 §3.4.3).
    ///
    /// # Errors
    /// As [`Self::list_groups`].
    pub async fn search_all(&self, ctx: &TenantContext, q: &ListQuery) -> Result<Value, ScimError> {
        let mut all = self.user_bodies(ctx).await?;
        all.extend(self.group_bodies(ctx).await?);
        list_response(all, q)
    }

    /// Every group of the tenant as a SCIM resource, by display name.
    async fn group_bodies(&self, ctx: &TenantContext) -> Result<Vec<Value>, ScimError> {
        let store = &self.kernel.store;
        let mut all = Vec::new();
        for g in store.list_scim_groups(&ctx.id).await.map_err(AppError::from)? {
            let members = store.group_members(&ctx.id, &g.display_name).await.map_err(AppError::from)?;
            all.push(resource(ctx, &g, &members).body);
        }
        Ok(all)
    }

    /// # Errors
    /// 403 without `users:write` or for a member holding a role; 400
    /// `invalidValue` (unknown members too); 409 `uniqueness`.
    pub async fn create_group(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        body: &Value,
    ) -> Result<ScimResource, ScimError> {
        require_write(actor)?;
        let input = parse_group(body)?;
        let now = self.kernel.now();
        let g = ScimGroupRecord {
            group_id: format!("grp_{}", self.kernel.random_id(12)),
            display_name: input.display_name.clone(),
            external_id: input.external_id.clone(),
            created_at: now,
            updated_at: now,
        };
        self.write_group(ctx, actor, None, g, &input.members).await
    }

    /// PUT: replaces a group and its members.
    ///
    /// # Errors
    /// As [`Self::create_group`]; 404; 412 on a stale `If-Match`.
    pub async fn replace_group(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<ScimResource, ScimError> {
        require_write(actor)?;
        let (before, members) = self.load_group(ctx, id).await?;
        check_if_match(if_match, &resource(ctx, &before, &members).version)?;
        let input = parse_group(body)?;
        self.change_group(ctx, actor, before, members, input).await
    }

    /// PATCH: add, replace and remove on a group (members included).
    ///
    /// # Errors
    /// As [`Self::replace_group`]; `invalidSyntax` / `invalidPath`.
    pub async fn patch_group(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<ScimResource, ScimError> {
        require_write(actor)?;
        let (before, members) = self.load_group(ctx, id).await?;
        let current = resource(ctx, &before, &members);
        check_if_match(if_match, &current.version)?;
        let input = patch_group(&current.body, body)?;
        self.change_group(ctx, actor, before, members, input).await
    }

    async fn change_group(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        before: ScimGroupRecord,
        members: Vec<(String, String)>,
        input: GroupInput,
    ) -> Result<ScimResource, ScimError> {
        let after = ScimGroupRecord {
            display_name: input.display_name,
            external_id: input.external_id,
            updated_at: self.kernel.now(),
            ..before.clone()
        };
        self.write_group(ctx, actor, Some((before, members)), after, &input.members).await
    }

    /// Deletes a group: its name leaves every member's `groups`.
    ///
    /// # Errors
    /// 403, 404, 412 as for a change.
    pub async fn delete_group(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), ScimError> {
        require_write(actor)?;
        let (g, members) = self.load_group(ctx, id).await?;
        check_if_match(if_match, &resource(ctx, &g, &members).version)?;
        let ids: BTreeSet<String> = members.iter().map(|(id, _)| id.clone()).collect();
        self.require_changeable(ctx, actor, &ids).await?;
        let changes = diff(&group_json(ctx, &g, &members), &json!({}));
        let audit = self.kernel.audit_record(actor, "group.delete", "group", id, &changes);
        if !self.kernel.store.delete_scim_group(&ctx.id, id, &audit).await.map_err(AppError::from)? {
            return Err(ScimError::new(404, None, format!("no group {id}")));
        }
        Ok(())
    }

    /// Every user whose `groups` a change touches must exist and hold no role.
    async fn require_changeable(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        users: &BTreeSet<String>,
    ) -> Result<(), ScimError> {
        for id in users {
            let u = self.kernel.store.get_user(&ctx.id, id).await.map_err(AppError::from)?;
            let u = u.ok_or_else(|| ScimError::invalid_value(format!("no user {id} in this tenant")))?;
            actor.require_authority_over(user_authority(&u.roles), &format!("member {id}"))?;
        }
        Ok(())
    }

    async fn write_group(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        before: Option<(ScimGroupRecord, Vec<(String, String)>)>,
        after: ScimGroupRecord,
        members: &[String],
    ) -> Result<ScimResource, ScimError> {
        if !is_name(&after.display_name, 100) {
            return Err(ScimError::invalid_value("displayName is 1-100 letters, digits and . _ - @"));
        }
        let store = &self.kernel.store;
        // Everyone who holds the old or the new name now, and everyone who will.
        let mut held: BTreeSet<String> = BTreeSet::new();
        if let Some((_, old)) = &before {
            held.extend(old.iter().map(|(id, _)| id.clone()));
        }
        let same_name = before.as_ref().is_some_and(|(b, _)| b.display_name == after.display_name);
        if !same_name {
            let taken = store.group_members(&ctx.id, &after.display_name).await.map_err(AppError::from)?;
            held.extend(taken.into_iter().map(|(id, _)| id));
        }
        let wanted: BTreeSet<String> = members.iter().cloned().collect();
        let renamed = before.as_ref().is_some_and(|(b, _)| b.display_name != after.display_name);
        let touched: BTreeSet<String> = if renamed {
            held.union(&wanted).cloned().collect()
        } else {
            held.symmetric_difference(&wanted).cloned().collect()
        };
        self.require_changeable(ctx, actor, &touched).await?;
        let uniqueness = |e: latchkey_store::StoreError| match AppError::from(e) {
            AppError::Conflict(_) => ScimError::new(409, Some("uniqueness"), "displayName is taken"),
            other => other.into(),
        };
        let wanted_list: Vec<(String, String)> = wanted.iter().map(|id| (id.clone(), String::new())).collect();
        let new_json = group_json(ctx, &after, &wanted_list);
        match &before {
            None => {
                let changes = diff(&json!({}), &new_json);
                let audit = self.kernel.audit_record(actor, "group.create", "group", &after.group_id, &changes);
                store.insert_scim_group(&ctx.id, &after, members, &audit).await.map_err(uniqueness)?;
            }
            Some((b, old)) => {
                let old_list: Vec<(String, String)> = old.iter().map(|(id, _)| (id.clone(), String::new())).collect();
                let changes = diff(&group_json(ctx, b, &old_list), &new_json);
                let audit = self.kernel.audit_record(actor, "group.update", "group", &after.group_id, &changes);
                let found = store
                    .update_scim_group(&ctx.id, &after, &b.display_name, members, &audit)
                    .await
                    .map_err(uniqueness)?;
                if !found {
                    return Err(ScimError::new(404, None, format!("no group {}", after.group_id)));
                }
            }
        }
        let (g, members) = self.load_group(ctx, &after.group_id).await?;
        Ok(resource(ctx, &g, &members))
    }
}
