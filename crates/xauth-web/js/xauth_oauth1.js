// xauth-web: "Sign in with X" by OAuth 1.0a, through the worker's `/twitter-oauth1/*`
// routes. The entry (xauth_web.js) imports it the first time an OAuth 1.0a method is
// called, and hands it its own fetch and error helpers. Every request is signed by the
// worker with the consumer secret; the request token's secret and the user's token stay in
// the worker's HttpOnly cookies: the page only ever sees the request token, the verifier
// (or PIN) and who signed in. That is fetch calls and their answers only, so this part is
// JS, not wasm.

const str = (value) => (typeof value === "string" ? value : undefined);
const obj = (value) => (typeof value === "object" && value !== null ? value : {});

/** The OAuth 1.0a calls, over the entry's `ask` (fetch), `workerError` and `fail`. */
export default function oauth1({ ask, workerError, fail }) {
  const route = (endpoint, name) => `${endpoint}/twitter-oauth1/${name}`;

  /** A 2xx answer's body, else `request_failed` with the worker's error. */
  function checked(reply) {
    if (reply.ok) return obj(reply.body);
    throw workerError(
      "request_failed",
      "the worker refused the OAuth 1.0a request",
      reply.status,
      reply.body,
    );
  }

  /** `POST access-token` with `{oauthToken, <field>: value}`: `{userId, screenName}`. */
  async function accessToken(endpoint, oauthToken, field, value) {
    const reply = await ask(route(endpoint, "access-token"), { oauthToken, [field]: value });
    if (!reply.ok) {
      throw workerError(
        "exchange_failed",
        "the worker could not finish the OAuth 1.0a sign-in",
        reply.status,
        reply.body,
      );
    }
    const { userId, screenName } = obj(reply.body);
    if (str(userId) === undefined || str(screenName) === undefined) {
      throw fail("invalid_response", "the worker's access-token answer has no user");
    }
    return { userId, screenName };
  }

  return {
    /** `POST request-token` with `{callback, linkMode?}`: `{url, oauthToken}`. */
    async start(endpoint, redirectUri, options) {
      const given = obj(options);
      const body = { callback: str(given.callback) ?? redirectUri };
      if (str(given.linkMode) !== undefined) body.linkMode = given.linkMode;
      const { url, oauthToken } = checked(await ask(route(endpoint, "request-token"), body));
      if (str(url) === undefined || str(oauthToken) === undefined) {
        throw fail("invalid_response", "the worker's request-token answer has no url");
      }
      return { url, oauthToken };
    },

    /** The callback's `[oauthToken, oauthVerifier, denied]`: exchanged, or the refusal told. */
    async finish(endpoint, [oauthToken, oauthVerifier, denied]) {
      if (denied !== undefined) {
        // The worker drops the pending sign-in; its answer does not matter.
        await ask(route(endpoint, "access-token"), { oauthToken: denied, denied }).catch(
          () => {},
        );
        throw fail("access_denied", "the sign-in with X was declined");
      }
      return accessToken(endpoint, oauthToken ?? "", "oauthVerifier", oauthVerifier ?? "");
    },

    /** A PIN sign-in (`callback: "oob"`). */
    pin: (endpoint, oauthToken, pin) => accessToken(endpoint, oauthToken, "pin", pin.trim()),

    /** Who is signed in with OAuth 1.0a in this browser: `{signedIn, userId?, screenName?}`. */
    async session(endpoint) {
      const answer = checked(await ask(route(endpoint, "session")));
      const session = { signedIn: answer.signedIn === true };
      for (const key of ["userId", "screenName"]) {
        if (str(answer[key]) !== undefined) session[key] = answer[key];
      }
      return session;
    },

    /** Has the worker forget the OAuth 1.0a session cookie. */
    async signOut(endpoint) {
      checked(await ask(route(endpoint, "sign-out"), {}));
    },
  };
}
