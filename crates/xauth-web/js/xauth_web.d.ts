/* The types of xauth-web's browser package (www/pkg/xauth_web.js). Hand-written: the entry
   is hand-written JS over two wasm modules (see crates/xauth-web/README.md). */

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

/** A signed-in session. In browser custody it keeps the tokens fresh (the refresh token, if any, stays inside: the app sees it only in `onTokenUpdate`, to persist it); in worker custody the worker keeps them and this page has none. */
export interface Session {
  /** The access token ("" once the session has ended); undefined in worker custody, where the page never holds one. */
  readonly accessToken: string | undefined;
  /** When the access token expires, in Unix seconds, if known. */
  readonly expiresAt: number | undefined;
  /** The scopes X granted, space-separated. */
  readonly scope: string | undefined;
  /** Who signed in, when the worker could ask X (scopes tweet.read and users.read). */
  readonly user: XUser | undefined;
  /** Who holds the tokens: "browser" (this page) or "worker". */
  readonly custody: Custody;
  /** False once the session has ended (signOut, or X no longer accepts it). */
  readonly signedIn: boolean;
  /** `fetch` for X API v2 through the worker's proxy as this session's user. Browser custody: with the session's token, refreshed first when (nearly) expired, and once more, with one retry, after a 401. Worker custody: with the session cookie. */
  fetch(input: string, init?: RequestInit): Promise<Response>;
  /** Refreshes the tokens now (joining a refresh under way). In worker custody the worker refreshes them itself: this resolves at once. */
  refresh(): Promise<void>;
  /** Ends the session at once, then has the worker revoke the grant (worker custody: `{everywhere: true}` ends all of the user's sessions; with `XAUTH_KEEP_GRANTS` the grant outlives them unless `{forget: true}`, which revokes and deletes it). Rejects, after ending, with `revoke_failed` or `network_error`. */
  signOut(options?: { everywhere?: boolean; forget?: boolean }): Promise<void>;
  /** Gives back a browser-custody session's wasm memory (the session ends being kept fresh); nothing in worker custody. */
  free(): void;
}

/** Sign in with X for one app (its client id, callback, scopes and worker). */
export class XAuth {
  /** A client from explicit options. Throws `invalid_options`. Needs `await init()` first. */
  constructor(options: XAuthOptions);
  /** A client configured by the worker's `GET <endpoint>/twitter-config` (`endpoint` defaults to this origin), with `options` for its sessions. In browser custody it also loads the keeper module. Rejects: network_error, config_failed, invalid_response, invalid_options. */
  static fromWorker(endpoint?: string | null, options?: SessionOptions): Promise<XAuth>;
  /** Who keeps the tokens: "browser" (this page) or "worker" (the worker; the page holds a session cookie). */
  readonly custody: Custody;
  /** Where new sessions are kept. */
  readonly storage: StorageKind;
  /** Where new sessions are kept; "memory" also deletes a stored one. Throws `invalid_options`. */
  setStorage(kind: StorageKind): void;
  /** Stores a fresh PKCE verifier and state, then sends the browser to X. Throws `storage_unavailable`, `randomness_unavailable`. */
  signIn(): void;
  /** Like `signIn()`, but returns the link to X instead of following it. */
  signInUrl(): SignInLink;
  /** Whether `url` (default: this page) has a `state` and a `code` or an `error`. */
  isCallback(url?: string | null): boolean;
  /** Finishes the sign-in on X's redirect back to `url` (default: this page): consumes the pending sign-in, cleans the address bar, checks the state, exchanges the code. Rejects with an `XAuthError` (see its `code`). */
  handleCallback(url?: string | null): Promise<Session>;
  /** The session to pick up on page load, else undefined. Worker custody: a promise (`GET /twitter-session`). Browser custody: the one kept in storage "session" or "local", at once when the keeper module is loaded, else a promise. `await` works for both. */
  restoreSession(): Session | undefined | Promise<Session | undefined>;
  /** A session from tokens the app kept from `onTokenUpdate`, with its user if known: at once when the keeper module is loaded (after `fromWorker` in browser custody, or a sign-in), else a promise. `await` works for both. Throws `invalid_options` without an accessToken. */
  resumeSession(tokens: TokenSet, user?: XUser): Session | Promise<Session>;
  /** Asks the worker for a request token (callback: `redirectUri`), then sends the browser to X. Rejects: network_error, request_failed, invalid_response. */
  signInWithOAuth1(options?: OAuth1Options): Promise<void>;
  /** Like `signInWithOAuth1()`, but resolves to `{url, oauthToken}`; `callback: "oob"` for the PIN flow. */
  oauth1SignInUrl(options?: OAuth1Options): Promise<OAuth1SignInLink>;
  /** Whether `url` (default: this page) has `oauth_token` and `oauth_verifier`, or `denied`. */
  isOAuth1Callback(url?: string | null): boolean;
  /** Finishes an OAuth 1.0a sign-in on X's redirect back to `url` (default: this page, whose address bar is cleaned). Rejects: access_denied, exchange_failed, ... */
  handleOAuth1Callback(url?: string | null): Promise<OAuth1User>;
  /** Finishes a PIN sign-in (`callback: "oob"`) with the PIN X showed the user. Rejects: exchange_failed, network_error, invalid_response. */
  completeOAuth1Pin(oauthToken: string, pin: string): Promise<OAuth1User>;
  /** Who is signed in with OAuth 1.0a in this browser (the worker's session cookie). */
  oauth1Session(): Promise<OAuth1Session>;
  /** Has the worker forget the OAuth 1.0a session cookie. */
  oauth1SignOut(): Promise<void>;
  /** Nothing to free (kept from earlier versions). */
  free(): void;
}

/** What `init` loads the sign-in module from: by default xauth_signin.wasm next to xauth_web.js. */
export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

/** Loads the sign-in module (once; later calls resolve at once). */
export default function init(module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>): Promise<void>;
