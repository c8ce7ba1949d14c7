//! Declarative files: the YAML format and the field comparison that `plan`
//! and `apply` use (`latchkey export` writes the format: `export.rs`).
//! Self-contained (no other module of the CLI), so the fuzz target
//! `fuzz/fuzz_targets/yaml.rs` compiles this file as it is.
//!
//! The export types have no secret field at all, so an export cannot carry
//! a secret; the `secret: {env|file}` reference of a file is split off while
//! parsing, before the client is read into those types.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What `apply` writes into `managed_by`.
pub const MANAGED_BY: &str = "latchkey-apply";

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    pub version: u32,
    #[serde(default)]
    pub scopes: Vec<ScopeSpec>,
    #[serde(default)]
    pub security_classes: Vec<ClassSpec>,
    #[serde(default)]
    pub clients: Vec<ClientSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeSpec {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassSpec {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
}

/// A client as files describe it. Absent fields are neither compared nor sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub client_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_types: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_cors_origins: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_classes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token_lifetime: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token_lifetime: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_lifetime: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token_format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_pkce: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_consent: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_groups: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token_policy: Option<RefreshPolicySpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// The role of the client's own admin tokens (at most the applier's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_role: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshPolicySpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotate: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reuse_grace_seconds: Option<u32>,
}

/// Lists whose order carries no meaning: compared as sets.
const SET_FIELDS: [&str; 8] = [
    "grant_types",
    "response_types",
    "redirect_uris",
    "post_logout_redirect_uris",
    "allowed_cors_origins",
    "scopes",
    "security_classes",
    "allowed_groups",
];
/// Objects compared key by key, only for the keys the file gives.
const PARTIAL_FIELDS: [&str; 2] = ["refresh_token_policy", "metadata"];
/// A client's identity: never compared or patched.
pub const CLIENT_IDENTITY: [&str; 1] = ["client_id"];
/// Scopes and classes are named by their name.
pub const NAME_IDENTITY: [&str; 1] = ["name"];

/// Where a client's secret comes from; never exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    Env(String),
    File(PathBuf),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSecretRef {
    env: Option<String>,
    file: Option<PathBuf>,
}

impl SecretRef {
    /// The secret itself.
    ///
    /// # Errors
    /// When the variable is unset or the file unreadable (never the value).
    pub fn resolve(&self) -> Result<String> {
        match self {
            Self::Env(v) => std::env::var(v).with_context(|| format!("environment variable {v} is not set")),
            Self::File(p) => std::fs::read_to_string(p)
                .map(|s| s.trim_end_matches(['\n', '\r']).to_owned())
                .with_context(|| format!("cannot read the secret file {}", p.display())),
        }
    }

    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Env(v) => format!("env {v}"),
            Self::File(p) => format!("file {}", p.display()),
        }
    }
}

/// A parsed file: the objects, and the secret references by client id.
#[derive(Debug, Default)]
pub struct Parsed {
    pub doc: Document,
    pub secrets: HashMap<String, SecretRef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument {
    version: u32,
    #[serde(default)]
    scopes: Vec<ScopeSpec>,
    #[serde(default)]
    security_classes: Vec<ClassSpec>,
    #[serde(default)]
    clients: FileClients,
}

/// The clients of a file with their secret references, read one at a time
/// (a large file never sits in memory as a YAML tree).
#[derive(Default)]
struct FileClients(Vec<(ClientSpec, Option<SecretRef>)>);

impl<'de> Deserialize<'de> for FileClients {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = FileClients;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of clients")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<FileClients, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(v) = seq.next_element::<serde_yaml_ng::Value>()? {
                    let i = out.len();
                    out.push(file_client(v).map_err(|e| serde::de::Error::custom(format!("entry {}: {e:#}", i + 1)))?);
                }
                Ok(FileClients(out))
            }
        }
        d.deserialize_seq(Visit)
    }
}

/// One client of a file: the secret reference split off, the rest typed.
fn file_client(mut v: serde_yaml_ng::Value) -> Result<(ClientSpec, Option<SecretRef>)> {
    let secret = match v.as_mapping_mut().and_then(|m| m.remove("secret")) {
        Some(s) => Some(secret_ref(s).context("secret")?),
        None => None,
    };
    let spec: ClientSpec = serde_yaml_ng::from_value(v)?;
    ensure!(!spec.client_id.trim().is_empty(), "client_id must not be empty");
    Ok((spec, secret))
}

