// The Node contender of `cargo xtask bench`: js-worker.mjs's exchange as a plain node:http
// server (global fetch, i.e. undici). Configured like the worker, from the environment.
//
// Usage: X_API_URL=... TWITTER_CLIENT_ID=... TWITTER_CLIENT_SECRET=... \
//        TWITTER_REDIRECT_URI=... node node-server.mjs <port>
import { createServer } from "node:http";

const env = process.env;

const server = createServer(async (req, res) => {
  if (req.method !== "POST" || req.url !== "/twitter-access-token") {
    res.writeHead(404).end("Not found");
    return;
  }
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const { code, codeVerifier } = JSON.parse(Buffer.concat(chunks).toString());
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
  res.writeHead(reply.status, { "content-type": "application/json" });
  res.end(await reply.text());
});

server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});
