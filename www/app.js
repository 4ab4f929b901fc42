// The xauth demo: "Sign in with X" with the browser crate (www/pkg, built by
// `cargo xtask build`) against the worker that serves this page.
//
// The OAuth callback is this page ("/"): on load it either finishes a sign-in
// (`isCallback()` -> `handleCallback()`) or picks up the session there is
// (`await restoreSession()`). Who keeps the tokens is the worker's choice
// (XAUTH_TOKEN_CUSTODY): in worker custody (what `cargo xtask dev` runs) the worker keeps
// them and this page holds an HttpOnly session cookie; in browser custody the session's
// tokens live in this page (and, with "Stay signed in", in localStorage). The code below
// is the same for both. The same goes for OAuth 1.0a: `isOAuth1Callback()` ->
// `handleOAuth1Callback()`, else `oauth1Session()` asks the worker, whose HttpOnly cookie
// holds the OAuth 1.0a session (this page never sees those tokens).
//
// Signed in, "Who am I" and "Post a test post" call X's API through the worker's proxy
// with `session.fetch`, which keeps the token fresh; the Activity log shows the calls and
// every token update, refresh failure and sign-out the session's hooks report. With
// `cargo xtask dev`'s emulator, tokens live 90 s, so a refresh comes every half minute.
// In worker custody, "Post from the server in 30 s" asks the worker to post later: the
// user's Durable Object makes the post with an alarm, from the grant it keeps, whether or
// not a page is open; this page only lists the scheduled posts and logs what became of them.
//
// For debugging (and the browser end-to-end test), `window.xauthDemo` holds the `XAuth`
// client, the current `Session` (or undefined) and `oauth1User` ({userId, screenName}):
// try `xauthDemo.session?.accessToken` in the console.

import init, { XAuth } from "/pkg/xauth_web.js";

// Where the "keep me signed in" choice is remembered across the trip to X and back.
const STORAGE_CHOICE = "xauth-demo:storage";

const $ = (id) => document.getElementById(id);
const ui = {
  status: $("status"),
  error: $("error"),
  errorTitle: $("error-title"),
  errorMessage: $("error-message"),
  errorDetail: $("error-detail"),
  signedOut: $("signed-out"),
  remember: $("remember"),
  rememberOption: $("remember-option"),
  custodyNote: $("custody-note"),
  custody: $("custody"),
  expiresInLabel: $("expires-in-label"),
  expiresInValue: $("expires-in-value"),
  activityBrowser: $("activity-browser"),
  activityWorker: $("activity-worker"),
  signIn: $("sign-in"),
  signInOAuth1: $("sign-in-oauth1"),
  signInPin: $("sign-in-pin"),
  pinForm: $("pin-form"),
  pinLink: $("pin-link"),
  pinInput: $("pin-input"),
  pinSubmit: $("pin-submit"),
  oauth1User: $("oauth1-user"),
  oauth2Details: $("oauth2-details"),
  signedIn: $("signed-in"),
  userName: $("user-name"),
  userHandle: $("user-handle"),
  expiresIn: $("expires-in"),
  scope: $("scope"),
  signOut: $("sign-out"),
  whoAmI: $("who-am-i"),
  postTest: $("post-test"),
  postLater: $("post-later"),
  activity: $("activity"),
  log: $("log"),
};

const demo = { xauth: undefined, session: undefined, oauth1User: undefined, pinToken: undefined };
window.xauthDemo = demo;

let countdown;
// The scheduled posts' poll (a timeout while one is due), and the status last logged of each.
let polling;
const scheduled = new Map();

function say(message) {
  ui.status.textContent = message;
}

// One line in the Activity log; `bad` marks failures.
function log(message, bad = false) {
  const item = document.createElement("li");
  const time = document.createElement("time");
  const now = new Date();
  time.dateTime = now.toISOString();
  time.textContent = now.toLocaleTimeString();
  item.append(time, message);
  if (bad) item.className = "bad";
  ui.log.append(item);
  item.scrollIntoView({ block: "nearest" });
}

