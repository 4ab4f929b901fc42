//! The authorization request (RFC 6749 §4.1.1 with RFC 7636 §4.3).

use crate::encoding::{has_any, push_percent_encoded};
use crate::pkce::PkceCodeChallenge;
use crate::prelude::*;
use crate::scope::Scopes;
use crate::secrets::ClientId;
use crate::state::CsrfToken;
use crate::url::{AuthorizeEndpoint, RedirectUri};

/// Everything that goes into the link to X's consent page.
///
/// Always sends `code_challenge_method=S256` (X would take `plain`; this never does).
#[derive(Clone, Copy, Debug)]
pub struct AuthorizationRequest<'a> {
    /// Where to send the user, usually [`AuthorizeEndpoint::default`].
    pub endpoint: &'a AuthorizeEndpoint,
    /// The app's client id.
    pub client_id: &'a ClientId,
    /// Must equal the app's registered callback exactly.
    pub redirect_uri: &'a RedirectUri,
    /// Requested scopes (RFC 6749 §3.3); include `offline.access` for a refresh token.
    pub scopes: &'a Scopes,
    /// CSRF state to check in the callback (RFC 6749 §10.12).
    pub state: &'a CsrfToken,
    /// From [`PkceCodeVerifier::challenge`](crate::PkceCodeVerifier::challenge).
    pub code_challenge: &'a PkceCodeChallenge,
}

impl AuthorizationRequest<'_> {
    /// The authorization URL (RFC 6749 §4.1.1): the endpoint plus `response_type=code`,
    /// `client_id`, `redirect_uri`, `scope`, `state`, `code_challenge` and
    /// `code_challenge_method=S256`, appended with `&` if the endpoint already has a query.
    ///
    /// Every value is percent-encoded so that only RFC 3986 §2.3 unreserved characters stay
    /// literal (a space is `%20`, never `+`, which some servers would keep as a plus).
    pub fn url(&self) -> String {
        let base = self.endpoint.as_str();
        let mut url = String::with_capacity(base.len().saturating_add(512));
        url.push_str(base);
        if !has_any(&url, b"?") {
            url.push('?');
        } else if !url.bytes().last().is_some_and(|b| b == b'?' || b == b'&') {
            url.push('&');
        }
        url.push_str("response_type=code");
        push_param(&mut url, "client_id", self.client_id.as_str());
        push_param(&mut url, "redirect_uri", self.redirect_uri.as_str());
        // Written directly rather than through `Scopes`' `Display`, which keeps the
        // formatting machinery out of the browser's wasm.
        url.push_str("&scope=");
        for (i, scope) in self.scopes.iter().enumerate() {
            if i > 0 {
                url.push_str("%20");
            }
            push_percent_encoded(&mut url, scope.as_str());
        }
        push_param(&mut url, "state", self.state.as_str());
        push_param(&mut url, "code_challenge", self.code_challenge.as_str());
        push_param(&mut url, "code_challenge_method", PkceCodeChallenge::METHOD);
        url
    }
}

/// Appends `&name=value`, the value percent-encoded.
fn push_param(url: &mut String, name: &str, value: &str) {
    url.push('&');
    url.push_str(name);
    url.push('=');
    push_percent_encoded(url, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PkceCodeVerifier;
    use proptest::prelude::*;

    fn query_pairs(url: &str) -> Vec<(String, String)> {
        let query = url.split_once('?').unwrap().1;
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }

    fn build(endpoint: &str, redirect: &str, state: &str, client: &str) -> String {
        AuthorizationRequest {
            endpoint: &AuthorizeEndpoint::parse(endpoint).unwrap(),
            client_id: &ClientId::new(client.into()),
            redirect_uri: &RedirectUri::parse(redirect).unwrap(),
            scopes: &Scopes::parse("tweet.read users.read offline.access").unwrap(),
            state: &CsrfToken::parse(state).unwrap(),
            code_challenge: &PkceCodeVerifier::new(
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
            )
            .challenge(),
        }
        .url()
    }

    #[test]
    fn exact_url() {
        let url = build(
            crate::X_AUTHORIZE_URL,
            "https://app.example/cb?a=1&b=2",
            "st&=#+",
            "cid",
        );
        assert_eq!(
            url,
            "https://x.com/i/oauth2/authorize?response_type=code&client_id=cid\
             &redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fa%3D1%26b%3D2\
             &scope=tweet.read%20users.read%20offline.access&state=st%26%3D%23%2B\
             &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
             &code_challenge_method=S256"
        );
    }

    #[test]
    fn endpoint_with_query() {
        let url = build(
            "http://127.0.0.1:9/authorize?tenant=a",
            "https://a.example/",
            "s",
            "c",
        );
        assert!(url.starts_with("http://127.0.0.1:9/authorize?tenant=a&response_type=code&"));
        let url = build(
            "http://127.0.0.1:9/authorize?",
            "https://a.example/",
            "s",
            "c",
        );
        assert!(url.starts_with("http://127.0.0.1:9/authorize?response_type=code&"));
    }

    proptest! {
        #[test]
        fn query_decodes_to_inputs(
            path in "[ -~]{0,40}",
            state in "[!-~]{1,500}",
            client in "\\PC{0,30}",
        ) {
            let path: String = path.chars().filter(|c| *c != '#').collect();
            let redirect = format!("https://app.example/{path}");
            let url = build(crate::X_AUTHORIZE_URL, &redirect.replace(' ', "%20"), &state, &client);
            prop_assert!(url.contains("&code_challenge_method=S256"));
            // Only unreserved characters and the separators are literal.
            let query = url.split_once('?').unwrap().1;
            prop_assert!(query.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%&=".contains(&b)));
            let pairs = query_pairs(&url);
            let expected: Vec<(String, String)> = [
                ("response_type", "code".to_string()),
                ("client_id", client.clone()),
                ("redirect_uri", redirect.replace(' ', "%20")),
                ("scope", "tweet.read users.read offline.access".to_string()),
                ("state", state.clone()),
                ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_string()),
                ("code_challenge_method", "S256".to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            prop_assert_eq!(pairs, expected);
        }
    }
}
