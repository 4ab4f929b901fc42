// Plain JS, no library: getRandomValues, WebCrypto SHA-256, base64url by hand, the
// authorize URL with URLSearchParams, and the pending record in sessionStorage.
import { AUTHORIZE_URL, CLIENT_ID, REDIRECT_URI, SCOPES } from "./common.js";

export const KEY = "plain:pending";

const base64url = (bytes) =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const random = () => base64url(crypto.getRandomValues(new Uint8Array(32)));

export async function ready() {}

export async function signIn() {
  const verifier = random();
  const state = random();
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  sessionStorage.setItem(KEY, JSON.stringify({ state, verifier, createdAt: Date.now() }));
  const url = new URL(AUTHORIZE_URL);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    scope: SCOPES,
    state,
    code_challenge: base64url(new Uint8Array(digest)),
    code_challenge_method: "S256",
  }).toString();
  return url.href;
}
