// A CPU profile of a worker in `workerd serve --inspector-addr=HOST:PORT`, taken through
// workerd's inspector with the Chrome DevTools protocol (Profiler.start / Profiler.stop),
// while a load runs. Prints where the time went (self and inclusive, by function) and
// writes the profile as a .cpuprofile that Chrome DevTools' Performance panel opens.
//
//   node bench/profile.mjs --inspector 127.0.0.1:9230 [--out x.cpuprofile] [--top 40]
//        [--interval-us 100] [--secs 5 | -- <load command...>]
//
// With a load command after `--` (e.g. `wrk -t2 -c32 -d5s -s wrk.lua http://...`), the
// profile covers exactly its run; otherwise `--secs` seconds of whatever load is running.
//
// How the worker's figures were taken (the bench's own config, after a bench run):
//   node bench/x-standin.mjs <X port of target/bench/run/rust-worker/config.capnp> &
//   cd target/bench/run/rust-worker && workerd serve --inspector-addr=127.0.0.1:9230 config.capnp &
//   node bench/profile.mjs --inspector 127.0.0.1:9230 -- wrk -t2 -c32 -d5s -s ../wrk.lua http://127.0.0.1:<port>/twitter-access-token
// (target/bench/run/wrk.lua is the last row's request; write one for the row you want.)
// The inspector slows the worker down: compare profiles with each other, not with the bench.

import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";

const args = process.argv.slice(2);
const dashes = args.indexOf("--");
const load = dashes >= 0 ? args.slice(dashes + 1) : [];
const options = dashes >= 0 ? args.slice(0, dashes) : args;
const option = (name, fallback) => {
  const at = options.indexOf(name);
  return at >= 0 && at + 1 < options.length ? options[at + 1] : fallback;
};
const inspector = option("--inspector", "127.0.0.1:9230");
const out = option("--out", "worker.cpuprofile");
const top = Number(option("--top", "40"));
const intervalUs = Number(option("--interval-us", "100"));
const secs = Number(option("--secs", "5"));

const targets = await (await fetch(`http://${inspector}/json/list`)).json();
const target = targets.find((t) => t.id === option("--target", t.id)) ?? targets[0];
if (!target) throw new Error(`no inspector target at ${inspector}`);

const socket = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((resolve, reject) => {
  socket.onopen = resolve;
  socket.onerror = () => reject(new Error(`cannot open ${target.webSocketDebuggerUrl}`));
});
let nextId = 1;
const pending = new Map();
socket.onmessage = (event) => {
  const message = JSON.parse(event.data);
  const waiter = pending.get(message.id);
  if (!waiter) return;
  pending.delete(message.id);
  if (message.error) waiter.reject(new Error(JSON.stringify(message.error)));
  else waiter.resolve(message.result);
};
const send = (method, params = {}) =>
  new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    socket.send(JSON.stringify({ id, method, params }));
  });

await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: intervalUs });
await send("Profiler.start");
if (load.length > 0) {
  await new Promise((resolve, reject) => {
    const child = spawn(load[0], load.slice(1), { stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("exit", resolve);
  });
} else {
  await new Promise((resolve) => setTimeout(resolve, secs * 1000));
}
const { profile } = await send("Profiler.stop");
socket.close();
writeFileSync(out, JSON.stringify(profile));

// Self time per node from the samples; inclusive time per function (once per sample,
// however often it recurs on the stack).
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const key = (node) => {
  const { functionName, url, lineNumber, columnNumber } = node.callFrame;
  const file = url ? url.split("/").pop() : "";
  return `${functionName || "(anonymous)"}${file ? ` ${file}:${lineNumber + 1}:${columnNumber + 1}` : ""}`;
};
const self = new Map();
const inclusive = new Map();
let total = 0;
let idle = 0;
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i + 1] ?? 0;
  const node = nodes.get(id);
  const name = key(node);
  if (name === "(idle)") {
    idle += delta;
    return;
  }
  total += delta;
  self.set(name, (self.get(name) ?? 0) + delta);
  const seen = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const k = key(nodes.get(at));
    if (seen.has(k) || k === "(root)") continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + delta);
  }
});
const table = (title, map) => {
  console.log(`\n${title} (% of ${(total / 1000).toFixed(0)} ms busy)`);
  [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .forEach(([name, us]) => console.log(`${((us / total) * 100).toFixed(1).padStart(6)}%  ${name}`));
};
console.log(
  `profile of ${target.title}: ${profile.samples.length} samples, busy ${(total / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms; written to ${out}`,
);
table("self time", self);
table("inclusive time", inclusive);
