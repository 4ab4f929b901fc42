//! Several users: `POST /__emulator/user` names the user behind grants authorized after
//! it, and every code, token and refresh keeps the user it was issued for.

mod common;

use reqwest::StatusCode;
use serde_json::{Value, json};

use common::{CHALLENGE, Emu, REDIRECT, VERIFIER, start_default};

const SCOPE: &str = "tweet.read tweet.write users.read offline.access";

fn ada() -> Value {
    json!({ "id": "1001", "name": "Ada Lovelace", "username": "ada" })
}

fn bob() -> Value {
    json!({ "id": "1002", "name": "Bob", "username": "bob" })
}

fn demo_user() -> Value {
    json!({ "id": "2244994945", "name": "X Demo User", "username": "xauthdemo" })
}

impl Emu {
    async fn set_user(&self, user: &Value) -> reqwest::Response {
        self.http
            .post(self.url("/__emulator/user"))
            .json(user)
            .send()
            .await
            .unwrap()
    }

    /// An authorization code for this file's scope, approved at the consent step now.
    async fn code(&self) -> String {
        self.approved_code(SCOPE).await
    }

    /// `(access_token, refresh_token)` for a code.
    async fn tokens(&self, code: &str) -> (String, String) {
        let tokens: Value = self.exchange(code, VERIFIER).await.json().await.unwrap();
        (
            tokens["access_token"].as_str().unwrap().to_owned(),
            tokens["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    async fn refreshed(&self, refresh_token: &str) -> (String, String) {
        let response = self
            .post_form(
                "/2/oauth2/token",
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let tokens: Value = response.json().await.unwrap();
        (
            tokens["access_token"].as_str().unwrap().to_owned(),
            tokens["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    async fn me_data(&self, access_token: &str) -> Value {
        let response = self.me(access_token).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()["data"].clone()
    }
}

#[tokio::test]
async fn each_grant_acts_as_the_user_it_was_authorized_for() {
    let emu = start_default().await;
    // By default, the configured user.
    let (demo_access, demo_refresh) = emu.tokens(&emu.code().await).await;
    assert_eq!(emu.me_data(&demo_access).await, demo_user());

    // A code approved before the switch is still the old user's.
    let early_code = emu.code().await;
    let set = emu.set_user(&ada()).await;
    assert_eq!(set.status(), StatusCode::OK);
    assert_eq!(set.json::<Value>().await.unwrap(), json!({ "user": ada() }));
    let (early_access, _) = emu.tokens(&early_code).await;
    assert_eq!(emu.me_data(&early_access).await, demo_user());

    let (ada_access, ada_refresh) = emu.tokens(&emu.code().await).await;
    assert_eq!(emu.me_data(&ada_access).await, ada());
    emu.set_user(&bob()).await;
    let (bob_access, _) = emu.tokens(&emu.code().await).await;
    assert_eq!(emu.me_data(&bob_access).await, bob());

    // Earlier tokens keep their user, and so do their refreshes, whoever is current.
    assert_eq!(emu.me_data(&ada_access).await, ada());
    let (ada_access_2, ada_refresh_2) = emu.refreshed(&ada_refresh).await;
    assert_eq!(emu.me_data(&ada_access_2).await, ada());
    let (ada_access_3, _) = emu.refreshed(&ada_refresh_2).await;
    assert_eq!(emu.me_data(&ada_access_3).await, ada());
    let (demo_access_2, _) = emu.refreshed(&demo_refresh).await;
    assert_eq!(emu.me_data(&demo_access_2).await, demo_user());

    // A reset keeps the current user; naming the configured one goes back to it.
    emu.reset().await;
    assert_eq!(
        emu.me_data(&emu.tokens(&emu.code().await).await.0).await,
        bob()
    );
    emu.set_user(&demo_user()).await;
    assert_eq!(
        emu.me_data(&emu.tokens(&emu.code().await).await.0).await,
        demo_user()
    );
}

#[tokio::test]
async fn users_post_as_themselves_and_are_known_to_lookups() {
    let emu = start_default().await;
    let (demo_access, _) = emu.tokens(&emu.code().await).await;
    emu.set_user(&ada()).await;
    let (ada_access, _) = emu.tokens(&emu.code().await).await;
    let post = |token: String| {
        let emu = &emu;
        async move {
            emu.http
                .post(emu.url("/2/tweets"))
                .bearer_auth(token)
                .json(&json!({ "text": "same words" }))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // X's duplicate rule is per user: each may post the text once.
    assert_eq!(post(demo_access.clone()).await, StatusCode::CREATED);
    assert_eq!(post(ada_access.clone()).await, StatusCode::CREATED);
    assert_eq!(post(ada_access).await, StatusCode::FORBIDDEN);
    assert_eq!(post(demo_access).await, StatusCode::FORBIDDEN);
    // The stats list posts as before: id and text.
    let posts = emu.stats().await["posts"].clone();
    assert_eq!(posts.as_array().unwrap().len(), 2);
    assert!(posts.as_array().unwrap().iter().all(|p| {
        let mut keys: Vec<&String> = p.as_object().unwrap().keys().collect();
        keys.sort();
        keys == ["id", "text"]
    }));
    // The control API's post list says who made each.
    let authored: Value = emu
        .http
        .get(emu.url("/__emulator/posts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let authors: Vec<&str> = authored["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["author_id"].as_str().unwrap())
        .collect();
    assert_eq!(authors, [demo_user()["id"].as_str().unwrap(), "1001"]);

    let app = emu.app_token().await;
    let looked_up: Value = emu
        .http
        .get(emu.url("/2/users/1001"))
        .bearer_auth(&app)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(looked_up["data"], ada());
}

#[tokio::test]
async fn the_consent_page_shows_the_current_user_and_bad_users_are_refused() {
    let emu = start_default().await;
    emu.set_user(&bob()).await;
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", emu.config.client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", SCOPE),
            ("state", "s"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    let page = emu
        .http
        .get(emu.url(&format!("/i/oauth2/authorize?{query}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Signed in as <strong>@bob</strong>"),
        "{page}"
    );

    for bad in [
        json!({ "id": "x1", "name": "N", "username": "n" }),
        json!({ "id": "", "name": "N", "username": "n" }),
        json!({ "id": "12345678901234567890", "name": "N", "username": "n" }),
        json!({ "id": "1", "name": "", "username": "n" }),
        json!({ "id": "1", "name": "N", "username": "" }),
        json!({ "id": "1", "name": "N" }),
        json!({ "id": "1", "name": "N", "username": "n", "extra": true }),
    ] {
        let status = emu.set_user(&bad).await.status();
        assert!(status.is_client_error(), "{bad}: {status}");
    }
    // Refused ones changed nothing.
    let (access, _) = emu.tokens(&emu.code().await).await;
    assert_eq!(emu.me_data(&access).await, bob());
}
