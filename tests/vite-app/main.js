// The whole app: "Sign in with X" with the xauth-web package, imported by its name as any
// npm dependency is. Vite bundles it with no plugin and no configuration; the worker that
// serves the build (same origin) does the sign-in, and says which custody it uses.
import init, { XAuth } from "xauth-web";

const el = (id) => document.getElementById(id);

async function main() {
  await init();
  const xauth = await XAuth.fromWorker("");
  const session = xauth.isCallback()
    ? await xauth.handleCallback()
    : await xauth.restoreSession();
  // For the end-to-end test, which reaches the package's other modules through them.
  window.xauthApp = { xauth, session };
  if (!session) {
    el("sign-in").onclick = () => xauth.signIn();
    el("sign-in").disabled = false;
    el("sign-in").hidden = false;
    el("status").textContent = "Signed out";
    return;
  }
  el("user").textContent = `${session.user.name} @${session.user.username}`;
  el("custody").textContent = session.custody;
  // X's API, through the worker's proxy, as the user.
  const response = await session.fetch("/2/users/me");
  if (!response.ok) throw new Error(`GET /2/users/me: ${response.status}`);
  el("me").textContent = `@${(await response.json()).data.username}`;
  el("signed-in").hidden = false;
  el("status").textContent = "Signed in";
}

main().catch((error) => {
  el("error").textContent = `${error.code ?? error.name}: ${error.message}`;
  el("error").hidden = false;
  el("status").textContent = "Failed";
});
