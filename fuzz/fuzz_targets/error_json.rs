//! Error JSON from X's token and revocation endpoints (RFC 6749 §5.2 plus X's quirks).
//!
//! Asserts the classification table of `classify_error` for every status X may answer:
//! a rate limit or a server failure is never `reauthorize` (the user keeps their tokens),
//! only a dead grant is, the status is kept, and the error code is never empty.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xauth_core::{ErrorKind, RawErrorResponse, classify_error};

const STATUSES: [u16; 12] = [200, 302, 400, 401, 403, 404, 409, 429, 500, 502, 503, 599];

fuzz_target!(|data: &[u8]| {
    let body = serde_json::from_slice::<RawErrorResponse>(data).ok();
    let sent_error = body
        .as_ref()
        .and_then(|b| b.error.as_deref())
        .filter(|e| !e.is_empty());
    let sent_description = body
        .as_ref()
        .and_then(|b| b.error_description.as_deref())
        .filter(|d| !d.is_empty());
    for status in STATUSES {
        let e = classify_error(status, body.as_ref());
        assert_eq!(e.status, status);
        assert!(!e.error.is_empty());
        assert_eq!(e.description.as_deref(), sent_description);
        match sent_error {
            Some(sent) => assert_eq!(e.error, sent),
            None if status == 429 || status == 503 => {
                assert_eq!(e.error, "temporarily_unavailable")
            }
            None => assert_eq!(e.error, "server_error"),
        }
        let server_side = status == 429 || (500..=599).contains(&status);
        if server_side || sent_error.is_none() {
            assert_eq!(e.kind, ErrorKind::Transient, "{status} {body:?}");
        }
        match e.kind {
            ErrorKind::Reauthorize => {
                let dead_grant = matches!(sent_error, Some("invalid_grant" | "invalid_token"))
                    || (sent_error == Some("invalid_request")
                        && sent_description.is_some_and(says_grant_invalid));
                assert!(dead_grant, "reauthorize for {status} {body:?}");
            }
            ErrorKind::Transient => assert!(
                server_side
                    || matches!(
                        sent_error,
                        None | Some("server_error" | "temporarily_unavailable")
                    ),
                "transient for {status} {body:?}"
            ),
            ErrorKind::Misconfigured => assert!(!server_side && sent_error.is_some()),
        }
        let shown = e.to_string();
        assert!(shown.contains(&e.error) && shown.contains(e.kind.as_str()));
    }
});

fn says_grant_invalid(description: &str) -> bool {
    let lower = description.to_ascii_lowercase();
    lower.contains("token was invalid") || lower.contains("authorization code was invalid")
}