/// Reads a declarative file; relative secret files are relative to it.
///
/// # Errors
/// Unreadable or invalid files, with the offending client named.
pub fn load(path: &Path) -> Result<Parsed> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let base = path.parent().unwrap_or_else(|| Path::new("."));
    parse(&text, base).with_context(|| format!("{}", path.display()))
}

/// Parses YAML text (see [`load`]).
///
/// # Errors
/// Invalid YAML, unknown fields, duplicates, an unsupported version.
pub fn parse(text: &str, base: &Path) -> Result<Parsed> {
    let raw: RawDocument = serde_yaml_ng::from_str(text)?;
    ensure!(raw.version == 1, "unsupported version {}: this latchkey reads version 1", raw.version);
    let mut doc = Document {
        version: raw.version,
        scopes: raw.scopes,
        security_classes: raw.security_classes,
        clients: Vec::new(),
    };
    let mut secrets = HashMap::new();
    doc.clients.reserve(raw.clients.0.len());
    for (spec, secret) in raw.clients.0 {
        match secret {
            Some(SecretRef::File(f)) => secrets.insert(spec.client_id.clone(), SecretRef::File(base.join(f))),
            Some(r) => secrets.insert(spec.client_id.clone(), r),
            None => None,
        };
        doc.clients.push(spec);
    }
    unique(doc.scopes.iter().map(|s| s.name.as_str()), "scope")?;
    unique(doc.security_classes.iter().map(|s| s.name.as_str()), "security class")?;
    unique(doc.clients.iter().map(|s| s.client_id.as_str()), "client")?;
    Ok(Parsed { doc, secrets })
}

/// A reference as written; file paths are made relative to the file later.
fn secret_ref(v: serde_yaml_ng::Value) -> Result<SecretRef> {
    let r: RawSecretRef = serde_yaml_ng::from_value(v)?;
    match (r.env, r.file) {
        (Some(e), None) => Ok(SecretRef::Env(e)),
        (None, Some(f)) => Ok(SecretRef::File(f)),
        _ => bail!("give exactly one of env: VARIABLE or file: PATH"),
    }
}

fn unique<'a>(names: impl Iterator<Item = &'a str>, kind: &str) -> Result<()> {
    let mut seen = HashSet::new();
    for n in names {
        ensure!(seen.insert(n), "{kind} {n} appears twice");
    }
    Ok(())
}

/// Null, `""`, `[]` and `{}`: "nothing".
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// The exported form of a live object: the spec's fields, without empties.
fn spec_value(live: &Value, fields: &[&str]) -> Value {
    let mut out = Map::new();
    for f in fields {
        if let Some(v) = live.get(*f).filter(|v| !is_empty(v)) {
            out.insert((*f).to_owned(), v.clone());
        }
    }
    Value::Object(out)
}

/// Every field of [`ClientSpec`], as the admin API names them.
const CLIENT_FIELDS: [&str; 26] = [
    "client_id",
    "name",
    "type",
    "description",
    "token_endpoint_auth_method",
    "grant_types",
    "response_types",
    "redirect_uris",
    "post_logout_redirect_uris",
    "allowed_cors_origins",
    "scopes",
    "security_classes",
    "audiences",
    "access_token_lifetime",
    "refresh_token_lifetime",
    "id_token_lifetime",
    "access_token_format",
    "require_pkce",
    "require_consent",
    "allowed_groups",
    "refresh_token_policy",
    "jwks",
    "jwks_uri",
    "metadata",
    "labels",
    "admin_role",
];

/// A live client (admin API view) in the file format.
///
/// # Errors
/// When the server's view does not fit the format.
pub fn client_spec(live: &Value) -> Result<ClientSpec> {
    let mut v = spec_value(live, &CLIENT_FIELDS);
    if let Some(o) = v.as_object_mut() {
        o.insert("client_id".into(), live["client_id"].clone());
    }
    serde_json::from_value(v).with_context(|| format!("client {} does not fit the file format", live["client_id"]))
}

