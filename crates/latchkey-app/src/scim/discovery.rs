//! SCIM discovery (RFC 7644 §4): `ServiceProviderConfig`,
//! `ResourceTypes` and `Schemas`, describing exactly what this server does.

use serde_json::{Value, json};

use super::{GROUP_SCHEMA, LIST_SCHEMA, MAX_RESULTS, USER_SCHEMA, base_url};
use crate::tenants::TenantContext;

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RT_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

fn meta(ctx: &TenantContext, kind: &str, path: &str) -> Value {
    json!({"resourceType": kind, "location": format!("{}/{path}", base_url(ctx))})
}

/// `GET /ServiceProviderConfig`.
#[must_use]
pub fn service_provider_config(ctx: &TenantContext) -> Value {
    json!({
        "schemas": [SPC_SCHEMA],
        "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": true},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A client_credentials access token with users:read or users:write",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }],
        "meta": meta(ctx, "ServiceProviderConfig", "ServiceProviderConfig"),
    })
}

fn user_resource_type(ctx: &TenantContext) -> Value {
    json!({
        "schemas": [RT_SCHEMA],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": USER_SCHEMA,
        "schemaExtensions": [],
        "meta": meta(ctx, "ResourceType", "ResourceTypes/User"),
    })
}

fn group_resource_type(ctx: &TenantContext) -> Value {
    json!({
        "schemas": [RT_SCHEMA],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "Group",
        "schema": GROUP_SCHEMA,
        "schemaExtensions": [],
        "meta": meta(ctx, "ResourceType", "ResourceTypes/Group"),
    })
}

/// The resource types (`GET /ResourceTypes`).
#[must_use]
pub fn resource_types(ctx: &TenantContext) -> Vec<Value> {
    vec![user_resource_type(ctx), group_resource_type(ctx)]
}

fn attr(name: &str, kind: &str, required: bool, mutability: &str, uniqueness: &str, case_exact: bool) -> Value {
    json!({
        "name": name, "type": kind, "multiValued": false, "description": name, "required": required,
        "caseExact": case_exact, "mutability": mutability, "returned": "default", "uniqueness": uniqueness,
    })
}

fn user_schema(ctx: &TenantContext) -> Value {
    let sub = |name: &str, kind: &str| attr(name, kind, false, "readWrite", "none", false);
    let mut password = attr("password", "string", false, "writeOnly", "none", false);
    password["returned"] = json!("never");
    let mut name = attr("name", "complex", false, "readWrite", "none", false);
    name["subAttributes"] = json!([
        sub("formatted", "string"),
        sub("familyName", "string"),
        sub("givenName", "string"),
        sub("middleName", "string"),
        sub("honorificPrefix", "string"),
        sub("honorificSuffix", "string"),
    ]);
    let mut emails = attr("emails", "complex", false, "readWrite", "none", false);
    emails["multiValued"] = json!(true);
    emails["subAttributes"] =
        json!([sub("value", "string"), sub("display", "string"), sub("type", "string"), sub("primary", "boolean"),]);
    let mut groups = attr("groups", "complex", false, "readOnly", "none", false);
    groups["multiValued"] = json!(true);
    let mut group_ref = attr("$ref", "reference", false, "readOnly", "none", true);
    group_ref["referenceTypes"] = json!(["Group"]);
    groups["subAttributes"] = json!([
        attr("value", "string", false, "readOnly", "none", true),
        group_ref,
        attr("display", "string", false, "readOnly", "none", false),
    ]);
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "User Account",
        "attributes": [
            attr("userName", "string", true, "readWrite", "server", false),
            name,
            attr("displayName", "string", false, "readWrite", "none", false),
            attr("active", "boolean", true, "readWrite", "none", false),
            password,
            emails,
            groups,
        ],
        "meta": meta(ctx, "Schema", &format!("Schemas/{USER_SCHEMA}")),
    })
}

fn group_schema(ctx: &TenantContext) -> Value {
    let mut members = attr("members", "complex", false, "readWrite", "none", false);
    members["multiValued"] = json!(true);
    let mut value = attr("value", "string", false, "immutable", "none", true);
    value["returned"] = json!("default");
    let mut reference = attr("$ref", "reference", false, "immutable", "none", true);
    reference["referenceTypes"] = json!(["User"]);
    // As RFC 7643 §8.7.1 has it: a member is its `value` and `$ref`.
    members["subAttributes"] = json!([value, reference]);
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": GROUP_SCHEMA,
        "name": "Group",
        "description": "Group",
        "attributes": [attr("displayName", "string", true, "readWrite", "server", false), members],
        "meta": meta(ctx, "Schema", &format!("Schemas/{GROUP_SCHEMA}")),
    })
}

/// The schemas (`GET /Schemas`).
#[must_use]
pub fn schemas(ctx: &TenantContext) -> Vec<Value> {
    vec![user_schema(ctx), group_schema(ctx)]
}

/// A ListResponse of every item (discovery endpoints do not filter).
#[must_use]
pub fn list_of(items: &[Value]) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": items.len(),
        "startIndex": 1,
        "itemsPerPage": items.len(),
        "Resources": items,
    })
}

/// One item of a list by its `id`.
#[must_use]
pub fn find(items: Vec<Value>, id: &str) -> Option<Value> {
    items.into_iter().find(|i| i.get("id").and_then(Value::as_str) == Some(id))
}
