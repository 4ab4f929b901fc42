//! What the emulator's HTTP tests share: an instance of their own per test, the control
//! API (stats, faults, expiry, reset), and the tokens a test needs before it can test
//! anything else.

// Every test file compiles its own copy of this module and uses only part of it.
#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, LOCATION};
use serde_json::Value;
use xauth_emulator::EmulatorConfig;

/// RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// The demo client's registered redirect.
pub const REDIRECT: &str = "http://127.0.0.1:8787/";

pub struct Emu {
    pub base: String,
    /// Does not follow redirects: the tests read the authorize redirects themselves.
    pub http: reqwest::Client,
    /// What the instance was started with, for the tests to sign and authenticate as.
    pub config: EmulatorConfig,
}

/// An instance on 127.0.0.1:0, so tests run in parallel without sharing state.
pub async fn start(config: EmulatorConfig) -> Emu {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(xauth_emulator::serve(config.clone(), listener));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Emu { base, http, config }
}

pub async fn start_default() -> Emu {
    start(EmulatorConfig::default()).await
}

/// Client authentication as RFC 6749 §2.3.1 has it: id and secret form-encoded first.
pub fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

/// Sends with `token` as the bearer, or with no Authorization header at all.
pub async fn send_as(request: reqwest::RequestBuilder, token: Option<&str>) -> reqwest::Response {
    match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
    .send()
    .await
    .unwrap()
}

/// X's rate limit headers: the window's `limit`, what remains, and when it resets.
pub fn assert_rate_limit_headers(response: &reqwest::Response, limit: &str) {
    let headers = response.headers();
    assert_eq!(headers["x-rate-limit-limit"], limit);
    assert!(headers.contains_key("x-rate-limit-remaining"));
    let reset: u64 = headers["x-rate-limit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset > 1_700_000_000, "a Unix time: {reset}");
}

/// Compares JSON as values, so key order and spacing do not matter.
pub async fn assert_body(response: reqwest::Response, status: StatusCode, body: &str) {
    assert_eq!(response.status(), status);
    let text = response.text().await.unwrap();
    let expected: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        expected,
        "{text}"
    );
}

impl Emu {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn stats(&self) -> Value {
        let response = self
            .http
            .get(self.url("/__emulator/stats"))
            .send()
            .await
            .unwrap();
        response.json().await.unwrap()
    }

    pub async fn fault(&self, body: Value) {
        self.control("/__emulator/faults", Some(&body)).await;
    }

    /// Expires every access token (an empty body).
    pub async fn expire_all(&self) {
        self.control("/__emulator/expire", None).await;
    }

    /// Zeroes the counters and drops pending faults.
    pub async fn reset(&self) {
        self.control("/__emulator/reset", None).await;
    }

    /// A control API call that must succeed: a refused one would leave the test checking
    /// something other than it says.
    async fn control(&self, path: &str, body: Option<&Value>) {
        let mut request = self.http.post(self.url(path));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }

    pub async fn me(&self, access_token: &str) -> reqwest::Response {
        self.http
            .get(self.url("/2/users/me"))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
    }

    /// Authenticates as the configured client: HTTP Basic when it has a secret, none when
    /// it is a public client (which names itself in the form instead, see `post_form`).
    pub fn client_auth(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.config.client_secret {
            Some(secret) => request.header(AUTHORIZATION, basic(&self.config.client_id, secret)),
            None => request,
        }
    }

    /// A form post to a token endpoint as the configured client.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut form = form.to_vec();
        if self.config.client_secret.is_none() {
            form.push(("client_id", self.config.client_id.as_str()));
        }
        self.client_auth(self.http.post(self.url(path)))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// The authorization code exchange, against the default redirect.
    pub async fn exchange(&self, code: &str, verifier: &str) -> reqwest::Response {
        self.post_form(
            "/2/oauth2/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", verifier),
            ],
        )
        .await
    }

    /// An app-only bearer token, for the tests whose subject is what it may call.
    pub async fn app_token(&self) -> String {
        let config = &self.config;
        let reply: Value = self
            .http
            .post(self.url("/oauth2/token"))
            .basic_auth(&config.consumer_key, Some(&config.consumer_secret))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        reply["access_token"].as_str().unwrap().to_owned()
    }

    /// A user access token for `scope`, through the consent step and the code exchange,
    /// for the tests whose subject is what the token may do.
    pub async fn user_token(&self, scope: &str) -> String {
        let code = self.approved_code(scope).await;
        let tokens: Value = self.exchange(&code, VERIFIER).await.json().await.unwrap();
        tokens["access_token"].as_str().unwrap().to_owned()
    }

    /// An authorization code for `scope`, approved at the consent step now.
    pub async fn approved_code(&self, scope: &str) -> String {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("response_type", "code"),
                ("client_id", self.config.client_id.as_str()),
                ("redirect_uri", REDIRECT),
                ("scope", scope),
                ("state", "s"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
                ("decision", "approve"),
            ])
            .finish();
        let authorize = self
            .http
            .get(self.url(&format!("/i/oauth2/authorize?{query}")))
            .send()
            .await
            .unwrap();
        let location = authorize.headers()[LOCATION].to_str().unwrap().to_owned();
        location
            .split(['?', '&'])
            .find_map(|pair| pair.strip_prefix("code="))
            .unwrap()
            .to_owned()
    }
}
