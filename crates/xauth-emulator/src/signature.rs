//! OAuth 1.0a request verification (RFC 5849 §3.2), written apart from `xauth-core`'s
//! signer so that the emulator checks clients instead of agreeing with them.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, percent_encode};
use serde_json::json;
use sha1::Sha1;

use crate::http::{is_form, json_response};
use crate::store::Shared;

/// How far `oauth_timestamp` may be from the emulator's clock, either way.
pub(crate) const TIMESTAMP_WINDOW_SECS: u64 = 600;

/// RFC 5849 §3.6: everything but `ALPHA DIGIT - . _ ~` is `%XX`, uppercase.
const RFC5849: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The `oauth_token` an endpoint takes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// None (`/oauth/request_token`): the key is the consumer secret and `&`.
    NoToken,
    /// A request token not yet traded (`/oauth/access_token`), signed with its secret.
    RequestToken,
}

/// A request whose signature, timestamp and nonce checked out.
pub(crate) struct Verified {
    /// The `Authorization` header's parameters, decoded (`oauth_signature` included).
    pub oauth: HashMap<String, String>,
    /// The query and form body parameters, decoded.
    pub params: Vec<(String, String)>,
}

impl Verified {
    /// A protocol parameter from the header, else from the query or the body (X takes
    /// `oauth_verifier` in the body too).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.oauth.get(name).map(String::as_str).or_else(|| {
            self.params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        })
    }
}

/// X's v1.1 error body: `{"errors":[{"code":…,"message":…}]}`.
pub(crate) fn x_error(status: StatusCode, code: u32, message: &str) -> Response {
    json_response(
        status,
        json!({ "errors": [{ "code": code, "message": message }] }),
    )
}

/// 401, code 32: the answer to any request that fails verification.
pub(crate) fn could_not_authenticate() -> Response {
    x_error(StatusCode::UNAUTHORIZED, 32, "Could not authenticate you.")
}

/// Verifies an OAuth 1.0a request to the emulator:
///
/// - an `Authorization: OAuth …` header (else 400, code 215 "Bad Authentication data.");
/// - the registered consumer key, `HMAC-SHA1`, `oauth_version` absent or `1.0`, a nonce,
///   and an `oauth_token` of the `kind` the endpoint takes, if any (else 401, code 32);
/// - the HMAC-SHA1 signature, recomputed over the method, `http://` + the `Host` header +
///   the path, the query, the form body and the header's parameters (else 401, code 32);
/// - the timestamp within [`TIMESTAMP_WINDOW_SECS`] of now (else 401, code 135 "Timestamp
///   out of bounds.");
/// - a nonce this consumer has not used (else 401, code 32); it is then spent.
pub(crate) fn verify(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    kind: TokenKind,
) -> Result<Verified, Response> {
    let bad_data = || x_error(StatusCode::BAD_REQUEST, 215, "Bad Authentication data.");
    let oauth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_authorization)
        .ok_or_else(bad_data)?;
    let get = |name: &str| oauth.get(name).map(String::as_str);
    let config = &shared.config;
    let (Some(consumer), Some(signature), Some(timestamp), Some(nonce)) = (
        get("oauth_consumer_key"),
        get("oauth_signature"),
        get("oauth_timestamp"),
        get("oauth_nonce").filter(|n| !n.is_empty()),
    ) else {
        return Err(could_not_authenticate());
    };
    if consumer != config.consumer_key
        || get("oauth_signature_method") != Some("HMAC-SHA1")
        || get("oauth_version").is_some_and(|v| v != "1.0")
    {
        return Err(could_not_authenticate());
    }
    let secret = match (kind, get("oauth_token")) {
        (TokenKind::NoToken, None) => String::new(),
        (TokenKind::RequestToken, Some(token)) => shared
            .store()
            .request_tokens
            .get(token)
            .map(|t| t.secret.clone())
            .ok_or_else(could_not_authenticate)?,
        _ => return Err(could_not_authenticate()),
    };

    let mut params: Vec<(String, String)> = uri
        .query()
        .map(|q| form_pairs(q.as_bytes()))
        .unwrap_or_default();
    if is_form(headers) {
        params.extend(form_pairs(body));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or_default();
    let base = base_string(method.as_str(), host, uri.path(), &params, &oauth);
    if !signature_matches(&base, &config.consumer_secret, &secret, signature) {
        return Err(could_not_authenticate());
    }

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let Ok(timestamp) = timestamp.parse::<u64>() else {
        return Err(could_not_authenticate());
    };
    if now.abs_diff(timestamp) > TIMESTAMP_WINDOW_SECS {
        return Err(x_error(
            StatusCode::UNAUTHORIZED,
            135,
            "Timestamp out of bounds.",
        ));
    }
    {
        let mut store = shared.store();
        // A nonce older than the window can be forgotten: its timestamp is refused anyway.
        store
            .nonces
            .retain(|_, seen| now.abs_diff(*seen) <= TIMESTAMP_WINDOW_SECS);
        let key = (consumer.to_string(), nonce.to_string());
        if store.nonces.insert(key, timestamp).is_some() {
            return Err(could_not_authenticate());
        }
    }
    Ok(Verified { oauth, params })
}

