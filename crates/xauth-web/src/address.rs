//! The address bar: the page's URL, and taking the callback's parameters out of it so that
//! a reload, a bookmark or a shared link does not carry a spent code and state.

use crate::prelude::*;
/// The callback's parameters (RFC 6749 §4.1.2, §4.1.2.1), removed from the address bar.
/// `iss` is X's too when it sends one (RFC 9207); so are OAuth 1.0a's `oauth_token`,
/// `oauth_verifier` and `denied` (RFC 5849 §2.2); the app's own parameters stay.
const CALLBACK_PARAMS: [&str; 8] = [
    "code",
    "state",
    "error",
    "error_description",
    "iss",
    "oauth_token",
    "oauth_verifier",
    "denied",
];

/// `location.href`, if there is a window.
pub(crate) fn current_href() -> Option<String> {
    web_sys::window()?.location().href().ok()
}

/// Replaces the current history entry's URL by the same path, query without the callback
/// parameters, and hash (`history.replaceState`, keeping the entry's state). Best effort:
/// nothing happens when there is nothing to remove or the browser refuses.
pub(crate) fn remove_callback_params() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let location = window.location();
    let (Ok(path), Ok(search), Ok(hash)) =
        (location.pathname(), location.search(), location.hash())
    else {
        return;
    };
    let Some(kept) = without_callback_params(&search) else {
        return;
    };
    let mut url = path;
    url.push_str(&kept);
    url.push_str(&hash);
    if let Ok(history) = window.history() {
        let state = history.state().unwrap_or(wasm_bindgen::JsValue::NULL);
        let _ = history.replace_state_with_url(&state, "", Some(&url));
    }
}

/// `search` (`location.search`: empty or `?...`) without the callback parameters, each
/// other parameter kept byte for byte; `None` when nothing would change.
pub(crate) fn without_callback_params(search: &str) -> Option<String> {
    let query = search.strip_prefix('?').unwrap_or(search);
    let mut kept = String::new();
    let mut removed = false;
    for pair in query.split('&') {
        // The name as the callback parser sees it (`%63ode` is `code`).
        let name = form_urlencoded::parse(pair.as_bytes()).next();
        let is_callback = name.is_some_and(|(name, _)| CALLBACK_PARAMS.contains(&&*name));
        if is_callback || pair.is_empty() {
            removed |= is_callback;
            continue;
        }
        kept.push(if kept.is_empty() { '?' } else { '&' });
        kept.push_str(pair);
    }
    removed.then_some(kept)
}

#[cfg(test)]
mod tests {
    use super::without_callback_params;
    use wasm_bindgen_test::wasm_bindgen_test;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    fn check(search: &str, expected: Option<&str>) {
        assert_eq!(
            without_callback_params(search).as_deref(),
            expected,
            "{search:?}"
        );
    }

    #[wasm_bindgen_test]
    fn strips_only_the_callback_parameters() {
        check("", None);
        check("?", None);
        check("?page=2", None);
        check("?page=2&&x", None);
        check("?state=s&code=c", Some(""));
        check("?code=c&state=s&iss=https%3A%2F%2Fx.com", Some(""));
        check(
            "?error=access_denied&error_description=no&state=s",
            Some(""),
        );
        check("?page=2&state=s&code=c", Some("?page=2"));
        check(
            "?state=s&page=2&code=c&q=a%20b+c",
            Some("?page=2&q=a%20b+c"),
        );
        check("?%63ode=c&state=s", Some(""));
        check("?codes=1&state=s", Some("?codes=1"));
        check("?state&code", Some(""));
        check("state=s&keep=1", Some("?keep=1"));
    }
}
