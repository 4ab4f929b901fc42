// oauth4webapi (pinned devDependency): its verifier, S256 challenge and state; the
// authorize URL built from the server's metadata the way its examples do.
import * as oauth from "oauth4webapi";
import { AUTHORIZE_URL, CLIENT_ID, REDIRECT_URI, SCOPES } from "./common.js";

export const KEY = "oauth4webapi:pending";
const as = { issuer: "https://x.com", authorization_endpoint: AUTHORIZE_URL };

export async function ready() {}

export async function signIn() {
  const verifier = oauth.generateRandomCodeVerifier();
  const challenge = await oauth.calculatePKCECodeChallenge(verifier);
  const state = oauth.generateRandomState();
  sessionStorage.setItem(KEY, JSON.stringify({ state, verifier, createdAt: Date.now() }));
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set("client_id", CLIENT_ID);
  url.searchParams.set("redirect_uri", REDIRECT_URI);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("scope", SCOPES);
  url.searchParams.set("state", state);
  url.searchParams.set("code_challenge", challenge);
  url.searchParams.set("code_challenge_method", "S256");
  return url.href;
}