/// `OAuth k="v", k2="v2"` -> decoded pairs; `None` if malformed or a name repeats.
pub fn parse_authorization(value: &str) -> Option<HashMap<String, String>> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("oauth") {
        return None;
    }
    let mut params = HashMap::new();
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, quoted) = part.split_once('=')?;
        let value = quoted.trim().strip_prefix('"')?.strip_suffix('"')?;
        let decoded = percent_decode_str(value).decode_utf8().ok()?.into_owned();
        if params.insert(name.trim().to_string(), decoded).is_some() {
            return None;
        }
    }
    Some(params)
}

/// RFC 5849 §3.4.1: `METHOD&enc(base URI)&enc(normalized parameters)`.
pub fn base_string(
    method: &str,
    host: &str,
    path: &str,
    params: &[(String, String)],
    oauth: &HashMap<String, String>,
) -> String {
    let host = host.to_ascii_lowercase();
    let host = host.strip_suffix(":80").unwrap_or(&host);
    let uri = format!("http://{host}{}", if path.is_empty() { "/" } else { path });
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .chain(
            oauth
                .iter()
                .filter(|(n, _)| *n != "oauth_signature" && *n != "realm")
                .map(|(n, v)| (n.as_str(), v.as_str())),
        )
        .map(|(n, v)| (enc(n.as_bytes()), enc(v.as_bytes())))
        .collect();
    pairs.sort();
    let normalized = pairs
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        enc(uri.as_bytes()),
        enc(normalized.as_bytes())
    )
}

/// Whether `presented` (BASE64) is the HMAC-SHA1 of `base` under
/// `enc(consumer_secret)&enc(token_secret)`, compared in constant time.
pub fn signature_matches(
    base: &str,
    consumer_secret: &str,
    token_secret: &str,
    presented: &str,
) -> bool {
    let Ok(presented) = STANDARD.decode(presented) else {
        return false;
    };
    let key = format!(
        "{}&{}",
        enc(consumer_secret.as_bytes()),
        enc(token_secret.as_bytes())
    );
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key.as_bytes()) else {
        return false;
    };
    mac.update(base.as_bytes());
    mac.verify_slice(&presented).is_ok()
}

fn enc(bytes: &[u8]) -> String {
    percent_encode(bytes, RFC5849).to_string()
}

/// `application/x-www-form-urlencoded` pairs, decoded.
fn form_pairs(data: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(data).into_owned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// X's "Creating a signature" example, checked by this independent implementation.
    #[test]
    fn x_signature_example() {
        let oauth: HashMap<String, String> = [
            ("oauth_consumer_key", "xvz1evFS4wEEPTGEFPHBog"),
            ("oauth_nonce", "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "1318622958"),
            (
                "oauth_token",
                "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
            ),
            ("oauth_version", "1.0"),
            ("oauth_signature", "ignored"),
            ("realm", "ignored"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let params = vec![
            ("include_entities".to_string(), "true".to_string()),
            (
                "status".to_string(),
                "Hello Ladies + Gentlemen, a signed OAuth request!".to_string(),
            ),
        ];
        let base = base_string(
            "post",
            "API.twitter.com:80",
            "/1.1/statuses/update.json",
            &params,
            &oauth,
        )
        .replacen("http%3A", "https%3A", 1);
        let consumer = "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw";
        let token = "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE";
        assert!(signature_matches(
            &base,
            consumer,
            token,
            "hCtSmYh+iHYCEqBWrE7C7hYmtUk="
        ));
        assert!(!signature_matches(
            &base,
            consumer,
            token,
            "Ls93hJiZbQ3akF3HF3x1Bz8/zU4="
        ));
        let x = base.replace("api.twitter.com", "api.x.com");
        assert!(signature_matches(
            &x,
            consumer,
            token,
            "Ls93hJiZbQ3akF3HF3x1Bz8/zU4="
        ));
        assert!(!signature_matches(&x, consumer, token, "not base64!"));
    }

    #[test]
    fn authorization_headers() {
        let parsed =
            parse_authorization(r#"OAuth oauth_nonce="a%20b",  oauth_token="t" ,realm="R""#)
                .unwrap();
        assert_eq!(parsed["oauth_nonce"], "a b");
        assert_eq!(parsed["realm"], "R");
        assert_eq!(parsed.len(), 3);
        for bad in [
            "Bearer x",
            "OAuth oauth_nonce=a",
            r#"OAuth oauth_nonce="a", oauth_nonce="b""#,
            r#"OAuth oauth_nonce="%FF""#,
            "OAuth",
        ] {
            assert!(parse_authorization(bad).is_none(), "{bad}");
        }
    }
}