// The session's hooks: the demo only reports; a real app would persist the tokens in
// onTokenUpdate (here localStorage already holds them when "Stay signed in" is on).
const hooks = {
  onTokenUpdate(tokens) {
    const left = tokens.expiresAt ? Math.round(tokens.expiresAt - Date.now() / 1000) : "?";
    log(`Token updated: a new access token, valid ${left} s${tokens.refreshToken ? ", and a new refresh token" : ""}.`);
  },
  onTokenRefreshError(error) {
    log(`Refresh failed (${error.code}${error.kind ? `, ${error.kind}` : ""}): ${error.message}`, true);
  },
  onSignedOut(reason) {
    const said = {
      sign_out: "Signed out.",
      signed_out_elsewhere: "Signed out in another tab.",
      reauthorize: "X no longer accepts this session: sign in again.",
      expired: "The session expired: sign in again.",
    }[reason] ?? `Signed out (${reason}).`;
    log(said, reason !== "sign_out");
    if (reason !== "sign_out") {
      showSignedOut();
      say(said);
    }
  },
};

function showSignedOut() {
  clearInterval(countdown);
  clearTimeout(polling);
  polling = undefined;
  demo.session = undefined;
  demo.oauth1User = undefined;
  ui.activity.hidden = true;
  ui.signedIn.hidden = true;
  ui.signedOut.hidden = false;
  ui.pinForm.hidden = true;
  for (const button of [ui.signIn, ui.signInOAuth1, ui.signInPin, ui.pinSubmit]) {
    button.disabled = false;
  }
}

function showSignedInOAuth1(user) {
  clearInterval(countdown);
  demo.session = undefined;
  demo.oauth1User = user;
  const said = `Signed in with OAuth 1.0a as @${user.screenName}`;
  ui.oauth1User.textContent = said;
  ui.oauth1User.hidden = false;
  ui.oauth2Details.hidden = true;
  // The API buttons use the OAuth 2.0 session's token.
  ui.whoAmI.hidden = true;
  ui.postTest.hidden = true;
  ui.postLater.hidden = true;
  ui.activity.hidden = true;
  ui.userName.textContent = "OAuth 1.0a";
  ui.userHandle.textContent = `@${user.screenName}`;
  ui.pinForm.hidden = true;
  ui.signedOut.hidden = true;
  ui.signedIn.hidden = false;
  say(`${said}.`);
}

function showSignedIn(session) {
  demo.session = session;
  demo.oauth1User = undefined;
  ui.oauth1User.hidden = true;
  ui.oauth2Details.hidden = false;
  ui.whoAmI.hidden = false;
  ui.postTest.hidden = false;
  ui.activity.hidden = false;
  const user = session.user;
  ui.userName.textContent = user ? user.name : "Signed in";
  ui.userHandle.textContent = user ? `@${user.username}` : "(X did not say who)";
  ui.scope.textContent = session.scope ?? "(not reported)";
  const byWorker = session.custody === "worker";
  ui.custody.textContent = byWorker
    ? "the worker (encrypted; this page has only an HttpOnly cookie)"
    : "this page";
  // The worker refreshes its tokens on its own: there is no countdown to show then.
  ui.expiresInLabel.hidden = byWorker;
  ui.expiresInValue.hidden = byWorker;
  ui.activityBrowser.hidden = byWorker;
  ui.activityWorker.hidden = !byWorker;
  // Only a worker that keeps the grant can post when no page is open.
  ui.postLater.hidden = !byWorker;
  ui.signedOut.hidden = true;
  ui.signedIn.hidden = false;
  clearInterval(countdown);
  clearTimeout(polling);
  polling = undefined;
  if (byWorker) {
    poll();
  } else {
    tick(session);
    countdown = setInterval(() => tick(session), 1000);
  }
  say(user ? `Signed in as ${user.name} (@${user.username}).` : "Signed in.");
}

