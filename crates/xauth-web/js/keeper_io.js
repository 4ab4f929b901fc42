// The keeper module's fetch calls (src/http.rs and src/api.rs import these through
// wasm-bindgen; `cargo xtask build` bundles this file into xauth_keeper.js). The browser's
// own promises do the waiting; the keeper decides what to send and what an answer means,
// and turns a rejection into its `XAuthError`.

/** `POST url` with `body` as JSON, the worker's cookies along: `{status, body}` (`body`
 * undefined when the answer is not JSON). Rejects as `fetch` does. */
export async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  return { status: response.status, body: await response.json().catch(() => undefined) };
}

/** The call `session.fetch(input, init)` makes to `url`: `init` read as `fetch` reads it
 * (method, headers, a body of any kind and the content type it implies, signal), the
 * body read once, into memory, so that a retry sends it again. */
export async function prepare(url, init) {
  const request = new Request(url, init ?? undefined);
  const body = init?.body == null ? undefined : await request.arrayBuffer();
  return { url, method: request.method, headers: request.headers, body, signal: request.signal };
}

/** Sends a prepared call with the session's bearer token and no cookie (the proxy needs
 * none, and forwards none to X). Rejects as `fetch` does. */
export function send(call, authorization) {
  const headers = new Headers(call.headers);
  headers.set("authorization", authorization);
  return fetch(call.url, {
    method: call.method,
    headers,
    body: call.body,
    signal: call.signal,
    credentials: "omit",
  });
}
