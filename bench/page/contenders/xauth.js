// The project: www/pkg as shipped (kept external by the bundler), `XAuth.signInUrl()`.
// It keeps the pending record in sessionStorage under `xauth:pending` itself.
import init, { XAuth } from "/pkg/xauth_web.js";
import { AUTHORIZE_URL, CLIENT_ID, REDIRECT_URI, SCOPES } from "./common.js";

export const KEY = "xauth:pending";
let xauth;

export async function ready() {
  await init();
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
