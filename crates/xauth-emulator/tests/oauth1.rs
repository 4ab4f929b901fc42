//! OAuth 1.0a and app-only tokens over real HTTP. Requests are signed by `xauth-core`'s
//! signer and verified by the emulator's own: two implementations of RFC 5849 that must
//! agree.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, LOCATION};
use serde_json::{Value, json};
use xauth_core::{
    ConsumerKey, ConsumerSecret, OAuth1Callback, OAuth1Params, OAuth1Request, OAuth1Verifier,
    RawTokenResponse, RequestToken, SignedRequest, access_token_request, authorization_header,
    client_credentials_request, generate_nonce, process_access_token_response,
    process_app_token_response, process_request_token_response, request_token_request,
    validate_oauth1_callback,
};
use xauth_emulator::{Decision, EmulatorConfig};

use common::{Emu, assert_body, start, start_default};

/// A registered callback (the emulator ignores the query when matching).
const CALLBACK: &str = "http://127.0.0.1:8787/?flow=oauth1";

const COULD_NOT_AUTHENTICATE: &str =
    r#"{"errors":[{"code":32,"message":"Could not authenticate you."}]}"#;
const TIMESTAMP_OUT_OF_BOUNDS: &str =
    r#"{"errors":[{"code":135,"message":"Timestamp out of bounds."}]}"#;
const BAD_AUTHENTICATION_DATA: &str =
    r#"{"errors":[{"code":215,"message":"Bad Authentication data."}]}"#;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn nonce() -> String {
    generate_nonce().unwrap()
}

