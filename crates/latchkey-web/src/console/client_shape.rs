//! Which fields the client form shows for a client type, which of them are
//! required, and which grant types and authentication methods it offers:
//! only those the token endpoint serves (`grants_for`) and the type can use.

use latchkey_core::{ClientType, GrantType, TenantSettings, TokenEndpointAuthMethod};

/// The shape of the form for one type.
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    /// Grant types offered, in display order.
    pub grants: Vec<GrantType>,
    /// Authentication methods offered; one means the choice is not shown.
    pub auth_methods: Vec<TokenEndpointAuthMethod>,
    /// People sign in through a browser: redirect, logout and CORS URIs,
    /// response types.
    pub browser: bool,
    /// People sign in at all: consent, allowed groups, ID tokens.
    pub users: bool,
    /// Refresh tokens: their lifetime and rotation policy.
    pub refresh: bool,
    /// At least one redirect URI is needed.
    pub redirect_required: bool,
}

impl Shape {
    /// The form for `t` in a tenant with `settings`.
    pub(crate) fn of(t: ClientType, settings: &TenantSettings) -> Self {
        use GrantType::{AuthorizationCode, ClientCredentials, DeviceCode, Implicit, Password, RefreshToken};
        use TokenEndpointAuthMethod::{ClientSecretBasic, ClientSecretPost, None as NoAuth, PrivateKeyJwt};
        let served = latchkey_app::tokens::grants_for(settings);
        let legacy = settings.legacy_grants_enabled;
        let confidential = vec![ClientSecretBasic, ClientSecretPost, PrivateKeyJwt];
        let (wanted, auth_methods, browser, users, refresh): (Vec<GrantType>, _, _, _, _) = match t {
            ClientType::M2m | ClientType::Connector => (vec![ClientCredentials], confidential, false, false, false),
            ClientType::Web | ClientType::Hybrid => {
                (vec![AuthorizationCode, RefreshToken, ClientCredentials, Password], confidential, true, true, true)
            }
            ClientType::Spa => (vec![AuthorizationCode, RefreshToken, Implicit], vec![NoAuth], true, true, true),
            ClientType::Device => (vec![DeviceCode, RefreshToken], vec![NoAuth], false, true, true),
            ClientType::Custom => (
                vec![AuthorizationCode, RefreshToken, ClientCredentials, DeviceCode, Password, Implicit],
                vec![ClientSecretBasic, ClientSecretPost, PrivateKeyJwt, NoAuth],
                true,
                true,
                true,
            ),
        };
        // `implicit` is a registration value only: the token endpoint never
        // sees it, but the authorization endpoint serves it where legacy
        // grants are on.
        let grants = wanted.into_iter().filter(|g| served.contains(g) || (*g == Implicit && legacy)).collect();
        Self {
            grants,
            auth_methods,
            browser,
            users,
            refresh,
            redirect_required: matches!(t, ClientType::Web | ClientType::Hybrid | ClientType::Spa),
        }
    }

    /// Whether the type may use `private_key_jwt`, so the key fields show.
    pub(crate) fn keys(&self) -> bool {
        self.auth_methods.contains(&TokenEndpointAuthMethod::PrivateKeyJwt)
    }

    /// Widens the shape so that an existing client's settings stay visible
    /// and editable even where its type would not use them.
    pub(crate) fn keep(&mut self, grants: &[String], auth: &str, browser_lists: bool) {
        for g in GrantType::ALL {
            if grants.iter().any(|x| x == g.as_str()) && !self.grants.contains(&g) {
                self.grants.push(g);
            }
        }
        if let Ok(m) = auth.parse::<TokenEndpointAuthMethod>()
            && !self.auth_methods.contains(&m)
        {
            self.auth_methods.push(m);
        }
        if browser_lists {
            self.browser = true;
            self.users = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use latchkey_core::{ClientType, GrantType, TenantSettings, TokenEndpointAuthMethod};

    use super::Shape;

    #[test]
    fn every_type_offers_only_served_grants_and_methods() {
        let settings = TenantSettings::default();
        let served = latchkey_app::tokens::grants_for(&settings);
        for t in ClientType::ALL {
            let s = Shape::of(t, &settings);
            assert!(s.grants.iter().all(|g| served.contains(g)), "{t}: {:?}", s.grants);
            assert!(!s.grants.contains(&GrantType::TokenExchange));
            assert!(!s.auth_methods.contains(&TokenEndpointAuthMethod::ClientSecretJwt));
            // The preset's own choices are always offered.
            let p = t.preset();
            assert!(p.grant_types.iter().all(|g| s.grants.contains(g)), "{t}");
            assert!(s.auth_methods.contains(&p.token_endpoint_auth_method), "{t}");
        }
        let m2m = Shape::of(ClientType::M2m, &settings);
        assert_eq!(m2m.grants, [GrantType::ClientCredentials]);
        assert!(!m2m.browser && !m2m.users && !m2m.refresh && m2m.keys());
        let device = Shape::of(ClientType::Device, &settings);
        assert!(device.grants.contains(&GrantType::DeviceCode) && !device.browser && !device.keys());
    }

    #[test]
    fn legacy_grants_show_only_where_the_tenant_enables_them() {
        let off = Shape::of(ClientType::Custom, &TenantSettings::default());
        assert!(!off.grants.iter().any(|g| g.is_legacy()));
        let on = TenantSettings { legacy_grants_enabled: true, ..TenantSettings::default() };
        let custom = Shape::of(ClientType::Custom, &on);
        assert!(custom.grants.contains(&GrantType::Password) && custom.grants.contains(&GrantType::Implicit));
    }
}