// The token's remaining lifetime as mm:ss (minutes may pass 59: X's tokens live 120 min).
function tick(session) {
  const expiresAt = session.expiresAt;
  if (expiresAt === undefined) {
    ui.expiresIn.textContent = "unknown";
    ui.expiresIn.removeAttribute("datetime");
    return;
  }
  const left = Math.max(0, Math.round(expiresAt - Date.now() / 1000));
  const mm = String(Math.floor(left / 60)).padStart(2, "0");
  const ss = String(left % 60).padStart(2, "0");
  ui.expiresIn.textContent = left > 0 ? `${mm}:${ss}` : "expired";
  ui.expiresIn.setAttribute("datetime", `PT${left}S`);
}

// "Who am I" and "Post a test post": X's API through the worker, with the session's token.
async function callX(button, label, input, init) {
  const session = demo.session;
  if (!session) return;
  button.disabled = true;
  try {
    const response = await session.fetch(input, init);
    const body = await response.json().catch(() => undefined);
    const remaining = response.headers.get("x-rate-limit-remaining");
    const limit = remaining === null ? "" : ` (rate limit: ${remaining} left)`;
    if (response.ok) {
      log(`${label} → ${response.status}: ${summarize(body)}${limit}`);
    } else {
      const why = body?.detail ?? body?.error_description ?? body?.title ?? body?.error ?? "";
      log(`${label} → ${response.status}: ${why}${limit}`, true);
    }
  } catch (error) {
    log(`${label} failed (${error.code ?? error.name}): ${error.message}`, true);
  } finally {
    button.disabled = false;
  }
}

function summarize(body) {
  const data = body?.data;
  if (data?.username) return `${data.name} (@${data.username}), id ${data.id}`;
  if (data?.text) return `posted "${data.text}" as id ${data.id}`;
  return JSON.stringify(body);
}

function whoAmI() {
  return callX(ui.whoAmI, "GET /2/users/me", "/2/users/me");
}

function postTest() {
  const text = `Hello from xauth at ${new Date().toLocaleTimeString()}`;
  return callX(ui.postTest, "POST /2/tweets", "/2/tweets", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text }),
  });
}

// "Post from the server in 30 s": the worker's session route, with the session cookie and
// the header its CSRF check asks for (session.fetch reaches only X's API).
async function scheduledPosts(body) {
  const response = await fetch("/twitter-scheduled-posts", {
    method: body ? "POST" : "GET",
    headers: body ? { "x-xauth": "1", "content-type": "application/json" } : { "x-xauth": "1" },
    body: body && JSON.stringify(body),
    credentials: "same-origin",
  });
  const answer = await response.json().catch(() => undefined);
  if (!response.ok) {
    const why = answer?.error_description ?? answer?.error ?? "";
    throw new Error(`${body ? "POST" : "GET"} /twitter-scheduled-posts → ${response.status}: ${why}`);
  }
  return answer;
}

async function postLater() {
  ui.postLater.disabled = true;
  try {
    const text = `Hello from the xauth worker, asked at ${new Date().toLocaleTimeString()}`;
    report(await scheduledPosts({ text, delaySeconds: 30 }));
    pollSoon();
  } catch (error) {
    log(error.message, true);
  } finally {
    ui.postLater.disabled = false;
  }
}

// Logs a scheduled post once per status it reaches.
function report(post) {
  if (scheduled.get(post.id) === post.status) return;
  scheduled.set(post.id, post.status);
  const what = `Scheduled post "${post.text}"`;
  if (post.status === "scheduled") {
    const due = new Date(post.dueAt * 1000).toLocaleTimeString();
    log(`${what}: scheduled for ${due}; the worker posts it, even with this page closed.`);
  } else if (post.status === "posted") {
    log(`${what}: posted as ${post.postId}.`);
  } else {
    log(`${what}: failed: ${post.error ?? post.status}`, true);
  }
}

function pollSoon() {
  polling ??= setTimeout(poll, 5000);
}

// The worker's list of the user's scheduled posts: on load, then every 5 s while one is due.
async function poll() {
  polling = undefined;
  if (!demo.session) return;
  try {
    const { posts } = await scheduledPosts();
    // Oldest first in the log; the worker lists the newest first.
    for (const post of [...posts].reverse()) report(post);
    if (posts.some((post) => post.status === "scheduled")) pollSoon();
  } catch (error) {
    log(error.message, true);
  }
}

