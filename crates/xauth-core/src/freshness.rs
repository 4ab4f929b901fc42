//! Keeping a user's tokens usable: when to refresh, when a failed API call is worth a
//! refresh and one retry, and which X API calls a client may send through a proxy.
//!
//! X's access tokens live two hours and every refresh rotates the refresh token, so a
//! client refreshes shortly before expiry rather than after a failure, and spends a
//! rotation only on answers that are about the token.

/// How long before `expires_at` a token counts as stale by default: enough for a request
/// to reach X before the token dies on the way, even with a clock a little off.
pub const DEFAULT_REFRESH_SKEW_SECS: u64 = 60;

/// Whether a token that expires at `expires_at` (Unix seconds) should be refreshed before
/// it is sent at `now`: it has expired or is within `skew` seconds of it. An unknown
/// expiry is not stale: such a token is refreshed when X refuses it (401).
pub fn needs_refresh(expires_at: Option<u64>, now: u64, skew: u64) -> bool {
    expires_at.is_some_and(|expires_at| expires_at.saturating_sub(skew) <= now)
}

/// Whether an API answer with `status` is worth one refresh and one retry of the call.
///
/// 401 says the access token is not (or no longer) accepted: a refresh cures it. 403 says
/// the token is fine but not allowed this call (a missing scope, a suspended account, a
/// duplicate post), so a refresh would spend a rotation for nothing; `refresh_on_403` turns
/// it on for APIs that answer 403 to dead tokens.
pub fn refresh_may_help(status: u16, refresh_on_403: bool) -> bool {
    status == 401 || (status == 403 && refresh_on_403)
}

