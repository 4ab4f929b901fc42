// xauth-web: "Sign in with X" in the browser. This is the package's entry, the `XAuth`
// class apps use; `cargo xtask build` minifies it into www/pkg/xauth_web.js.
//
// Two wasm modules, built from the crate (see its README and src/lib.rs):
// - the sign-in module (xauth_signin.wasm), which `init()` loads: the protocol steps as
//   functions of strings (the link and its secrets, the callback checks, the proxy URLs).
//   This file passes their arguments through memory (`call`), keeps the app's options,
//   reads and writes sessionStorage and the address bar, and does the fetch calls:
//   the configuration, the code exchange, and the whole session in worker custody.
// - the keeper module (xauth_keeper.js and its wasm), loaded by `import()` the first time
//   a browser-custody session needs it (`fromWorker` loads it at once when the worker says
//   browser custody, so its sessions come synchronously);
// - OAuth 1.0a (xauth_oauth1.js, fetch calls only), loaded by `import()` the first time an
//   OAuth 1.0a method is called.
//
// Errors are `Error`s named "XAuthError" with a stable `code`, made here for what happens
// here and by the keeper module for its own; the list is in the README.

/** The pending sign-in in sessionStorage: `{state, verifier, createdAt}` (JSON). */
const PENDING = "xauth:pending";
/** A browser-custody session kept in Web Storage (the keeper module's record). */
const SESSION = "xauth:session";
/** What `handleCallback` and `handleOAuth1Callback` take out of the address bar. */
const CALLBACK_PARAMS = [
  "code",
  "state",
  "error",
  "error_description",
  "iss",
  "oauth_token",
  "oauth_verifier",
  "denied",
];
const KINDS = ["reauthorize", "misconfigured", "transient"];
const STORAGES = ["memory", "session", "local"];
const ABSENT = 0xffffffff;

/** The sign-in module's exports, once `init()` has run. */
let wasm;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Loads the sign-in module: from `module_or_path` (a URL, a `Response`, bytes or a
 * `WebAssembly.Module`), by default xauth_signin.wasm next to this file. Once is enough.
 */
export default async function init(input) {
  if (wasm) return;
  // A literal "./" path in `new URL(…, import.meta.url)`: bundlers (Vite, Rollup, webpack)
  // recognize exactly this form, copy the wasm into their output and rewrite the URL.
  input = input?.module_or_path ?? input ?? new URL("./xauth_signin.wasm", import.meta.url);
  if (typeof input === "string" || input instanceof URL || input instanceof Request) {
    input = fetch(input);
  }
  input = await input;
  let instance;
  if (input instanceof Response) {
    // Compiled while it downloads, when the server says what it is.
    instance = (
      input.headers.get("content-type") === "application/wasm"
        ? await WebAssembly.instantiateStreaming(input)
        : await WebAssembly.instantiate(await input.arrayBuffer())
    ).instance;
  } else {
    instance = await WebAssembly.instantiate(input);
    instance = instance.instance ?? instance;
  }
  wasm ??= instance.exports;
}

/**
 * Calls the sign-in module's `name` with `fields` (strings, bytes, or anything else for an
 * absent field) and `numbers` (see src/abi.rs for the layout).
 */
function call(name, fields, ...numbers) {
  if (!wasm) throw new Error("xauth-web: `await init()` before using XAuth");
  let size = 0;
  for (const field of fields) size += 4 + (field?.length ?? 0) * 3;
  const at = wasm.buf(size);
  if (!at) throw new Error("xauth-web: out of memory");
  const bytes = new Uint8Array(wasm.memory.buffer);
  const view = new DataView(wasm.memory.buffer);
  let end = at;
  for (const field of fields) {
    let len = ABSENT;
    if (typeof field === "string") {
      len = encoder.encodeInto(field, bytes.subarray(end + 4)).written;
    } else if (field instanceof Uint8Array) {
      bytes.set(field, end + 4);
      len = field.length;
    }
    view.setUint32(end, len, true);
    end += 4 + (len === ABSENT ? 0 : len);
  }
  return wasm[name](at, end - at, ...numbers);
}

/** A string answer of the sign-in module (undefined for none). */
function text(at) {
  if (!at) return undefined;
  const len = new DataView(wasm.memory.buffer).getUint32(at, true);
  return decoder.decode(new Uint8Array(wasm.memory.buffer, at + 4, len));
}

