//! What every console page shares: the chrome (sidebar, user, CSRF token),
//! the message page, and formatting helpers for templates.

use askama::Template;
use latchkey_core::GrantType;

/// The frame around every console page.
#[derive(Debug, Clone)]
pub(crate) struct Chrome {
    /// `` or `/t/{tenant}`.
    pub base: String,
    pub tenant: String,
    pub user: String,
    pub role: String,
    pub csrf: String,
    /// Which sidebar entry is current.
    pub nav: &'static str,
    pub can_write: bool,
    /// A one-line confirmation of what the last action did.
    pub flash: Option<&'static str>,
    /// Every tenant (owners of the default tenant only; empty otherwise).
    pub tenants: Vec<String>,
    /// The tenants page (the default tenant's console).
    pub tenants_href: String,
}

impl Chrome {
    /// `aria-current` for the sidebar entry `name`.
    pub(crate) fn current(&self, name: &str) -> &'static str {
        if self.nav == name { "page" } else { "false" }
    }
}

#[derive(Template)]
#[template(path = "console/message.html")]
pub(crate) struct MessagePage<'a> {
    pub c: Chrome,
    pub title: &'a str,
    pub message: &'a str,
}

/// `2026-11-23 01:45 UTC` from Unix seconds (a no-break space before
/// `UTC`, so a narrow column breaks between the date and the time only).
pub(crate) fn time(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Civil from days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}\u{a0}UTC", secs / 3600, secs % 3600 / 60)
}

pub(crate) fn opt_time(t: Option<i64>) -> String {
    t.map_or_else(|| "Never".to_owned(), time)
}

/// How a grant type is shown (badges, checkboxes).
pub(crate) fn grant_label(g: GrantType) -> &'static str {
    match g {
        GrantType::AuthorizationCode => "Authorization Code",
        GrantType::ClientCredentials => "Client Credentials",
        GrantType::RefreshToken => "Refresh Token",
        GrantType::DeviceCode => "Device Code",
        GrantType::TokenExchange => "Token Exchange",
        GrantType::Password => "Password",
        GrantType::Implicit => "Implicit",
    }
}

/// The title of a preset (SPEC §2.2).
pub(crate) fn type_title(t: latchkey_core::ClientType) -> &'static str {
    use latchkey_core::ClientType as T;
    match t {
        T::M2m => "Machine to machine",
        T::Web => "Web application",
        T::Spa => "Single-page or native app",
        T::Hybrid => "Hybrid",
        T::Device => "Device or CLI",
        T::Connector => "Provisioning connector",
        T::Custom => "Custom",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_utc_dates() {
        assert_eq!(super::time(0), "1970-01-01 00:00\u{a0}UTC");
        assert_eq!(super::time(1_795_398_300), "2026-11-23 01:45\u{a0}UTC");
    }
}
