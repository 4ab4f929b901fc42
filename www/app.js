// The xauth demo: "Sign in with X" with the browser crate (www/pkg, built by
// `cargo xtask build`) against the worker that serves this page.
//
// The OAuth callback is this page ("/"): on load it either finishes a sign-in
// (`isCallback()` -> `handleCallback()`) or picks up the session kept in this tab
// (`restoreSession()`).
//
// For debugging (and the browser end-to-end test), `window.xauthDemo` holds the `XAuth`
// client and the current `Session` (or undefined): try `xauthDemo.session?.accessToken`
// in the console.

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
  signIn: $("sign-in"),
  signedIn: $("signed-in"),
  userName: $("user-name"),
  userHandle: $("user-handle"),
  expiresIn: $("expires-in"),
  scope: $("scope"),
  signOut: $("sign-out"),
};

const demo = { xauth: undefined, session: undefined };
window.xauthDemo = demo;

let countdown;

function say(message) {
  ui.status.textContent = message;
}

function showSignedOut() {
  clearInterval(countdown);
  demo.session = undefined;
  ui.signedIn.hidden = true;
  ui.signedOut.hidden = false;
  ui.signIn.disabled = false;
}

function showSignedIn(session) {
  demo.session = session;
  const user = session.user;
  ui.userName.textContent = user ? user.name : "Signed in";
  ui.userHandle.textContent = user ? `@${user.username}` : "(X did not say who)";
  ui.scope.textContent = session.scope ?? "(not reported)";
  ui.signedOut.hidden = true;
  ui.signedIn.hidden = false;
  clearInterval(countdown);
  tick(session);
  countdown = setInterval(() => tick(session), 1000);
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
  if (left === 0) clearInterval(countdown);
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
    case "config_failed": {
      const kind = error.kind ?? "unknown";
      const status = error.status ? `, HTTP ${error.status}` : "";
      const what = { exchange_failed: "Exchange", revoke_failed: "Revocation", config_failed: "Worker configuration" }[code];
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
    return sessionStorage.getItem(STORAGE_CHOICE) === "memory" ? "memory" : "session";
  } catch {
    return "memory";
  }
}

async function signIn() {
  clearError();
  const storage = ui.remember.checked ? "session" : "memory";
  try {
    sessionStorage.setItem(STORAGE_CHOICE, storage);
    demo.xauth.setStorage(storage);
    ui.signIn.disabled = true;
    say("Taking you to X…");
    demo.xauth.signIn();
  } catch (error) {
    ui.signIn.disabled = false;
    say("Not signed in.");
    showError(error);
  }
}

async function signOut() {
  const session = demo.session;
  if (!session) return;
  ui.signOut.disabled = true;
  say("Signing out…");
  try {
    await session.signOut();
    clearError();
    say("Signed out. X revoked the token.");
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
  const xauth = await XAuth.fromWorker();
  demo.xauth = xauth;
  xauth.setStorage(chosenStorage());
  ui.remember.checked = xauth.storage === "session";
  ui.signIn.addEventListener("click", signIn);
  ui.signOut.addEventListener("click", signOut);

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
  } else {
    const session = xauth.restoreSession();
    if (session) {
      showSignedIn(session);
      return;
    }
  }
  showSignedOut();
  say("Not signed in.");
}

start().catch((error) => {
  showError(error, "The demo could not start");
  say("The demo could not start.");
});
