#!/usr/bin/env python3
"""Crash driver: runs the real almanacd under a mixed workload and kills it with SIGKILL
at random instants, then hands everything it saw to crash_checker.py.

Usage: chaos_driver.py --almanacd BIN --replay BIN [--cycles 10] [--seed N] [--work DIR] [--keep]

The workload: jobs every 1 s or 2 s whose exec target is record_run.py (it appends the run key
and its start time to runs.log and fsyncs, stays 0.2-0.6 s, and appends its end), some of them
failing on purpose (exit 1, 2 errors
allowed, so they end `failed` and get force-resumed), and a stream of admin actions through the
HTTP API: create, update (a new interval and anchor), pause, resume, force resume, delete, and a
few that must be refused. Each action carries its own actor (`X-Almanac-Actor: chaos-N`), so the
checker finds exactly its events in the log; the driver writes what it sent and what came back
(or that nothing came back) to actions.jsonl.

A cycle: the daemon is up for a random 2.5-5 s while actions run, gets SIGKILL at a random
instant (every other time within 1.5 ms of an admin request being sent), stays down for a random 0.1-1.5 s, and restarts on the
same data directory. 0.2 s after each kill, every run process that has started and not ended must
be gone (a run never outlives its daemon): those still alive are noted as survivors. The instants of every kill and every ready line go to timeline.jsonl.
After the last cycle every active job is paused (acknowledged actions too), the job list is
taken, the daemon is killed and restarted once more and must list exactly the same jobs, and is
then stopped with SIGTERM. The checker then reads the log with almanac-replay.

Exit status: the checker's (0: no violation), or 2 when the daemon could not be driven at all.
"""
import argparse
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import crash_checker  # noqa: E402


def now_us():
    return time.time_ns() // 1000


