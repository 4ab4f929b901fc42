//! A client for the worker's JSON API that checks, on every answer, the promises the worker
//! keeps whatever the route or outcome: no secret in a body or header, `Cache-Control:
//! no-store`, never `Access-Control-Allow-Origin: *`, JSON bodies. It keeps cookies the way
//! a browser does (by name and path, dropped on `Max-Age=0`).

use std::cell::RefCell;

use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;

use crate::Worker;

/// A cookie the client holds.
#[derive(Clone, Debug)]
struct Cookie {
    name: String,
    value: String,
    path: String,
}

/// A checking client for one worker.
pub struct Api {
    /// The worker's base URL, e.g. `http://127.0.0.1:41234`.
    pub base: String,
    /// The underlying client (redirects are not followed), for requests `get`/`post` do
    /// not cover; send them through [`Api::send`] so they are checked too.
    pub http: Client,
    secrets: RefCell<Vec<String>>,
    jar: RefCell<Vec<Cookie>>,
}

/// One answer, read in full.
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body as JSON (`null` for an empty body).
    pub json: Value,
}

impl Api {
    /// A client for `worker` that fails the test if any of `secrets` shows up in an answer.
    pub fn new(worker: &Worker, secrets: &[&str]) -> Api {
        Api::at(worker.base_url(), secrets)
    }

    /// A client for the worker at `base` (e.g. one instance of [`crate::workerd::Workerd`]).
    pub fn at(base: &str, secrets: &[&str]) -> Api {
        Api {
            base: base.to_owned(),
            http: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("an HTTP client"),
            secrets: RefCell::new(secrets.iter().map(|secret| (*secret).to_owned()).collect()),
            jar: RefCell::new(Vec::new()),
        }
    }

    /// GETs `path` on the worker.
    pub fn get(&self, path: &str) -> Answer {
        self.send(self.http.get(format!("{}{path}", self.base)))
    }

    /// POSTs `body` as JSON.
    pub fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(
            self.http
                .post(format!("{}{path}", self.base))
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
    }

    /// Sends a request with the cookies a browser would send, and checks the answer.
    pub fn send(&self, request: RequestBuilder) -> Answer {
        let mut request = request.build().expect("a valid request");
        let cookies: Vec<String> = self
            .jar
            .borrow()
            .iter()
            .filter(|c| request.url().path().starts_with(&c.path))
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        if !cookies.is_empty() {
            let header = HeaderValue::from_str(&cookies.join("; ")).expect("cookie-safe values");
            request.headers_mut().insert("cookie", header);
        }
        let response = self.http.execute(request).expect("the worker answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().expect("a readable body");
        self.check_promises(status, &headers, &text);
        for set_cookie in headers.get_all("set-cookie") {
            self.store_set_cookie(set_cookie.to_str().expect("an ASCII Set-Cookie"));
        }
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("status {status}: not JSON: {text}"))
        };
        Answer {
            status,
            headers,
            json,
        }
    }

    /// Adds values that must never show in an answer from now on (tokens, once known).
    pub fn forbid(&self, secrets: &[String]) {
        self.secrets.borrow_mut().extend(secrets.iter().cloned());
    }

    fn check_promises(&self, status: u16, headers: &HeaderMap, text: &str) {
        let secrets = self.secrets.borrow();
        for secret in secrets.iter() {
            assert!(!text.contains(secret), "a secret leaked in a body: {text}");
        }
        for (name, value) in headers {
            let value = value.to_str().unwrap_or_default();
            for secret in secrets.iter() {
                assert!(!value.contains(secret), "a secret leaked in header {name}");
            }
            assert_ne!(
                (name.as_str(), value),
                ("access-control-allow-origin", "*"),
                "CORS is an allowlist, never *"
            );
        }
        assert_eq!(
            headers.get("cache-control").and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "every answer is no-store (status {status}: {text})"
        );
    }

    /// The value of a cookie the client holds.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar
            .borrow()
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.value.clone())
    }

    /// Replaces a held cookie's value (to tamper with it).
    pub fn set_cookie_value(&self, name: &str, value: &str) {
        let mut jar = self.jar.borrow_mut();
        let cookie = jar
            .iter_mut()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no cookie {name}"));
        cookie.value = value.to_owned();
    }

    /// Keeps or drops a cookie as a browser would on this `Set-Cookie` value (also how a
    /// test replays an old cookie).
    pub fn store_set_cookie(&self, set_cookie: &str) {
        let mut parts = set_cookie.split(';').map(str::trim);
        let (name, value) = parts
            .next()
            .and_then(|pair| pair.split_once('='))
            .unwrap_or_else(|| panic!("a malformed Set-Cookie: {set_cookie}"));
        let mut path = "/".to_owned();
        let mut max_age = None;
        for attribute in parts {
            let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
            match key.to_ascii_lowercase().as_str() {
                "path" => path = val.to_owned(),
                "max-age" => max_age = Some(val.parse::<i64>().expect("a numeric Max-Age")),
                _ => {}
            }
        }
        let mut jar = self.jar.borrow_mut();
        jar.retain(|c| !(c.name == name && c.path == path));
        if max_age.is_none_or(|age| age > 0) {
            jar.push(Cookie {
                name: name.to_owned(),
                value: value.to_owned(),
                path,
            });
        }
    }
}

impl Answer {
    /// A response header, when present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A string field of the JSON body; panics when there is none.
    pub fn str(&self, field: &str) -> &str {
        self.json[field]
            .as_str()
            .unwrap_or_else(|| panic!("no string `{field}` in {}", self.json))
    }

    /// The `Set-Cookie` value for cookie `name`, if the answer sets one.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
    }

    /// An error answer: `{error, error_description, kind?}` with the given status.
    pub fn assert_error(&self, status: u16, error: &str, kind: Option<&str>) {
        assert_eq!(self.status, status, "unexpected answer {}", self.json);
        assert_eq!(self.str("error"), error, "{}", self.json);
        assert!(
            !self.str("error_description").is_empty(),
            "errors describe themselves: {}",
            self.json
        );
        assert_eq!(self.json["kind"].as_str(), kind, "{}", self.json);
    }

    /// Exactly these fields, so nothing else (a token secret) rides along.
    pub fn assert_fields(&self, fields: &[&str]) {
        let mut got: Vec<&str> = self
            .json
            .as_object()
            .unwrap_or_else(|| panic!("not an object: {}", self.json))
            .keys()
            .map(String::as_str)
            .collect();
        got.sort_unstable();
        let mut want = fields.to_vec();
        want.sort_unstable();
        assert_eq!(got, want, "{}", self.json);
    }
}

/// `GET`s of every URL in `urls` at once, a thread each, with `headers`: their statuses, in
/// order (0 for a request that got no answer). For "many callers at the same moment".
pub fn get_all_at_once(urls: Vec<String>, headers: &[(&str, &str)]) -> Vec<u16> {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    let handles: Vec<_> = urls
        .into_iter()
        .map(|url| {
            let headers = headers.clone();
            std::thread::spawn(move || {
                let mut request = reqwest::blocking::Client::new().get(url);
                for (name, value) in headers {
                    request = request.header(name, value);
                }
                request.send().map(|r| r.status().as_u16()).unwrap_or(0)
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|handle| handle.join().expect("a request thread"))
        .collect()
}
