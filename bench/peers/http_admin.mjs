// Admin latency through almanacd's HTTP API: creates 100 idle exec jobs, then N pause/resume
// pairs over one keep-alive connection (Node's fetch), each request timed on its own.
//   ALMANAC_TOKEN=T node http_admin.mjs HOST:PORT N
import { distribution, emit, now } from "./common.mjs";

const [endpoint, nArg] = process.argv.slice(2);
const n = Number(nArg), base = `http://${endpoint}/api/jobs`;
const auth = { authorization: `Bearer ${process.env.ALMANAC_TOKEN ?? ""}` };
const ids = [];
for (let i = 0; i < 100; i++) {
  const r = await fetch(base, { method: "POST", headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ name: `http-adm-${i}`, schedule: { kind: "every", every: "1h" },
                           target: { kind: "exec", argv: ["/bin/true"] } }) });
  if (r.status !== 201) { console.error(`create: HTTP ${r.status} ${await r.text()}`); process.exit(1); }
  ids.push((await r.json()).id);
}
const lat = [];
let errors = 0;
for (let i = 0; i < n; i++) {
  for (const op of ["pause", "resume"]) {
    const t = now();
    const r = await fetch(`${base}/${ids[i % ids.length]}/${op}`, { method: "POST", headers: auth });
    await r.arrayBuffer();
    lat.push(now() - t);
    if (r.status !== 200) errors++;
  }
}
emit({ workload: "admin", peer: "almanac", path: "http", n, errors, ...distribution(lat) });
