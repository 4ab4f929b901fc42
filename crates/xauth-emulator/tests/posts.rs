//! Posting as the user, `POST /2/tweets` and `DELETE /2/tweets/:id`, over real HTTP: who
//! may post, X's body and duplicate rules, what every user API answer carries (rate limit
//! headers, X's `guest_id` cookie), the posts and cookie counters, and faults.

mod common;

use reqwest::StatusCode;
use serde_json::{Value, json};

use common::{Emu, assert_rate_limit_headers, send_as, start_default};

const WRITE_SCOPES: &str = "tweet.read tweet.write users.read";

impl Emu {
    async fn post(&self, token: Option<&str>, body: &Value) -> reqwest::Response {
        send_as(self.http.post(self.url("/2/tweets")).json(body), token).await
    }

    async fn delete(&self, token: &str, id: &str) -> reqwest::Response {
        self.http
            .delete(self.url(&format!("/2/tweets/{id}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

/// What X sends on its API answers: the rate limit headers and a `guest_id` cookie.
fn assert_x_headers(response: &reqwest::Response, limit: &str) {
    assert_rate_limit_headers(response, limit);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("guest_id=v1%3A"), "{cookie}");
    assert!(cookie.contains("Domain=.x.com"), "{cookie}");
}

#[tokio::test]
async fn a_user_posts_and_deletes() {
    let emu = start_default().await;
    let token = emu.user_token(WRITE_SCOPES).await;

    let created = emu.post(Some(&token), &json!({ "text": "hello" })).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_x_headers(&created, "200");
    assert_eq!(created.headers()["x-rate-limit-remaining"], "199");
    let body: Value = created.json().await.unwrap();
    let id = body["data"]["id"].as_str().unwrap().to_owned();
    assert!(
        id.len() == 19 && id.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );
    assert_eq!(body["data"]["text"], "hello");
    assert_eq!(body["data"]["edit_history_tweet_ids"], json!([id]));

    let second: Value = emu
        .post(Some(&token), &json!({ "text": "hello again" }))
        .await
        .json()
        .await
        .unwrap();
    let second_id = second["data"]["id"].as_str().unwrap().to_owned();
    assert_ne!(second_id, id);
    assert_eq!(
        emu.stats().await["posts"],
        json!([{ "id": id, "text": "hello" }, { "id": second_id, "text": "hello again" }])
    );

    // X refuses the same text twice, with its own words.
    let duplicate = emu.post(Some(&token), &json!({ "text": "hello" })).await;
    assert_eq!(duplicate.status(), StatusCode::FORBIDDEN);
    assert_x_headers(&duplicate, "200");
    let body: Value = duplicate.json().await.unwrap();
    assert_eq!(
        body["detail"],
        "You are not allowed to create a Tweet with duplicate content."
    );

    let deleted = emu.delete(&token, &id).await;
    assert_eq!(deleted.status(), StatusCode::OK);
    assert_x_headers(&deleted, "50");
    assert_eq!(
        deleted.json::<Value>().await.unwrap(),
        json!({ "data": { "deleted": true } })
    );
    let again = emu.delete(&token, &id).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["title"], "Not Found Error");
    assert_eq!(
        emu.delete(&token, "not-an-id").await.status(),
        StatusCode::BAD_REQUEST
    );

    let stats = emu.stats().await;
    assert_eq!(
        stats["posts"],
        json!([{ "id": second_id, "text": "hello again" }])
    );
    assert_eq!(stats["tweets_create"], 3);
    assert_eq!(stats["tweets_delete"], 3);

    // A reset forgets the posts along with the counters.
    emu.reset().await;
    let stats = emu.stats().await;
    assert_eq!(stats["posts"], json!([]));
    assert_eq!(stats["tweets_create"], 0);
}

#[tokio::test]
async fn posting_needs_a_live_user_token_with_the_write_scopes() {
    let emu = start_default().await;
    let app = emu.app_token().await;
    let read_only = emu.user_token("tweet.read users.read").await;
    let writer = emu.user_token(WRITE_SCOPES).await;
    let body = json!({ "text": "not posted" });

    for (token, status, title) in [
        (None, StatusCode::UNAUTHORIZED, "Unauthorized"),
        (Some("made-up"), StatusCode::UNAUTHORIZED, "Unauthorized"),
        (
            Some(app.as_str()),
            StatusCode::FORBIDDEN,
            "Unsupported Authentication",
        ),
        (Some(read_only.as_str()), StatusCode::FORBIDDEN, "Forbidden"),
    ] {
        let refused = emu.post(token, &body).await;
        assert_eq!(refused.status(), status, "{token:?}");
        assert_x_headers(&refused, "200");
        let problem: Value = refused.json().await.unwrap();
        assert_eq!(problem["title"], title, "{token:?}");
        let deleted = emu
            .http
            .delete(emu.url("/2/tweets/1"))
            .bearer_auth(token.unwrap_or_default())
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), status, "{token:?}");
    }

    // X's body rules: JSON, with a non-empty string `text`.
    for bad in [
        json!({}),
        json!({ "text": "" }),
        json!({ "text": 7 }),
        json!(["text"]),
    ] {
        let refused = emu.post(Some(&writer), &bad).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{bad}");
        let problem: Value = refused.json().await.unwrap();
        assert_eq!(problem["title"], "Invalid Request", "{bad}");
    }
    let not_json = emu
        .http
        .post(emu.url("/2/tweets"))
        .bearer_auth(&writer)
        .header("content-type", "text/plain")
        .body(r#"{"text":"hi"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);

    // An expired token is X's 401.
    emu.expire_all().await;
    let expired = emu.post(Some(&writer), &body).await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);

    let stats = emu.stats().await;
    assert_eq!(stats["posts"], json!([]));
    assert_eq!(stats["tweets_create"], 10);
    assert_eq!(stats["tweets_delete"], 4);
}

#[tokio::test]
async fn users_me_sends_x_headers_and_cookies_sent_to_the_api_are_counted() {
    let emu = start_default().await;
    let token = emu.user_token(WRITE_SCOPES).await;
    let me = emu.me(&token).await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_x_headers(&me, "75");
    let refused = emu.http.get(emu.url("/2/users/me")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_x_headers(&refused, "75");
    assert_eq!(emu.stats().await["api_requests_with_cookie"], 0);

    // Any X API path counts, known or not; the OAuth endpoints and the control API do not.
    for path in ["/2/users/me", "/2/tweets/20", "/2/dm_events"] {
        emu.http
            .get(emu.url(path))
            .bearer_auth(&token)
            .header("cookie", "session=abc")
            .send()
            .await
            .unwrap();
    }
    emu.http
        .post(emu.url("/2/oauth2/revoke"))
        .header("cookie", "session=abc")
        .send()
        .await
        .unwrap();
    emu.http
        .get(emu.url("/__emulator/stats"))
        .header("cookie", "session=abc")
        .send()
        .await
        .unwrap();
    assert_eq!(emu.stats().await["api_requests_with_cookie"], 3);
}

#[tokio::test]
async fn posting_takes_faults() {
    let emu = start_default().await;
    let token = emu.user_token(WRITE_SCOPES).await;

    for (mode, status) in [
        ("401", StatusCode::UNAUTHORIZED),
        ("403", StatusCode::FORBIDDEN),
        ("429", StatusCode::TOO_MANY_REQUESTS),
        ("500", StatusCode::INTERNAL_SERVER_ERROR),
    ] {
        emu.fault(json!({ "endpoint": "tweets_create", "mode": mode }))
            .await;
        let faulted = emu.post(Some(&token), &json!({ "text": mode })).await;
        assert_eq!(faulted.status(), status, "{mode}");
        if mode == "429" {
            let headers = faulted.headers();
            assert_eq!(headers["retry-after"], "7");
            assert_eq!(headers["x-rate-limit-remaining"], "0");
            assert!(headers.contains_key("x-rate-limit-limit"));
            assert!(headers.contains_key("x-rate-limit-reset"));
        }
        let problem: Value = faulted.json().await.unwrap();
        assert_eq!(problem["status"], status.as_u16(), "{mode}");
    }
    assert_eq!(
        emu.stats().await["posts"],
        json!([]),
        "faulted posts are not kept"
    );

    let created: Value = emu
        .post(Some(&token), &json!({ "text": "kept" }))
        .await
        .json()
        .await
        .unwrap();
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    emu.fault(json!({ "endpoint": "tweets_delete", "mode": "401" }))
        .await;
    assert_eq!(
        emu.delete(&token, &id).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(emu.delete(&token, &id).await.status(), StatusCode::OK);

    let stats = emu.stats().await;
    assert_eq!(stats["faults_served"], 5);
    assert_eq!(stats["tweets_create"], 5);
    assert_eq!(stats["tweets_delete"], 2);
}
