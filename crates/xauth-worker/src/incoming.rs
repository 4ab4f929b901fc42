//! The caller's request as the handlers read it: the runtime's `Request`, each part read
//! when a handler asks for it. (workers-rs' `Request` reads the method, URL, headers and
//! `cf` of every request up front; `cf` alone cost ~4 µs a request in the profile.)

use worker::web_sys::{Headers, ReadableStream, Request};
use worker::{Method, Url};

use crate::error::ApiError;

/// A request to the worker.
pub struct Incoming {
    raw: Request,
    headers: Headers,
    /// `None`: a method the worker serves nowhere (HTTP methods are case-sensitive).
    method: Option<Method>,
    url: String,
}

impl Incoming {
    pub fn new(raw: Request) -> Incoming {
        Incoming {
            method: known_method(&raw.method()),
            url: raw.url(),
            headers: raw.headers(),
            raw,
        }
    }

    /// The method, if the worker serves it anywhere.
    pub fn method(&self) -> Option<&Method> {
        self.method.as_ref()
    }

    /// The path, percent-encoded as it came, without the query.
    pub fn path(&self) -> &str {
        path_of(&self.url)
    }

    /// The whole URL, parsed.
    pub fn url(&self) -> Result<Url, ApiError> {
        Url::parse(&self.url).map_err(|_| ApiError::internal("The request's URL is not a URL."))
    }

    /// A header's value (several of one name joined with `, `, as `fetch` does).
    pub fn header(&self, name: &str) -> Result<Option<String>, ApiError> {
        Ok(self.headers.get(name).map_err(worker::Error::from)?)
    }

    /// The body, if there is one.
    pub fn body(&self) -> Option<ReadableStream> {
        self.raw.body()
    }
}

/// The request's method when it is one the worker serves anywhere, spelled exactly as
/// HTTP does (methods are case-sensitive; browsers upper-case only the standard ones).
fn known_method(raw: &str) -> Option<Method> {
    match raw {
        "GET" => Some(Method::Get),
        "HEAD" => Some(Method::Head),
        "POST" => Some(Method::Post),
        "PUT" => Some(Method::Put),
        "DELETE" => Some(Method::Delete),
        "OPTIONS" => Some(Method::Options),
        _ => None,
    }
}

/// The path of a URL as the runtime serializes it (WHATWG): after the authority, up to the
/// query or fragment (within the path `?` and `#` are always percent-encoded).
fn path_of(url: &str) -> &str {
    let Some(after_scheme) = url.find("://").map(|at| &url[at + 3..]) else {
        return "/";
    };
    let Some(start) = after_scheme.find('/') else {
        return "/";
    };
    let path = &after_scheme[start..];
    &path[..path.find(['?', '#']).unwrap_or(path.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_urls() {
        for (url, path) in [
            ("https://w.example/twitter-config", "/twitter-config"),
            (
                "http://127.0.0.1:8787/twitter-api/2/tweets/20?x=1",
                "/twitter-api/2/tweets/20",
            ),
            ("https://w.example/a%3Fb#frag", "/a%3Fb"),
            ("https://w.example", "/"),
            ("https://w.example/", "/"),
            ("not a url", "/"),
        ] {
            assert_eq!(path_of(url), path, "{url}");
        }
    }

    #[test]
    fn methods_are_case_sensitive() {
        assert_eq!(known_method("POST"), Some(Method::Post));
        assert_eq!(known_method("post"), None);
        assert_eq!(known_method("PATCH"), None);
    }
}
