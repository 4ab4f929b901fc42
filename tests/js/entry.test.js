// The browser package's entry as built (www/pkg/xauth_web.js, the `XAuth` class over the
// sign-in module, loading the keeper module when needed), in a page of the worker's
// origin. Run by tests/tests/package_e2e.rs as the body of an async function: it returns
// one `{name, ok, error?}` per test. `args[0]`, when given, runs only the tests whose name
// contains it.
//
// `fetch` is replaced per test by a recorder answering canned responses (the package's own
// files still load for real); each test starts from empty `xauth:` storage and this
// page's address. Errors are matched by `code`, never by message.

const CLIENT_ID = "test-client";
const REDIRECT_URI = "http://127.0.0.1:8787/callback";
const SCOPES = "tweet.read users.read offline.access";
const AUTHORIZE_URL = "http://127.0.0.1:8790/i/oauth2/authorize";
const ENDPOINT = "https://worker.test";
const PENDING = "xauth:pending";
const SESSION = "xauth:session";
const STATE = "st4te-from-the-test";
const VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const TOKEN_ANSWER = {
  access_token: "AT-secret-1",
  token_type: "bearer",
  expires_in: 7200,
  expires_at: 1900000000,
  scope: SCOPES,
  refresh_token: "RT-secret-1",
  user: { id: "42", name: "Ada", username: "ada" },
};
const CUSTODY_ANSWER = {
  user: { id: "42", name: "Ada", username: "ada" },
  scope: SCOPES,
  expiresAt: 1900000000,
  custody: "worker",
};
const WORKER_CONFIG = {
  clientId: "cid-from-worker",
  authorizeUrl: AUTHORIZE_URL,
  redirectUri: REDIRECT_URI,
  scopes: "users.read tweet.read",
};

const home = location.pathname + location.search;
const realFetch = window.fetch;

// ---- a small harness ------------------------------------------------------------------------

class Failure extends Error {}

function check(ok, what) {
  if (!ok) throw new Failure(what);
}

function equal(actual, expected, what = "") {
  const a = JSON.stringify(actual);
  const b = JSON.stringify(expected);
  if (a !== b) throw new Failure(`${what}: ${a} != ${b}`);
}

/** The `code` of an `XAuthError` (and checks it is one). */
function code(error) {
  check(error instanceof Error, `not an Error: ${error}`);
  equal(error.name, "XAuthError", "name");
  return error.code;
}

/** What `run` throws or rejects with (it must). */
async function failure(run) {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Failure("no error");
}

/**
 * `fetch` answers `status` with `body` (JSON unless a string; status 0: unreachable);
 * returns the list of requests seen.
 */
function answer(status, body) {
  const seen = [];
  window.fetch = async (input, init = {}) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url.includes("/pkg/")) return realFetch(input, init);
    const headers = new Headers(init.headers || {});
    let sent = init.body;
    if (sent instanceof ArrayBuffer) sent = new TextDecoder().decode(sent);
    seen.push({
      url,
      method: init.method || "GET",
      contentType: headers.get("content-type") ?? undefined,
      authorization: headers.get("authorization") ?? undefined,
      xauth: headers.get("x-xauth") ?? undefined,
      credentials: init.credentials,
      body: typeof sent === "string" ? JSON.parse(sent) : sent,
    });
    if (status === 0) throw new TypeError("Failed to fetch");
    return new Response(typeof body === "string" ? body : JSON.stringify(body), { status });
  };
  return seen;
}

const stored = (key) => sessionStorage.getItem(key);

function writePending(state, verifier, createdAt) {
  sessionStorage.setItem(PENDING, JSON.stringify({ state, verifier, createdAt }));
}

const freshPending = () => writePending(STATE, VERIFIER, Date.now());
const callbackUrl = (query) => `${REDIRECT_URI}?${query}`;

function client(extra = {}) {
  return new XAuth({
    clientId: CLIENT_ID,
    redirectUri: REDIRECT_URI,
    scopes: SCOPES,
    authorizeUrl: AUTHORIZE_URL,
    endpoint: ENDPOINT,
    ...extra,
  });
}

