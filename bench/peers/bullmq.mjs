// BullMQ on a redis-server this script starts (and stops) itself, persistence by AOF:
//   node bullmq.mjs everysec|always lateness|throughput|memory|recovery N [SECONDS]
// `always` (appendfsync always) is the durability-equal comparison with Almanac's fsync'd log.
// Peak RSS and CPU count both processes: this one and redis-server.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue, Worker } from "bullmq";
import IORedis from "ioredis";
import { args, cpuSecondsOf, distribution, emit, now, sleep, statusKib, waitFor } from "./common.mjs";

const fsync = process.argv[2];
process.argv.splice(2, 1);
const peer = `bullmq-${fsync}`;
const { workload, n, seconds } = args();
const port = 16379 + Math.floor(Math.random() * 1000);
const dir = mkdtempSync(join(tmpdir(), "almanac-bench-redis-"));
const connection = { host: "127.0.0.1", port, maxRetriesPerRequest: null };
let redis = null;

async function startRedis() {
  redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir,
    "--appendonly", "yes", "--appendfsync", fsync, "--save", "", "--maxmemory-policy", "noeviction"],
    { stdio: "ignore" });
  const c = new IORedis({ ...connection, lazyConnect: true, retryStrategy: () => 20 });
  c.on("error", () => {});
  const t0 = now();
  // Ready once it answers and has finished loading the AOF.
  for (let i = 0; i < 3000; i++) {
    try {
      if (c.status !== "ready") await c.connect();
      const info = await c.info("persistence");
      if (/loading:0/.test(info)) break;
    } catch {}
    await sleep(10);
  }
  c.disconnect();
  return (now() - t0) / 1000;
}

async function stopRedis() {
  if (!redis) return;
  const exited = new Promise((r) => redis.once("exit", r));
  redis.kill("SIGTERM");
  await Promise.race([exited, sleep(30_000)]);
  redis = null;
}

const bothRss = (field) => statusKib(field) + statusKib(field, redis.pid);
const bothCpu = () => cpuSecondsOf(process.pid) + cpuSecondsOf(redis.pid);
const aofBytes = () => {
  let total = 0;
  const walk = (d) => { for (const e of readdirSync(d, { withFileTypes: true }))
    e.isDirectory() ? walk(join(d, e.name)) : (total += statSync(join(d, e.name)).size); };
  walk(dir);
  return total;
};

// Adds jobs make(i) for i < n in bulks of 1000, each bulk awaited before the next.
async function addAll(queue, make) {
  for (let i = 0; i < n; i += 1000) {
    const bulk = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) bulk.push(make(j));
    await queue.addBulk(bulk);
  }
}

async function lateness() {
  const queue = new Queue("late", { connection });
  const late = [];
  const worker = new Worker("late", async (job) => { late.push(now() - job.data.due); },
    { connection, concurrency: 256 });
  await worker.waitUntilReady();
  const t0 = now();
  await addAll(queue, (i) => {
    const ts = Date.now(), delay = 1000 + Math.floor(Math.random() * 1000);
    return { name: "noop", data: { due: ts + delay }, opts: { delay, timestamp: ts, removeOnComplete: true } };
  });
  const createS = (now() - t0) / 1000;
  await waitFor(() => late.length >= n, 120_000);
  emit({ workload: "lateness", peer, n, created: n, ran: late.length, create_per_s: Math.round(n / createS),
         peak_rss_kib: bothRss("VmHWM:"), ...distribution(late) });
  await worker.close(); await queue.close();
}

async function throughput() {
  const queue = new Queue("tp", { connection });
  let runs = 0;
  const worker = new Worker("tp", async () => { runs++; },
    { connection, concurrency: 256, removeOnComplete: { count: 1000 }, removeOnFail: { count: 1000 } });
  await worker.waitUntilReady();
  const t0 = now();
  for (let i = 0; i < n; i += 500) {
    const ps = [];
    for (let j = i; j < Math.min(n, i + 500); j++)
      ps.push(queue.upsertJobScheduler(`s${j}`, { every: 1000 }, { name: "noop", data: {} }));
    await Promise.all(ps);
  }
  const createS = (now() - t0) / 1000;
  await sleep(1000);
  const r0 = runs, c0 = bothCpu(), b0 = aofBytes(), w0 = now();
  await sleep(seconds * 1000);
  const window = (now() - w0) / 1000, done = runs - r0, cpu = bothCpu() - c0;
  emit({ workload: "throughput", peer, n, created: n, create_per_s: Math.round(n / createS), seconds: window,
         runs: done, runs_per_s: Math.round(done / window), demand_per_s: n,
         cpu_s_per_1k_runs: done ? (cpu / done) * 1000 : 0, events_per_s: null,
         aof_bytes_per_s: Math.round((aofBytes() - b0) / window), peak_rss_kib: bothRss("VmHWM:") });
  await worker.close(); await queue.close();
}

// N delayed jobs due in an hour, idle.
async function fillIdle(queue) {
  await addAll(queue, () => ({ name: "noop", data: {}, opts: { delay: 3_600_000 } }));
}

async function memory() {
  const queue = new Queue("mem", { connection });
  const worker = new Worker("mem", async () => {}, { connection, concurrency: 256 });
  await worker.waitUntilReady();
  await sleep(200);
  const before = bothRss("VmRSS:");
  const t0 = now();
  await fillIdle(queue);
  const createS = (now() - t0) / 1000;
  await sleep(1000);
  const after = bothRss("VmRSS:");
  emit({ workload: "memory", peer, n, created: n, create_per_s: Math.round(n / createS), rss_before_kib: before,
         rss_after_kib: after, bytes_per_job: Math.round(((after - before) * 1024) / n) });
  await worker.close(); await queue.close();
}

// Restart of redis-server with N delayed jobs in its AOF, until a worker is connected and the
// queue reports all N delayed jobs (BullMQ arms nothing per job: the delayed set is the timer).
async function recovery() {
  let queue = new Queue("rec", { connection });
  await fillIdle(queue);
  await queue.close();
  await stopRedis();
  const log = aofBytes();
  const t0 = now();
  const loadS = await startRedis();
  queue = new Queue("rec", { connection });
  const worker = new Worker("rec", async () => {}, { connection, concurrency: 256 });
  await worker.waitUntilReady();
  const delayed = await queue.getDelayedCount();
  const liveS = (now() - t0) / 1000;
  emit({ workload: "recovery", peer, n, events: null, log_bytes: log, read_fold_s: loadS, live_s: liveS,
         recovered: delayed, bytes_per_job: Math.round((statusKib("VmRSS:", redis.pid) * 1024) / n) });
  await worker.close(); await queue.close();
}

try {
  await startRedis();
  if (workload === "lateness") await lateness();
  else if (workload === "throughput") await throughput();
  else if (workload === "memory") await memory();
  else if (workload === "recovery") await recovery();
  else { console.error(`unknown workload ${workload}`); process.exitCode = 2; }
} finally {
  await stopRedis();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(process.exitCode ?? 0);
