// The browser half of `cargo xtask bench`: serves the bench pages and what the contenders
// ship, and appends each line a page POSTs to /__result to a results file.
//
// Usage: node static-server.mjs <port> <results file> <url prefix>=<folder> ...
// e.g. /pkg/=www/pkg /=target/bench/page. Files are served as they are on disk (no
// compression, no caching), with COOP/COEP so the pages get fine-grained timers.
// Prints "listening <port>" once it accepts connections.

import { appendFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";

const [portArg, resultsFile, ...mountArgs] = process.argv.slice(2);
const mounts = mountArgs
  .map((arg) => {
    const at = arg.indexOf("=");
    return { prefix: arg.slice(0, at), dir: arg.slice(at + 1) };
  })
  .sort((a, b) => b.prefix.length - a.prefix.length);

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".css": "text/css",
};

const headers = (type) => ({
  "content-type": type,
  "cache-control": "no-store",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
});

const server = createServer(async (req, res) => {
  const path = decodeURIComponent(req.url.split("?")[0]);
  if (req.method === "POST" && path === "/__result") {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    appendFileSync(resultsFile, `${Buffer.concat(chunks).toString().trim()}\n`);
    res.writeHead(204, headers("text/plain")).end();
    return;
  }
  const mount = mounts.find((m) => path.startsWith(m.prefix));
  const relative = mount && normalize(path.slice(mount.prefix.length));
  if (req.method !== "GET" || !relative || relative.startsWith("..")) {
    res.writeHead(404, headers("text/plain")).end("not found");
    return;
  }
  try {
    const body = await readFile(join(mount.dir, relative === "." ? "index.html" : relative));
    res.writeHead(200, headers(TYPES[extname(relative)] ?? "application/octet-stream"));
    res.end(body);
  } catch {
    res.writeHead(404, headers("text/plain")).end("not found");
  }
});

server.listen(Number(portArg), "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});
