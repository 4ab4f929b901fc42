//! The X API v2 public reads, `GET /2/tweets/:id` and `GET /2/users/:id`, over real HTTP:
//! who may call them, their answers, rate limit headers, counters and faults.

mod common;

use reqwest::StatusCode;
use serde_json::{Value, json};

use common::{Emu, assert_rate_limit_headers, send_as, start_default};

impl Emu {
    async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        send_as(self.http.get(self.url(path)), token).await
    }
}

#[tokio::test]
async fn lookups_answer_the_app_token_with_rate_limit_headers() {
    let emu = start_default().await;
    let token = emu.app_token().await;

    let tweet = emu.get("/2/tweets/20", Some(&token)).await;
    assert_eq!(tweet.status(), StatusCode::OK);
    assert_rate_limit_headers(&tweet, "900");
    assert_eq!(tweet.headers()["x-rate-limit-remaining"], "899");
    let body: Value = tweet.json().await.unwrap();
    assert_eq!(body["data"]["id"], "20");
    assert!(body["data"]["text"].as_str().is_some_and(|t| !t.is_empty()));
    let again = emu.get("/2/tweets/20", Some(&token)).await;
    assert_eq!(again.headers()["x-rate-limit-remaining"], "898");

    let known = emu.get("/2/users/2244994945", Some(&token)).await;
    assert_eq!(known.status(), StatusCode::OK);
    assert!(known.headers().contains_key("x-rate-limit-remaining"));
    let body: Value = known.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "data": { "id": "2244994945", "name": "X Demo User", "username": "xauthdemo" } })
    );
    let other: Value = emu
        .get("/2/users/12", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(other["data"]["id"], "12");
    assert!(other["data"]["username"].is_string());

    // `users/me` is still the signed-in user's, not a lookup of id "me".
    let me = emu.get("/2/users/me", Some(&token)).await;
    assert_eq!(me.status(), StatusCode::FORBIDDEN);

    let bad_id = emu.get("/2/tweets/not-an-id", Some(&token)).await;
    assert_eq!(bad_id.status(), StatusCode::BAD_REQUEST);
    let body: Value = bad_id.json().await.unwrap();
    assert_eq!(body["title"], "Invalid Request");

    let stats = emu.stats().await;
    assert_eq!(stats["tweets_lookup"], 3);
    assert_eq!(stats["users_lookup"], 2);
}

#[tokio::test]
async fn lookups_refuse_anything_but_a_live_token() {
    let emu = start_default().await;
    for token in [None, Some("not-a-token")] {
        for path in ["/2/tweets/20", "/2/users/12"] {
            let refused = emu.get(path, token).await;
            assert_eq!(
                refused.status(),
                StatusCode::UNAUTHORIZED,
                "{path} {token:?}"
            );
            let body: Value = refused.json().await.unwrap();
            assert_eq!(body["title"], "Unauthorized");
        }
    }
    // Before anyone asked for it, there is no app token to accept either.
    assert_eq!(emu.stats().await["app_token"], 0);
}

#[tokio::test]
async fn lookups_take_faults() {
    let emu = start_default().await;
    let token = emu.app_token().await;
    for (endpoint, path) in [
        ("tweets_lookup", "/2/tweets/1"),
        ("users_lookup", "/2/users/1"),
    ] {
        emu.fault(json!({ "endpoint": endpoint, "mode": "429" }))
            .await;
        let limited = emu.get(path, Some(&token)).await;
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()["x-rate-limit-remaining"], "0");
        assert_eq!(emu.get(path, Some(&token)).await.status(), StatusCode::OK);
    }
    assert_eq!(emu.stats().await["faults_served"], 2);
}

#[tokio::test]
async fn lookups_answer_a_user_access_token_until_it_expires() {
    let emu = start_default().await;
    let access = emu.user_token("tweet.read users.read").await;

    assert_eq!(
        emu.get("/2/tweets/7", Some(&access)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        emu.get("/2/users/7", Some(&access)).await.status(),
        StatusCode::OK
    );
    emu.expire_all().await;
    assert_eq!(
        emu.get("/2/tweets/7", Some(&access)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
