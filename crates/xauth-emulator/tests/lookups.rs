//! The X API v2 public reads, `GET /2/tweets/:id` and `GET /2/users/:id`, over real HTTP:
//! who may call them, their answers, rate limit headers, counters and faults.

use reqwest::StatusCode;
use serde_json::{Value, json};
use xauth_emulator::EmulatorConfig;

struct Emu {
    base: String,
    http: reqwest::Client,
}

impl Emu {
    async fn start() -> Emu {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(xauth_emulator::serve(EmulatorConfig::default(), listener));
        Emu {
            base,
            http: reqwest::Client::new(),
        }
    }

    async fn app_token(&self) -> String {
        let reply: Value = self
            .http
            .post(format!("{}/oauth2/token", self.base))
            .basic_auth("xauth-demo-consumer", Some("xauth-demo-consumer-secret"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        reply["access_token"].as_str().unwrap().to_owned()
    }

    async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    async fn stats(&self) -> Value {
        self.get("/__emulator/stats", None)
            .await
            .json()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn lookups_answer_the_app_token_with_rate_limit_headers() {
    let emu = Emu::start().await;
    let token = emu.app_token().await;

    let tweet = emu.get("/2/tweets/20", Some(&token)).await;
    assert_eq!(tweet.status(), StatusCode::OK);
    let headers = tweet.headers().clone();
    assert_eq!(headers["x-rate-limit-limit"], "900");
    assert_eq!(headers["x-rate-limit-remaining"], "899");
    let reset: u64 = headers["x-rate-limit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset > 1_700_000_000, "a Unix time: {reset}");
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
    let emu = Emu::start().await;
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
    let emu = Emu::start().await;
    let token = emu.app_token().await;
    for (endpoint, path) in [
        ("tweets_lookup", "/2/tweets/1"),
        ("users_lookup", "/2/users/1"),
    ] {
        emu.http
            .post(format!("{}/__emulator/faults", emu.base))
            .json(&json!({ "endpoint": endpoint, "mode": "429" }))
            .send()
            .await
            .unwrap();
        let limited = emu.get(path, Some(&token)).await;
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()["x-rate-limit-remaining"], "0");
        assert_eq!(emu.get(path, Some(&token)).await.status(), StatusCode::OK);
    }
    assert_eq!(emu.stats().await["faults_served"], 2);
}

#[tokio::test]
async fn lookups_answer_a_user_access_token_until_it_expires() {
    let emu = Emu::start().await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", "xauth-demo-client"),
            ("redirect_uri", "http://127.0.0.1:8787/"),
            ("scope", "tweet.read users.read"),
            ("state", "s"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
            ("decision", "approve"),
        ])
        .finish();
    let authorize = no_redirects
        .get(format!("{}/i/oauth2/authorize?{query}", emu.base))
        .send()
        .await
        .unwrap();
    let location = authorize.headers()["location"].to_str().unwrap().to_owned();
    let code = location
        .split(['?', '&'])
        .find_map(|pair| pair.strip_prefix("code="))
        .unwrap()
        .to_owned();
    let tokens: Value = emu
        .http
        .post(format!("{}/2/oauth2/token", emu.base))
        .basic_auth("xauth-demo-client", Some("xauth-demo-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:8787/"),
            (
                "code_verifier",
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            ),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap();

    assert_eq!(
        emu.get("/2/tweets/7", Some(access)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        emu.get("/2/users/7", Some(access)).await.status(),
        StatusCode::OK
    );
    emu.http
        .post(format!("{}/__emulator/expire", emu.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        emu.get("/2/tweets/7", Some(access)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
