//! The emulator over real HTTP: each test starts its own instance on 127.0.0.1:0.

mod common;

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, LOCATION, RETRY_AFTER};
use serde_json::{Value, json};
use xauth_emulator::{Decision, EmulatorConfig};

use common::{CHALLENGE, Emu, REDIRECT, VERIFIER, assert_body, basic, start, start_default};

const SCOPE: &str = "tweet.read users.read offline.access";

const INVALID_CODE: &str = r#"{"error":"invalid_request","error_description":"Value passed for the authorization code was invalid."}"#;
const INVALID_TOKEN: &str =
    r#"{"error":"invalid_request","error_description":"Value passed for the token was invalid."}"#;
const NO_BASIC: &str =
    r#"{"error":"unauthorized_client","error_description":"Missing valid authorization header"}"#;

/// Changes to the default authorize parameters: `None` removes one.
type Overrides<'a> = &'a [(&'a str, Option<&'a str>)];

/// The query parameters of a redirect's Location.
fn location_params(response: &reqwest::Response) -> Vec<(String, String)> {
    let location = response.headers()[LOCATION].to_str().unwrap();
    let (_, query) = location.split_once('?').expect("a query in the Location");
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

impl Emu {
    fn authorize_params<'a>(
        &'a self,
        overrides: &[(&'a str, Option<&'a str>)],
    ) -> Vec<(&'a str, &'a str)> {
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", self.config.client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", SCOPE),
            ("state", "st4te"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        for (name, value) in overrides {
            params.retain(|(n, _)| n != name);
            if let Some(value) = value {
                params.push((name, value));
            }
        }
        params
    }

    async fn authorize_raw(&self, overrides: &[(&str, Option<&str>)]) -> reqwest::Response {
        let params = self.authorize_params(overrides);
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        self.http
            .get(self.url(&format!("/i/oauth2/authorize?{query}")))
            .send()
            .await
            .unwrap()
    }

    /// Approves a default request (with overrides) and returns the code.
    async fn code(&self, overrides: &[(&str, Option<&str>)]) -> String {
        let mut overrides = overrides.to_vec();
        overrides.push(("decision", Some("approve")));
        let response = self.authorize_raw(&overrides).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        let params = location_params(&response);
        assert_eq!(param(&params, "state"), Some("st4te"));
        param(&params, "code").expect("a code").to_string()
    }

    async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.post_form(
            "/2/oauth2/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    async fn tokens(&self) -> Value {
        let code = self.code(&[]).await;
        let response = self.exchange(&code, VERIFIER).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }
}

#[tokio::test]
async fn full_code_flow_with_basic_auth() {
    let emu = start_default().await;
    let code = emu.code(&[]).await;
    let response = emu.exchange(&code, VERIFIER).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["expires_in"], 7200);
    assert_eq!(tokens["scope"], SCOPE);
    let access = tokens["access_token"].as_str().unwrap();
    assert!(access.len() >= 40);
    assert!(tokens["refresh_token"].as_str().unwrap().len() >= 40);

    let me = emu.me(access).await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(
        me,
        json!({"data": {"id": "2244994945", "name": "X Demo User", "username": "xauthdemo"}})
    );

    let stats = emu.stats().await;
    assert_eq!(stats["authorize"], 1);
    assert_eq!(stats["token"], 1);
    assert_eq!(stats["token_by_grant"]["authorization_code"], 1);
    assert_eq!(stats["users_me"], 1);
}

