// A stand-in for X under load: every contender in `cargo xtask bench` talks to this same
// server, which answers X's paths at once with fixed, valid JSON. The emulator
// (crates/xauth-emulator) cannot serve a load test: its codes are single use.
//
//   POST /2/oauth2/token   a bearer token; the scope includes users.read only when the
//                          form's code is `bench-code-with-user` (so a worker that then
//                          asks /2/users/me can be measured with and without that call)
//   POST /oauth2/token     an app-only bearer token
//   GET  /2/users/me       a user
//   GET  /2/tweets/:id     a post, with X's x-rate-limit-* headers
//
// Usage: node x-standin.mjs <port>. Prints "listening <port>" once it accepts connections.

import { createServer } from "node:http";

const port = Number(process.argv[2] ?? 0);

const json = (res, status, body, headers = {}) => {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
};

const rateLimit = {
  "x-rate-limit-limit": "900",
  "x-rate-limit-remaining": "899",
  "x-rate-limit-reset": "4102444800",
};

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const path = req.url.split("?")[0];
    const basic = (req.headers.authorization ?? "").startsWith("Basic ");
    const bearer = (req.headers.authorization ?? "").startsWith("Bearer ");
    if (req.method === "POST" && path === "/2/oauth2/token") {
      if (!basic) return json(res, 401, { error: "unauthorized_client" });
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      const withUser = form.get("code") === "bench-code-with-user";
      return json(res, 200, {
        token_type: "bearer",
        expires_in: 7200,
        access_token: "bench-access-token-0123456789abcdefghijklmnopqrstuvwxyz",
        scope: withUser ? "tweet.read users.read offline.access" : "tweet.read offline.access",
        refresh_token: "bench-refresh-token-0123456789abcdefghijklmnopqrstuvwxyz",
      });
    }
    if (req.method === "POST" && path === "/oauth2/token") {
      if (!basic) return json(res, 401, { errors: [{ code: 99, message: "no" }] });
      return json(res, 200, { token_type: "bearer", access_token: "bench-app-token" });
    }
    if (req.method === "GET" && path === "/2/users/me") {
      if (!bearer) return json(res, 401, { title: "Unauthorized", status: 401 });
      return json(res, 200, { data: { id: "2244994945", name: "Bench", username: "bench" } }, rateLimit);
    }
    const tweet = /^\/2\/tweets\/(\d+)$/.exec(path);
    if (req.method === "GET" && tweet) {
      if (!bearer) return json(res, 401, { title: "Unauthorized", status: 401 });
      return json(res, 200, {
        data: { id: tweet[1], text: "just setting up my twttr", edit_history_tweet_ids: [tweet[1]] },
      }, rateLimit);
    }
    json(res, 404, { title: "Not Found Error", status: 404 });
  });
});

server.keepAliveTimeout = 60_000;
server.listen(port, "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});