/** Hooks that record what they are told, into `calls`. */
function hooks(calls) {
  return {
    onTokenUpdate: (tokens) => calls.push(["onTokenUpdate", tokens]),
    onTokenRefreshError: (error) => calls.push(["onTokenRefreshError", error.code]),
    onSignedOut: (reason) => calls.push(["onSignedOut", reason]),
  };
}

/** Asserts the one request seen was the code exchange, with exactly this body. */
function exchangeRequest(seen, code, verifier) {
  equal(seen.length, 1, "one request");
  const [request] = seen;
  equal(request.url, `${ENDPOINT}/twitter-access-token`, "url");
  equal(request.method, "POST", "method");
  equal(request.contentType, "application/json", "content type");
  equal(Object.keys(request.body).sort(), ["code", "codeVerifier", "redirectUri"], "body");
  equal(request.body.code, code, "code");
  equal(request.body.codeVerifier, verifier, "verifier");
  equal(request.body.redirectUri, REDIRECT_URI, "redirect URI");
}

const base64url = (bytes) =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

// ---- the tests ---------------------------------------------------------------------------------

let XAuth;

const tests = {
  // First: nothing has loaded the keeper module yet.
  async "worker custody, and a sign-in link, load no keeper module"() {
    const oauth1Loaded = () =>
      performance.getEntriesByType("resource").some((e) => e.name.includes("xauth_oauth1"));
    const keeperLoaded = () =>
      performance.getEntriesByType("resource").some((e) => e.name.includes("xauth_keeper"));
    let seen = answer(200, { ...WORKER_CONFIG, custody: "worker" });
    const xauth = await XAuth.fromWorker(ENDPOINT);
    equal(xauth.custody, "worker");
    xauth.signInUrl();
    seen = answer(200, { signedIn: false, custody: "worker" });
    equal(await xauth.restoreSession(), undefined);
    const link = xauth.signInUrl();
    seen = answer(200, CUSTODY_ANSWER);
    const session = await xauth.handleCallback(callbackUrl(`state=${link.state}&code=c`));
    equal(session.custody, "worker");
    check(!keeperLoaded(), "the keeper module was loaded");

    // Browser custody without fromWorker: restoring nothing needs no keeper either; a
    // stored session comes as a promise, resumed tokens too, once.
    const browser = client({ storage: "session" });
    equal(browser.restoreSession(), undefined, "nothing stored");
    check(!keeperLoaded(), "the keeper module was loaded");
    sessionStorage.setItem(SESSION, JSON.stringify({ access_token: "AT-s" }));
    const restoring = browser.restoreSession();
    check(restoring instanceof Promise, "a promise while the keeper module loads");
    equal((await restoring).accessToken, "AT-s");
    check(keeperLoaded(), "the keeper module is loaded now");
    check(!oauth1Loaded(), "OAuth 1.0a is not");
    const resumed = browser.resumeSession({ accessToken: "AT-r" });
    check(!(resumed instanceof Promise), "at once once it is loaded");
    equal(resumed.accessToken, "AT-r");
    resumed.free();
  },

  async "signInUrl stores the pending sign-in and builds the link"() {
    const before = Date.now();
    const { url, state } = client().signInUrl();
    const pending = JSON.parse(stored(PENDING));
    equal(pending.state, state, "state");
    check(/^[A-Za-z0-9_-]{43}$/.test(pending.verifier), "a 43-character verifier");
    check(pending.createdAt >= before && pending.createdAt <= Date.now(), "createdAt");
    const link = new URL(url);
    equal(link.origin + link.pathname, AUTHORIZE_URL, "X's consent page");
    const digest = await crypto.subtle.digest(
      "SHA-256",
      new TextEncoder().encode(pending.verifier),
    );
    equal(
      [...link.searchParams],
      [
        ["response_type", "code"],
        ["client_id", CLIENT_ID],
        ["redirect_uri", REDIRECT_URI],
        ["scope", SCOPES],
        ["state", state],
        ["code_challenge", base64url(new Uint8Array(digest))],
        ["code_challenge_method", "S256"],
      ],
      "parameters",
    );
    check(!url.includes(pending.verifier), "the verifier never goes to X");

    // Every sign-in has fresh secrets and replaces the pending one.
    const second = client().signInUrl();
    const again = JSON.parse(stored(PENDING));
    check(second.state !== state, "a fresh state");
    equal(again.state, second.state);
    check(again.verifier !== pending.verifier, "a fresh verifier");
    // X's consent page by default.
    const defaults = new XAuth({ clientId: CLIENT_ID, redirectUri: REDIRECT_URI, scopes: SCOPES });
    check(
      defaults.signInUrl().url.startsWith("https://x.com/i/oauth2/authorize?response_type=code&"),
      "X's own consent page",
    );
    equal(defaults.storage, "memory");
    equal(defaults.custody, "browser");
  },

  async "isCallback and isOAuth1Callback read the URL"() {
    const xauth = client();
    for (const [url, expected] of [
      ["?state=s&code=c", true],
      ["https://app.example/cb?code=c&state=s#x", true],
      ["?state=s&error=access_denied", true],
      ["?state=s", false],
      ["?state=a&state=b&code=c", false],
      ["https://app.example/cb?oauth_token=t&oauth_verifier=v", false],
    ]) {
      equal(xauth.isCallback(url), expected, url);
    }
    equal(xauth.isCallback(), false, "this page");
    for (const [query, expected] of [
      ["oauth_token=t&oauth_verifier=v", true],
      ["denied=t", true],
      ["oauth_token=t", false],
      ["oauth_verifier=v", false],
      ["oauth_token=&oauth_verifier=v", false],
      ["oauth_token=&oauth_token=t&oauth_verifier=v", true],
      ["state=s&code=c", false],
    ]) {
      equal(xauth.isOAuth1Callback(callbackUrl(query)), expected, query);
    }
    equal(xauth.isOAuth1Callback(`${REDIRECT_URI}#oauth_token=t&oauth_verifier=v`), false);
    history.pushState(null, "", "/some/page?oauth_token=t&oauth_verifier=v");
    equal(xauth.isOAuth1Callback(), true, "this page");
  },

  async "wrong options throw invalid_options"() {
    const good = { clientId: CLIENT_ID, redirectUri: REDIRECT_URI, scopes: SCOPES };
    for (const wrong of [
      { clientId: undefined },
      { clientId: "" },
      { clientId: 42 },
      { redirectUri: "/callback" },
      { redirectUri: "https://a.example/cb#f" },
      { scopes: "tweet.read nope" },
      { authorizeUrl: "x.com" },
      { storage: "cookies" },
      { custody: "both" },
      { refreshSkewSeconds: -1 },
      { refreshSkewSeconds: "60" },
      { refreshOn403: "yes" },
      { autoRefresh: 1 },
      { onTokenUpdate: "persist" },
      { onSignedOut: {} },
    ]) {
      const error = await failure(() => new XAuth({ ...good, ...wrong }));
      equal(code(error), "invalid_options", JSON.stringify(wrong));
    }
    equal(code(await failure(() => new XAuth())), "invalid_options", "no options");
    const fine = new XAuth({
      ...good,
      storage: "local",
      refreshSkewSeconds: 0,
      refreshOn403: true,
      autoRefresh: false,
      onTokenUpdate: null,
    });
    equal(fine.storage, "local");
    equal(code(await failure(() => fine.setStorage("cookies"))), "invalid_options");
    equal(fine.storage, "local", "unchanged");
  },

  async "a callback exchanges the code, and the pending sign-in is single use"() {
    const xauth = client();
    const { state } = xauth.signInUrl();
    const { verifier } = JSON.parse(stored(PENDING));
    const url = callbackUrl(`state=${state}&code=the%2Bcode`);
    check(xauth.isCallback(url), "a callback");
    const seen = answer(200, TOKEN_ANSWER);
    const session = await xauth.handleCallback(url);
    exchangeRequest(seen, "the+code", verifier);
    equal(stored(PENDING), null, "the pending sign-in is deleted");
    equal(session.accessToken, "AT-secret-1");
    equal(session.custody, "browser");
    equal(session.user, { id: "42", name: "Ada", username: "ada" });
    const left = session.expiresAt - Date.now() / 1000;
    check(left > 7190 && left <= 7201, `expires in ${left} s, counted from its arrival`);
    check(!JSON.stringify(session).includes("RT-secret-1"), "no refresh token shows");
    // Memory: nothing kept in storage.
    equal(stored(SESSION), null);
    equal(localStorage.getItem(SESSION), null);

    const again = await failure(() => xauth.handleCallback(url));
    equal(code(again), "no_pending_sign_in");
    equal(again.reason, "missing");
    equal(seen.length, 1, "nothing more sent");
    session.free();
  },

  async "the callback's parameters leave the address bar, on success and on failure"() {
    freshPending();
    history.pushState(
      { app: 1 },
      "",
      `/signed-in/page?tab=2&state=${STATE}&code=c0de&iss=x&%63ode=again#section`,
    );
    const xauth = client();
    equal(xauth.isCallback(), false, "a code twice is no callback");
    let seen = answer(200, TOKEN_ANSWER);
    const pending = xauth.handleCallback();
    // At once, before the exchange settles.
    equal(location.pathname + location.search + location.hash, "/signed-in/page?tab=2#section");
    equal(history.state, { app: 1 }, "the entry's state is kept");
    check(
      await pending.then(
        () => false,
        () => true,
      ),
      "a code twice is refused",
    );
    equal(seen.length, 0, "nothing exchanged");

    freshPending();
    history.pushState(null, "", `/cb?state=${STATE}&code=c0de&q=a%20b+c&&keep`);
    seen = answer(200, TOKEN_ANSWER);
    (await xauth.handleCallback()).free();
    equal(location.pathname + location.search, "/cb?q=a%20b+c&keep");
    exchangeRequest(seen, "c0de", VERIFIER);

    freshPending();
    history.pushState(null, "", "/cb?state=forged&code=c0de");
    seen = answer(200, TOKEN_ANSWER);
    equal(code(await failure(() => xauth.handleCallback())), "state_mismatch");
    equal(location.pathname + location.search, "/cb");
    equal(seen.length, 0);

    // OAuth 1.0a's too.
    history.pushState(null, "", "/oauth1/page?tab=2&oauth_token=rt-1&oauth_verifier=v3r#top");
    seen = answer(200, { userId: "2244994945", screenName: "xauthdemo" });
    const user = await xauth.handleOAuth1Callback();
    equal(user, { userId: "2244994945", screenName: "xauthdemo" });
    equal(location.pathname + location.search + location.hash, "/oauth1/page?tab=2#top");
    equal(seen.length, 1);
    equal(seen[0].url, `${ENDPOINT}/twitter-oauth1/access-token`);
    equal(seen[0].body, { oauthToken: "rt-1", oauthVerifier: "v3r" });
    equal(seen[0].credentials, "same-origin");

    history.pushState(null, "", "/oauth1/page?denied=rt-1");
    seen = answer(400, { error: "access_denied", kind: "reauthorize" });
    equal(code(await failure(() => xauth.handleOAuth1Callback())), "access_denied");
    equal(location.search, "");
    equal(seen[0].body, { oauthToken: "rt-1", denied: "rt-1" });
  },

  async "every refused callback has its code and consumes the pending sign-in"() {
    for (const [query, expected] of [
      ["state=forged&code=c", "state_mismatch"],
      [`error=access_denied&error_description=The+user+denied+access%21&state=${STATE}`, "access_denied"],
      [`error=invalid_scope&state=${STATE}`, "authorization_error"],
      [`state=${STATE}`, "missing_code"],
      ["code=c", "missing_state"],
      [`state=${STATE}&code=a&code=b`, "malformed_callback"],
    ]) {
      sessionStorage.clear();
      freshPending();
      const seen = answer(200, TOKEN_ANSWER);
      const error = await failure(() => client().handleCallback(callbackUrl(query)));
      equal(code(error), expected, query);
      equal(stored(PENDING), null, `consumed: ${query}`);
      equal(seen.length, 0, `nothing sent: ${query}`);
      if (expected === "access_denied") {
        equal(error.description, "The user denied access!");
        check(error.message.includes("The user denied access!"), "the description in the message");
      }
      if (expected === "authorization_error") equal(error.error, "invalid_scope");
    }
  },

  async "no pending sign-in: none, unreadable, or over ten minutes old"() {
    const url = callbackUrl(`state=${STATE}&code=c`);
    let seen = answer(200, TOKEN_ANSWER);
    let error = await failure(() => client().handleCallback(url));
    equal([code(error), error.reason], ["no_pending_sign_in", "missing"]);
    for (const junk of ["{", '{"state":"s"}', '{"state":"s","verifier":"short","createdAt":1}', "null"]) {
      sessionStorage.setItem(PENDING, junk);
      error = await failure(() => client().handleCallback(url));
      equal([code(error), error.reason], ["no_pending_sign_in", "missing"], junk);
      equal(stored(PENDING), null, `deleted: ${junk}`);
    }
    for (const [age, expired] of [
      [11 * 60_000, true],
      [-3_600_000, true],
      [9 * 60_000, false],
    ]) {
      writePending(STATE, VERIFIER, Date.now() - age);
      seen = answer(200, TOKEN_ANSWER);
      const outcome = await client()
        .handleCallback(url)
        .then(
          (session) => session.free(),
          (e) => e,
        );
      equal(stored(PENDING), null, `consumed either way (${age})`);
      if (expired) {
        equal([code(outcome), outcome.reason], ["no_pending_sign_in", "expired"], `${age}`);
        check(outcome.message.includes("10 minutes"), "says why");
        equal(seen.length, 0);
      } else {
        exchangeRequest(seen, "c", VERIFIER);
      }
    }
  },

  async "a worker error is exchange_failed with its kind and status"() {
    for (const [status, body, kind, error] of [
      [400, { error: "invalid_request", error_description: "bad code", kind: "reauthorize" }, "reauthorize", "invalid_request"],
      [401, { error: "unauthorized_client", kind: "misconfigured" }, "misconfigured", "unauthorized_client"],
      [429, { error: "too_many_requests", kind: "transient" }, "transient", "too_many_requests"],
      // No `kind` (the worker's own input checks) or no JSON at all (a proxy): guessed.
      [400, { error: "invalid_request" }, "misconfigured", "invalid_request"],
      [502, "<html>Bad gateway</html>", "transient", undefined],
      [408, "", "transient", undefined],
    ]) {
      freshPending();
      const seen = answer(status, body);
      const failed = await failure(() => client().handleCallback(callbackUrl(`state=${STATE}&code=c`)));
      equal([code(failed), failed.kind, failed.status, failed.error], ["exchange_failed", kind, status, error], JSON.stringify(body));
      if (body.error_description) check(failed.message.endsWith(": bad code"), failed.message);
      exchangeRequest(seen, "c", VERIFIER);
      equal(stored(SESSION), null);
    }
    freshPending();
    let seen = answer(0, "");
    let failed = await failure(() => client().handleCallback(callbackUrl(`state=${STATE}&code=c`)));
    equal(code(failed), "network_error");
    exchangeRequest(seen, "c", VERIFIER);
    for (const body of ["not json", {}, { access_token: "" }, [1]]) {
      freshPending();
      seen = answer(200, body);
      failed = await failure(() => client().handleCallback(callbackUrl(`state=${STATE}&code=c`)));
      equal(code(failed), "invalid_response", JSON.stringify(body));
    }
  },

  async "fromWorker takes the configuration from the worker"() {
    let seen = answer(200, WORKER_CONFIG);
    const xauth = await XAuth.fromWorker(`${ENDPOINT}/`);
    equal(seen.length, 1);
    equal([seen[0].url, seen[0].method, seen[0].body], [`${ENDPOINT}/twitter-config`, "GET", undefined]);
    equal([xauth.storage, xauth.custody], ["memory", "browser"]);
    const link = xauth.signInUrl();
    check(link.url.startsWith(`${AUTHORIZE_URL}?response_type=code&client_id=cid-from-worker&`), link.url);
    check(link.url.includes("&scope=tweet.read%20users.read&"), link.url);
    seen = answer(200, TOKEN_ANSWER);
    (await xauth.handleCallback(callbackUrl(`state=${link.state}&code=c`))).free();
    equal(seen[0].url, `${ENDPOINT}/twitter-access-token`);

    seen = answer(200, WORKER_CONFIG);
    await XAuth.fromWorker();
    equal(seen[0].url, "/twitter-config", "this origin by default");

    for (const [status, body, expected] of [
      [500, { error: "server_misconfigured", kind: "misconfigured" }, "config_failed"],
      [200, "not json", "invalid_response"],
      [200, { clientId: "c", redirectUri: "/relative", scopes: "tweet.read" }, "invalid_response"],
      [0, "", "network_error"],
    ]) {
      answer(status, body);
      const error = await failure(() => XAuth.fromWorker());
      equal(code(error), expected, JSON.stringify(body));
      if (expected === "config_failed") equal([error.kind, error.status], ["misconfigured", 500]);
    }
    // Wrong session options: refused before anything is sent.
    seen = answer(200, WORKER_CONFIG);
    equal(code(await failure(() => XAuth.fromWorker("", { storage: "cookies" }))), "invalid_options");
    equal(seen.length, 0);
    answer(200, { ...WORKER_CONFIG, custody: "worker" });
    equal((await XAuth.fromWorker(ENDPOINT)).custody, "worker");
  },

  async "browser custody keeps sessions where storage says"() {
    freshPending();
    let seen = answer(200, TOKEN_ANSWER);
    const xauth = client();
    xauth.setStorage("session");
    equal(xauth.storage, "session");
    (await xauth.handleCallback(callbackUrl(`state=${STATE}&code=c`))).free();
    check(stored(SESSION).includes("AT-secret-1"), "kept in sessionStorage");
    const restored = client({ storage: "session" }).restoreSession();
    equal(restored.accessToken, "AT-secret-1", "at once: the keeper module is loaded");
    restored.free();
    equal(client().restoreSession(), undefined, "memory reads nothing");
    check(stored(SESSION) !== null, "and deletes nothing");
    const switched = client({ storage: "session" });
    switched.setStorage("memory");
    equal(stored(SESSION), null, "choosing memory forgets the stored session");
    equal(client({ storage: "session" }).restoreSession(), undefined);
    equal(seen.length, 1);
    const error = await failure(() => client().resumeSession({ refreshToken: "RT" }));
    equal(code(error), "invalid_options");
  },

  async "worker custody: a session without tokens, calls with the cookie"() {
    const calls = [];
    const xauth = client({ custody: "worker", ...hooks(calls) });
    equal(xauth.custody, "worker");
    freshPending();
    let seen = answer(200, CUSTODY_ANSWER);
    const session = await xauth.handleCallback(callbackUrl(`state=${STATE}&code=c`));
    exchangeRequest(seen, "c", VERIFIER);
    equal(
      [session.custody, session.accessToken, session.signedIn, session.expiresAt, session.scope],
      ["worker", undefined, true, 1900000000, SCOPES],
    );
    equal(session.user, { id: "42", name: "Ada", username: "ada" });
    equal(calls, [], "no tokens to hand over");
    equal([stored(SESSION), localStorage.getItem(SESSION), stored(PENDING)], [null, null, null]);
    await session.refresh();

    seen = answer(201, { data: { id: "1" } });
    const response = await session.fetch("/2/tweets", {
      method: "POST",
      headers: { authorization: "Bearer leaked", "content-type": "application/json" },
      body: JSON.stringify({ text: "hi" }),
    });
    equal(response.status, 201);
    equal(seen.length, 1);
    equal(
      [seen[0].url, seen[0].method, seen[0].credentials, seen[0].xauth, seen[0].authorization, seen[0].contentType],
      [`${ENDPOINT}/twitter-api/2/tweets`, "POST", "same-origin", "1", undefined, "application/json"],
    );
    equal(seen[0].body, { text: "hi" });
    equal(code(await failure(() => session.fetch("https://evil.example/2/users/me"))), "invalid_request");
    equal(seen.length, 1, "nothing sent for it");

    // X's own 401 is the app's answer, and ends nothing.
    answer(401, { error: "x_unauthorized", kind: "reauthorize" });
    equal((await session.fetch("/2/users/me")).status, 401);
    check(session.signedIn, "still signed in");
    // The worker's no_session ends the session, once.
    seen = answer(401, { error: "no_session", kind: "reauthorize" });
    const error = await failure(() => session.fetch("/2/users/me"));
    equal([code(error), error.kind], ["request_failed", "reauthorize"]);
    check(!session.signedIn, "ended");
    equal(code(await failure(() => session.fetch("/2/users/me"))), "signed_out");
    equal(seen.length, 1, "nothing sent after the end");
    equal(calls, [["onSignedOut", "reauthorize"]]);
  },

  async "worker custody: restoreSession asks the worker, signOut ends here then there"() {
    const calls = [];
    const xauth = client({ custody: "worker", ...hooks(calls) });
    let seen = answer(200, { signedIn: true, user: { id: "42", name: "Ada", username: "ada" }, scope: "tweet.read", custody: "worker" });
    const restoring = xauth.restoreSession();
    check(restoring instanceof Promise, "worker custody restores asynchronously");
    const session = await restoring;
    equal([session.custody, session.user.id], ["worker", "42"]);
    equal(
      [seen[0].url, seen[0].method, seen[0].xauth, seen[0].credentials],
      [`${ENDPOINT}/twitter-session`, "GET", "1", "same-origin"],
    );
    for (const [status, body] of [
      [200, { signedIn: false, custody: "worker" }],
      [401, { error: "no_session", kind: "reauthorize" }],
    ]) {
      answer(status, body);
      equal(await xauth.restoreSession(), undefined, `${status}`);
    }
    answer(500, { error: "server_misconfigured" });
    equal(code(await failure(() => xauth.restoreSession())), "request_failed");

    seen = answer(200, { signedOut: true, grantEnded: true, revoked: true });
    await session.signOut({ everywhere: true, forget: true });
    check(!session.signedIn, "ended");
    equal(seen.length, 1);
    equal(
      [seen[0].url, seen[0].xauth, seen[0].body],
      [`${ENDPOINT}/twitter-sign-out`, "1", { everywhere: true, forget: true }],
    );
    await session.signOut();
    equal(seen.length, 1, "signed out once");
    equal(calls, [["onSignedOut", "sign_out"]]);

    // A failed sign-out at the worker rejects after ending here; a gone session is fine.
    answer(200, { signedIn: true, custody: "worker" });
    const other = await xauth.restoreSession();
    answer(502, { error: "x_unavailable", kind: "transient" });
    const error = await failure(() => other.signOut());
    equal([code(error), error.kind, error.status], ["revoke_failed", "transient", 502]);
    check(!other.signedIn, "ended anyway");
    answer(200, { signedIn: true, custody: "worker" });
    const gone = await xauth.restoreSession();
    answer(401, { error: "no_session" });
    await gone.signOut();
  },

  async "OAuth 1.0a goes through its own module"() {
    let seen = answer(200, { url: "https://x.test/oauth/authorize?oauth_token=rt-1", oauthToken: "rt-1" });
    const link = await client().oauth1SignInUrl({ callback: "oob", linkMode: "authorize" });
    equal(link, { url: "https://x.test/oauth/authorize?oauth_token=rt-1", oauthToken: "rt-1" });
    equal([seen[0].url, seen[0].body], [`${ENDPOINT}/twitter-oauth1/request-token`, { callback: "oob", linkMode: "authorize" }]);
    seen = answer(200, { url: "https://x.test/a", oauthToken: "rt-2" });
    await client().oauth1SignInUrl();
    equal(seen[0].body, { callback: REDIRECT_URI }, "the redirect URI by default");
    seen = answer(200, { userId: "1", screenName: "x" });
    equal(await client().completeOAuth1Pin("rt-1", " 1234567 "), { userId: "1", screenName: "x" });
    equal(seen[0].body, { oauthToken: "rt-1", pin: "1234567" });
    seen = answer(200, { signedIn: true, userId: "1", screenName: "x" });
    equal(await client().oauth1Session(), { signedIn: true, userId: "1", screenName: "x" });
    equal([seen[0].url, seen[0].method], [`${ENDPOINT}/twitter-oauth1/session`, "GET"]);
    seen = answer(200, { signedOut: true });
    equal(await client().oauth1SignOut(), undefined);
    equal([seen[0].url, seen[0].method], [`${ENDPOINT}/twitter-oauth1/sign-out`, "POST"]);
    seen = answer(200, { signedIn: false });
    equal(await client().oauth1Session(), { signedIn: false });
    answer(500, { error: "server_misconfigured" });
    let error = await failure(() => client().oauth1Session());
    equal([code(error), error.kind, error.status], ["request_failed", "transient", 500]);

    // Failures of the request token, the verifier and the PIN have their codes.
    answer(500, { error: "server_misconfigured", error_description: "TWITTER_CONSUMER_KEY is missing.", kind: "misconfigured" });
    error = await failure(() => client().oauth1SignInUrl());
    equal([code(error), error.kind, error.status, error.error], ["request_failed", "misconfigured", 500, "server_misconfigured"]);
    answer(200, { nothing: 1 });
    equal(code(await failure(() => client().oauth1SignInUrl())), "invalid_response");
    answer(0, "");
    equal(code(await failure(() => client().oauth1SignInUrl())), "network_error");
    answer(401, { error: "invalid_request", error_description: "The PIN is not valid.", kind: "reauthorize" });
    error = await failure(() => client().completeOAuth1Pin("rt-1", "1"));
    equal([code(error), error.kind, error.status, error.error], ["exchange_failed", "reauthorize", 401, "invalid_request"]);
    answer(200, { userId: "1" });
    equal(code(await failure(() => client().completeOAuth1Pin("rt-1", "1"))), "invalid_response");
    answer(502, "<html>Bad gateway</html>");
    error = await failure(() => client().handleOAuth1Callback(callbackUrl("oauth_token=t&oauth_verifier=v")));
    equal([code(error), error.kind], ["exchange_failed", "transient"]);
    // Nothing of OAuth 1.0a is kept in the page's storage.
    equal([sessionStorage.length, localStorage.length], [0, 0]);
  },
};

// ---- the run ------------------------------------------------------------------------------

const pkg = await import("/pkg/xauth_web.js");
await pkg.default();
XAuth = pkg.XAuth;

const only = args[0];
const results = [];
for (const [name, test] of Object.entries(tests)) {
  if (only && !name.includes(only)) continue;
  sessionStorage.clear();
  localStorage.clear();
  try {
    await test();
    results.push({ name, ok: true });
  } catch (error) {
    results.push({ name, ok: false, error: String(error?.stack ?? error) });
  } finally {
    window.fetch = realFetch;
    history.replaceState(null, "", home);
  }
}
return results;
