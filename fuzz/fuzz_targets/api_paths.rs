//! The proxy's path and token rules: `x_api_path` (which URLs a page may send through the
//! worker), and the worker's `is_api_path`, `path_prefixes`, `is_under`, the public-read
//! patterns (`parse_patterns`, `is_public_read`) and `bearer_token`.
//!
//! The input is up to four lines: a path (or URL), a prefix list as in
//! `TWITTER_API_PATHS`, an `Authorization` value, and a pattern list as in
//! `TWITTER_PUBLIC_READ_PATHS`.
//!
//! Asserts that no path either side accepts can reach X with a dot segment, once the
//! browser's URL parser has had it (it drops tabs and newlines and trims the ends, and
//! reads `%2e` as a dot); that the prefix rules match whole segments; and that the token
//! passed on to X is exactly the caller's token text, with nothing that could end a header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xauth_core::x_api_path;
use xauth_worker::fuzzing::{
    DEFAULT_PUBLIC_READS, bearer_token, is_api_path, is_bearer_token, is_public_read, is_under,
    parse_patterns, path_prefixes,
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let path = lines.next().unwrap_or_default();
    let prefixes = lines.next().unwrap_or_default();
    let authorization = lines.next().unwrap_or_default();
    let patterns = lines.next().unwrap_or_default();
    // The whole input too: newlines and all.
    browser_side(&text);
    browser_side(path);
    worker_paths(path, prefixes);
    public_reads(path, patterns);
    worker_token(authorization);
    worker_token(&text);
});

fn browser_side(input: &str) {
    let Some(path) = x_api_path(input) else {
        return;
    };
    assert!(input.ends_with(path));
    assert!(!path.contains('#'));
    assert!(
        !path.chars().any(|c| c.is_ascii_control()),
        "control character in {path:?}"
    );
    let route = path.split('?').next().unwrap_or_default();
    assert!(!route.is_empty());
    assert!(!route.contains('\\'));
    assert!(!route.to_ascii_lowercase().contains("%2e"));
    assert!(!has_dot_segment(route), "dot segment in {path:?}");
    // What the page's `fetch` makes of `${worker}/twitter-api/2/${path}` (WHATWG URL
    // parsing): tabs and newlines dropped anywhere, C0 controls and spaces trimmed at the
    // end, `%2e` read as `.`, `\` as `/`.
    let parsed: String = path
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let parsed = parsed.trim_end_matches(|c: char| c <= ' ');
    let route = parsed.split(['?', '#']).next().unwrap_or_default();
    let route = route
        .to_ascii_lowercase()
        .replace("%2e", ".")
        .replace('\\', "/");
    assert!(
        !has_dot_segment(&route),
        "{path:?} reaches the worker as {route:?}"
    );
}

fn has_dot_segment(route: &str) -> bool {
    route.split('/').any(|s| s == "." || s == "..")
}

fn worker_paths(path: &str, prefixes: &str) {
    let accepted = is_api_path(path);
    if accepted {
        // Only plain segments reach `X_API_URL/2/<path>`.
        assert!(
            path.split('/')
                .all(|s| !s.is_empty() && s != "." && s != "..")
        );
        assert!(
            path.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-'))
        );
    }
    let listed = match path_prefixes("TWITTER_API_PATHS", prefixes) {
        Ok(listed) => listed,
        Err(error) => {
            assert_eq!(error.status, 500);
            assert!(
                prefixes
                    .split_whitespace()
                    .any(|p| !is_api_path(p.trim_matches('/')))
            );
            return;
        }
    };
    assert_eq!(listed.len(), prefixes.split_whitespace().count());
    assert!(listed.iter().all(|p| is_api_path(p)));
    if !accepted {
        return;
    }
    // Whole segments: `users` covers `users` and `users/12`, not `usersx`.
    let segments: Vec<&str> = path.split('/').collect();
    let under = listed
        .iter()
        .any(|p| segments.starts_with(&p.split('/').collect::<Vec<_>>()));
    assert_eq!(is_under(path, &listed), under, "{path:?} under {listed:?}");
}

/// Public reads: only whole paths that match a pattern segment for segment, never
/// `users/me`, and with the default patterns nothing that streams, searches or reads rules.
fn public_reads(input: &str, patterns: &str) {
    let (path, query) = match input.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (input, None),
    };
    let path = path.trim_start_matches('/');
    let defaults = parse_patterns(DEFAULT_PUBLIC_READS).expect("the defaults parse");
    for list in [Some(defaults), parse_patterns(patterns)]
        .into_iter()
        .flatten()
    {
        if !is_public_read(path, query, &list) {
            continue;
        }
        let segments: Vec<&str> = path.split('/').collect();
        assert!(!segments.starts_with(&["users", "me"]), "{path:?}");
        assert!(is_api_path(path), "a public read is a plain path: {path:?}");
    }
    if is_public_read(path, query, &parse_patterns(DEFAULT_PUBLIC_READS).unwrap()) {
        for word in ["stream", "search", "rules", "counts", "compliance", "me"] {
            assert!(
                !path.split('/').any(|segment| segment == word),
                "{path:?} is public by default"
            );
        }
    }
}

fn worker_token(authorization: &str) {
    let token = bearer_token(authorization);
    // `Bearer` in any case, one space, the token, surrounding blanks ignored.
    let trimmed = authorization.trim();
    let expected = trimmed
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| is_bearer_token(token));
    assert_eq!(token, expected);
    if let Some(token) = token {
        assert!(!token.is_empty() && token.len() <= 4096);
        assert!(token.bytes().all(|b| b.is_ascii_graphic()), "{token:?}");
    }
}
