//! Token revocation (RFC 7009).

use crate::token::{ClientAuth, FormRequest, form_request};

/// `token_type_hint` (RFC 7009 §2.1): which kind of token is being revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenTypeHint {
    /// `access_token`.
    AccessToken,
    /// `refresh_token` (RFC 7009 §2.1: revoking it also revokes its access tokens, where
    /// the server supports that).
    RefreshToken,
}

impl TokenTypeHint {
    /// The parameter value: `access_token` or `refresh_token`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessToken => "access_token",
            Self::RefreshToken => "refresh_token",
        }
    }

    /// The hint for `access_token` or `refresh_token`; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "access_token" => Some(Self::AccessToken),
            "refresh_token" => Some(Self::RefreshToken),
            _ => None,
        }
    }
}

/// The revocation request (RFC 7009 §2.1): `token`, `token_type_hint` if given, and
/// `client_id` for a public client. POST it to `X_API_URL + REVOKE_PATH`; X answers
/// `{"revoked": true}`.
///
/// `token` is the token's secret value (from `AccessToken::secret` or
/// `RefreshToken::secret`).
pub fn revoke_request(
    auth: ClientAuth<'_>,
    token: &str,
    hint: Option<TokenTypeHint>,
) -> FormRequest {
    match hint {
        Some(hint) => form_request(
            auth,
            &[("token", token), ("token_type_hint", hint.as_str())],
        ),
        None => form_request(auth, &[("token", token)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClientId, ClientSecret};

    #[test]
    fn bodies() {
        let id = ClientId::new("cid".into());
        let secret = ClientSecret::new("sec".into());
        let r = revoke_request(
            ClientAuth::Confidential {
                id: &id,
                secret: &secret,
            },
            "t k",
            Some(TokenTypeHint::RefreshToken),
        );
        assert_eq!(r.body, "token=t+k&token_type_hint=refresh_token");
        assert_eq!(r.authorization.as_deref(), Some("Basic Y2lkOnNlYw=="));
        let r = revoke_request(ClientAuth::Public { id: &id }, "tk", None);
        assert_eq!(r.body, "token=tk&client_id=cid");
        assert_eq!(r.authorization, None);
        let r = revoke_request(
            ClientAuth::Public { id: &id },
            "tk",
            Some(TokenTypeHint::AccessToken),
        );
        assert_eq!(
            r.body,
            "token=tk&token_type_hint=access_token&client_id=cid"
        );
    }

    #[test]
    fn hint_parse() {
        for h in [TokenTypeHint::AccessToken, TokenTypeHint::RefreshToken] {
            assert_eq!(TokenTypeHint::parse(h.as_str()), Some(h));
        }
        assert_eq!(TokenTypeHint::parse("Access_Token"), None);
    }
}
