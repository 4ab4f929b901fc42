//! xauth-web: the browser half of "Sign in with X", compiled to wasm with wasm-bindgen.
//!
//! It does **not** talk to X: X's token endpoint answers no browser. It makes the PKCE
//! verifier and the state, sends the user to X's consent page, checks X's redirect back,
//! and hands the code to the worker (`xauth-worker`), which holds the client secret. The
//! protocol itself (PKCE, the link, the callback checks) is `xauth-core`; this crate adds
//! the browser's storage, address bar and `fetch`.
//!
//! JavaScript sees two classes (the TypeScript types are in the generated `.d.ts`):
//!
//! ```js
//! import init, { XAuth } from "./pkg/xauth_web.js";
//! await init();
//! const xauth = await XAuth.fromWorker();           // GET /twitter-config
//! if (xauth.isCallback()) {
//!   const session = await xauth.handleCallback();   // checks state, POST /twitter-access-token
//!   console.log(session.user?.username, session.expiresAt);
//!   const me = await session.fetch("/2/users/me");  // via /twitter-api/, refreshed as needed
//!   await session.signOut();                        // POST /twitter-revoke-token
//! } else {
//!   xauth.signIn();                                 // off to X
//! }
//! ```
//!
//! OAuth 1.0a goes through the worker too (`signInWithOAuth1()`, `oauth1SignInUrl()` for the
//! PIN flow, `handleOAuth1Callback()`, `completeOAuth1Pin()`, `oauth1Session()`,
//! `oauth1SignOut()`); its tokens stay in the worker's HttpOnly cookies.
//!
//! The `Session` keeps its tokens fresh (`keeper`): refreshed through the worker before
//! expiry and once after a 401, one refresh at a time in the tab and across tabs, with the
//! app's hooks told (`onTokenUpdate`, `onTokenRefreshError`, `onSignedOut`).
//!
//! Errors are `Error` objects named `XAuthError` with a stable `code`; see the crate's
//! README for the list and for where tokens are kept.

// Built without std for the browser (`--no-default-features`): no std panic machinery and
// no formatting on a panic path; a panic is a bare `unreachable` trap. Tests link std.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Nothing from outside may panic the page: no unwrap, expect, unchecked indexing or
// overflowing integer arithmetic outside tests.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

extern crate alloc;

/// What std's prelude would give: the `alloc` types the modules use.
#[allow(unused_imports)]
mod prelude {
    pub(crate) use alloc::borrow::ToOwned;
    pub(crate) use alloc::boxed::Box;
    pub(crate) use alloc::string::{String, ToString};
    pub(crate) use alloc::vec::Vec;
}

/// Without std, a panic (none is reachable from outside input: see the lints above) stops
/// the module with a trap, without formatting a message nobody would see.
#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// The allocator behind every `String`, `Vec` and `Box`: talc, smaller than the standard
/// library's dlmalloc (single-threaded wasm only, which is all this crate builds for).
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

mod address;
mod api;
mod client;
mod cookie_session;
mod error;
mod http;
mod js;
mod keeper;
mod oauth1;
mod session;
mod store;

pub use crate::client::{XAuth, XAuthOptions};
pub use crate::session::Session;

#[wasm_bindgen::prelude::wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** Who keeps a signed-in user's tokens: this page ("browser"), or the worker, with a session cookie for the page ("worker"). */
export type Custody = "browser" | "worker";

/** Where a session's tokens are kept: this page's memory, or also sessionStorage (this tab), or localStorage (shared by the origin's tabs). */
export type StorageKind = "memory" | "session" | "local";

/** A session's tokens, as `onTokenUpdate` gets them and `resumeSession` takes them back. */
export interface TokenSet {
  accessToken: string;
  refreshToken?: string;
  /** Unix seconds. */
  expiresAt?: number;
  scope?: string;
}

/** Why a session ended. */
export type SignedOutReason = "sign_out" | "signed_out_elsewhere" | "reauthorize" | "expired";