/// The `id="pin"` element's text on the PIN page.
fn pin_on(html: &str) -> String {
    let (_, rest) = html.split_once(r#"id="pin">"#).expect("a PIN on the page");
    rest.split('<').next().unwrap().to_string()
}

impl Emu {
    fn key(&self) -> ConsumerKey {
        ConsumerKey::new(self.config.consumer_key.clone())
    }

    fn secret(&self) -> ConsumerSecret {
        ConsumerSecret::new(self.config.consumer_secret.clone())
    }

    fn request_token_request(&self, callback: &str, timestamp: u64) -> SignedRequest {
        let callback = OAuth1Callback::parse(callback).unwrap();
        request_token_request(
            &self.base,
            &self.key(),
            &self.secret(),
            &callback,
            &nonce(),
            timestamp,
        )
        .unwrap()
    }

    async fn post(&self, request: &SignedRequest) -> reqwest::Response {
        self.http
            .post(&request.url)
            .header(AUTHORIZATION, &request.authorization)
            .send()
            .await
            .unwrap()
    }

    async fn request_token(&self, callback: &str) -> RequestToken {
        let response = self
            .post(&self.request_token_request(callback, now()))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[CONTENT_TYPE],
            "application/x-www-form-urlencoded"
        );
        process_request_token_response(&response.text().await.unwrap()).unwrap()
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    async fn access_token(
        &self,
        request_token: &RequestToken,
        verifier: &OAuth1Verifier,
    ) -> reqwest::Response {
        let request = access_token_request(
            &self.base,
            &self.key(),
            &self.secret(),
            request_token,
            verifier,
            &nonce(),
            now(),
        )
        .unwrap();
        self.post(&request).await
    }

    /// Approves a callback-flow request token and returns its verifier.
    async fn approve(&self, request_token: &RequestToken) -> OAuth1Verifier {
        let token = request_token.token.as_str();
        let response = self
            .get(&format!(
                "/oauth/authorize?oauth_token={token}&decision=approve"
            ))
            .await;
        assert_eq!(response.status(), StatusCode::FOUND);
        let location = response.headers()[LOCATION].to_str().unwrap();
        validate_oauth1_callback(location, &request_token.token).unwrap()
    }

    async fn app_token_as(&self, key: &str, secret: &str) -> reqwest::Response {
        let request = client_credentials_request(
            &ConsumerKey::new(key.into()),
            &ConsumerSecret::new(secret.into()),
        );
        self.http
            .post(self.url("/oauth2/token"))
            .header(AUTHORIZATION, request.authorization.unwrap())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(request.body)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn callback_flow_end_to_end() {
    let emu = start_default().await;
    let request_token = emu.request_token(CALLBACK).await;

    // The consent page, like the OAuth 2.0 one.
    let page = emu
        .get(&format!(
            "/oauth/authorize?oauth_token={}",
            request_token.token
        ))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    for needle in [
        r#"<button type="submit" id="authorize""#,
        r#"<button type="submit" id="cancel""#,
        r#"<form method="post" action="/oauth/authorize">"#,
        "xauth-demo-consumer",
    ] {
        assert!(html.contains(needle), "{needle} missing from the page");
    }
    let approved = emu
        .http
        .post(emu.url("/oauth/authorize"))
        .form(&[
            ("oauth_token", request_token.token.as_str()),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), StatusCode::SEE_OTHER);
    let location = approved.headers()[LOCATION].to_str().unwrap();
    assert!(location.starts_with("http://127.0.0.1:8787/?flow=oauth1&oauth_token="));
    let verifier = validate_oauth1_callback(location, &request_token.token).unwrap();

    let response = emu.access_token(&request_token, &verifier).await;
    assert_eq!(response.status(), StatusCode::OK);
    let user = process_access_token_response(&response.text().await.unwrap()).unwrap();
    assert_eq!(user.user_id, "2244994945");
    assert_eq!(user.screen_name, "xauthdemo");
    assert!(user.token.as_str().starts_with("2244994945-"));
    assert!(user.secret.secret().len() >= 40);

    // The request token was single use.
    assert_body(
        emu.access_token(&request_token, &verifier).await,
        StatusCode::UNAUTHORIZED,
        COULD_NOT_AUTHENTICATE,
    )
    .await;
    // And its consent page is gone.
    let stale = emu
        .get(&format!(
            "/oauth/authorize?oauth_token={}",
            request_token.token
        ))
        .await;
    assert_eq!(stale.status(), StatusCode::BAD_REQUEST);

    let stats = emu.stats().await;
    assert_eq!(stats["oauth1_request_token"], 1);
    assert_eq!(stats["oauth1_authorize"], 2);
    assert_eq!(stats["oauth1_authorize_decision"], 1);
    assert_eq!(stats["oauth1_access_token"], 2);
}

#[tokio::test]
async fn pin_flow_end_to_end() {
    let emu = start_default().await;
    let request_token = emu.request_token("oob").await;
    let response = emu
        .get(&format!(
            "/oauth/authorize?oauth_token={}&decision=approve",
            request_token.token
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let pin = pin_on(&response.text().await.unwrap());
    assert_eq!(pin.len(), 7);
    assert!(pin.bytes().all(|b| b.is_ascii_digit()));
    let verifier = OAuth1Verifier::parse_pin(&format!(" {pin}\n")).unwrap();

    let response = emu.access_token(&request_token, &verifier).await;
    assert_eq!(response.status(), StatusCode::OK);
    let user = process_access_token_response(&response.text().await.unwrap()).unwrap();
    assert_eq!(user.screen_name, "xauthdemo");

    // A wrong PIN is refused and spends the request token.
    let request_token = emu.request_token("oob").await;
    let response = emu
        .get(&format!(
            "/oauth/authorize?oauth_token={}&decision=approve",
            request_token.token
        ))
        .await;
    let pin = pin_on(&response.text().await.unwrap());
    let wrong = format!("{:07}", (pin.parse::<u32>().unwrap() + 1) % 10_000_000);
    let wrong = OAuth1Verifier::parse_pin(&wrong).unwrap();
    assert_body(
        emu.access_token(&request_token, &wrong).await,
        StatusCode::UNAUTHORIZED,
        COULD_NOT_AUTHENTICATE,
    )
    .await;
    let right = OAuth1Verifier::parse_pin(&pin).unwrap();
    assert_eq!(
        emu.access_token(&request_token, &right).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn authenticate_skips_the_prompt_once_approved() {
    let emu = start_default().await;
    let first = emu.request_token(CALLBACK).await;
    let page = emu
        .get(&format!("/oauth/authenticate?oauth_token={}", first.token))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    emu.approve(&first).await;

    let second = emu.request_token(CALLBACK).await;
    let skipped = emu
        .get(&format!("/oauth/authenticate?oauth_token={}", second.token))
        .await;
    assert_eq!(skipped.status(), StatusCode::FOUND);
    let location = skipped.headers()[LOCATION].to_str().unwrap();
    let verifier = validate_oauth1_callback(location, &second.token).unwrap();
    assert_eq!(
        emu.access_token(&second, &verifier).await.status(),
        StatusCode::OK
    );

    // /oauth/authorize always prompts.
    let third = emu.request_token(CALLBACK).await;
    let page = emu
        .get(&format!("/oauth/authorize?oauth_token={}", third.token))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
}

#[tokio::test]
async fn denied_consent() {
    let emu = start_default().await;
    let request_token = emu.request_token(CALLBACK).await;
    let denied = emu
        .get(&format!(
            "/oauth/authorize?oauth_token={}&decision=deny",
            request_token.token
        ))
        .await;
    assert_eq!(denied.status(), StatusCode::FOUND);
    let location = denied.headers()[LOCATION].to_str().unwrap();
    assert_eq!(
        location,
        format!(
            "http://127.0.0.1:8787/?flow=oauth1&denied={}",
            request_token.token
        )
    );
    let refused = validate_oauth1_callback(location, &request_token.token).unwrap_err();
    assert_eq!(refused.code(), "access_denied");
    // The token is dead: no verifier can revive it.
    let guess = OAuth1Verifier::new("guess".into());
    assert_eq!(
        emu.access_token(&request_token, &guess).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // The consent page's Cancel button, and a PIN-flow refusal.
    let request_token = emu.request_token("oob").await;
    let cancelled = emu
        .http
        .post(emu.url("/oauth/authorize"))
        .form(&[
            ("oauth_token", request_token.token.as_str()),
            ("decision", "deny"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), StatusCode::OK);
    assert!(!cancelled.text().await.unwrap().contains("id=\"pin\""));

    // The configured automatic decision applies to OAuth 1.0a too.
    let emu = start(EmulatorConfig {
        auto_decision: Some(Decision::Deny),
        ..EmulatorConfig::default()
    })
    .await;
    let request_token = emu.request_token(CALLBACK).await;
    let denied = emu
        .get(&format!(
            "/oauth/authorize?oauth_token={}",
            request_token.token
        ))
        .await;
    assert_eq!(denied.status(), StatusCode::FOUND);
    assert!(
        denied.headers()[LOCATION]
            .to_str()
            .unwrap()
            .contains("denied=")
    );
}

#[tokio::test]
async fn tampered_requests_are_refused() {
    let emu = start_default().await;
    // A flipped signature character.
    let mut request = emu.request_token_request(CALLBACK, now());
    let at = request.authorization.find("oauth_signature=\"").unwrap() + 17;
    let flipped = if &request.authorization[at..=at] == "A" {
        "B"
    } else {
        "A"
    };
    request.authorization.replace_range(at..=at, flipped);
    assert_body(
        emu.post(&request).await,
        StatusCode::UNAUTHORIZED,
        COULD_NOT_AUTHENTICATE,
    )
    .await;

    // A signed parameter changed after signing.
    let mut request = emu.request_token_request(CALLBACK, now());
    request.authorization = request.authorization.replace(
        "oauth_callback=\"http%3A%2F%2F127.0.0.1",
        "oauth_callback=\"http%3A%2F%2Flocalhost",
    );
    assert_body(
        emu.post(&request).await,
        StatusCode::UNAUTHORIZED,
        COULD_NOT_AUTHENTICATE,
    )
    .await;

    // The wrong consumer secret, or an unknown consumer key.
    for (key, secret) in [
        ("xauth-demo-consumer", "wrong"),
        ("someone-else", "xauth-demo-consumer-secret"),
    ] {
        let request = request_token_request(
            &emu.base,
            &ConsumerKey::new(key.into()),
            &ConsumerSecret::new(secret.into()),
            &OAuth1Callback::Oob,
            &nonce(),
            now(),
        )
        .unwrap();
        assert_body(
            emu.post(&request).await,
            StatusCode::UNAUTHORIZED,
            COULD_NOT_AUTHENTICATE,
        )
        .await;
    }

    // The query is signed: the same header on another query fails.
    let url = emu.url("/oauth/request_token?x_auth_access_type=read");
    let callback = OAuth1Callback::Oob;
    let header = authorization_header(
        &OAuth1Request {
            method: "POST",
            url: &url,
            form_params: &[],
            oauth_params: OAuth1Params {
                consumer_key: &emu.key(),
                token: None,
                nonce: &nonce(),
                timestamp: now(),
                callback: Some(&callback),
                verifier: None,
            },
        },
        &emu.secret(),
        None,
    )
    .unwrap();
    let moved = SignedRequest {
        url: emu.url("/oauth/request_token?x_auth_access_type=write"),
        authorization: header.clone(),
    };
    assert_eq!(emu.post(&moved).await.status(), StatusCode::UNAUTHORIZED);
    let signed = SignedRequest {
        url,
        authorization: header,
    };
    assert_eq!(emu.post(&signed).await.status(), StatusCode::OK);

    // The access token step must be signed with the request token's secret.
    let request_token = emu.request_token(CALLBACK).await;
    let verifier = emu.approve(&request_token).await;
    let forged = RequestToken {
        token: request_token.token.clone(),
        secret: xauth_core::TokenSecret::new("guessed".into()),
    };
    assert_body(
        emu.access_token(&forged, &verifier).await,
        StatusCode::UNAUTHORIZED,
        COULD_NOT_AUTHENTICATE,
    )
    .await;
    // A refused signature does not spend the request token.
    assert_eq!(
        emu.access_token(&request_token, &verifier).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn reused_nonce_is_refused() {
    let emu = start_default().await;
    let request = emu.request_token_request(CALLBACK, now());
    assert_eq!(emu.post(&request).await.status(), StatusCode::OK);
    assert_body(
        emu.post(&request).await,
        StatusCode::UNAUTHORIZED,
        COULD_NOT_AUTHENTICATE,
    )
    .await;
}

#[tokio::test]
async fn stale_timestamps_are_refused() {
    let emu = start_default().await;
    for timestamp in [now() - 601, now() + 601] {
        assert_body(
            emu.post(&emu.request_token_request(CALLBACK, timestamp))
                .await,
            StatusCode::UNAUTHORIZED,
            TIMESTAMP_OUT_OF_BOUNDS,
        )
        .await;
    }
    let recent = emu.request_token_request(CALLBACK, now() - 590);
    assert_eq!(emu.post(&recent).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn request_token_needs_a_registered_callback_and_a_header() {
    let emu = start_default().await;
    let unregistered = emu.request_token_request("https://evil.example/cb", now());
    assert_body(
        emu.post(&unregistered).await,
        StatusCode::FORBIDDEN,
        r#"{"errors":[{"code":415,"message":"Callback URL not approved for this client application. Approved callback URLs can be adjusted in your application settings"}]}"#,
    )
    .await;
    // Another path on a registered origin is another callback.
    let other_path = emu.request_token_request("http://127.0.0.1:8787/other", now());
    assert_eq!(emu.post(&other_path).await.status(), StatusCode::FORBIDDEN);

    let url = emu.url("/oauth/request_token");
    let no_callback = authorization_header(
        &OAuth1Request {
            method: "POST",
            url: &url,
            form_params: &[],
            oauth_params: OAuth1Params {
                consumer_key: &emu.key(),
                token: None,
                nonce: &nonce(),
                timestamp: now(),
                callback: None,
                verifier: None,
            },
        },
        &emu.secret(),
        None,
    )
    .unwrap();
    let response = emu
        .http
        .post(&url)
        .header(AUTHORIZATION, no_callback)
        .send()
        .await
        .unwrap();
    assert_body(response, StatusCode::BAD_REQUEST, BAD_AUTHENTICATION_DATA).await;

    let unsigned = emu.http.post(&url).send().await.unwrap();
    assert_body(unsigned, StatusCode::BAD_REQUEST, BAD_AUTHENTICATION_DATA).await;
}

#[tokio::test]
async fn app_only_token() {
    let emu = start_default().await;
    let first = emu
        .app_token_as("xauth-demo-consumer", "xauth-demo-consumer-secret")
        .await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["cache-control"], "no-store");
    let raw: RawTokenResponse = first.json().await.unwrap();
    let token = process_app_token_response(raw).unwrap();
    let second = emu
        .app_token_as("xauth-demo-consumer", "xauth-demo-consumer-secret")
        .await;
    let raw: RawTokenResponse = second.json().await.unwrap();
    assert_eq!(
        process_app_token_response(raw).unwrap().secret(),
        token.secret(),
        "X hands out the same app token every time"
    );

    assert_body(
        emu.app_token_as("xauth-demo-consumer", "wrong").await,
        StatusCode::FORBIDDEN,
        r#"{"errors":[{"code":99,"label":"authenticity_token_error","message":"Unable to verify your credentials"}]}"#,
    )
    .await;
    let no_grant = emu
        .http
        .post(emu.url("/oauth2/token"))
        .header(
            AUTHORIZATION,
            client_credentials_request(&emu.key(), &emu.secret())
                .authorization
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_body(
        no_grant,
        StatusCode::FORBIDDEN,
        r#"{"errors":[{"code":170,"label":"forbidden_missing_parameter","message":"Missing required parameter: grant_type"}]}"#,
    )
    .await;

    // An app token names no user.
    let me = emu.me(token.secret()).await;
    assert_eq!(me.status(), StatusCode::FORBIDDEN);
    let problem: Value = me.json().await.unwrap();
    assert_eq!(problem["title"], "Unsupported Authentication");

    assert_eq!(emu.stats().await["app_token"], 4);
}

#[tokio::test]
async fn consumer_is_configurable() {
    let emu = start(EmulatorConfig {
        consumer_key: "ck 1".into(),
        consumer_secret: "s&e:c+r%t".into(),
        ..EmulatorConfig::default()
    })
    .await;
    let request_token = emu.request_token(CALLBACK).await;
    let verifier = emu.approve(&request_token).await;
    assert_eq!(
        emu.access_token(&request_token, &verifier).await.status(),
        StatusCode::OK
    );
    let app = emu.app_token_as("ck 1", "s&e:c+r%t").await;
    assert_eq!(app.status(), StatusCode::OK);
    let default = emu
        .app_token_as("xauth-demo-consumer", "xauth-demo-consumer-secret")
        .await;
    assert_eq!(default.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn faults_and_stats() {
    let emu = start_default().await;
    emu.fault(json!({"endpoint": "request_token", "mode": "500"}))
        .await;
    let faulted = emu.post(&emu.request_token_request(CALLBACK, now())).await;
    assert_eq!(faulted.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let request_token = emu.request_token(CALLBACK).await;
    let verifier = emu.approve(&request_token).await;

    emu.fault(json!({"endpoint": "access_token", "mode": "429"}))
        .await;
    let limited = emu.access_token(&request_token, &verifier).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    // A faulted call does not reach the request token.
    assert_eq!(
        emu.access_token(&request_token, &verifier).await.status(),
        StatusCode::OK
    );

    emu.fault(json!({"endpoint": "app_token", "mode": "garbage"}))
        .await;
    let garbage = emu
        .app_token_as("xauth-demo-consumer", "xauth-demo-consumer-secret")
        .await;
    assert_eq!(garbage.text().await.unwrap(), "<html>oops");

    let stats = emu.stats().await;
    assert_eq!(stats["oauth1_request_token"], 2);
    assert_eq!(stats["oauth1_authorize"], 1);
    assert_eq!(stats["oauth1_access_token"], 2);
    assert_eq!(stats["app_token"], 1);
    assert_eq!(stats["faults_served"], 3);
}

#[tokio::test]
async fn the_access_token_is_for_the_user_who_approved() {
    let emu = start_default().await;
    let before = emu.request_token(CALLBACK).await;
    let verifier = emu.approve(&before).await;
    let set = emu
        .http
        .post(emu.url("/__emulator/user"))
        .json(&serde_json::json!({ "id": "1002", "name": "Bob", "username": "bob" }))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), StatusCode::OK);
    // Approved before the switch: the configured user's.
    let response = emu.access_token(&before, &verifier).await;
    let user = process_access_token_response(&response.text().await.unwrap()).unwrap();
    assert_eq!(
        (user.user_id.as_str(), user.screen_name.as_str()),
        ("2244994945", "xauthdemo")
    );

    let after = emu.request_token(CALLBACK).await;
    let verifier = emu.approve(&after).await;
    let response = emu.access_token(&after, &verifier).await;
    let user = process_access_token_response(&response.text().await.unwrap()).unwrap();
    assert_eq!(
        (user.user_id.as_str(), user.screen_name.as_str()),
        ("1002", "bob")
    );
    assert!(user.token.as_str().starts_with("1002-"));
}
