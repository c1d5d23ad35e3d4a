// Shared by every peer script (Node and Bun): the clock, the distribution, RSS and CPU readers,
// and the JSON line each workload prints. The workload definitions live in bench/run's header.
import { readFileSync } from "node:fs";

// Wall-clock milliseconds with sub-millisecond resolution.
export const now = () => performance.timeOrigin + performance.now();

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Field (e.g. "VmHWM:") of /proc/PID/status in KiB; 0 when the process is gone.
export function statusKib(field, pid = "self") {
  try {
    for (const line of readFileSync(`/proc/${pid}/status`, "utf8").split("\n"))
      if (line.startsWith(field)) return parseInt(line.slice(field.length), 10);
  } catch {}
  return 0;
}

// utime + stime of a process in seconds (clock ticks of 10 ms).
export function cpuSecondsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

export const selfCpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

// p50, p99, max and the percentile curve [[p, ms], ...] of `xs` (sorted in place).
export function distribution(xs) {
  xs.sort((a, b) => a - b);
  const at = (p) =>
    xs.length ? xs[Math.min(xs.length - 1, Math.round((p / 100) * (xs.length - 1)))] : 0;
  const ps = [...Array(100).keys(), 99.5, 99.9, 100];
  const r = (x) => Math.round(x * 1e4) / 1e4;
  return {
    p50_ms: r(at(50)),
    p99_ms: r(at(99)),
    max_ms: r(at(100)),
    samples: xs.length,
    pcts: ps.map((p) => [p, r(at(p))]),
  };
}

export function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

// Waits until cond() or `limitMs` elapsed; returns cond().
export async function waitFor(cond, limitMs, stepMs = 10) {
  const end = Date.now() + limitMs;
  while (!cond() && Date.now() < end) await sleep(stepMs);
  return cond();
}

export function args() {
  const [workload, n, seconds] = process.argv.slice(2);
  return { workload, n: Number(n), seconds: Number(seconds ?? 0) };
}