/** An answer of several strings (laid out as the arguments are; absent ones undefined). */
function fields(at) {
  const view = new DataView(wasm.memory.buffer);
  const list = [];
  for (let next = at + 4, end = next + view.getUint32(at, true); next < end; ) {
    const len = view.getUint32(next, true);
    list.push(len === ABSENT ? undefined : text(next));
    next += 4 + (len === ABSENT ? 0 : len);
  }
  return list;
}

const str = (value) => (typeof value === "string" ? value : undefined);
const obj = (value) => (typeof value === "object" && value !== null ? value : {});

// ---- errors --------------------------------------------------------------------------

/** An `XAuthError`: `code`, `message`, and whichever of `extra`'s fields are set. */
function fail(code, message, extra) {
  const error = new Error(message);
  for (const [key, value] of Object.entries(extra ?? {})) {
    if (value !== undefined) error[key] = value;
  }
  error.name = "XAuthError";
  error.code = code;
  return error;
}

const invalidOptions = (message) => fail("invalid_options", message);

const storageUnavailable = () =>
  fail(
    "storage_unavailable",
    "sessionStorage is not available in this page, so a sign-in cannot be kept across the trip to X",
  );

/**
 * The worker's error answer (`status`, its JSON `body`) to a call whose failure is `code`:
 * `kind` is the worker's, or guessed from the status (5xx, 408 and 429 are transient).
 */
function workerError(code, lead, status, body) {
  const answer = obj(body);
  const error = str(answer.error);
  const description = str(answer.error_description);
  let kind = answer.kind;
  if (!KINDS.includes(kind)) {
    kind = status >= 500 || status === 408 || status === 429 ? "transient" : "misconfigured";
  }
  const detail = description ?? error;
  return fail(code, detail === undefined ? lead : `${lead}: ${detail}`, {
    kind,
    status,
    error,
    description,
  });
}

function networkError(url, failure) {
  const detail = str(failure?.message);
  return fail(
    "network_error",
    `could not reach the worker at ${url}${detail === undefined ? "" : `: ${detail}`}`,
  );
}

const signedOut = () =>
  fail(
    "signed_out",
    "the session has ended (signed out, or X no longer accepts it); sign in again",
    { kind: "reauthorize" },
  );

// ---- the page: storage, address bar, fetch -------------------------------------------

function sessionStore() {
  try {
    if (globalThis.sessionStorage) return sessionStorage;
  } catch {
    // A sandboxed frame or blocked storage throws on access.
  }
  throw storageUnavailable();
}

const currentHref = () => globalThis.location?.href;

/**
 * Takes the callback's parameters out of the address bar (`history.replaceState`, keeping
 * the path, the app's other parameters byte for byte, the hash and the entry's state), so
 * that a reload, a bookmark or a shared link does not carry a spent code and state.
 */
function cleanAddress() {
  try {
    const { pathname, search, hash } = location;
    const kept = [];
    let removed = false;
    for (const pair of search.replace(/^\?/, "").split("&")) {
      // The name as the callback parser sees it (`%63ode` is `code`); the leading `&`
      // keeps URLSearchParams from eating a `?` that is part of it.
      const name = new URLSearchParams(`&${pair}`).keys().next().value;
      const isCallback = CALLBACK_PARAMS.includes(name);
      removed ||= isCallback;
      if (pair && !isCallback) kept.push(pair);
    }
    if (removed) {
      const query = kept.length ? `?${kept.join("&")}` : "";
      history.replaceState(history.state, "", pathname + query + hash);
    }
  } catch {
    // Best effort: no window, or the browser refuses.
  }
}

/** OAuth 1.0a's `[oauth_token, oauth_verifier, denied]` in `url`: the first non-empty of each. */
function oauth1Params(url) {
  const query = url.split("#")[0];
  const at = query.indexOf("?");
  const params = new URLSearchParams(at < 0 ? "" : `&${query.slice(at + 1)}`);
  return ["oauth_token", "oauth_verifier", "denied"].map((name) =>
    params.getAll(name).find((value) => value !== ""),
  );
}

/**
 * `fetch` of the worker's JSON API: `{ok, status, body}` (`body` undefined when it is not
 * JSON). With `session`, the header the worker's CSRF check asks of cookie-authenticated
 * requests. The worker's cookies go along to this origin only.
 */
async function ask(url, body, session) {
  const headers = {};
  if (session) headers["x-xauth"] = "1";
  if (body) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method: body ? "POST" : "GET",
      headers,
      body: body && JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch (failure) {
    throw networkError(url, failure);
  }
  const answer = await response.json().catch(() => undefined);
  return { ok: response.ok, status: response.status, body: answer };
}

