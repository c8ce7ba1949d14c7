//! Checks a JSON request body against the operation's schema in this
//! server's own OpenAPI document before it is deserialized, so a body that
//! is valid JSON but misses or mistypes fields gets 422 problem+json naming
//! **every** such field (RFC 9457 `errors`), not serde's first complaint.
//! Only a body that is not JSON at all is a 400.

use axum::extract::State;
use latchkey_core::FieldError;
use serde_json::Value;

use crate::AppState;

/// How deep nested objects are checked (deeper levels are left to serde).
const MAX_DEPTH: usize = 4;

/// The request body schema of `method` on a route pattern (`/t/{tenant}`
/// prefixes are the same operation).
fn body_schema<'d>(doc: &'d Value, method: &str, route: &str) -> Option<&'d Value> {
    let path = route.strip_prefix("/t/{tenant}").unwrap_or(route);
    doc["paths"][path][method.to_ascii_lowercase()]["requestBody"]["content"]["application/json"]["schema"]
        .as_object()
        .map(|_| &doc["paths"][path][method.to_ascii_lowercase()]["requestBody"]["content"]["application/json"]["schema"])
}

fn resolve<'d>(doc: &'d Value, schema: &'d Value) -> &'d Value {
    let mut s = schema;
    for _ in 0..8 {
        let Some(r) = s["$ref"].as_str() else { break };
        let name = r.rsplit('/').next().unwrap_or_default();
        s = &doc["components"]["schemas"][name];
    }
    s
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(want: &str, v: &Value) -> bool {
    let have = type_name(v);
    have == want || (want == "number" && have == "integer")
}

fn field(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

/// Appends an error for each way `value` does not fit `schema` (a schema of `doc`).
fn check(doc: &Value, schema: &Value, value: &Value, path: &str, depth: usize, errors: &mut Vec<FieldError>) {
    let schema = resolve(doc, schema);
    if depth > MAX_DEPTH {
        return;
    }
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            check(doc, s, value, path, depth, errors);
        }
        // The parts of an allOf together name every allowed property.
        return;
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(any) = schema[key].as_array() {
            let fits = any.iter().any(|s| {
                let mut e = Vec::new();
                check(doc, s, value, path, depth, &mut e);
                e.is_empty()
            });
            if !fits {
                let name = if path.is_empty() { "body" } else { path };
                errors.push(FieldError::new(name, &format!("has the wrong type ({})", type_name(value))));
            }
            return;
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() && !types.iter().any(|t| type_matches(t, value)) {
        let name = if path.is_empty() { "body" } else { path };
        errors.push(FieldError::new(name, &format!("must be {} (got {})", types.join(" or "), type_name(value))));
        return;
    }
    if let (Some(allowed), Some(s)) = (schema["enum"].as_array(), value.as_str())
        && !allowed.iter().any(|a| a.as_str() == Some(s))
    {
        let names: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
        errors.push(FieldError::new(path, &format!("must be one of {}", names.join(", "))));
        return;
    }
    match value {
        Value::Object(map) => {
            for req in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                if !map.contains_key(req) {
                    errors.push(FieldError::new(&field(path, req), "is required"));
                }
            }
            if let Some(props) = schema["properties"].as_object() {
                for (k, v) in map {
                    match props.get(k) {
                        Some(s) => check(doc, s, v, &field(path, k), depth + 1, errors),
                        None if schema["additionalProperties"] == Value::Bool(false) => {
                            errors.push(FieldError::new(&field(path, k), "is not a field of this body"));
                        }
                        None => {}
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for (i, v) in items.iter().enumerate().take(1_000) {
                    check(doc, item, v, &format!("{path}[{i}]"), depth + 1, errors);
                }
            }
        }
        _ => {}
    }
}

/// Every field of `value` that does not fit the body schema of the
/// operation in `doc`, or nothing when the operation has no documented JSON body.
pub(crate) fn field_errors(doc: &Value, method: &str, route: Option<&str>, value: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(schema) = route.and_then(|r| body_schema(doc, method, r)) {
        check(doc, schema, value, "", 0, &mut errors);
    }
    // The parts of an allOf may both complain about the same field.
    let mut seen = std::collections::HashSet::new();
    errors.retain(|e| seen.insert(e.field.clone()));
    errors
}

/// Query parameters of `query` that the operation does not document. One
/// rule for every endpoint: an unknown parameter is refused (400), never
/// silently ignored (a filter that is ignored returns what was not asked for).
pub(crate) fn unknown_query_parameters(doc: &Value, method: &str, route: &str, query: &str) -> Vec<String> {
    let path = route.strip_prefix("/t/{tenant}").unwrap_or(route);
    let item = &doc["paths"][path];
    if !item.is_object() {
        return Vec::new();
    }
    let known: Vec<&str> = [&item["parameters"], &item[method.to_ascii_lowercase()]["parameters"]]
        .into_iter()
        .filter_map(Value::as_array)
        .flatten()
        .filter(|p| p["in"] == "query")
        .filter_map(|p| p["name"].as_str())
        .collect();
    let mut unknown: Vec<String> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, _)| k.into_owned())
        .filter(|k| !known.contains(&k.as_str()))
        .collect();
    unknown.dedup();
    unknown
}

/// Refuses admin API requests with undocumented query parameters (400).
pub(crate) async fn refuse_unknown_query(
    State(s): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let route = req.extensions().get::<axum::extract::MatchedPath>().map(|m| m.as_str().to_owned());
    if let (Some(route), Some(query)) = (route, req.uri().query()) {
        let unknown = unknown_query_parameters(&s.api.value, req.method().as_str(), &route, query);
        if !unknown.is_empty() {
            return crate::error::Problem::new(
                axum::http::StatusCode::BAD_REQUEST,
                "Unknown query parameter",
                format!("this operation takes no query parameter {}", unknown.join(", ")),
            )
            .into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::needless_pass_by_value)]
    use serde_json::json;

    use super::field_errors;

    fn doc() -> &'static serde_json::Value {
        &crate::openapi::served().value
    }

    fn fields(method: &str, route: &str, v: serde_json::Value) -> Vec<String> {
        let mut f: Vec<String> = field_errors(doc(), method, Some(route), &v).into_iter().map(|e| e.field).collect();
        f.sort();
        f
    }

    #[test]
    fn every_missing_or_mistyped_field_is_named() {
        assert_eq!(fields("POST", "/api/v1/clients", json!({"type": "m2m"})), ["name"]);
        assert_eq!(fields("POST", "/t/{tenant}/api/v1/clients", json!({"type": "m2m"})), ["name"]);
        let f = fields("POST", "/api/v1/users", json!({"roles": "owner", "email": 5, "nope": 1}));
        assert_eq!(f, ["email", "nope", "roles", "username"]);
        assert_eq!(fields("POST", "/api/v1/clients", json!({"name": "x", "type": "robot"})), ["type"]);
        assert_eq!(fields("POST", "/api/v1/clients", json!([1])), ["body"]);
        assert!(fields("POST", "/api/v1/clients", json!({"name": "x", "type": "m2m", "scopes": ["a"]})).is_empty());
        assert!(fields("GET", "/api/v1/clients", json!({})).is_empty(), "no body documented");
    }

    #[test]
    fn undocumented_query_parameters_are_named() {
        let unknown = |method, route, query| super::unknown_query_parameters(doc(), method, route, query);
        assert!(unknown("GET", "/api/v1/clients", "q=x&limit=5&cursor=").is_empty());
        assert_eq!(unknown("GET", "/api/v1/clients", "q=x&colour=red"), ["colour"]);
        assert_eq!(unknown("GET", "/t/{tenant}/api/v1/scopes", "q=x"), ["q"]);
        assert!(unknown("GET", "/api/v1/audit-events", "q=client").is_empty());
        assert!(unknown("DELETE", "/api/v1/clients/{client_id}", "force=true").is_empty());
    }
}
