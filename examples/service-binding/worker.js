// Another Worker of the same Cloudflare account, acting as a signed-in X user through
// xauth's service API over a service binding (see README.md). It holds no X token: xauth
// keeps the user's grant (worker custody, XAUTH_KEEP_GRANTS = "true") and refreshes it.
//
//   POST /post-as/<X user id>  {"text": "..."}  ->  xauth's answer (X's, on success: 201)

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const match = url.pathname.match(/^\/post-as\/(\d{1,19})$/);
    if (!match) {
      return json(404, { error: "not_found", error_description: "POST /post-as/<user id>." });
    }
    if (request.method !== "POST") {
      return json(405, { error: "method_not_allowed", error_description: "POST only." }, { allow: "POST" });
    }
    let text;
    try {
      ({ text } = await request.json());
    } catch {
      text = undefined;
    }
    if (typeof text !== "string" || text.length === 0) {
      return json(400, { error: "invalid_request", error_description: "A JSON body with a text." });
    }
    // The host is never resolved: a service binding's fetch goes to the bound Worker.
    return env.XAUTH.fetch("https://xauth/twitter-api/2/tweets", {
      method: "POST",
      headers: {
        authorization: `Bearer ${env.XAUTH_SERVICE_TOKEN}`,
        "x-xauth-user": match[1],
        "content-type": "application/json",
      },
      body: JSON.stringify({ text }),
    });
  },
};

function json(status, body, headers = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store", ...headers },
  });
}