/// The X API v2 path after `/2/` (with its query) of `input`, which is either the X URL
/// (`https://api.x.com/2/users/me`, also `api.twitter.com`) or the path (`/2/users/me`).
/// `None` for anything else, for an empty path, for paths with `.` or `..` segments,
/// which a proxy's prefix check must never have to interpret, and for control characters
/// anywhere or a space before the query, which a browser drops or trims from a URL.
///
/// ```
/// use xauth_core::x_api_path;
/// assert_eq!(x_api_path("https://api.x.com/2/users/me"), Some("users/me"));
/// assert_eq!(x_api_path("/2/tweets?ids=1,2"), Some("tweets?ids=1,2"));
/// assert_eq!(x_api_path("https://evil.example/2/users/me"), None);
/// assert_eq!(x_api_path("/2/tweets/../dm_events"), None);
/// ```
// `iter().any()` rather than `contains`: see `encoding::has_any`.
#[allow(clippy::manual_contains)]
pub fn x_api_path(input: &str) -> Option<&str> {
    let path = ["https://api.x.com/2/", "https://api.twitter.com/2/", "/2/"]
        .iter()
        .find_map(|prefix| input.strip_prefix(prefix))?;
    // Byte-wise, like `url::split_scheme`: `str` patterns (`split`, `contains("%2e")`)
    // would link the substring searcher and a panicking slice check into the browser wasm.
    let bytes = path.as_bytes();
    let route_len = bytes
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(bytes.len());
    let route = bytes.get(..route_len)?;
    // An encoded dot or a backslash has no business in an X API path; refusing them
    // outright is simpler than deciding how each server along the way decodes them.
    let dot_segment = route
        .split(|&b| b == b'/')
        .any(|segment| segment == b"." || segment == b"..")
        || route.windows(3).any(|w| w.eq_ignore_ascii_case(b"%2e"))
        || route.iter().any(|&b| b == b'\\');
    // A browser's URL parser drops tabs and newlines anywhere and trims controls and spaces
    // at the end: `.\t.` or a trailing `.. ` would reach the proxy as a dot segment.
    let browser_junk = bytes.iter().any(u8::is_ascii_control) || route.iter().any(|&b| b == b' ');
    if route.is_empty() || dot_segment || browser_junk || bytes.iter().any(|&b| b == b'#') {
        return None;
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The `str`-pattern version `x_api_path` was first written as: the reference.
    fn x_api_path_reference(input: &str) -> Option<&str> {
        let path = ["https://api.x.com/2/", "https://api.twitter.com/2/", "/2/"]
            .iter()
            .find_map(|prefix| input.strip_prefix(prefix))?;
        let route = path.split(['?', '#']).next().unwrap_or_default();
        let dot_segment = route
            .split('/')
            .any(|segment| segment == "." || segment == "..")
            || route.to_ascii_lowercase().contains("%2e")
            || route.contains('\\');
        let browser_junk = path.contains(|c: char| c.is_ascii_control()) || route.contains(' ');
        if route.is_empty() || dot_segment || browser_junk || path.contains('#') {
            return None;
        }
        Some(path)
    }

    proptest! {
        #[test]
        fn api_path_agrees_with_the_reference(
            input in "(https://api\\.x\\.com/2/|https://api\\.twitter\\.com/2/|/2/|/2|https://api\\.x\\.com/)?[a-z0-9./?#%\\\\eE_=&é-]{0,24}"
        ) {
            prop_assert_eq!(x_api_path(&input), x_api_path_reference(&input));
        }

        #[test]
        fn api_path_agrees_with_the_reference_on_any_text(input in "\\PC{0,40}") {
            prop_assert_eq!(x_api_path(&input), x_api_path_reference(&input));
        }
    }

    #[test]
    fn stale_within_skew_or_after_expiry() {
        assert!(!needs_refresh(Some(1_000), 900, 60));
        assert!(needs_refresh(Some(1_000), 940, 60));
        assert!(needs_refresh(Some(1_000), 1_000, 60));
        assert!(needs_refresh(Some(1_000), 5_000, 60));
        assert!(
            needs_refresh(Some(10), 0, 60),
            "skew larger than the expiry"
        );
        assert!(!needs_refresh(None, u64::MAX, 60));
        assert!(!needs_refresh(Some(1_000), 999, 0));
    }

    #[test]
    fn only_401_is_worth_a_rotation_by_default() {
        assert!(refresh_may_help(401, false));
        assert!(!refresh_may_help(403, false));
        assert!(refresh_may_help(403, true));
        for status in [200, 201, 400, 404, 429, 500, 502] {
            assert!(!refresh_may_help(status, true), "{status}");
        }
    }

    #[test]
    fn api_paths() {
        assert_eq!(x_api_path("https://api.x.com/2/users/me"), Some("users/me"));
        assert_eq!(
            x_api_path("https://api.twitter.com/2/tweets/20"),
            Some("tweets/20")
        );
        assert_eq!(
            x_api_path("/2/users/me?user.fields=created_at"),
            Some("users/me?user.fields=created_at")
        );
        for refused in [
            "",
            "/2/",
            "users/me",
            "/users/me",
            "/1.1/statuses/update.json",
            "http://api.x.com/2/users/me",
            "https://api.x.com.evil.example/2/users/me",
            "https://evil.example/2/users/me",
            "/2/tweets/../dm_events",
            "/2/./users/me",
            "/2/tweets/%2E%2E/dm_events",
            "/2/tweets/%2e./x",
            "/2/tweets\\..\\dm_events",
            "/2/users/me#frag",
            "/2/?x=1",
        ] {
            assert_eq!(x_api_path(refused), None, "{refused}");
        }
    }

    /// A browser drops tabs and newlines from a URL and trims controls and spaces at its
    /// end, so these would reach the worker as dot segments (found by fuzz/api_paths).
    #[test]
    fn api_paths_refuse_what_a_browser_would_turn_into_dot_segments() {
        for refused in [
            "/2/tweets/.\t./dm_events",
            "/2/tweets/.\n./dm_events",
            "/2/.\r./.\r./twitter-revoke-token",
            "/2/tweets/%2\ne./x",
            "/2/tweets/.. ",
            "/2/tweets/..\u{0}",
            "/2/users/me?x=\n",
        ] {
            assert_eq!(x_api_path(refused), None, "{refused:?}");
        }
        assert_eq!(
            x_api_path("/2/tweets/search/recent?query=from:jack has:media"),
            Some("tweets/search/recent?query=from:jack has:media")
        );
    }
}
