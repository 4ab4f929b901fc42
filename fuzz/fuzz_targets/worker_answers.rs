//! X's answers as the worker reads them: `token_set` (a token answer or X's OAuth 2.0
//! error), `x_error`, and `v1_error` (X's v1.1 `{"errors":[{code, message}]}` bodies of
//! `oauth/*` and `oauth2/token`), and the error JSON the worker answers with.
//!
//! Asserts that tokens come only from a 2xx with a non-empty access token; that what the
//! caller is told keeps X's 4xx status, becomes 429 for a rate limit (with `Retry-After`,
//! and only then) or 502 for everything X got wrong; that X's known v1.1 codes get their
//! stable error; and that the worker's body is always JSON that says the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use xauth_core::ErrorKind;
use xauth_worker::fuzzing::{ApiError, XReply, token_set, v1_error, x_error};

const STATUSES: [u16; 12] = [200, 201, 204, 400, 401, 403, 404, 415, 429, 500, 503, 599];
const NOW: u64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    // Lossy: serde_json does not check the UTF-8 of strings it skips, and the worker skips
    // unknown fields.
    let json: Option<Value> = serde_json::from_str(&String::from_utf8_lossy(data)).ok();
    for status in STATUSES {
        let reply = XReply {
            status,
            body: data.to_vec(),
            retry_after: Some("7".to_owned()),
            content_type: Some("application/json".to_owned()),
            rate_limit: Vec::new(),
        };
        let success = (200..300).contains(&status);
        match token_set(&reply, NOW) {
            Ok(set) => {
                assert!(success);
                let sent = json.as_ref().and_then(|j| j.get("access_token")?.as_str());
                assert_eq!(Some(set.access_token.secret()), sent);
                assert!(!set.access_token.secret().is_empty());
            }
            Err(error) if success => {
                assert_eq!((error.status, error.error.as_str()), (502, "x_unavailable"));
                assert_eq!(error.kind, Some(ErrorKind::Transient));
                check_body(&error);
            }
            Err(error) => {
                check_x_error(&reply, &error);
                assert_eq!(fields(&error), fields(&x_error(&reply)));
            }
        }
        if success {
            continue;
        }
        for refused in [ErrorKind::Misconfigured, ErrorKind::Reauthorize] {
            let error = v1_error(&reply, refused);
            let generic = x_error(&reply);
            let first = json
                .as_ref()
                .and_then(|j| j.get("errors")?.as_array()?.first().cloned());
            if fields(&error) == fields(&generic) {
                continue;
            }
            // X's own refusal: its 4xx kept, a stable error for its code.
            assert!((400..500).contains(&status) && status != 429, "{status}");
            assert_eq!(error.status, status);
            let code = first.as_ref().and_then(|f| f.get("code")?.as_u64());
            let expected = match code {
                Some(32) => ("could_not_authenticate", refused),
                Some(89) => ("invalid_or_expired_token", refused),
                Some(99) => ("unable_to_verify_credentials", ErrorKind::Misconfigured),
                Some(135) => ("timestamp_out_of_bounds", ErrorKind::Misconfigured),
                Some(170) => ("missing_parameter", ErrorKind::Misconfigured),
                Some(215) => ("bad_authentication_data", ErrorKind::Misconfigured),
                Some(415) => ("callback_not_approved", ErrorKind::Misconfigured),
                _ => ("x_refused", ErrorKind::Misconfigured),
            };
            assert_eq!(
                (error.error.as_str(), error.kind),
                (expected.0, Some(expected.1))
            );
            assert!(!error.description.is_empty());
            assert_eq!(error.retry_after, None);
            check_body(&error);
        }
    }
});

/// The caller's status for X's non-2xx answer.
fn check_x_error(reply: &XReply, error: &ApiError) {
    let kind = error.kind.expect("an error from X has a kind");
    let expected_status = match kind {
        ErrorKind::Transient if reply.status == 429 => 429,
        ErrorKind::Transient => 502,
        _ if (400..500).contains(&reply.status) => reply.status,
        _ => 502,
    };
    assert_eq!(error.status, expected_status);
    if reply.status == 429 || (500..600).contains(&reply.status) {
        assert_eq!(kind, ErrorKind::Transient);
    }
    assert_eq!(error.retry_after.is_some(), error.status == 429);
    assert!(!error.error.is_empty() && !error.description.is_empty());
    check_body(error);
}

/// The JSON the caller gets says what the error says.
fn check_body(error: &ApiError) {
    let body: Value = serde_json::from_str(&error.body()).expect("the error body is JSON");
    assert_eq!(body["error"].as_str(), Some(error.error.as_str()));
    assert_eq!(
        body["error_description"].as_str(),
        Some(error.description.as_str())
    );
    assert_eq!(
        body.get("kind").and_then(Value::as_str),
        error.kind.map(ErrorKind::as_str)
    );
}

fn fields(error: &ApiError) -> (u16, &str, &str, Option<ErrorKind>) {
    (error.status, &error.error, &error.description, error.kind)
}
