// ghostwright/phantom's Scheduler (SQLite on Bun) driven directly with a stub runtime, its own
// database settings (WAL, phantom's getDatabase). Run by bench/run with Bun, from a temporary
// directory where src/ is a copy of $PHANTOM_SRC/src and node_modules points at bench/peers':
//   bun phantom.mjs lateness|throughput|memory|recovery|admin N [SECONDS]
// Phantom refuses more than MAX_JOBS (1000) jobs; larger N are reported as refused.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { args, distribution, emit, now, selfCpuSeconds, sleep, statusKib, waitFor } from "./common.mjs";

const root = process.env.PHANTOM_WORK;
const { Scheduler } = await import(join(root, "src/scheduler/service.ts"));
const { runMigrations } = await import(join(root, "src/db/migrate.ts"));
const { getDatabase, closeDatabase } = await import(join(root, "src/db/connection.ts"));
const { MAX_JOBS } = await import(join(root, "src/scheduler/create-validation.ts"));
const { workload, n, seconds } = args();
const peer = "phantom";
const dir = mkdtempSync(join(tmpdir(), "almanac-bench-phantom-"));
const dbPath = join(dir, "phantom.db");
console.log = () => {}; // one line per run otherwise; the runs' SQL writes still happen

let onRun = () => {};
const runtime = {
  handleMessage: async (_c, conv) => { onRun(conv.slice(6)); return { text: "ok", sessionId: "s",
    cost: { totalUsd: 0, inputTokens: 0, outputTokens: 0, modelUsage: {} }, durationMs: 0 }; },
  isSessionBusy: () => false,
};
const open = () => { const db = getDatabase(dbPath); runMigrations(db); return new Scheduler({ db, runtime }); };
const input = (name, schedule) => ({ name, schedule, task: "noop", delivery: { channel: "none" } });
const refused = (extra) => emit({ workload, peer, n, refused: `phantom caps jobs at MAX_JOBS=${MAX_JOBS}`, ...extra });

async function lateness() {
  const s = open();
  await s.start();
  const late = [], due = new Map();
  onRun = (id) => late.push(now() - due.get(id));
  const t0 = now();
  for (let i = 0; i < n; i++) {
    const at = new Date(Date.now() + 1000 + Math.floor(Math.random() * 1000));
    const job = s.createJob(input(`late-${i}`, { kind: "at", at: at.toISOString() }));
    due.set(job.id, at.getTime());
  }
  const createS = (now() - t0) / 1000;
  await waitFor(() => late.length >= n, 120_000);
  emit({ workload, peer, n, created: n, ran: late.length, create_per_s: Math.round(n / createS),
         peak_rss_kib: statusKib("VmHWM:"), ...distribution(late) });
  s.stop();
}

async function throughput() {
  const s = open();
  await s.start();
  let runs = 0;
  onRun = () => runs++;
  const t0 = now();
  for (let i = 0; i < n; i++) s.createJob(input(`tp-${i}`, { kind: "every", intervalMs: 1000 }));
  const createS = (now() - t0) / 1000;
  await sleep(1000);
  const r0 = runs, c0 = selfCpuSeconds(), w0 = now();
  await sleep(seconds * 1000);
  const window = (now() - w0) / 1000, done = runs - r0, cpu = selfCpuSeconds() - c0;
  emit({ workload, peer, n, created: n, create_per_s: Math.round(n / createS), seconds: window, runs: done,
         runs_per_s: Math.round(done / window), demand_per_s: n, cpu_s_per_1k_runs: done ? (cpu / done) * 1000 : 0,
         events_per_s: null, peak_rss_kib: statusKib("VmHWM:") });
  s.stop();
}

function fillIdle(s) {
  for (let i = 0; i < n; i++) s.createJob(input(`idle-${i}`, { kind: "every", intervalMs: 3_600_000 }));
}

async function memory() {
  const s = open();
  const before = statusKib("VmRSS:");
  const t0 = now();
  fillIdle(s);
  const createS = (now() - t0) / 1000;
  Bun.gc(true);
  await sleep(1000);
  const after = statusKib("VmRSS:");
  emit({ workload, peer, n, created: n, create_per_s: Math.round(n / createS), rss_before_kib: before,
         rss_after_kib: after, bytes_per_job: Math.round(((after - before) * 1024) / n) });
}

// Reopen the database and start(): phantom keeps no per-job state in memory; start() staggers
// missed jobs and arms one timer at MIN(next_run_at).
async function recovery() {
  fillIdle(open());
  closeDatabase();
  const t0 = now();
  const s = open();
  await s.start();
  const liveS = (now() - t0) / 1000;
  emit({ workload, peer, n, events: null, log_bytes: statSync(dbPath).size, read_fold_s: liveS, live_s: liveS,
         recovered: s.listJobs().length });
  s.stop();
}

async function admin() {
  const s = open();
  const ids = [];
  for (let i = 0; i < 100; i++) ids.push(s.createJob(input(`adm-${i}`, { kind: "every", intervalMs: 3_600_000 })).id);
  await s.start();
  const lat = [];
  for (let i = 0; i < n; i++) {
    const id = ids[i % ids.length];
    let t = now(); s.pauseJob(id); lat.push(now() - t);
    t = now(); s.resumeJob(id); lat.push(now() - t);
  }
  emit({ workload, peer, path: "in-process call", n, errors: 0, ...distribution(lat) });
  s.stop();
}

try {
  if (workload !== "admin" && n > MAX_JOBS) refused();
  else if (workload === "lateness") await lateness();
  else if (workload === "throughput") await throughput();
  else if (workload === "memory") await memory();
  else if (workload === "recovery") await recovery();
  else if (workload === "admin") await admin();
} finally {
  closeDatabase();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
