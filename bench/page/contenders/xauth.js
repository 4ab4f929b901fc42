// The project: www/pkg as shipped (kept external by the bundler), `XAuth.signInUrl()`: the
// package's entry and its sign-in module (the keeper module is never loaded here). It
// keeps the pending record in sessionStorage under `xauth:pending` itself.
//
// The sign-in module's wasm is fetched and compiled at once, beside the entry's download,
// as a page does with `<link rel="preload" href="/pkg/xauth_signin.wasm" as="fetch"
// crossorigin>` (the demo's index.html) and `init()`: the bench's pages are shared by all
// contenders, so this one does it here.
import { AUTHORIZE_URL, CLIENT_ID, REDIRECT_URI, SCOPES } from "./common.js";

const wasm = WebAssembly.compileStreaming(fetch("/pkg/xauth_signin.wasm"));
const entry = import("/pkg/xauth_web.js");

export const KEY = "xauth:pending";
let xauth;

export async function ready() {
  const { default: init, XAuth } = await entry;
  await init({ module_or_path: wasm });
  xauth = new XAuth({
    clientId: CLIENT_ID,
    redirectUri: REDIRECT_URI,
    scopes: SCOPES,
    authorizeUrl: AUTHORIZE_URL,
  });
}

export async function signIn() {
  return xauth.signInUrl().url;
}