/** A fresh `{id, name, username}` when `value` has all three as strings. */
function user(value) {
  const { id, name, username } = obj(value);
  return [id, name, username].every((field) => typeof field === "string")
    ? { id, name, username }
    : undefined;
}

// ---- the modules loaded when used ---------------------------------------------------------

let keeper;
let keeperLoading;
let oauth1Loading;

/**
 * `importing` (an `import()` under way), then `ready(module)`; once (again after a failed
 * try). The callers write `import("./…")` out with a literal path: a bundler follows only
 * those, and would otherwise leave the module out of the app's build without a word.
 */
function load(name, importing, ready, forget) {
  return importing.then(ready, (failure) => {
    forget();
    throw fail("network_error", `could not load ${name}: ${str(failure?.message) ?? failure}`);
  });
}

/** The keeper module (wasm): browser-custody sessions. */
function loadKeeper() {
  return (keeperLoading ??= load(
    "./xauth_keeper.js",
    import("./xauth_keeper.js"),
    async (module) => {
      // Its wasm named here too, in the "./" form every bundler reads as relative to this
      // file (see `init`); wasm-bindgen's glue names it without the "./", which a bundler
      // may take for a package name.
      await module.default({
        module_or_path: new URL("./xauth_keeper_bg.wasm", import.meta.url),
      });
      return (keeper = module);
    },
    () => (keeperLoading = undefined),
  ));
}

/** OAuth 1.0a (JS), over this file's fetch and errors. */
function loadOAuth1() {
  return (oauth1Loading ??= load(
    "./xauth_oauth1.js",
    import("./xauth_oauth1.js"),
    (module) => module.default({ ask, workerError, fail }),
    () => (oauth1Loading = undefined),
  ));
}

/** With the keeper module: at once when it is loaded, else a promise. */
const withKeeper = (use) => (keeper ? use(keeper) : loadKeeper().then(use));

// ---- options ---------------------------------------------------------------------------

function storageKind(value) {
  if (value === undefined) return "memory";
  if (STORAGES.includes(value)) return value;
  throw invalidOptions('storage must be "memory", "session" or "local"');
}

/** Checks the session options (as the keeper module will read them); where sessions are kept. */
function checkSessionOptions(options) {
  const given = obj(options);
  const skew = given.refreshSkewSeconds;
  if (skew !== undefined && !(typeof skew === "number" && skew >= 0 && skew < Infinity)) {
    throw invalidOptions("refreshSkewSeconds must be a number of seconds >= 0");
  }
  const storage = storageKind(str(given.storage));
  for (const flag of ["refreshOn403", "autoRefresh"]) {
    if (given[flag] !== undefined && typeof given[flag] !== "boolean") {
      throw invalidOptions(`${flag} must be true or false`);
    }
  }
  for (const hook of ["onTokenUpdate", "onTokenRefreshError", "onSignedOut"]) {
    if (given[hook] != null && typeof given[hook] !== "function") {
      throw invalidOptions(`${hook} must be a function`);
    }
  }
  return storage;
}

/** `fromWorker`'s endpoint and session options for the constructor. */
let configured;

// ---- XAuth -----------------------------------------------------------------------------

/** Sign in with X for one app (its client id, callback, scopes and worker). */
export class XAuth {
  /** `[clientId, redirectUri, scopes, authorizeUrl]`, checked. */
  #client;
  /** The worker's base URL without a trailing `/` ("" for this origin). */
  #endpoint;
  #worker;
  /** The session options (hooks and all), as the app gave them. */
  #options;
  #storage;

  /** A client from explicit options. Throws `invalid_options`. */
  constructor(options) {
    const given = obj(options);
    const client = [given.clientId, given.redirectUri, given.scopes, given.authorizeUrl].map(
      str,
    );
    const wrong = text(call("check_client", client));
    if (wrong !== undefined) throw invalidOptions(wrong);
    let endpoint = str(given.endpoint) ?? "";
    let sessionOptions = options;
    let storage;
    if (configured) {
      [endpoint, sessionOptions, storage] = configured;
    } else {
      storage = checkSessionOptions(options);
    }
    const custody = given.custody;
    if (custody !== undefined && custody !== "browser" && custody !== "worker") {
      throw invalidOptions('custody must be "browser" or "worker"');
    }
    this.#client = client;
    this.#endpoint = endpoint.replace(/\/+$/, "");
    this.#worker = custody === "worker";
    this.#options = sessionOptions;
    this.#storage = storage;
  }

