// The JS Worker contender of `cargo xtask bench`: the code exchange endpoint as the usual
// ten-line SvelteKit-style handler (Basic auth to X's token endpoint, X's JSON passed back).
// No validation, no CORS, no users/me: the least a Worker can do for the same exchange.
export default {
  async fetch(request, env) {
    if (request.method !== "POST" || new URL(request.url).pathname !== "/twitter-access-token") {
      return new Response("Not found", { status: 404 });
    }
    const { code, codeVerifier } = await request.json();
    const reply = await fetch(`${env.X_API_URL}/2/oauth2/token`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${btoa(`${env.TWITTER_CLIENT_ID}:${env.TWITTER_CLIENT_SECRET}`)}`,
      },
      body: new URLSearchParams({
        code,
        grant_type: "authorization_code",
        redirect_uri: env.TWITTER_REDIRECT_URI,
        code_verifier: codeVerifier,
      }),
    });
    return new Response(await reply.text(), {
      status: reply.status,
      headers: { "content-type": "application/json" },
    });
  },
};
