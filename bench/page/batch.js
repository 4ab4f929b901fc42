// The interleaved sign-in job batches of `cargo xtask bench` (see batch.html).
const NAMES = ["xauth", "plain", "oauth4webapi", "arctic"];
const params = new URLSearchParams(location.search);
const jobs = Number(params.get("jobs") ?? 1000);
const rounds = Number(params.get("rounds") ?? 5);
const report = (line) => fetch("/__result", { method: "POST", body: line });

const base64url = (bytes) =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

// A link X would take: S256 of the stored verifier, the stored state, the app's fields.
async function check(name, contender) {
  const link = new URL(await contender.signIn());
  const pending = JSON.parse(sessionStorage.getItem(contender.KEY));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(pending.verifier));
  const want = {
    response_type: "code",
    client_id: "bench-client",
    redirect_uri: "https://app.example/callback",
    scope: "tweet.read users.read offline.access",
    state: pending.state,
    code_challenge: base64url(new Uint8Array(digest)),
    code_challenge_method: "S256",
  };
  for (const [key, value] of Object.entries(want)) {
    if (link.searchParams.get(key) !== value) {
      throw new Error(`${name}: ${key} is ${link.searchParams.get(key)}, want ${value}`);
    }
  }
  if (pending.verifier.length !== 43 || pending.state.length < 22) {
    throw new Error(`${name}: verifier or state too short`);
  }
}

async function batch(contender, count) {
  const started = performance.now();
  for (let i = 0; i < count; i++) await contender.signIn();
  return ((performance.now() - started) * 1000) / count;
}

try {
  const contenders = {};
  for (const name of NAMES) {
    contenders[name] = await import(`./${name}.js`);
    await contenders[name].ready();
    await check(name, contenders[name]);
    await batch(contenders[name], Math.min(jobs, 200));
  }
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < NAMES.length; i++) {
      const name = NAMES[(round + i) % NAMES.length];
      const us = await batch(contenders[name], jobs);
      await report(`job ${name} ${round} ${us.toFixed(3)}`);
    }
  }
  await report("done");
} catch (error) {
  await report(`error batch: ${String(error?.stack ?? error).replace(/\s+/g, " ")}`);
}