  /**
   * A client configured by the worker's `GET <endpoint>/twitter-config` (`endpoint`
   * defaults to this origin), with `options` for its sessions. Rejects: network_error,
   * config_failed, invalid_response, invalid_options.
   */
  static async fromWorker(endpoint, options) {
    const storage = checkSessionOptions(options);
    await init();
    endpoint = String(endpoint ?? "").replace(/\/+$/, "");
    const reply = await ask(`${endpoint}/twitter-config`);
    if (!reply.ok) {
      throw workerError(
        "config_failed",
        "the worker did not answer its configuration",
        reply.status,
        reply.body,
      );
    }
    let xauth;
    configured = [endpoint, options, storage];
    try {
      xauth = new XAuth(reply.body);
    } catch {
      // A configuration that does not validate is the worker's fault, not the page's.
      throw fail("invalid_response", "the worker's /twitter-config is not a valid configuration");
    } finally {
      configured = undefined;
    }
    // Browser custody: the keeper module comes now, so that sessions come at once.
    if (!xauth.#worker) await loadKeeper();
    return xauth;
  }

  /** Where new sessions are kept: "memory", "session" or "local". */
  get storage() {
    return this.#storage;
  }

  /**
   * Where new sessions are kept; "memory" also deletes a stored one. Throws
   * `invalid_options`.
   */
  setStorage(kind) {
    this.#storage = storageKind(str(kind) ?? null);
    if (this.#storage === "memory") {
      for (const name of ["sessionStorage", "localStorage"]) {
        try {
          globalThis[name]?.removeItem(SESSION);
        } catch {
          // Nothing to delete where storage is blocked.
        }
      }
    }
  }

  /** Who keeps the tokens: "browser" (this page) or "worker". */
  get custody() {
    return this.#worker ? "worker" : "browser";
  }

  /**
   * Stores a fresh PKCE verifier and state, then sends the browser to X. Throws
   * `storage_unavailable`, `randomness_unavailable`.
   */
  signIn() {
    const { url } = this.signInUrl();
    if (!globalThis.location) {
      throw fail(
        "unsupported_environment",
        "xauth-web needs a browser window (location, history, sessionStorage)",
      );
    }
    location.assign(url);
  }

  /** Like `signIn()`, but returns `{url, state}` instead of following the link. */
  signInUrl() {
    let random;
    try {
      random = crypto.getRandomValues(new Uint8Array(64));
    } catch {
      throw fail("randomness_unavailable", "the browser's crypto.getRandomValues failed");
    }
    const answer = text(call("start", [...this.#client, random]));
    if (answer[0] === "!") throw invalidOptions(answer.slice(1));
    const [url, state, verifier] = answer.split("\n");
    const record = JSON.stringify({ state, verifier, createdAt: Date.now() });
    try {
      sessionStore().setItem(PENDING, record);
    } catch {
      throw storageUnavailable();
    }
    return { url, state };
  }

  /** Whether `url` (default: this page) has a `state` and a `code` or an `error`. */
  isCallback(url) {
    url ??= currentHref();
    return url !== undefined && call("is_callback", [String(url)]) === 1;
  }

  /**
   * Finishes the sign-in on X's redirect back to `url` (default: this page): consumes the
   * pending sign-in, cleans the address bar, checks the state, exchanges the code. Rejects
   * with an `XAuthError` (see its `code`).
   */
  handleCallback(url) {
    // The checks run now, before the promise settles: the pending sign-in is gone and the
    // address bar clean whatever happens next.
    let checked;
    try {
      checked = this.#checkCallback(url);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#exchange(checked);
  }

  #checkCallback(url) {
    const current = currentHref();
    const isCurrent = url == null || url === current;
    url = String(url ?? current ?? "");
    let unavailable;
    let pending = {};
    try {
      const store = sessionStore();
      try {
        // Read and deleted in one go: single use, whatever happens next.
        const raw = store.getItem(PENDING);
        store.removeItem(PENDING);
        pending = obj(JSON.parse(raw));
      } catch {
        // Unreadable: no pending sign-in.
      }
    } catch (error) {
      unavailable = error;
    }
    if (isCurrent) cleanAddress();
    if (unavailable) throw unavailable;
    const createdAt = typeof pending.createdAt === "number" ? pending.createdAt : NaN;
    const verifier = str(pending.verifier);
    const [code, message, reason, error, description] = fields(
      call("take_callback", [url, str(pending.state), verifier], createdAt, Date.now()),
    );
    if (code !== "ok") throw fail(code, message, { reason, error, description });
    return { code: message, codeVerifier: verifier };
  }

  /** The code exchange through the worker, and the session it gives. */
  async #exchange(body) {
    body.redirectUri = this.#client[1];
    const reply = await ask(`${this.#endpoint}/twitter-access-token`, body);
    if (!reply.ok) {
      throw workerError(
        "exchange_failed",
        "the worker could not exchange the code for tokens",
        reply.status,
        reply.body,
      );
    }
    // Browser custody counts the token's expiry from its arrival, on this page's clock.
    const arrived = Date.now();
    if (obj(reply.body).custody === "worker") {
      // The worker kept the tokens and set the session cookie.
      return workerSession(reply.body, this.#endpoint, this.#hook());
    }
    return (await loadKeeper()).startSession(
      reply.body,
      this.#endpoint,
      this.#sessionOptions(),
      arrived,
    );
  }

  /**
   * The session to pick up on page load, else undefined. Worker custody: a promise of the
   * one the worker knows by this page's cookie (`GET /twitter-session`). Browser custody:
   * the one kept in storage "session" or "local", at once when the keeper module is loaded
   * (else a promise). `await` works for both.
   */
  restoreSession() {
    if (this.#worker) return this.#restoreFromWorker();
    const stored =
      this.#storage !== "memory" &&
      (() => {
        try {
          return globalThis[`${this.#storage}Storage`].getItem(SESSION) !== null;
        } catch {
          return false;
        }
      })();
    if (!stored) return undefined;
    return withKeeper((module) => module.restoreSession(this.#endpoint, this.#sessionOptions()));
  }

  async #restoreFromWorker() {
    const reply = await ask(`${this.#endpoint}/twitter-session`, undefined, true);
    // 401: a cookie the worker no longer knows (it has cleared it): nobody is signed in.
    if (reply.status === 401) return undefined;
    if (!reply.ok) {
      throw workerError(
        "request_failed",
        "the worker could not say who is signed in",
        reply.status,
        reply.body,
      );
    }
    if (obj(reply.body).signedIn !== true) return undefined;
    return workerSession(reply.body, this.#endpoint, this.#hook());
  }

  /**
   * A session from tokens the app kept from `onTokenUpdate` (`{accessToken, refreshToken?,
   * expiresAt?, scope?}`), with its user if known: at once when the keeper module is loaded
   * (else a promise). Throws `invalid_options` without an accessToken.
   */
  resumeSession(tokens, user) {
    return withKeeper((module) =>
      module.resumeSession(tokens, user, this.#endpoint, this.#sessionOptions()),
    );
  }

  /** The options the keeper module's sessions are kept by. */
  #sessionOptions() {
    return { ...obj(this.#options), storage: this.#storage };
  }

  /** The app's `onSignedOut`, which worker-custody sessions call too. */
  #hook() {
    const hook = obj(this.#options).onSignedOut;
    return typeof hook === "function" ? hook : undefined;
  }

  // ---- OAuth 1.0a: its own module, loaded when first used (`xauth_oauth1.js`) ----

  /**
   * Asks the worker for a request token (callback: `redirectUri`), then sends the browser
   * to X. Rejects: network_error, request_failed, invalid_response.
   */
  async signInWithOAuth1(options) {
    const { url } = await this.oauth1SignInUrl(options);
    location.assign(url);
  }

  /** Like `signInWithOAuth1()`, but resolves to `{url, oauthToken}`; `callback: "oob"` for a PIN. */
  async oauth1SignInUrl(options) {
    return (await loadOAuth1()).start(this.#endpoint, this.#client[1], options);
  }

  /** Whether `url` (default: this page) has `oauth_token` and `oauth_verifier`, or `denied`. */
  isOAuth1Callback(url) {
    url ??= currentHref();
    if (url === undefined) return false;
    const [token, verifier, denied] = oauth1Params(String(url));
    return denied !== undefined || (token !== undefined && verifier !== undefined);
  }

  /**
   * Finishes an OAuth 1.0a sign-in on X's redirect back to `url` (default: this page,
   * whose address bar is cleaned at once). Rejects: access_denied, exchange_failed, ...
   */
  handleOAuth1Callback(url) {
    const current = currentHref();
    const isCurrent = url == null || url === current;
    const params = oauth1Params(String(url ?? current ?? ""));
    if (isCurrent) cleanAddress();
    return loadOAuth1().then((module) => module.finish(this.#endpoint, params));
  }

  /** Finishes a PIN sign-in (`callback: "oob"`) with the PIN X showed the user. */
  async completeOAuth1Pin(oauthToken, pin) {
    return (await loadOAuth1()).pin(this.#endpoint, String(oauthToken), String(pin));
  }

  /** Who is signed in with OAuth 1.0a in this browser (the worker's session cookie). */
  async oauth1Session() {
    return (await loadOAuth1()).session(this.#endpoint);
  }

  /** Has the worker forget the OAuth 1.0a session cookie. */
  async oauth1SignOut() {
    return (await loadOAuth1()).signOut(this.#endpoint);
  }

  /** Nothing to free (kept for the API of earlier versions). */
  free() {}
}

// ---- a session in worker custody -------------------------------------------------------

/**
 * A session the worker keeps (one Durable Object per user holds X's tokens): this page
 * holds only an HttpOnly session cookie it cannot read, so there is nothing here to refresh,
 * store or share between tabs. Calls carry the cookie and the header `X-XAuth: 1` the
 * worker's CSRF check asks for; a 401 `no_session` ends the session (once). A frozen plain
 * object: `accessToken` is undefined (the page never holds one), `expiresAt` is the access
 * token's expiry the worker held at sign-in (informational: it refreshes on its own).
 */
function workerSession(answer, endpoint, onSignedOut) {
  const { scope, expiresAt, user: who } = obj(answer);
  let ended = false;
  /** Ends the session here, telling `onSignedOut` once. */
  const end = (reason) => {
    if (ended) return;
    ended = true;
    try {
      onSignedOut?.call(undefined, reason);
    } catch {
      // The app's hook: what it throws is its own business.
    }
  };
  return Object.freeze({
    expiresAt: Number.isFinite(expiresAt) ? expiresAt : undefined,
    scope: str(scope),
    user: user(who),
    custody: "worker",
    get signedIn() {
      return !ended;
    },

    /**
     * `fetch` for X API v2 through the worker's proxy with the session cookie. A 401
     * `no_session` ends the session and rejects; any other answer is the app's.
     */
    async fetch(input, init) {
      if (ended) throw signedOut();
      const url = text(call("proxy_url", [endpoint, String(input)]));
      if (url === undefined) {
        throw fail(
          "invalid_request",
          "session.fetch takes an X API v2 URL (https://api.x.com/2/…) or path (/2/…)",
        );
      }
      // The browser reads `init` as fetch would (method, headers, a body of any kind and
      // the content type it implies, signal); the body is read once, into memory.
      const request = new Request(url, init ?? undefined);
      const headers = new Headers(request.headers);
      headers.set("x-xauth", "1");
      // The page has no token in this mode; the cookie says who it is.
      headers.delete("authorization");
      let response;
      try {
        response = await fetch(url, {
          method: request.method,
          headers,
          body: init?.body == null ? undefined : await request.arrayBuffer(),
          signal: request.signal,
          credentials: "same-origin",
        });
      } catch (failure) {
        // An abort by the caller's signal stays the browser's AbortError.
        throw failure?.name === "AbortError" ? failure : networkError(url, failure);
      }
      if (response.status === 401) {
        const body = await response
          .clone()
          .json()
          .catch(() => undefined);
        if (obj(body).error === "no_session") {
          end("reauthorize");
          throw workerError("request_failed", "the worker no longer knows this session", 401, body);
        }
      }
      return response;
    },

    /** The worker refreshes the tokens itself: resolves at once. */
    async refresh() {},

    /**
     * Ends the session here at once (`onSignedOut("sign_out")`), then at the worker
     * (`{everywhere: true}`: all of the user's sessions); the last one revokes the grant
     * at X unless the worker keeps grants (`XAUTH_KEEP_GRANTS`), and `{forget: true}`
     * revokes and deletes it in any case. Rejects, after ending, with `revoke_failed` or
     * `network_error`.
     */
    async signOut(options) {
      if (ended) return;
      end("sign_out");
      const reply = await ask(
        `${endpoint}/twitter-sign-out`,
        { everywhere: obj(options).everywhere === true, forget: obj(options).forget === true },
        true,
      );
      // A session the worker had already ended is signed out all the same.
      const gone = reply.status === 401 && obj(reply.body).error === "no_session";
      if (!reply.ok && !gone) {
        throw workerError(
          "revoke_failed",
          "signed out here, but the worker could not end the session",
          reply.status,
          reply.body,
        );
      }
    },

    /** Nothing to free. */
    free() {},
  });
}
