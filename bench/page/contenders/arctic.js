// arctic (pinned devDependency): its Twitter provider (X's authorize URL and S256 with its
// own pure-JS SHA-256, synchronously), state and verifier.
import { Twitter, generateCodeVerifier, generateState } from "arctic";
import { CLIENT_ID, REDIRECT_URI, SCOPES } from "./common.js";

export const KEY = "arctic:pending";
const twitter = new Twitter(CLIENT_ID, null, REDIRECT_URI);
const scopes = SCOPES.split(" ");

export async function ready() {}

export async function signIn() {
  const state = generateState();
  const verifier = generateCodeVerifier();
  const url = twitter.createAuthorizationURL(state, verifier, scopes);
  sessionStorage.setItem(KEY, JSON.stringify({ state, verifier, createdAt: Date.now() }));
  return url.href;
}