/** How sessions are kept fresh, and the app's hooks. */
export interface SessionOptions {
  /** Where sessions are kept; default "memory". */
  storage?: StorageKind;
  /** Refresh when the token expires within this many seconds; default 60. */
  refreshSkewSeconds?: number;
  /** Also refresh and retry once on a 403; default false (403 is rarely about the token). */
  refreshOn403?: boolean;
  /** Refresh on a timer shortly before expiry, not only when a call needs a token; default true. */
  autoRefresh?: boolean;
  /** New tokens, awaited before they are first used (persist them here). */
  onTokenUpdate?: (tokens: TokenSet) => void | Promise<void>;
  /** A refresh failed (the session goes on unless onSignedOut follows). */
  onTokenRefreshError?: (error: XAuthError) => void;
  /** The session ended; called once. */
  onSignedOut?: (reason: SignedOutReason) => void;
}

/** Options of `new XAuth(options)`. */
export interface XAuthOptions extends SessionOptions {
  /** The app's OAuth 2.0 client id (X developer portal). */
  clientId: string;
  /** The callback registered with X, exactly (absolute http(s), no fragment). */
  redirectUri: string;
  /** Space-separated X scopes, e.g. "tweet.read users.read offline.access". */
  scopes: string;
  /** X's consent page; default "https://x.com/i/oauth2/authorize" (or an emulator's). */
  authorizeUrl?: string;
  /** The worker's base URL; default "" (this page's origin). */
  endpoint?: string;
  /** Who keeps the tokens; default "browser". `XAuth.fromWorker` takes it from the worker. */
  custody?: Custody;
}

/** What `signInUrl()` returns: the link to X's consent page and its state. */
export interface SignInLink {
  url: string;
  state: string;
}

/** Who signed in (X's `/2/users/me`). */
export interface XUser {
  id: string;
  name: string;
  username: string;
}

/** The stable `code` of an `XAuthError`. */
export type XAuthErrorCode =
  | "invalid_options"
  | "storage_unavailable"
  | "randomness_unavailable"
  | "unsupported_environment"
  | "no_pending_sign_in"
  | "malformed_callback"
  | "missing_state"
  | "state_mismatch"
  | "access_denied"
  | "authorization_error"
  | "missing_code"
  | "network_error"
  | "invalid_response"
  | "config_failed"
  | "exchange_failed"
  | "revoke_failed"
  | "request_failed"
  | "refresh_failed"
  | "signed_out"
  | "invalid_request"
  | "hook_failed";

/** Options of the OAuth 1.0a sign-in. */
export interface OAuth1Options {
  /** Where X sends the user back: one of the worker's redirect URIs, or "oob" for a PIN; default `redirectUri`. */
  callback?: string;
  /** "authenticate" (default: no prompt for a returning user) or "authorize". */
  linkMode?: "authenticate" | "authorize";
}

/** What `oauth1SignInUrl()` resolves to. */
export interface OAuth1SignInLink {
  url: string;
  oauthToken: string;
}

/** Who signed in with OAuth 1.0a. */
export interface OAuth1User {
  userId: string;
  screenName: string;
}

/** `oauth1Session()`: who is signed in with OAuth 1.0a in this browser. */
export interface OAuth1Session {
  signedIn: boolean;
  userId?: string;
  screenName?: string;
}

/** What every method throws or rejects with: an `Error` named "XAuthError". */
export interface XAuthError extends Error {
  name: "XAuthError";
  code: XAuthErrorCode;
  /** exchange_failed, revoke_failed, config_failed, request_failed, refresh_failed, signed_out: what to do (sign in again, fix the setup, retry). */
  kind?: "reauthorize" | "misconfigured" | "transient";
  /** exchange_failed, revoke_failed, config_failed, request_failed: the worker's HTTP status. */
  status?: number;
  /** The worker's or X's error code (e.g. "invalid_request"), when there is one. */
  error?: string;
  /** X's or the worker's error_description (text from outside: escape before showing). */
  description?: string;
  /** no_pending_sign_in: nothing stored in this tab, or stored over 10 minutes ago. */
  reason?: "missing" | "expired";
}
"#;