// What to do about an exchange or revoke failure, by the worker's `kind`.
const KIND_ADVICE = {
  reauthorize: "Sign in again.",
  misconfigured: "The app is misconfigured: check the worker's variables and X's app settings.",
  transient: "X or the network had a problem: try again in a moment.",
};

// Errors from xauth-web carry a stable `code`; the text shown is chosen here.
function describe(error) {
  const code = error?.code;
  const said = error?.description || error?.message || String(error);
  switch (code) {
    case "access_denied":
      return ["Access denied", "You (or X) declined to let this app sign you in.", said];
    case "state_mismatch":
      return [
        "Sign-in rejected: state mismatch",
        "The answer from X does not belong to the sign-in this tab started, so it was not used. " +
          "Nothing was exchanged.",
        "Start again with Sign in with X.",
      ];
    case "authorization_error":
      return [`X refused the sign-in (${error.error ?? "error"})`, said, ""];
    case "no_pending_sign_in":
      return [
        "Sign-in not recognised",
        error.reason === "expired"
          ? "This sign-in was started over 10 minutes ago and has expired."
          : "This page was opened with a sign-in answer, but no sign-in was started in this tab.",
        "Start again with Sign in with X.",
      ];
    case "exchange_failed":
    case "revoke_failed":
    case "config_failed":
    case "request_failed": {
      const kind = error.kind ?? "unknown";
      const status = error.status ? `, HTTP ${error.status}` : "";
      const what = { exchange_failed: "Exchange", revoke_failed: "Revocation", config_failed: "Worker configuration", request_failed: "Request" }[code];
      return [
        `${what} failed (${kind}${status})`,
        said,
        KIND_ADVICE[kind] ?? "",
      ];
    }
    case "network_error":
      return ["Could not reach the worker", said, KIND_ADVICE.transient];
    default:
      return [code ? `Sign-in failed (${code})` : "Something went wrong", said, ""];
  }
}

function showError(error, context) {
  const [title, message, detail] = describe(error);
  ui.errorTitle.textContent = context ? `${context}: ${title}` : title;
  ui.errorMessage.textContent = message;
  ui.errorDetail.textContent = detail;
  ui.errorDetail.hidden = !detail;
  ui.error.hidden = false;
  console.error(error);
}

function clearError() {
  ui.error.hidden = true;
}

function chosenStorage() {
  try {
    return sessionStorage.getItem(STORAGE_CHOICE) === "memory" ? "memory" : "local";
  } catch {
    return "memory";
  }
}

async function signIn() {
  clearError();
  const storage = ui.remember.checked ? "local" : "memory";
  try {
    if (demo.xauth.custody === "browser") {
      sessionStorage.setItem(STORAGE_CHOICE, storage);
      demo.xauth.setStorage(storage);
    }
    ui.signIn.disabled = true;
    say("Taking you to X…");
    demo.xauth.signIn();
  } catch (error) {
    ui.signIn.disabled = false;
    say("Not signed in.");
    showError(error);
  }
}

// OAuth 1.0a: the worker gets a request token for this page as the callback, then X.
async function signInOAuth1() {
  clearError();
  ui.signInOAuth1.disabled = true;
  say("Taking you to X (OAuth 1.0a)…");
  try {
    await demo.xauth.signInWithOAuth1();
  } catch (error) {
    ui.signInOAuth1.disabled = false;
    say("Not signed in.");
    showError(error);
  }
}

// The PIN flow: X shows the user a PIN (callback "oob") to type in here.
async function startPin() {
  clearError();
  ui.signInPin.disabled = true;
  say("Asking X for a sign-in link…");
  try {
    const { url, oauthToken } = await demo.xauth.oauth1SignInUrl({ callback: "oob" });
    demo.pinToken = oauthToken;
    ui.pinLink.href = url;
    ui.pinInput.value = "";
    ui.pinForm.hidden = false;
    say("Open X's consent page, authorize the app, then type the PIN X shows.");
    ui.pinLink.focus();
  } catch (error) {
    say("Not signed in.");
    showError(error);
  } finally {
    ui.signInPin.disabled = false;
  }
}