#[tokio::test]
async fn consent_page_posts_the_decision() {
    let emu = start_default().await;
    let page = emu.authorize_raw(&[]).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    for needle in [
        r#"<button type="submit" id="authorize""#,
        r#"<button type="submit" id="cancel""#,
        r#"action="/i/oauth2/authorize/decision""#,
        "xauth-demo-client",
        "<code>offline.access</code>",
    ] {
        assert!(
            html.contains(needle),
            "{needle} missing from the consent page"
        );
    }

    let mut form = emu.authorize_params(&[]);
    form.push(("decision", "deny"));
    let denied = emu
        .http
        .post(emu.url("/i/oauth2/authorize/decision"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::SEE_OTHER);
    let params = location_params(&denied);
    assert_eq!(param(&params, "error"), Some("access_denied"));
    assert_eq!(param(&params, "state"), Some("st4te"));
    assert!(param(&params, "code").is_none());

    form.pop();
    form.push(("decision", "approve"));
    let approved = emu
        .http
        .post(emu.url("/i/oauth2/authorize/decision"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), StatusCode::SEE_OTHER);
    let code = param(&location_params(&approved), "code")
        .unwrap()
        .to_string();
    assert_eq!(emu.exchange(&code, VERIFIER).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn auto_decisions_skip_the_page() {
    let emu = start(EmulatorConfig {
        auto_decision: Some(Decision::Approve),
        ..EmulatorConfig::default()
    })
    .await;
    let response = emu.authorize_raw(&[]).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(param(&location_params(&response), "code").is_some());

    let emu = start(EmulatorConfig {
        auto_decision: Some(Decision::Deny),
        ..EmulatorConfig::default()
    })
    .await;
    let response = emu.authorize_raw(&[]).await;
    assert_eq!(
        param(&location_params(&response), "error"),
        Some("access_denied")
    );
}

#[tokio::test]
async fn refresh_tokens_rotate() {
    let emu = start_default().await;
    let first = emu.tokens().await;
    let old_refresh = first["refresh_token"].as_str().unwrap();

    let response = emu.refresh(old_refresh).await;
    assert_eq!(response.status(), StatusCode::OK);
    let second: Value = response.json().await.unwrap();
    let new_refresh = second["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, old_refresh);
    assert_ne!(second["access_token"], first["access_token"]);
    assert_eq!(second["scope"], SCOPE);

    assert_body(
        emu.refresh(old_refresh).await,
        StatusCode::BAD_REQUEST,
        INVALID_TOKEN,
    )
    .await;
    assert_body(
        emu.refresh("never-issued").await,
        StatusCode::BAD_REQUEST,
        INVALID_TOKEN,
    )
    .await;
    assert_eq!(emu.refresh(new_refresh).await.status(), StatusCode::OK);
    // Like X as far as is known, the first access token lives on until it expires.
    let old_access = first["access_token"].as_str().unwrap();
    assert_eq!(emu.me(old_access).await.status(), StatusCode::OK);

    let stats = emu.stats().await;
    assert_eq!(stats["token"], 5);
    assert_eq!(stats["token_by_grant"]["refresh_token"], 4);
}

#[tokio::test]
async fn strict_rotation_kills_the_old_access_token() {
    let emu = start(EmulatorConfig {
        strict_rotation: true,
        ..EmulatorConfig::default()
    })
    .await;
    let first = emu.tokens().await;
    let response = emu.refresh(first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let old_access = first["access_token"].as_str().unwrap();
    assert_eq!(emu.me(old_access).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn no_refresh_token_without_offline_access() {
    let emu = start_default().await;
    let code = emu.code(&[("scope", Some("tweet.read users.read"))]).await;
    let tokens: Value = emu.exchange(&code, VERIFIER).await.json().await.unwrap();
    assert!(tokens.get("refresh_token").is_none());
    assert_eq!(tokens["scope"], "tweet.read users.read");
}

#[tokio::test]
async fn codes_are_single_use() {
    let emu = start_default().await;
    let code = emu.code(&[]).await;
    assert_eq!(emu.exchange(&code, VERIFIER).await.status(), StatusCode::OK);
    assert_body(
        emu.exchange(&code, VERIFIER).await,
        StatusCode::BAD_REQUEST,
        INVALID_CODE,
    )
    .await;
}

#[tokio::test]
async fn codes_expire() {
    let emu = start(EmulatorConfig {
        code_ttl: Duration::from_secs(1),
        ..EmulatorConfig::default()
    })
    .await;
    let code = emu.code(&[]).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_body(
        emu.exchange(&code, VERIFIER).await,
        StatusCode::BAD_REQUEST,
        INVALID_CODE,
    )
    .await;
}

#[tokio::test]
async fn pkce_mismatch_is_refused_and_spends_the_code() {
    let emu = start_default().await;
    let code = emu.code(&[]).await;
    let wrong = "A".repeat(43);
    assert_body(
        emu.exchange(&code, &wrong).await,
        StatusCode::BAD_REQUEST,
        INVALID_CODE,
    )
    .await;
    assert_body(
        emu.exchange(&code, VERIFIER).await,
        StatusCode::BAD_REQUEST,
        INVALID_CODE,
    )
    .await;

    // The redirect_uri of the exchange must be the authorize one.
    let code = emu
        .code(&[("redirect_uri", Some("http://localhost:8787/"))])
        .await;
    assert_body(
        emu.exchange(&code, VERIFIER).await,
        StatusCode::BAD_REQUEST,
        INVALID_CODE,
    )
    .await;
}

#[tokio::test]
async fn plain_challenges_are_tolerated() {
    let emu = start_default().await;
    let code = emu
        .code(&[
            ("code_challenge", Some(VERIFIER)),
            ("code_challenge_method", Some("plain")),
        ])
        .await;
    assert_eq!(emu.exchange(&code, VERIFIER).await.status(), StatusCode::OK);
    assert_eq!(
        emu.stats().await["pkce_plain"],
        1,
        "recorded for tests to refuse"
    );
}

#[tokio::test]
async fn authorize_refusals_redirect_with_an_error() {
    let emu = start_default().await;
    let cases: [(Overrides, &str); 6] = [
        (&[("code_challenge", None)], "invalid_request"),
        (
            &[("code_challenge_method", Some("S512"))],
            "invalid_request",
        ),
        (
            &[("scope", Some("tweet.read users.nonsense"))],
            "invalid_scope",
        ),
        (&[("scope", None)], "invalid_scope"),
        (
            &[("response_type", Some("token"))],
            "unsupported_response_type",
        ),
        (&[("state", None)], "invalid_request"),
    ];
    for (overrides, error) in cases {
        let response = emu.authorize_raw(overrides).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{overrides:?}");
        let params = location_params(&response);
        assert_eq!(param(&params, "error"), Some(error), "{overrides:?}");
        assert!(param(&params, "code").is_none());
        let location = response.headers()[LOCATION].to_str().unwrap();
        assert!(location.starts_with(REDIRECT));
    }
    let long_state = "s".repeat(501);
    let response = emu.authorize_raw(&[("state", Some(&long_state))]).await;
    assert_eq!(
        param(&location_params(&response), "error"),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn bad_client_or_redirect_gets_a_page_not_a_redirect() {
    let emu = start_default().await;
    let cases: [Overrides; 4] = [
        &[("redirect_uri", Some("http://127.0.0.1:8787/evil"))],
        &[("redirect_uri", Some("http://127.0.0.1:8787"))],
        &[("redirect_uri", None)],
        &[("client_id", Some("someone-else"))],
    ];
    for overrides in cases {
        let response = emu.authorize_raw(overrides).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{overrides:?}");
        assert!(response.headers().get(LOCATION).is_none());
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Something went wrong")
        );
    }
}

#[tokio::test]
async fn confidential_client_authentication() {
    let emu = start(EmulatorConfig {
        client_id: "my client:1".into(),
        client_secret: Some("s%cr+t:&=".into()),
        ..EmulatorConfig::default()
    })
    .await;
    let code = emu.code(&[]).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let token_url = emu.url("/2/oauth2/token");
    let no_basic = emu.http.post(&token_url).form(&form).send().await.unwrap();
    assert_body(no_basic, StatusCode::UNAUTHORIZED, NO_BASIC).await;

    let wrong = emu
        .http
        .post(&token_url)
        .header(AUTHORIZATION, basic("my client:1", "nope"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong: Value = wrong.json().await.unwrap();
    assert_eq!(wrong["error"], "invalid_client");

    // Without the RFC 6749 §2.3.1 encoding the colon in the id splits it wrongly.
    let raw = format!("Basic {}", STANDARD.encode("my client:1:s%cr+t:&="));
    let raw = emu
        .http
        .post(&token_url)
        .header(AUTHORIZATION, raw)
        .form(&form)
        .send()
        .await;
    assert_eq!(raw.unwrap().status(), StatusCode::UNAUTHORIZED);

    // Failed authentication does not spend the code.
    assert_eq!(emu.exchange(&code, VERIFIER).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn token_request_shape() {
    let emu = start_default().await;
    let missing = emu.post_form("/2/oauth2/token", &[("code", "x")]).await;
    let body = r#"{"error":"invalid_request","error_description":"Missing required parameter [grant_type]."}"#;
    assert_body(missing, StatusCode::BAD_REQUEST, body).await;

    let unsupported = emu
        .post_form("/2/oauth2/token", &[("grant_type", "password")])
        .await;
    assert_eq!(unsupported.status(), StatusCode::BAD_REQUEST);
    let unsupported: Value = unsupported.json().await.unwrap();
    assert_eq!(unsupported["error"], "unsupported_grant_type");

    let json_body = emu
        .client_auth(emu.http.post(emu.url("/2/oauth2/token")))
        .json(&json!({"grant_type": "refresh_token", "refresh_token": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), StatusCode::BAD_REQUEST);

    let repeated = emu
        .post_form(
            "/2/oauth2/token",
            &[
                ("grant_type", "refresh_token"),
                ("grant_type", "refresh_token"),
            ],
        )
        .await;
    assert_eq!(repeated.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn public_client_mode() {
    let emu = start(EmulatorConfig {
        client_secret: None,
        ..EmulatorConfig::default()
    })
    .await;
    let code = emu.code(&[]).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let token_url = emu.url("/2/oauth2/token");
    let no_id = emu.http.post(&token_url).form(&form).send().await.unwrap();
    let body = r#"{"error":"invalid_request","error_description":"Missing required parameter [client_id]."}"#;
    assert_body(no_id, StatusCode::BAD_REQUEST, body).await;

    let mut with_id = form.to_vec();
    with_id.push(("client_id", "xauth-demo-client"));
    let basic_sent = emu
        .http
        .post(&token_url)
        .header(
            AUTHORIZATION,
            basic("xauth-demo-client", "xauth-demo-secret"),
        )
        .form(&with_id)
        .send()
        .await
        .unwrap();
    assert_eq!(basic_sent.status(), StatusCode::UNAUTHORIZED);

    let tokens = emu
        .http
        .post(&token_url)
        .form(&with_id)
        .send()
        .await
        .unwrap();
    assert_eq!(tokens.status(), StatusCode::OK);
    let tokens: Value = tokens.json().await.unwrap();
    let refreshed = emu.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
}

#[tokio::test]
async fn revoke_ends_tokens() {
    let emu = start_default().await;
    let tokens = emu.tokens().await;
    let access = tokens["access_token"].as_str().unwrap();
    let revoked = emu
        .post_form(
            "/2/oauth2/revoke",
            &[("token", access), ("token_type_hint", "access_token")],
        )
        .await;
    assert_body(revoked, StatusCode::OK, r#"{"revoked":true}"#).await;
    let me = emu.me(access).await;
    assert_eq!(me.headers()["content-type"], "application/problem+json");
    let unauthorized =
        r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#;
    assert_body(me, StatusCode::UNAUTHORIZED, unauthorized).await;

    // Revoking a refresh token ends it and the access token issued with it.
    let tokens = emu.tokens().await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let revoked = emu
        .post_form("/2/oauth2/revoke", &[("token", refresh)])
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_body(
        emu.refresh(refresh).await,
        StatusCode::BAD_REQUEST,
        INVALID_TOKEN,
    )
    .await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(emu.me(access).await.status(), StatusCode::UNAUTHORIZED);

    // Same client authentication as the token endpoint.
    let anonymous = emu
        .http
        .post(emu.url("/2/oauth2/revoke"))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_body(anonymous, StatusCode::UNAUTHORIZED, NO_BASIC).await;
    assert_eq!(emu.stats().await["revoke"], 3);
}

#[tokio::test]
async fn users_me_requires_a_bearer_and_scopes() {
    let emu = start_default().await;
    let none = emu.http.get(emu.url("/2/users/me")).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(emu.me("made-up").await.status(), StatusCode::UNAUTHORIZED);

    let code = emu
        .code(&[("scope", Some("tweet.read offline.access"))])
        .await;
    let tokens: Value = emu.exchange(&code, VERIFIER).await.json().await.unwrap();
    let forbidden = emu.me(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let body: Value = forbidden.json().await.unwrap();
    assert_eq!(body["status"], 403);
}

#[tokio::test]
async fn expire_then_refresh() {
    let emu = start_default().await;
    let tokens = emu.tokens().await;
    let access = tokens["access_token"].as_str().unwrap();
    let expired = emu
        .http
        .post(emu.url("/__emulator/expire"))
        .json(&json!({"access_token": access}))
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), StatusCode::OK);
    assert_eq!(emu.me(access).await.status(), StatusCode::UNAUTHORIZED);
    let refreshed: Value = emu
        .refresh(tokens["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let fresh = refreshed["access_token"].as_str().unwrap();
    assert_eq!(emu.me(fresh).await.status(), StatusCode::OK);

    // An empty body expires every access token.
    emu.expire_all().await;
    assert_eq!(emu.me(fresh).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn short_access_ttl_is_reported_and_enforced() {
    let emu = start(EmulatorConfig {
        access_ttl: Duration::from_secs(1),
        ..EmulatorConfig::default()
    })
    .await;
    let tokens = emu.tokens().await;
    assert_eq!(tokens["expires_in"], 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(emu.me(access).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn faults_fail_the_next_calls_then_stop() {
    let emu = start_default().await;
    let tokens = emu.tokens().await;
    let access = tokens["access_token"].as_str().unwrap();

    emu.fault(json!({"endpoint": "users_me", "mode": "500", "count": 2}))
        .await;
    assert_eq!(
        emu.me(access).await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        emu.me(access).await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(emu.me(access).await.status(), StatusCode::OK);

    emu.fault(json!({"endpoint": "token", "mode": "429"})).await;
    let limited = emu.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers()[RETRY_AFTER], "7");
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["status"], 429);
    // A faulted call does not reach the grant: the refresh token is still live.
    let refreshed = emu.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status(), StatusCode::OK);

    emu.fault(json!({"endpoint": "revoke", "mode": "garbage"}))
        .await;
    let garbage = emu.post_form("/2/oauth2/revoke", &[("token", "x")]).await;
    assert_eq!(garbage.status(), StatusCode::OK);
    assert_eq!(garbage.text().await.unwrap(), "<html>oops");

    emu.fault(json!({"endpoint": "users_me", "mode": "slow", "delay_ms": 300}))
        .await;
    let started = Instant::now();
    assert_eq!(emu.me(access).await.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));

    emu.fault(json!({"endpoint": "users_me", "mode": "close"}))
        .await;
    let closed = emu
        .http
        .get(emu.url("/2/users/me"))
        .bearer_auth(access)
        .send()
        .await;
    assert!(closed.is_err(), "the connection should have been dropped");
    assert_eq!(emu.me(access).await.status(), StatusCode::OK);

    let stats = emu.stats().await;
    assert_eq!(stats["users_me"], 6);
    assert_eq!(stats["token"], 3);
    assert_eq!(stats["token_by_grant"]["refresh_token"], 2);
    assert_eq!(stats["revoke"], 1);
    assert_eq!(stats["faults_served"], 6);
}

#[tokio::test]
async fn reset_clears_counters_and_faults() {
    let emu = start_default().await;
    let tokens = emu.tokens().await;
    emu.fault(json!({"endpoint": "users_me", "mode": "500", "count": 5}))
        .await;
    emu.reset().await;
    let stats = emu.stats().await;
    assert_eq!(stats["authorize"], 0);
    assert_eq!(stats["token"], 0);
    assert_eq!(stats["token_by_grant"]["authorization_code"], 0);
    // Tokens survive a reset; the pending faults do not.
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(emu.me(access).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn bad_fault_requests_are_refused() {
    let emu = start_default().await;
    for body in [
        json!({"endpoint": "authorize", "mode": "500"}),
        json!({"endpoint": "token", "mode": "503"}),
        json!({"endpoint": "token", "mode": "500", "cuont": 2}),
    ] {
        let response = emu
            .http
            .post(emu.url("/__emulator/faults"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_client_error(), "{body}");
    }
}
