// A reference contender of `cargo xtask bench`: js-worker.mjs's exchange with the Rust
// worker's safeguards, in plain JS, to show what those cost in any language. Like the Rust
// worker's `POST /twitter-access-token` in browser custody, it:
// - refuses a foreign Origin (403), other routes (404) and methods (405), as JSON;
// - takes only application/json (415), at most 16 KiB, refused past it whether declared
//   (Content-Length) or streamed (413), a JSON object (400) whose code is a string of at
//   most 2048 characters and whose verifier is RFC 7636's 43-128 unreserved characters;
// - calls X with RFC 6749 §2.3.1 Basic auth, accept: application/json, no redirects, within
//   X_TIMEOUT_MS (an AbortController and a setTimeout, cleared after), X's answer read to
//   at most 64 KiB and checked (a bearer token, or X's error passed on);
// - answers the token JSON with expires_at, no-store, nosniff and Vary: Origin, and logs
//   one line: method, path, status.
// Not a product: no custody, refresh, revoke, CORS allowlist or rate limits.
const MAX_BODY_BYTES = 16 * 1024;
const MAX_X_BODY_BYTES = 64 * 1024;
const X_TIMEOUT_MS = 10_000;
const decoder = new TextDecoder();

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    let response;
    try {
      response = await handle(request, env, url);
    } catch {
      response = error(500, "internal_error");
    }
    console.log(`${request.method} ${url.pathname} ${response.status}`);
    return response;
  },
};

async function handle(request, env, url) {
  const origin = request.headers.get("origin");
  if (origin !== null && origin !== url.origin) return error(403, "origin_not_allowed");
  if (url.pathname !== "/twitter-access-token") return error(404, "not_found");
  if (request.method !== "POST") return error(405, "method_not_allowed");
  const type = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json") return error(415, "unsupported_media_type");
  const declared = Number.parseInt(request.headers.get("content-length") ?? "", 10);
  if (declared > MAX_BODY_BYTES) return error(413, "payload_too_large");
  const bytes = await readAtMost(request.body, declared, MAX_BODY_BYTES);
  if (bytes === null) return error(413, "payload_too_large");
  let body;
  try {
    body = JSON.parse(decoder.decode(bytes));
  } catch {
    return error(400, "invalid_request");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return error(400, "invalid_request");
  }
  const { code, codeVerifier } = body;
  if (typeof code !== "string" || code === "" || code.length > 2048) {
    return error(400, "invalid_request");
  }
  if (typeof codeVerifier !== "string" || !/^[A-Za-z0-9._~-]{43,128}$/.test(codeVerifier)) {
    return error(400, "invalid_request");
  }

  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), X_TIMEOUT_MS);
  try {
    const basic = btoa(
      `${encodeURIComponent(env.TWITTER_CLIENT_ID)}:${encodeURIComponent(env.TWITTER_CLIENT_SECRET)}`,
    );
    let reply;
    try {
      reply = await fetch(`${env.X_API_URL}/2/oauth2/token`, {
        method: "POST",
        redirect: "manual",
        signal: controller.signal,
        headers: {
          accept: "application/json",
          "content-type": "application/x-www-form-urlencoded",
          authorization: `Basic ${basic}`,
        },
        body: new URLSearchParams({
          code,
          grant_type: "authorization_code",
          redirect_uri: env.TWITTER_REDIRECT_URI,
          code_verifier: codeVerifier,
        }),
      });
    } catch {
      return error(502, "x_unavailable");
    }
    const length = Number.parseInt(reply.headers.get("content-length") ?? "", 10);
    let answer;
    try {
      const xbytes = await readAtMost(reply.body, length, MAX_X_BODY_BYTES);
      answer = xbytes === null ? null : JSON.parse(decoder.decode(xbytes));
    } catch {
      return error(502, "x_unavailable");
    }
    if (answer === null || typeof answer !== "object") return error(502, "x_unavailable");
    if (reply.status < 200 || reply.status >= 300) {
      return error(reply.status >= 500 ? 502 : reply.status, String(answer.error ?? "x_error"));
    }
    const { access_token, token_type, expires_in, scope, refresh_token } = answer;
    if (typeof access_token !== "string" || access_token === "") return error(502, "x_unavailable");
    if (typeof token_type !== "string" || token_type.toLowerCase() !== "bearer") {
      return error(502, "x_unavailable");
    }
    const expiresAt =
      typeof expires_in === "number" ? Math.floor(Date.now() / 1000) + expires_in : undefined;
    return json(200, {
      access_token,
      token_type: "bearer",
      expires_in,
      expires_at: expiresAt,
      scope,
      refresh_token,
    });
  } finally {
    clearTimeout(timer);
  }
}

// The whole stream, or null as soon as it is longer than `limit`: one readAtLeast into a
// buffer sized by the declared length (else 16 KiB, doubling), as the Rust worker reads.
async function readAtMost(stream, declared, limit) {
  if (stream === null) return new Uint8Array(0);
  const reader = stream.getReader({ mode: "byob" });
  const ceiling = limit + 1;
  let target = Math.min(Math.max(Number.isNaN(declared) ? 16384 : declared + 1, 1), ceiling);
  const chunks = [];
  let total = 0;
  for (;;) {
    const room = target - total;
    const { value, done } = await reader.readAtLeast(room, new Uint8Array(room));
    const got = value ? value.byteLength : 0;
    if (got > 0) {
      chunks.push(value);
      total += got;
    }
    if (total > limit) return null;
    if (done || got < room) break;
    target = Math.min(Math.max(target * 2, total + 1), ceiling);
  }
  if (chunks.length === 1) return chunks[0];
  const all = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return all;
}

const HEADERS = {
  "content-type": "application/json",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  vary: "Origin",
};

function json(status, body) {
  return new Response(JSON.stringify(body), { status, headers: HEADERS });
}

function error(status, code) {
  return json(status, { error: code, error_description: code });
}