async function submitPin(event) {
  event.preventDefault();
  clearError();
  ui.pinSubmit.disabled = true;
  say("Checking the PIN…");
  try {
    showSignedInOAuth1(await demo.xauth.completeOAuth1Pin(demo.pinToken ?? "", ui.pinInput.value));
  } catch (error) {
    say("Not signed in.");
    showError(error);
  } finally {
    ui.pinSubmit.disabled = false;
  }
}

async function signOut() {
  if (demo.oauth1User) {
    ui.signOut.disabled = true;
    say("Signing out…");
    try {
      await demo.xauth.oauth1SignOut();
      clearError();
      say("Signed out.");
    } catch (error) {
      showError(error, "Sign-out failed");
    } finally {
      ui.signOut.disabled = false;
      showSignedOut();
      ui.signIn.focus();
    }
    return;
  }
  const session = demo.session;
  if (!session) return;
  ui.signOut.disabled = true;
  say("Signing out…");
  try {
    await session.signOut();
    clearError();
    say(session.custody === "worker"
      ? "Signed out. The worker ended your session and had X revoke the grant."
      : "Signed out. X revoked the token.");
  } catch (error) {
    showError(error, "Signed out here, but X did not confirm the revocation");
    say("Signed out (revocation not confirmed).");
  } finally {
    ui.signOut.disabled = false;
    showSignedOut();
    ui.signIn.focus();
  }
}

async function start() {
  await init();
  const xauth = await XAuth.fromWorker("", hooks);
  demo.xauth = xauth;
  const byWorker = xauth.custody === "worker";
  // In worker custody the session cookie already lasts across reloads and tabs.
  ui.rememberOption.hidden = byWorker;
  ui.custodyNote.hidden = !byWorker;
  if (!byWorker) {
    xauth.setStorage(chosenStorage());
    ui.remember.checked = xauth.storage === "local";
  }
  ui.signIn.addEventListener("click", signIn);
  ui.signOut.addEventListener("click", signOut);
  ui.signInOAuth1.addEventListener("click", signInOAuth1);
  ui.signInPin.addEventListener("click", startPin);
  ui.pinForm.addEventListener("submit", submitPin);
  ui.whoAmI.addEventListener("click", whoAmI);
  ui.postTest.addEventListener("click", postTest);
  ui.postLater.addEventListener("click", postLater);

  if (xauth.isCallback()) {
    say("Finishing sign-in…");
    try {
      showSignedIn(await xauth.handleCallback());
      return;
    } catch (error) {
      // Whatever X or an attacker put in the address bar goes, so a reload cannot replay it.
      history.replaceState(history.state, "", location.pathname);
      showError(error);
    }
  } else if (xauth.isOAuth1Callback()) {
    say("Finishing sign-in (OAuth 1.0a)…");
    try {
      showSignedInOAuth1(await xauth.handleOAuth1Callback());
      return;
    } catch (error) {
      history.replaceState(history.state, "", location.pathname);
      showError(error);
    }
  } else {
    let session;
    try {
      session = await xauth.restoreSession();
    } catch (error) {
      showError(error, "Could not ask the worker for your session");
    }
    if (session) {
      showSignedIn(session);
      return;
    }
    // Sign-in is offered at once; whether an OAuth 1.0a session is on comes after (it
    // loads the package's keeper module, which signing in with OAuth 2.0 does not need).
    showSignedOut();
    say("Not signed in.");
    try {
      const oauth1 = await xauth.oauth1Session();
      // Unless the user went on meanwhile.
      if (oauth1.signedIn && !demo.session && !ui.signIn.disabled) {
        showSignedInOAuth1(oauth1);
      }
    } catch {
      // A worker without OAuth 1.0a configured: only OAuth 2.0 is offered.
    }
    return;
  }
  showSignedOut();
  say("Not signed in.");
}

start().catch((error) => {
  showError(error, "The demo could not start");
  say("The demo could not start.");
});