def iso_ms(us):
    """Unix microseconds (a whole millisecond) as the API writes instants."""
    secs, rest = divmod(us, 1_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    return text + (".%03dZ" % (rest // 1000) if rest else "Z")


class Stuck(Exception):
    pass


class Daemon:
    """One almanacd process at a time on one data directory."""

    def __init__(self, binary, data, stderr_path, start_timeout, extra_args=()):
        self.binary = binary
        self.extra_args = list(extra_args)
        self.data = data
        self.stderr_path = stderr_path
        self.start_timeout = start_timeout
        self.proc = None
        self.http = None
        self.token = ""

    def start(self):
        spawn = now_us()
        err = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(
            [self.binary, "--data", self.data, "--admin", "127.0.0.1:0", "--http", "127.0.0.1:0",
             "--grace", "10s"] + self.extra_args,
            stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
            # Its connection records stay in the work directory, not in the user's.
            env=dict(os.environ,
                     XDG_RUNTIME_DIR=os.path.join(os.path.dirname(os.path.abspath(self.data)),
                                                  "runtime")))
        err.close()
        line = [None]

        def read_ready():
            line[0] = self.proc.stdout.readline().decode(errors="replace").strip()

        reader = threading.Thread(target=read_ready, daemon=True)
        reader.start()
        reader.join(self.start_timeout)
        if not line[0] or not line[0].startswith("ready "):
            self.kill()
            raise Stuck("almanacd printed no ready line within %ss (got %r); stderr: %s"
                        % (self.start_timeout, line[0], self.stderr_tail()))
        ready = now_us()
        fields = dict(kv.split("=", 1) for kv in line[0].split()[1:])
        self.http = "http://" + fields["http"]
        # The bearer token almanacd generated into the data directory on its first start.
        with open(os.path.join(self.data, "credentials", "http-token")) as f:
            self.token = f.read().strip()
        return spawn, ready

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        if self.proc:
            self.proc.wait()
            self.proc.stdout.close()

    def terminate(self, timeout):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            rc = "no exit within %ss" % timeout
        self.proc.stdout.close()
        return rc

    def stderr_tail(self, n=20):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


class Workload:
    """The admin actions: one thread, one request at a time, each written down with its answer."""

    def __init__(self, daemon, rng, actions_path, runs_path, python, request_timeout):
        self.daemon = daemon
        self.rng = rng
        self.out = open(actions_path, "a")
        self.runs_path = runs_path
        self.python = python
        self.request_timeout = request_timeout
        self.up = threading.Event()
        # Set while a request is on the wire, so that some kills land in the middle of one.
        self.busy = threading.Event()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.n = 0
        self.names = 0
        self.acked = 0
        self.unacked = 0

    # -- HTTP ------------------------------------------------------------------------------------

    def call(self, method, path, body=None, actor=None):
        """(status, json) for an answer, or (None, reason) when none came back."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.daemon.http + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.daemon.token)
        if actor:
            req.add_header("X-Almanac-Actor", actor)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.request_timeout) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            try:
                return e.code, json.loads(e.read() or b"null")
            except (ValueError, OSError):
                return e.code, None
        except (OSError, ValueError, http.client.HTTPException) as e:
            # Refused, reset, timed out, or cut off in the middle of the answer by the kill.
            return None, "%s: %s" % (type(e).__name__, e)

    def jobs(self):
        # Every page: a page holds at most 1000 jobs (1 MiB of them).
        out, cursor = [], None
        while True:
            path = "/api/jobs?limit=1000"
            if cursor:
                path += "&cursor=" + urllib.parse.quote(cursor)
            status, body = self.call("GET", path)
            if status != 200:
                return None
            out += body["jobs"]
            cursor = body.get("next_cursor")
            if not cursor:
                return out

    def act(self, op, method, path, body, job=None, name=None):
        self.n += 1
        actor = "chaos-%d" % self.n
        rec = {"n": self.n, "actor": "http:" + actor, "op": op, "job": job, "name": name,
               "method": method, "path": path, "body": body, "sent_at_us": now_us()}
        self.busy.set()
        try:
            status, answer = self.call(method, path, body, actor)
        finally:
            self.busy.clear()
        rec["answered_at_us"] = now_us()
        rec["status"] = status
        if status is None:
            rec["error"] = answer
            self.unacked += 1
        else:
            rec["answer"] = answer
            if 200 <= status < 300:
                self.acked += 1
                if op.startswith("create") and isinstance(answer, dict):
                    rec["job"] = answer.get("id")
        self.out.write(json.dumps(rec) + "\n")
        self.out.flush()
        return status, answer

    # -- the actions -----------------------------------------------------------------------------

    def create(self, failing):
        self.names += 1
        name = ("fail-%d" if failing else "good-%d") % self.names
        anchor = now_us() // 1000 * 1000 - self.rng.randrange(0, 1000) * 1000
        body = {
            "name": name,
            "schedule": {"kind": "every", "every": "2s" if failing else self.rng.choice(["1s", "2s"]),
                         "anchor": iso_ms(anchor)},
            "target": {"kind": "exec",
                       "argv": [self.python, "-S", os.path.join(HERE, "record_run.py"),
                                self.runs_path, "1" if failing else "0",
                                "%.1f" % self.rng.uniform(0.2, 0.6)]},
        }
        if failing:
            body["policies"] = {"max_consecutive_errors": 2, "backoff": ["250ms"]}
        return self.act("create_failing" if failing else "create", "POST", "/api/jobs", body,
                        name=name)

    def update(self, job):
        anchor = now_us() // 1000 * 1000 - self.rng.randrange(0, 1000) * 1000
        body = {"schedule": {"kind": "every", "every": self.rng.choice(["1s", "2s"]),
                             "anchor": iso_ms(anchor)}}
        return self.act("update", "PATCH", "/api/jobs/" + job["id"], body, job=job["id"])

    def simple(self, op, job):
        path = "/api/jobs/" + job["id"]
        if op == "delete":
            return self.act(op, "DELETE", path, None, job=job["id"])
        verb = {"pause": "pause", "resume": "resume", "force_resume": "resume",
                "refused_resume": "resume", "refused_pause": "pause"}[op]
        body = {"note": "chaos"}
        if op == "force_resume":
            body["force"] = True
        return self.act(op, "POST", path + "/" + verb, body, job=job["id"])

    def step(self):
        jobs = self.jobs()
        if jobs is None:
            return
        good = [j for j in jobs if j["name"].startswith("good-")]
        failing = [j for j in jobs if j["name"].startswith("fail-")]
        by = lambda js, s: [j for j in js if j["status"] == s]  # noqa: E731
        # Weights keep most jobs active most of the time: a paused job is soon resumed, a failed
        # one soon revived, so the timing check has fires to look at.
        weighted = [
            (3 if len(good) < 8 else 0, "create", [None]),
            (3 if len(failing) < 2 else 0, "create_failing", [None]),
            (6, "resume", by(good + failing, "paused")),
            (2, "pause", by(good + failing, "active")),
            (2, "update", [j for j in good if j["status"] in ("active", "paused")]),
            (6, "force_resume", by(failing, "failed")),
            (1, "refused_resume", by(failing, "failed")),
            (0.5, "refused_pause", by(good, "paused")),
            (1, "delete", (good if len(good) > 5 else []) + (failing if len(failing) > 1 else [])),
        ]
        weighted = [(w, op, js) for w, op, js in weighted if w and js]
        if not weighted:
            return
        _, op, js = self.rng.choices(weighted, weights=[w for w, _, _ in weighted])[0]
        job = self.rng.choice(js)
        if op == "create":
            self.create(False)
        elif op == "create_failing":
            self.create(True)
        elif op == "update":
            self.update(job)
        else:
            self.simple(op, job)

    def run(self):
        while not self.stop.is_set():
            if not self.up.wait(0.1):
                continue
            with self.lock:
                if self.stop.is_set():
                    break
                self.step()
            self.stop.wait(self.rng.uniform(0.2, 0.6))

    def quiesce(self):
        """Pauses every active job, and waits until no run is in flight: a still end state."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            jobs = self.jobs()
            if jobs is None:
                raise Stuck("the job list is not available")
            active = [j for j in jobs if j["status"] == "active"]
            busy = [j for j in jobs if j["runs_in_flight"]]
            if not active and not busy:
                return jobs
            for j in active:
                self.simple("pause", j)
            time.sleep(0.3)
        raise Stuck("jobs still active or running after 30 s of pausing")


def open_runs(runs_path):
    """The pids of run processes that wrote their start line and not their end line."""
    started = {}
    try:
        with open(runs_path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 7:
                    if parts[6] == "start":
                        started[int(parts[4])] = True
                    else:
                        started.pop(int(parts[4]), None)
    except OSError:
        return []
    return [pid for pid in started if is_run_process(pid)]


def is_run_process(pid):
    """True while `pid` is alive and still a record_run.py (a reused pid is not)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmd = f.read()
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return b"record_run.py" in cmd and state != "Z"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--almanacd", required=True)
    ap.add_argument("--replay", required=True, help="the almanac-replay binary")
    ap.add_argument("--cycles", type=int, default=10, help="kill -9 cycles (default 10)")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock)")
    ap.add_argument("--uptime", type=float, nargs=2, default=[2.5, 5.0], metavar=("MIN", "MAX"),
                    help="seconds up between kills (default 2.5 5)")
    ap.add_argument("--downtime", type=float, nargs=2, default=[0.1, 1.5], metavar=("MIN", "MAX"),
                    help="seconds down after a kill (default 0.1 1.5)")
    ap.add_argument("--late", type=float, default=crash_checker.DEFAULT_LATE,
                    help="how late a run may start after its fire, in seconds")
    ap.add_argument("--margin", type=float, default=crash_checker.DEFAULT_MARGIN,
                    help="fires this close to a kill, restart or admin change are exempt from "
                         "'exactly one run'")
    ap.add_argument("--start-timeout", type=float, default=60.0,
                    help="seconds to wait for the ready line (default 60)")
    ap.add_argument("--daemon-arg", action="append", default=[],
                    help="an extra almanacd argument (repeat), e.g. --daemon-arg=--passivate-after=200ms")
    ap.add_argument("--work", help="working directory (default: a new one in /tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the working directory")
    args = ap.parse_args()

    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    rng = random.Random(seed)
    work = args.work or tempfile.mkdtemp(prefix="almanac-chaos-")
    os.makedirs(work, exist_ok=True)
    paths = {k: os.path.join(work, v) for k, v in
             {"data": "data", "runs": "runs.log", "actions": "actions.jsonl",
              "timeline": "timeline.jsonl", "stderr": "daemon.err", "final": "final.json"}.items()}
    print("chaos: seed %d, %d cycles, work dir %s" % (seed, args.cycles, work), flush=True)
    begun = time.monotonic()

    daemon = Daemon(args.almanacd, paths["data"], paths["stderr"], args.start_timeout,
                    args.daemon_arg)
    load = Workload(daemon, rng, paths["actions"], paths["runs"], sys.executable,
                    request_timeout=15.0)
    timeline = open(paths["timeline"], "a")

    def note(**kv):
        timeline.write(json.dumps(kv) + "\n")
        timeline.flush()

    def start(why):
        spawn, ready = daemon.start()
        note(what="ready", why=why, spawn_at_us=spawn, at_us=ready)

    def kill(why):
        note(what="kill", why=why, at_us=now_us())
        daemon.kill()
        # A run's process dies with its daemon (the kernel kills it as the daemon's threads
        # exit); one still running a moment later would run beside its re-run. Survivors are left
        # alone: the checker also sees them overlap.
        time.sleep(0.2)
        note(what="survivors", after=why, pids=open_runs(paths["runs"]), at_us=now_us())

    worker = threading.Thread(target=load.run, daemon=True)
    try:
        start("first")
        for _ in range(4):
            load.create(False)
        for _ in range(2):
            load.create(True)
        worker.start()
        load.up.set()
        for cycle in range(1, args.cycles + 1):
            time.sleep(rng.uniform(*args.uptime))
            # Every other kill waits for an admin request on the wire and lands within 1.5 ms
            # of it (about half of them take longer), the rest at a plain random instant.
            if rng.random() < 0.5 and load.busy.wait(2.0):
                time.sleep(rng.uniform(0, 0.0015))
            load.up.clear()
            kill("cycle %d" % cycle)
            time.sleep(rng.uniform(*args.downtime))
            start("cycle %d" % cycle)
            load.up.set()
            if not worker.is_alive():
                raise Stuck("the workload thread died (its traceback is above)")
            print("chaos: cycle %d/%d, %d actions acknowledged, %d unanswered, %.0f s"
                  % (cycle, args.cycles, load.acked, load.unacked, time.monotonic() - begun),
                  flush=True)
        load.stop.set()
        with load.lock:
            pass
        worker.join(30)
        note(what="quiesce", at_us=now_us())
        before = load.quiesce()
        kill("final")
        start("final")
        after = load.jobs()
        note(what="stop", at_us=now_us())
        rc = daemon.terminate(30)
        note(what="stopped", at_us=now_us(), rc=rc)
        with open(paths["final"], "w") as f:
            json.dump({"before_restart": before, "after_restart": after, "stop_rc": rc}, f)
    except Stuck as e:
        daemon.kill()
        print("chaos: FAILED to drive almanacd: %s (work dir kept: %s)" % (e, work))
        return 2
    finally:
        load.stop.set()
        daemon.kill()

    ok = crash_checker.check(work, args.replay, late=args.late, margin=args.margin, seed=seed,
                             duration=time.monotonic() - begun)
    if ok and not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    elif not ok:
        print("chaos: work dir kept: %s" % work)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
