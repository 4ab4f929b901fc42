//! "Sign in with X" by OAuth 1.0a through the worker's `/twitter-oauth1/*` routes, in the
//! keeper module (loaded by the entry's OAuth 1.0a methods). The request token's secret and
//! the user's token stay in the worker's HttpOnly cookies: the page only ever sees the
//! request token, the verifier (or PIN) and who signed in.

use crate::prelude::*;
use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::error::Error;
use crate::{http, js};

/// `signInWithOAuth1()` and `oauth1SignInUrl()`: `POST request-token` with `{callback,
/// linkMode?}` (`callback` is `options.callback`, else `redirect_uri`); resolves to
/// `{url, oauthToken}`. Rejects: network_error, request_failed, invalid_response.
#[wasm_bindgen(js_name = oauth1Start, unchecked_return_type = "Promise<OAuth1SignInLink>")]
pub fn oauth1_start(endpoint: &str, redirect_uri: &str, options: &JsValue) -> Promise {
    let callback = js::get_string(options, "callback").unwrap_or_else(|| redirect_uri.to_owned());
    let body = js::object(&[("callback", &callback)]);
    js::set_opt_str(
        &body,
        "linkMode",
        js::get_string(options, "linkMode").as_deref(),
    );
    let url = route(endpoint, "request-token");
    js::promise(Box::pin(async move {
        let reply = checked(http::post(&url, &body).await?)?;
        let (Some(url), Some(token)) = (
            js::get_string(&reply, "url"),
            js::get_string(&reply, "oauthToken"),
        ) else {
            return Err(
                Error::invalid_response("the worker's request-token answer has no url").into(),
            );
        };
        Ok(js::object(&[("url", &url), ("oauthToken", &token)]).into())
    }))
}

/// `handleOAuth1Callback()` after the entry took the callback's `{oauthToken?,
/// oauthVerifier?, denied?}` (and cleaned the address bar): the verifier exchanged, or the
/// worker told of a refusal. Rejects: access_denied, exchange_failed, ...
#[wasm_bindgen(js_name = oauth1Finish, unchecked_return_type = "Promise<OAuth1User>")]
pub fn oauth1_finish(endpoint: &str, params: &JsValue) -> Promise {
    let token = js::get_string(params, "oauthToken").unwrap_or_default();
    let verifier = js::get_string(params, "oauthVerifier").unwrap_or_default();
    let denied = js::get_string(params, "denied");
    let endpoint = endpoint.to_owned();
    js::promise(Box::pin(async move {
        if let Some(denied) = denied {
            // Tells the worker, which drops the pending sign-in; the answer does not matter.
            let body = js::object(&[("oauthToken", &denied), ("denied", &denied)]);
            let _ = http::post(&route(&endpoint, "access-token"), &body).await;
            return Err(Error::new("access_denied", "the sign-in with X was declined").into());
        }
        Ok(access_token(&endpoint, &token, "oauthVerifier", &verifier).await?)
    }))
}

/// `completeOAuth1Pin(oauthToken, pin)`: finishes a PIN sign-in (`callback: "oob"`).
/// Rejects: exchange_failed, network_error, invalid_response.
#[wasm_bindgen(js_name = oauth1Pin, unchecked_return_type = "Promise<OAuth1User>")]
pub fn oauth1_pin(endpoint: &str, oauth_token: String, pin: String) -> Promise {
    let endpoint = endpoint.to_owned();
    js::promise(Box::pin(async move {
        Ok(access_token(&endpoint, &oauth_token, "pin", pin.trim()).await?)
    }))
}

/// `oauth1Session()`: who is signed in with OAuth 1.0a in this browser (the worker's
/// session cookie).
#[wasm_bindgen(js_name = oauth1Session, unchecked_return_type = "Promise<OAuth1Session>")]
pub fn oauth1_session(endpoint: &str) -> Promise {
    let url = route(endpoint, "session");
    js::promise(Box::pin(async move {
        let reply = checked(http::get(&url).await?)?;
        let answer = js::object(&[]);
        js::set(
            &answer,
            "signedIn",
            &(js::get(&reply, "signedIn") == true).into(),
        );
        for key in ["userId", "screenName"] {
            js::set_opt_str(&answer, key, js::get_string(&reply, key).as_deref());
        }
        Ok(answer.into())
    }))
}

/// `oauth1SignOut()`: has the worker forget the OAuth 1.0a session cookie.
#[wasm_bindgen(js_name = oauth1SignOut, unchecked_return_type = "Promise<void>")]
pub fn oauth1_sign_out(endpoint: &str) -> Promise {
    let url = route(endpoint, "sign-out");
    js::promise(Box::pin(async move {
        checked(http::post(&url, &js::object(&[])).await?)?;
        Ok(JsValue::UNDEFINED)
    }))
}

/// `<endpoint>/twitter-oauth1/<name>`.
fn route(endpoint: &str, name: &str) -> String {
    let mut url = String::from(endpoint);
    url.push_str("/twitter-oauth1/");
    url.push_str(name);
    url
}

/// A 2xx answer's body, else `request_failed` with the worker's error.
fn checked(reply: http::Reply) -> Result<JsValue, Error> {
    if reply.is_success() {
        Ok(reply.body)
    } else {
        Err(Error::from_worker(
            "request_failed",
            "the worker refused the OAuth 1.0a request",
            reply.status,
            &reply.body,
        ))
    }
}

/// `POST access-token` with `{oauthToken, <field>: value}`; `{userId, screenName}`.
async fn access_token(
    endpoint: &str,
    token: &str,
    field: &str,
    value: &str,
) -> Result<JsValue, Error> {
    let body = js::object(&[("oauthToken", token), (field, value)]);
    let reply = http::post(&route(endpoint, "access-token"), &body).await?;
    if !reply.is_success() {
        return Err(Error::from_worker(
            "exchange_failed",
            "the worker could not finish the OAuth 1.0a sign-in",
            reply.status,
            &reply.body,
        ));
    }
    let (Some(user_id), Some(screen_name)) = (
        js::get_string(&reply.body, "userId"),
        js::get_string(&reply.body, "screenName"),
    ) else {
        return Err(Error::invalid_response(
            "the worker's access-token answer has no user",
        ));
    };
    Ok(js::object(&[("userId", &user_id), ("screenName", &screen_name)]).into())
}
