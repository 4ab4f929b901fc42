//! "Sign in with X" by OAuth 1.0a through the worker's `/twitter-oauth1/*` routes. The
//! request token's secret and the user's token stay in the worker's HttpOnly cookies: the
//! page only ever sees the request token, the verifier (or PIN) and who signed in.

use crate::prelude::*;
use js_sys::{Object, Promise};
use wasm_bindgen::prelude::*;

use crate::client::XAuth;
use crate::error::Error;
use crate::{address, http, js};

#[wasm_bindgen]
impl XAuth {
    /// Asks the worker for a request token (callback: `redirectUri`), then sends the
    /// browser to X. Rejects: network_error, request_failed, invalid_response.
    #[wasm_bindgen(js_name = signInWithOAuth1, unchecked_return_type = "Promise<void>")]
    pub fn sign_in_with_oauth1(
        &self,
        #[wasm_bindgen(unchecked_param_type = "OAuth1Options")] options: Option<Object>,
    ) -> Promise {
        let start = self.oauth1_start(options.map(JsValue::from).unwrap_or_default());
        js::promise(Box::pin(async move {
            let url = js::get_string(&start.await?, "url").unwrap_or_default();
            web_sys::window()
                .ok_or_else(Error::no_window)?
                .location()
                .assign(&url)?;
            Ok(JsValue::UNDEFINED)
        }))
    }

    /// Like `signInWithOAuth1()`, but resolves to `{url, oauthToken}`; `callback: "oob"`
    /// for the PIN flow.
    #[wasm_bindgen(js_name = oauth1SignInUrl, unchecked_return_type = "Promise<OAuth1SignInLink>")]
    pub fn oauth1_sign_in_url(
        &self,
        #[wasm_bindgen(unchecked_param_type = "OAuth1Options")] options: Option<Object>,
    ) -> Promise {
        js::promise(self.oauth1_start(options.map(JsValue::from).unwrap_or_default()))
    }

    /// Whether `url` (default: this page) has `oauth_token` and `oauth_verifier`, or `denied`.
    #[wasm_bindgen(js_name = isOAuth1Callback)]
    pub fn is_oauth1_callback(&self, url: Option<String>) -> bool {
        url.or_else(address::current_href)
            .map(|url| callback_params(&url))
            .is_some_and(|(token, verifier, denied)| {
                denied.is_some() || (token.is_some() && verifier.is_some())
            })
    }

    /// Finishes an OAuth 1.0a sign-in on X's redirect back to `url` (default: this page,
    /// whose address bar is cleaned). Rejects: access_denied, exchange_failed, ...
    #[wasm_bindgen(js_name = handleOAuth1Callback, unchecked_return_type = "Promise<OAuth1User>")]
    pub fn handle_oauth1_callback(&self, url: Option<String>) -> Promise {
        let current = address::current_href();
        let is_current = url.is_none() || url == current;
        let (token, verifier, denied) = callback_params(&url.or(current).unwrap_or_default());
        if is_current {
            address::remove_callback_params();
        }
        let endpoint = self.endpoint().to_owned();
        js::promise(Box::pin(async move {
            if let Some(denied) = denied {
                // Tells the worker, which drops the pending sign-in; the answer does not matter.
                let body = js::object(&[("oauthToken", &denied), ("denied", &denied)]);
                let _ = http::post(&route(&endpoint, "access-token"), &body).await;
                return Err(Error::new("access_denied", "the sign-in with X was declined").into());
            }
            let token = token.unwrap_or_default();
            let verifier = verifier.unwrap_or_default();
            Ok(access_token(&endpoint, &token, "oauthVerifier", &verifier).await?)
        }))
    }

    /// Finishes a PIN sign-in (`callback: "oob"`) with the PIN X showed the user.
    /// Rejects: exchange_failed, network_error, invalid_response.
    #[wasm_bindgen(js_name = completeOAuth1Pin, unchecked_return_type = "Promise<OAuth1User>")]
    pub fn complete_oauth1_pin(&self, oauth_token: String, pin: String) -> Promise {
        let endpoint = self.endpoint().to_owned();
        js::promise(Box::pin(async move {
            Ok(access_token(&endpoint, &oauth_token, "pin", pin.trim()).await?)
        }))
    }

    /// Who is signed in with OAuth 1.0a in this browser (the worker's session cookie).
    #[wasm_bindgen(js_name = oauth1Session, unchecked_return_type = "Promise<OAuth1Session>")]
    pub fn oauth1_session(&self) -> Promise {
        let url = route(self.endpoint(), "session");
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

    /// Has the worker forget the OAuth 1.0a session cookie.
    #[wasm_bindgen(js_name = oauth1SignOut, unchecked_return_type = "Promise<void>")]
    pub fn oauth1_sign_out(&self) -> Promise {
        let url = route(self.endpoint(), "sign-out");
        js::promise(Box::pin(async move {
            checked(http::post(&url, &js::object(&[])).await?)?;
            Ok(JsValue::UNDEFINED)
        }))
    }
}

impl XAuth {
    /// `POST request-token` with `{callback, linkMode?}`; resolves to `{url, oauthToken}`.
    fn oauth1_start(&self, options: JsValue) -> js::Task {
        let callback = js::get_string(&options, "callback")
            .unwrap_or_else(|| self.redirect_uri_str().to_owned());
        let body = js::object(&[("callback", &callback)]);
        js::set_opt_str(
            &body,
            "linkMode",
            js::get_string(&options, "linkMode").as_deref(),
        );
        let url = route(self.endpoint(), "request-token");
        Box::pin(async move {
            let reply = checked(http::post(&url, &body).await?)?;
            let (Some(url), Some(token)) = (
                js::get_string(&reply, "url"),
                js::get_string(&reply, "oauthToken"),
            ) else {
                return Err(Error::invalid_response(
                    "the worker's request-token answer has no url",
                )
                .into());
            };
            Ok(js::object(&[("url", &url), ("oauthToken", &token)]).into())
        })
    }
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

/// `oauth_token`, `oauth_verifier` and `denied` of `url`'s query (first of each).
fn callback_params(url: &str) -> (Option<String>, Option<String>, Option<String>) {
    let query = url
        .split('#')
        .next()
        .and_then(|url| url.split_once('?'))
        .map_or("", |(_, query)| query);
    let (mut token, mut verifier, mut denied) = (None, None, None);
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let slot = match &*name {
            "oauth_token" => &mut token,
            "oauth_verifier" => &mut verifier,
            "denied" => &mut denied,
            _ => continue,
        };
        if slot.is_none() && !value.is_empty() {
            *slot = Some(value.into_owned());
        }
    }
    (token, verifier, denied)
}
