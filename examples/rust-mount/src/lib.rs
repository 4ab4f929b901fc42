//! An app's Worker with "Sign in with X" mounted: xauth answers `/twitter-*` and
//! `/xauth/*` (and keeps its users' grants in its Durable Object class, re-exported by
//! `xauth_worker` and bound in wrangler.toml); the app answers the rest.

use worker::{Context, Env, Request, Response, Result, event};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    if let Some(answer) = xauth_worker::handle(&req, &env, &ctx).await {
        return answer;
    }
    match req.path().as_str() {
        "/hello" => Response::from_json(&Hello {
            hello: "from the app's own route",
        }),
        // Paths with no static asset (wrangler.toml's [assets]) end here.
        _ => Response::error("Not Found", 404),
    }
}

#[derive(serde::Serialize)]
struct Hello {
    hello: &'static str,
}