/// A live scope in the file format.
#[must_use]
pub fn scope_spec(live: &Value) -> ScopeSpec {
    ScopeSpec {
        name: live["name"].as_str().unwrap_or_default().to_owned(),
        description: live["description"].as_str().filter(|s| !s.is_empty()).map(str::to_owned),
    }
}

/// A live security class in the file format.
#[must_use]
pub fn class_spec(live: &Value) -> ClassSpec {
    let scopes: Vec<String> = live["scopes"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    ClassSpec {
        name: live["name"].as_str().unwrap_or_default().to_owned(),
        description: live["description"].as_str().filter(|s| !s.is_empty()).map(str::to_owned),
        scopes: Some(scopes).filter(|s| !s.is_empty()),
    }
}

/// One field that differs: what the server has, and what the file wants.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub field: String,
    pub before: Value,
    pub after: Value,
    /// What to send for the field in the merge patch.
    pub patch: Value,
}

fn sorted(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v.as_array().map(|a| a.iter().map(ToString::to_string).collect()).unwrap_or_default();
    out.sort();
    out.dedup();
    out
}

fn same(field: &str, want: &Value, have: &Value) -> bool {
    if is_empty(want) || is_empty(have) {
        return is_empty(want) && is_empty(have);
    }
    if SET_FIELDS.contains(&field) {
        return sorted(want) == sorted(have);
    }
    if PARTIAL_FIELDS.contains(&field)
        && let Some(w) = want.as_object()
    {
        return w.iter().all(|(k, v)| same(k, v, &have[k.as_str()]));
    }
    want == have
}

/// The merge-patch (RFC 7396) value: partial objects are completed from
/// the live one; other objects (labels) name the keys to remove with null.
fn patch_value(field: &str, want: &Value, have: &Value) -> Value {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) if PARTIAL_FIELDS.contains(&field) => {
            let mut merged = h.clone();
            merged.extend(w.iter().map(|(k, v)| (k.clone(), v.clone())));
            Value::Object(merged)
        }
        (Value::Object(w), Value::Object(h)) => Value::Object(map_patch(h, w)),
        _ => want.clone(),
    }
}

/// The merge patch from map `have` to map `want`: changed keys, and null
/// for the removed ones.
#[must_use]
pub fn map_patch(have: &Map<String, Value>, want: &Map<String, Value>) -> Map<String, Value> {
    let mut p: Map<String, Value> =
        want.iter().filter(|(k, v)| have.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    p.extend(have.keys().filter(|k| !want.contains_key(*k)).map(|k| (k.clone(), Value::Null)));
    p
}

/// The fields of `want` that differ from `have` (both in file format),
/// leaving out the identity fields `skip`.
#[must_use]
pub fn diff<T: Serialize>(want: &T, have: &T, skip: &[&str]) -> Vec<Change> {
    let (Ok(w), Ok(h)) = (serde_json::to_value(want), serde_json::to_value(have)) else { return Vec::new() };
    let Some(w) = w.as_object() else { return Vec::new() };
    w.iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .filter(|(k, v)| !same(k, v, &h[k.as_str()]))
        .map(|(k, v)| Change {
            field: k.clone(),
            before: h[k.as_str()].clone(),
            after: v.clone(),
            patch: patch_value(k, v, &h[k.as_str()]),
        })
        .collect()
}

/// What plan and apply need of a live client, kept small: a hundred
/// thousand of them fit in memory where their JSON would not.
#[derive(Debug, Clone)]
pub struct LiveClient {
    pub spec: ClientSpec,
    pub managed_by: Option<String>,
    pub protected: bool,
    pub revision: Option<i64>,
    /// Confidential with no secret listed (list views may leave secrets out).
    pub may_lack_secret: bool,
}

impl LiveClient {
    /// # Errors
    /// When the view does not fit the file format.
    pub fn from_view(v: &Value) -> Result<Self> {
        Ok(Self {
            spec: client_spec(v)?,
            managed_by: v["managed_by"].as_str().map(str::to_owned),
            protected: v["protected"] == true,
            revision: v["revision"].as_i64(),
            may_lack_secret: v["token_endpoint_auth_method"] != "none"
                && v["secrets"].as_array().is_none_or(Vec::is_empty),
        })
    }
}

#[cfg(test)]
#[path = "declarative_tests.rs"]
mod tests;
