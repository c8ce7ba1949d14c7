//! How a client is shown on the terminal: every field, then its secrets.

use serde_json::Value;

use super::output::{cell, key_values, time};
use super::secrets;

/// Every field of a client, then its secrets.
pub fn print_client(v: &Value) {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let Some(o) = v.as_object() else { return };
    for (k, val) in o {
        match k.as_str() {
            "secrets" | "client_secret" | "effective_access_token_lifetime" => {}
            "access_token_lifetime" => {
                let eff = &v["effective_access_token_lifetime"];
                let shown = format!("{} ({})", cell(&eff["seconds"]), cell(&eff["source"]));
                pairs.push((k.clone(), if eff.is_object() { shown } else { cell(val) }));
            }
            _ if k.ends_with("_at") => pairs.push((k.clone(), time(val))),
            _ => pairs.push((k.clone(), cell(val))),
        }
    }
    print!("{}", key_values(&pairs));
    if let Some(secrets) = v["secrets"].as_array().filter(|s| !s.is_empty()) {
        println!();
        secrets::table(secrets).print();
    }
}
