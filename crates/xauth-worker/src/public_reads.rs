//! Which X API reads the worker makes as the app, for anyone (`TWITTER_PUBLIC_READ_PATHS`):
//! explicit endpoint patterns, never path prefixes. A prefix such as `tweets` also covered
//! `tweets/search/stream/rules` (the app's private stream rules), the app's one stream
//! connection (`tweets/sample/stream`) and its paid full-archive quota
//! (`tweets/search/all`): whoever could load a URL could use them.
//!
//! A pattern is `segment(/segment)*` with an optional `?param=`:
//! - a plain segment matches itself;
//! - `:id` matches an X id (1 to 19 digits), `:username` an X handle (1 to 15 of
//!   `A-Z a-z 0-9 _`), any other `:name` one segment of `A-Z a-z 0-9 _ -`;
//! - `?param=` requires that query parameter, with a value (`tweets?ids=` is the lookup by
//!   ids, `GET /2/tweets?ids=1,2`).
//!
//! The whole path must match (no prefixes), and `users/me` never does: the app is nobody.
//!
//! Pure Rust, no `worker` types: unit-tested natively.

/// The default: a post, posts by ids, a user, a user by handle. Nothing that streams,
/// searches, or reads the app's settings.
pub const DEFAULT_PUBLIC_READS: &str =
    "tweets/:id tweets?ids= users/:id users/by/username/:username";

/// One endpoint pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadPattern {
    segments: Vec<Segment>,
    required_param: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Id,
    Username,
    Any,
}

impl ReadPattern {
    /// A pattern, or `None` when it is not one (see the module docs).
    pub fn parse(text: &str) -> Option<ReadPattern> {
        let text = text.trim_matches('/');
        let (path, param) = match text.split_once('?') {
            Some((path, query)) => {
                let name = query.strip_suffix('=')?;
                let valid = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.'));
                (path, Some(name.to_owned()).filter(|_| valid)?.into())
            }
            None => (text, None),
        };
        let segments = path
            .split('/')
            .map(|segment| match segment.strip_prefix(':') {
                Some("id") => Some(Segment::Id),
                Some("username") => Some(Segment::Username),
                Some(name) if is_word(name) => Some(Segment::Any),
                Some(_) => None,
                None if is_word(segment) => Some(Segment::Literal(segment.to_owned())),
                None => None,
            })
            .collect::<Option<Vec<_>>>()?;
        Some(ReadPattern {
            segments,
            required_param: param,
        })
    }

    /// Whether the X API path (after `/2/`) and query match.
    pub fn matches(&self, path: &str, query: Option<&str>) -> bool {
        let parts: Vec<&str> = path.split('/').collect();
        parts.len() == self.segments.len()
            && self
                .segments
                .iter()
                .zip(&parts)
                .all(|(segment, part)| segment.matches(part))
            && self
                .required_param
                .as_deref()
                .is_none_or(|name| has_param(query, name))
    }
}

impl Segment {
    fn matches(&self, part: &str) -> bool {
        match self {
            Segment::Literal(literal) => part == literal,
            Segment::Id => {
                (1..=19).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit())
            }
            Segment::Username => {
                (1..=15).contains(&part.len())
                    && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            }
            Segment::Any => is_word(part),
        }
    }
}

/// One path segment's worth: letters, digits, `_` and `-`, not empty.
fn is_word(segment: &str) -> bool {
    !segment.is_empty()
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether `query` has `name=<something>`.
fn has_param(query: Option<&str>, name: &str) -> bool {
    query.is_some_and(|query| {
        query.split('&').any(|pair| {
            pair.split_once('=')
                .is_some_and(|(key, value)| key == name && !value.is_empty())
        })
    })
}

/// `TWITTER_PUBLIC_READ_PATHS`: space-separated patterns; `None` when one is not a pattern.
pub fn parse_patterns(value: &str) -> Option<Vec<ReadPattern>> {
    value.split_whitespace().map(ReadPattern::parse).collect()
}

/// Whether a GET of `path?query` (after `/2/`) is a public read the app makes for anyone.
pub fn is_public_read(path: &str, query: Option<&str>, patterns: &[ReadPattern]) -> bool {
    let is_me = path == "users/me" || path.starts_with("users/me/");
    !is_me && patterns.iter().any(|pattern| pattern.matches(path, query))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Vec<ReadPattern> {
        parse_patterns(DEFAULT_PUBLIC_READS).unwrap()
    }

    #[test]
    fn the_defaults_allow_single_lookups_only() {
        let patterns = defaults();
        for (path, query) in [
            ("tweets/20", None),
            (
                "tweets/1860000000000000001",
                Some("tweet.fields=created_at"),
            ),
            ("tweets", Some("ids=1,2")),
            ("tweets", Some("tweet.fields=id&ids=1")),
            ("users/2244994945", None),
            (
                "users/by/username/xauthdemo",
                Some("user.fields=created_at"),
            ),
            ("users/by/username/A_b_9", None),
        ] {
            assert!(is_public_read(path, query, &patterns), "{path} {query:?}");
        }
    }

    #[test]
    fn the_defaults_refuse_streams_searches_rules_and_me() {
        let patterns = defaults();
        for (path, query) in [
            ("tweets/search/stream/rules", None),
            ("tweets/search/stream", None),
            ("tweets/sample/stream", None),
            ("tweets/sample10/stream", None),
            ("tweets/search/all", Some("query=x")),
            ("tweets/search/recent", Some("query=x")),
            ("tweets/counts/all", Some("query=x")),
            ("tweets/compliance/stream", None),
            ("tweets/search", None),
            ("tweets/not-an-id", None),
            ("tweets/20/liking_users", None),
            ("tweets", None),
            ("tweets", Some("ids=")),
            ("tweets", Some("idsx=1")),
            ("users/me", None),
            ("users/me/x", None),
            ("users", Some("ids=1")),
            ("users/by/username/much_too_long_handle", None),
            ("users/by/username/a-b", None),
            ("users/by", None),
            ("dm_events", None),
            ("compliance/jobs", None),
            ("", None),
        ] {
            assert!(!is_public_read(path, query, &patterns), "{path} {query:?}");
        }
        assert!(!is_public_read("tweets/20", None, &[]));
    }

    #[test]
    fn patterns_are_checked() {
        for good in [
            "lists/:id",
            "/spaces/:id/",
            "users?ids=",
            "a/:thing/b",
            "tweets?tweet.fields=",
        ] {
            assert!(ReadPattern::parse(good).is_some(), "{good}");
        }
        for bad in [
            "",
            "../secrets",
            "tweets//x",
            "tweets?ids",
            "tweets?=",
            "tweets?ids=1",
            "tweets/:",
            "tweets/:i d",
            "tweets/%2e",
            "tweets?a=&b=",
        ] {
            assert!(ReadPattern::parse(bad).is_none(), "{bad}");
        }
        assert!(parse_patterns("tweets/:id ../x").is_none());
        assert_eq!(parse_patterns("").unwrap(), vec![]);
        let any = ReadPattern::parse("lists/:list_id").unwrap();
        assert!(any.matches("lists/abc-1", None));
        assert!(!any.matches("lists/abc/1", None));
    }
}
