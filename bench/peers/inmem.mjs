// The in-memory floor: plain setTimeout / setInterval, and toad-scheduler. Nothing is durable,
// so there is no recovery workload.
//   node inmem.mjs settimeout|toad lateness|throughput|memory|recovery N [SECONDS]
import { SimpleIntervalJob, Task, ToadScheduler } from "toad-scheduler";
import { args, cpuSecondsOf, distribution, emit, now, sleep, statusKib, waitFor } from "./common.mjs";

const peer = process.argv[2];
process.argv.splice(2, 1);
const { workload, n, seconds } = args();
const toad = new ToadScheduler();

// Arms fn after `ms`; `repeat` keeps it every `ms`.
function arm(i, ms, fn, repeat) {
  if (peer === "settimeout") return repeat ? setInterval(fn, ms) : setTimeout(fn, ms);
  const id = `j${i}`;
  const task = new Task(id, () => {
    if (!repeat) toad.removeById(id);
    fn();
  });
  toad.addSimpleIntervalJob(new SimpleIntervalJob({ milliseconds: ms }, task, { id }));
}

async function lateness() {
  const late = [];
  const t0 = now();
  for (let i = 0; i < n; i++) {
    const delay = 1000 + Math.random() * 1000;
    const due = now() + delay;
    arm(i, delay, () => late.push(now() - due), false);
  }
  const createS = (now() - t0) / 1000;
  await waitFor(() => late.length >= n, 120_000);
  emit({ workload: "lateness", peer, n, created: n, ran: late.length, create_per_s: Math.round(n / createS),
         peak_rss_kib: statusKib("VmHWM:"), ...distribution(late) });
}

async function throughput() {
  let runs = 0;
  const t0 = now();
  for (let i = 0; i < n; i++) arm(i, 1000, () => runs++, true);
  const createS = (now() - t0) / 1000;
  await sleep(1000);
  const r0 = runs, c0 = cpuSecondsOf(process.pid), w0 = now();
  await sleep(seconds * 1000);
  const window = (now() - w0) / 1000, done = runs - r0, cpu = cpuSecondsOf(process.pid) - c0;
  emit({ workload: "throughput", peer, n, created: n, create_per_s: Math.round(n / createS), seconds: window,
         runs: done, runs_per_s: Math.round(done / window), demand_per_s: n,
         cpu_s_per_1k_runs: done ? (cpu / done) * 1000 : 0, events_per_s: 0, peak_rss_kib: statusKib("VmHWM:") });
}

async function memory() {
  await sleep(200);
  const before = statusKib("VmRSS:");
  const t0 = now();
  for (let i = 0; i < n; i++) arm(i, 3_600_000, () => {}, true);
  const createS = (now() - t0) / 1000;
  if (global.gc) global.gc();
  await sleep(1000);
  const after = statusKib("VmRSS:");
  emit({ workload: "memory", peer, n, created: n, create_per_s: Math.round(n / createS), rss_before_kib: before,
         rss_after_kib: after, bytes_per_job: Math.round(((after - before) * 1024) / n) });
}

if (workload === "lateness") await lateness();
else if (workload === "throughput") await throughput();
else if (workload === "memory") await memory();
else if (workload === "recovery")
  emit({ workload, peer, n, skipped: "in memory: nothing survives a restart" });
else { console.error(`unknown workload ${workload}`); process.exit(2); }
process.exit(0);
