//! App-only authentication: X's OAuth 2.0 client credentials grant (RFC 6749 §4.4), which
//! trades the consumer key and secret for a bearer token that acts as the app, not a user.

use crate::prelude::*;
use crate::secrets::{AccessToken, ConsumerKey, ConsumerSecret};
use crate::token::{FormRequest, RawTokenResponse, TokenResponseError, basic_form_encoded};

/// X's app-only token endpoint, under [`X_API_URL`](crate::X_API_URL). Not the user
/// token endpoint [`TOKEN_PATH`](crate::TOKEN_PATH).
pub const APP_TOKEN_PATH: &str = "/oauth2/token";

/// The app-only token request (RFC 6749 §4.4.2): body `grant_type=client_credentials`,
/// `Authorization: Basic base64(urlencode(key) ":" urlencode(secret))` (RFC 6749 §2.3.1,
/// as X documents it). POST it to `X_API_URL + APP_TOKEN_PATH`; X answers
/// `{"token_type":"bearer","access_token":"…"}`, the same token on every call until it is
/// invalidated. Check the answer with [`process_app_token_response`].
///
/// # Security warning
///
/// [`FormRequest::authorization`] carries the consumer secret. Never log it.
pub fn client_credentials_request(key: &ConsumerKey, secret: &ConsumerSecret) -> FormRequest {
    FormRequest {
        authorization: Some(basic_form_encoded(key.as_str(), secret.secret())),
        body: "grant_type=client_credentials".to_owned(),
    }
}

/// Checks an app-only token answer, strictly: `access_token` present and non-empty,
/// `token_type` present and `bearer` (any case). X sends neither `expires_in` nor a
/// refresh token here: an app token lives until invalidated. Send it with
/// [`bearer_authorization`](crate::bearer_authorization) to endpoints that take app-only
/// authentication (not `/2/users/me`, which needs a user).
pub fn process_app_token_response(
    raw: RawTokenResponse,
) -> Result<AccessToken, TokenResponseError> {
    let access_token = match raw.access_token {
        Some(token) if !token.is_empty() => AccessToken::new(token),
        _ => return Err(TokenResponseError::MissingAccessToken),
    };
    match raw.token_type.as_deref() {
        None | Some("") => Err(TokenResponseError::MissingTokenType),
        Some(t) if t.eq_ignore_ascii_case("bearer") => Ok(access_token),
        Some(t) => Err(TokenResponseError::UnsupportedTokenType(t.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64ct::{Base64, Encoding as _};

    #[test]
    fn request() {
        let request = client_credentials_request(
            &ConsumerKey::new("xvz1evFS4wEEPTGEFPHBog".into()),
            &ConsumerSecret::new("L8qq9PZyRg6ieKGEKhZolGC0vJWLw8iEJ88DRdyOg".into()),
        );
        // X's "Application-only authentication" example credentials and header.
        assert_eq!(
            request.authorization.as_deref(),
            Some(
                "Basic eHZ6MWV2RlM0d0VFUFRHRUZQSEJvZzpMOHFxOVBaeVJnNmllS0dFS2hab2xHQzB2SldMdzhpRUo4OERSZHlPZw=="
            )
        );
        assert_eq!(request.body, "grant_type=client_credentials");
        // Form-encoded parts, unlike RFC 7617's basic_auth_header.
        let request = client_credentials_request(
            &ConsumerKey::new("k:ey".into()),
            &ConsumerSecret::new("s e+c".into()),
        );
        assert!(format!("{request:?}").contains("authorization: Some([redacted])"));
        let b64 = request.authorization.unwrap();
        let raw = Base64::decode_vec(b64.strip_prefix("Basic ").unwrap()).unwrap();
        assert_eq!(raw, b"k%3Aey:s+e%2Bc");
    }

    fn check(json: &str, expected: Result<&str, &str>) {
        let raw: RawTokenResponse = serde_json::from_str(json).unwrap();
        let got = process_app_token_response(raw);
        assert_eq!(
            got.as_ref().map(|t| t.secret()).map_err(|e| e.code()),
            expected,
            "{json}"
        );
    }

    #[test]
    fn responses() {
        check(
            r#"{"token_type":"bearer","access_token":"AAAA%2FAAA%3DAAAAAAAA"}"#,
            Ok("AAAA%2FAAA%3DAAAAAAAA"),
        );
        check(r#"{"token_type":"Bearer","access_token":"a"}"#, Ok("a"));
        check(r#"{"token_type":"bearer"}"#, Err("missing_access_token"));
        check(
            r#"{"token_type":"bearer","access_token":""}"#,
            Err("missing_access_token"),
        );
        check(r#"{"access_token":"a"}"#, Err("missing_token_type"));
        check(
            r#"{"token_type":"mac","access_token":"a"}"#,
            Err("unsupported_token_type"),
        );
    }
}
