// An app's own Worker (JS) with xauth mounted in it through a service binding (see
// README.md): the app keeps its routes and its page, and hands xauth's routes to the
// xauth Worker, so the page, its OAuth callback and xauth's routes share one origin. That
// is what lets worker custody's HttpOnly session cookie, set by xauth's answer, come back
// on the page's next calls.
//
//   GET /hello                   ->  the app's own JSON
//   /twitter-* and /xauth/*      ->  xauth, unchanged
//   anything else                ->  the app's static files ([assets])

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname.startsWith("/twitter-") || pathname.startsWith("/xauth/")) {
      // The request as it came: method, URL, headers (Cookie, Origin, X-XAuth, ...) and
      // body. xauth checks Origin against its ALLOWED_ORIGINS and reads its cookie from
      // Cookie; its answer, Set-Cookie included, goes back as it is.
      return env.XAUTH.fetch(request);
    }
    if (pathname === "/hello") {
      return Response.json(
        { hello: "from the app's own Worker", app: "xauth-js-mount-example" },
        { headers: { "cache-control": "no-store" } },
      );
    }
    return env.ASSETS.fetch(request);
  },
};
