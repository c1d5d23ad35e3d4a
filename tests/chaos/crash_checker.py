#!/usr/bin/env python3
"""Crash checker: proves from what chaos_driver.py recorded and from the event log that
killing almanacd lost nothing, ran nothing twice and resurrected nothing.

Usage: crash_checker.py --replay BIN [--late S] [--margin S] WORK_DIR

Inputs in WORK_DIR: actions.jsonl (every admin request, its answer or none), timeline.jsonl
(kills and ready lines), runs.log (one line per exec run, from record_run.py), final.json (the
job list before and after the last restart, the SIGTERM exit status) and data/ (the log, read
with `almanac-replay export --jsonl`, `audit --json`, `audit --compare`, `runs --compare` and
`verify`).

What must hold (each failure is printed as a VIOLATION line; the exit status is 1 if any):
1. Actions. An acknowledged (2xx) action has its events in the log, all on its job, tagged with
   its actor, recorded between sending and the answer, of the expected type, and the answer's
   `seq` and `status` are the job's after them. A refused (4xx) action wrote nothing. An action
   that got no answer (the daemon was killed) may or may not be in the log. Every admin event in
   the log (created, updated, paused, resumed, revived, deleted) belongs to an action the
   driver sent; each acknowledged action has an audit entry with its actor.
2. Jobs. Every acknowledged create exists; no event follows a JobDeleted (no resurrection); the
   jobs the daemon listed before the last kill, after the restart and the log's final fold agree
   exactly (ids, names, status, seq); no deleted job is listed. The daemon exited 0 on SIGTERM.
3. Runs. Every run record names a RunStarted in the log (same job, run id, fire): nothing ran
   without a durable start. No attempt ran twice. A fire (job, scheduled instant) started more
   than once only where every earlier attempt was recorded RunAbandoned. Every attempt that
   finished (RunSucceeded / RunFailed) has a record: it really ran. Every attempt finished or was
   abandoned (a delete records RunAbandoned for the runs it cancels: none is left open).
   No timer, retry or catch-up run started while its job was not active. No run process was
   alive 0.2 s after its daemon was killed (the driver looks before each restart), and no two runs
   of one job ran at the same time (each run's start and end lines; a run killed with its daemon
   ends when the driver found it gone).
4. Timing (jobs whose target succeeds; failing jobs retry off the grid). The expected fires of a
   job are the points anchor + k*interval of the schedule in force while it is active (the
   driver picks every anchor). Exempt from "exactly one" (missing is allowed, twice is not): a
   fire inside a downtime (kill to ready line: the misfire rule runs only the first missed fire,
   late), and a fire within MARGIN (default 1 s) before the job stops following that grid
   (pause, update, delete) or before the end of the observation, which it may lose the race
   with. Every other fire has exactly one run start, at most LATE seconds (default 1.5 s) after
   the fire, unless (a) its only attempts were abandoned by a kill, (b) the daemon started an
   earlier fire of the job after this one was due (a downtime or a stall longer than the
   interval: the next fire is then the next future one, by design, STATE_MACHINE.md; counted as
   skipped_late), or (c) RunSkipped{overlap} while a run was in flight. Lateness is excused when
   a downtime lies between the fire and its start, or the fire is within MARGIN after a ready
   line. No margin is needed after a create, resume or revive: the daemon plans the first fire
   strictly after it. The recovery stagger is at most 1 ms per overdue job (supervisor: min(1 ms,
   10 s / overdue)), so it is far inside LATE. Each run of such a job is on one of its grids.
"""
import argparse
import calendar
import collections
import json
import os
import re
import subprocess
import sys
import time

DEFAULT_LATE = 1.5
DEFAULT_MARGIN = 1.0

ADMIN_EVENTS = {"JobCreated", "JobUpdated", "JobPaused", "JobResumed", "JobRevived", "JobDeleted"}
EXPECTED = {
    "create": {"JobCreated"},
    "create_failing": {"JobCreated"},
    "update": {"JobUpdated"},
    "pause": {"JobPaused"},
    "resume": {"JobResumed"},
    "force_resume": {"JobRevived", "JobResumed"},
    "delete": {"JobDeleted"},
    # Plain resume of a failed job, pause of a paused one: the daemon must refuse them.
    "refused_resume": set(),
    "refused_pause": set(),
}
STATUS_AFTER = {"JobCreated": "active", "JobPaused": "paused", "JobResumed": "active",
                "JobRevived": "active", "JobFailed": "failed", "JobCompleted": "completed",
                "JobDeleted": "deleted"}

_ISO = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?Z$")
_DUR = re.compile(r"(\d+)(h|ms|us|m|s)")
_UNIT_US = {"h": 3_600_000_000, "m": 60_000_000, "s": 1_000_000, "ms": 1_000, "us": 1}


def parse_iso(text):
    """'2026-03-08T07:30:00.25Z' -> Unix microseconds."""
    m = _ISO.match(text)
    if not m:
        raise ValueError("not an instant: %r" % text)
    y, mo, d, h, mi, s, frac = m.groups()
    secs = calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(s), 0, 0, 0))
    return secs * 1_000_000 + (int((frac or "0").ljust(6, "0")) if frac else 0)


def parse_duration(text):
    """'1m30s' -> microseconds."""
    parts = _DUR.findall(text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise ValueError("not a duration: %r" % text)
    return sum(int(a) * _UNIT_US[b] for a, b in parts)


def fmt(us):
    return time.strftime("%H:%M:%S", time.gmtime(us // 1_000_000)) + ".%03d" % (us % 1_000_000 // 1000)


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class Report:
    def __init__(self):
        self.violations = []
        self.counts = collections.Counter()

    def fail(self, what):
        self.violations.append(what)
        if len(self.violations) <= 200:
            print("VIOLATION: " + what, flush=True)


def replay(binary, data, *args, ok_codes=(0,)):
    r = subprocess.run([binary, "--data", data] + list(args), capture_output=True, text=True,
                       timeout=300)
    return r.returncode, r.stdout, r.stderr


def check_actions(rep, actions, events, by_job):
    by_actor = collections.defaultdict(list)
    for e in events:
        by_actor[e["actor"]].append(e)
    sent_actors = {a["actor"] for a in actions}
    for a in actions:
        mine = by_actor.get(a["actor"], [])
        label = "action %d (%s %s)" % (a["n"], a["op"], a.get("job") or a.get("name"))
        st = a["status"]
        if st is None:
            rep.counts["unanswered"] += 1
            rep.counts["unanswered_applied" if mine else "unanswered_not_applied"] += 1
            for e in mine:
                if not a["sent_at_us"] <= parse_iso(e["recorded_at"]):
                    rep.fail("%s: event %s recorded before the request was sent" % (label, e["type"]))
            continue
        if not 200 <= st < 300:
            rep.counts["refused"] += 1
            if mine:
                rep.fail("%s was refused with HTTP %d but wrote %s" % (
                    label, st, ", ".join("%s seq %d" % (e["type"], e["seq"]) for e in mine)))
            continue
        rep.counts["acknowledged"] += 1
        answer = a.get("answer") or {}
        if not EXPECTED[a["op"]]:
            rep.fail("%s should have been refused but was acknowledged (HTTP %d)" % (label, st))
            continue
        job = answer.get("id") or a.get("job")
        if not mine:
            rep.fail("%s was acknowledged (HTTP %d, seq %s) but is not in the log" % (
                label, st, answer.get("seq")))
            continue
        types = {e["type"] for e in mine}
        if not types & EXPECTED[a["op"]]:
            rep.fail("%s was acknowledged but the log has %s, not %s" % (
                label, sorted(types), sorted(EXPECTED[a["op"]])))
        for e in mine:
            if e["job_id"] != job:
                rep.fail("%s: its event %s is on job %s" % (label, e["type"], e["job_id"]))
            at = parse_iso(e["recorded_at"])
            if not a["sent_at_us"] <= at <= a["answered_at_us"]:
                rep.fail("%s: %s recorded at %s, outside its request %s-%s" % (
                    label, e["type"], fmt(at), fmt(a["sent_at_us"]), fmt(a["answered_at_us"])))
        last = max(e["seq"] for e in mine)
        if answer.get("seq") != last:
            rep.fail("%s: the answer says seq %s, its last event in the log is seq %d" % (
                label, answer.get("seq"), last))
        status = fold_status(by_job.get(job, []), last)
        if answer.get("status") != status:
            rep.fail("%s: the answer says status %s, the log says %s after seq %d" % (
                label, answer.get("status"), status, last))
    for e in events:
        if e["type"] in ADMIN_EVENTS and e["actor"] not in sent_actors:
            rep.fail("%s seq %d of job %s by %r: no action of the driver made it" % (
                e["type"], e["seq"], e["job_id"], e["actor"]))


def fold_status(job_events, upto_seq=None):
    status = None
    for e in job_events:
        if upto_seq is not None and e["seq"] > upto_seq:
            break
        status = STATUS_AFTER.get(e["type"], status)
    return status


def check_jobs(rep, actions, by_job, final, audit_actors):
    for a in actions:
        if a["op"].startswith("create") and a["status"] and 200 <= a["status"] < 300:
            if a["job"] not in by_job or by_job[a["job"]][0]["type"] != "JobCreated":
                rep.fail("acknowledged create of %s (%s) has no JobCreated" % (a["name"], a["job"]))
        if a["status"] and 200 <= a["status"] < 300 and a["actor"] not in audit_actors:
            rep.fail("action %d (%s) is acknowledged but not in the audit trail" % (a["n"], a["op"]))
    folded = {}
    for job, evs in by_job.items():
        seqs = [e["seq"] for e in evs]
        if seqs != list(range(1, len(seqs) + 1)):
            rep.fail("job %s: its stream is not seq 1..%d without gaps: %s" % (job, len(seqs), seqs))
        for i, e in enumerate(evs):
            if e["type"] == "JobDeleted" and i + 1 < len(evs):
                rep.fail("job %s resurrected: %s seq %d after JobDeleted seq %d" % (
                    job, evs[i + 1]["type"], evs[i + 1]["seq"], e["seq"]))
        names = [e["name"] for e in evs if e["type"] in ("JobCreated", "JobUpdated") and "name" in e]
        folded[job] = {"status": fold_status(evs), "seq": evs[-1]["seq"], "name": names[-1]}
        rep.counts["jobs_deleted" if folded[job]["status"] == "deleted" else "jobs_live"] += 1
    live = {j: f for j, f in folded.items() if f["status"] != "deleted"}

    def compare(listing, when):
        if listing is None:
            rep.fail("no job list %s" % when)
            return
        seen = {}
        for j in listing:
            seen[j["id"]] = {"status": j["status"], "seq": j["seq"], "name": j["name"]}
        for j, f in live.items():
            if j not in seen:
                rep.fail("job %s (%s, %s) is live in the log but not listed %s" % (
                    j, f["name"], f["status"], when))
            elif seen[j] != f:
                rep.fail("job %s listed %s as %s, the log says %s" % (j, when, seen[j], f))
        for j in seen:
            if j not in live:
                rep.fail("job %s listed %s but %s in the log" % (
                    j, when, "deleted" if j in folded else "absent"))

    compare(final.get("before_restart"), "before the last kill")
    compare(final.get("after_restart"), "after the last restart")
    if final.get("stop_rc") != 0:
        rep.fail("almanacd exited %r on SIGTERM, not 0" % final.get("stop_rc"))
    return folded


def check_survivors_and_overlap(rep, records, timeline):
    """No run process outlives its daemon, and no two runs of one job run at once."""
    checked = []  # (kill at, survivors noted at) for every kill
    kill_at = None
    for t in timeline:
        if t["what"] == "kill":
            kill_at = t["at_us"]
        elif t["what"] == "survivors":
            checked.append((kill_at, t["at_us"]))
            for pid in t["pids"]:
                rep.counts["survivors"] += 1
                rep.fail("run process %d outlived its daemon (killed %s)" % (pid, t["after"]))
    by_job = collections.defaultdict(list)
    for r in records:
        end = r["end_us"]
        if end is None:
            # No end line: killed with its daemon, and gone by the time the driver looked. The
            # start line may follow the kill by a moment (the run writes it while its death
            # signal is on the way), so the run ends at the first look after its start.
            end = next((at for k, at in checked if at >= r["start_us"]), None)
        if end is None:
            rep.fail("job %s run %d (pid %d) never ended and no kill explains it" % (
                r["job"], r["run_id"], r["pid"]))
            continue
        by_job[r["job"]].append((r["start_us"], end, r["run_id"], r["pid"]))
    for job, spans in by_job.items():
        spans.sort()
        for (s0, e0, run0, pid0), (s1, e1, run1, pid1) in zip(spans, spans[1:]):
            if s1 < e0:
                rep.counts["concurrent_duplicates"] += 1
                rep.fail("job %s: runs %d (pid %d) and %d (pid %d) ran at the same time, "
                         "%s to %s and from %s" % (job, run0, pid0, run1, pid1, fmt(s0),
                                                  fmt(e0), fmt(s1)))


def check_runs(rep, records, by_job, windows, end_us, margin_us, late_us):
    started = {}  # (job, run_id) -> RunStarted event
    abandoned = set()
    finished = set()
    for job, evs in by_job.items():
        status = None
        for e in evs:
            if e["type"] == "RunStarted":
                started[(job, e["run_id"])] = e
                if e["trigger"] != "manual" and status != "active":
                    rep.fail("job %s: run %d (%s) started while the job was %s" % (
                        job, e["run_id"], e["trigger"], status))
            elif e["type"] == "RunAbandoned":
                abandoned.add((job, e["run_id"]))
            elif e["type"] in ("RunSucceeded", "RunFailed"):
                finished.add((job, e["run_id"]))
            status = STATUS_AFTER.get(e["type"], status)
    rep.counts["run_starts_logged"] = len(started)
    rep.counts["runs_abandoned"] = len(abandoned)

    by_attempt = collections.defaultdict(list)
    by_fire = collections.defaultdict(list)
    for r in records:
        by_attempt[(r["job"], r["run_id"])].append(r)
    for key, rs in by_attempt.items():
        e = started.get(key)
        if e is None:
            rep.fail("job %s run %d ran (pid %d at %s) without a RunStarted in the log" % (
                key[0], key[1], rs[0]["pid"], fmt(rs[0]["start_us"])))
            continue
        if parse_iso(e["scheduled_for"]) != rs[0]["fire_us"]:
            rep.fail("job %s run %d ran for %s, the log says %s" % (
                key[0], key[1], fmt(rs[0]["fire_us"]), e["scheduled_for"]))
        if len(rs) > 1:
            rep.counts["duplicates"] += 1
            rep.fail("job %s run %d ran %d times (pids %s)" % (
                key[0], key[1], len(rs), [r["pid"] for r in rs]))
        by_fire[(key[0], rs[0]["fire_us"])].append(key[1])
    for key in finished:
        if key not in by_attempt:
            rep.fail("job %s run %d finished in the log but never ran (no run record)" % key)
    deleted = {job for job, evs in by_job.items() if evs[-1]["type"] == "JobDeleted"}
    for key in started:
        if key not in finished and key not in abandoned:
            # A delete cancels the runs in flight and records their end (RunAbandoned) before
            # JobDeleted: a run left open by a delete is a leak of a worker slot.
            if key[0] in deleted:
                rep.counts["runs_left_open_by_delete"] += 1
                rep.fail("job %s run %d was left open by the delete of its job" % key)
            else:
                rep.fail("job %s run %d started and neither finished nor was abandoned" % key)
    # Attempts of one fire, from the log too: a start whose process never got to record.
    for key, e in started.items():
        if key not in by_attempt:
            by_fire[(key[0], parse_iso(e["scheduled_for"]))].append(key[1])
            if key in abandoned:
                rep.counts["abandoned_before_spawn"] += 1
    for (job, fire), ids in by_fire.items():
        ids = sorted(set(ids))
        if len(ids) > 1:
            rep.counts["duplicates"] += 1
            earlier = [i for i in ids[:-1] if (job, i) not in abandoned]
            if earlier:
                rep.fail("job %s: fire %s started %d times (runs %s); run(s) %s not abandoned" % (
                    job, fmt(fire), len(ids), ids, earlier))
            else:
                rep.counts["duplicates_after_abandon"] += 1

    # Timing, for jobs whose target succeeds.
    fires_of = collections.defaultdict(dict)  # job -> fire -> [records]
    for r in records:
        fires_of[r["job"]].setdefault(r["fire_us"], []).append(r)
    starts_of = collections.defaultdict(list)  # job -> (fire, recorded_at) of every RunStarted
    for (job, _), e in started.items():
        starts_of[job].append((parse_iso(e["scheduled_for"]), parse_iso(e["recorded_at"])))

    def in_downtime(t):
        return any(lo <= t <= hi for lo, hi in windows)

    def after_restart(t):
        return any(hi < t <= hi + margin_us for lo, hi in windows)

    for job, evs in by_job.items():
        created = evs[0]
        # argv: python -S record_run.py FILE EXIT_CODE HOLD
        if created["type"] != "JobCreated" or created["target"]["argv"][4] != "0":
            continue
        # A fire just before the job stops following its grid (pause, update, delete) may lose
        # the race with that change; a fire after an activation was planned by it.
        stops = [parse_iso(e["recorded_at"]) for e in evs
                 if e["type"] in ("JobPaused", "JobUpdated", "JobDeleted", "JobFailed")]
        stops.append(end_us)
        skipped = {}
        in_flight = set()
        for e in evs:
            if e["type"] == "RunStarted":
                in_flight.add(e["run_id"])
            elif e["type"] in ("RunSucceeded", "RunFailed", "RunAbandoned"):
                in_flight.discard(e["run_id"])
            elif e["type"] == "RunSkipped":
                skipped[parse_iso(e["scheduled_for"])] = e["reason"]
                if "overlap" in e["reason"] and not in_flight:
                    rep.fail("job %s: fire %s skipped for overlap with no run in flight" % (
                        job, e["scheduled_for"]))
        # Segments (from, to, schedule) while active.
        segments = []
        status, sched, since = None, None, None
        for e in evs + [{"type": "End", "recorded_at": None}]:
            at = end_us if e["recorded_at"] is None else parse_iso(e["recorded_at"])
            new_sched = e.get("schedule") if e["type"] in ("JobCreated", "JobUpdated") else None
            new_status = STATUS_AFTER.get(e["type"], status)
            if e["type"] == "End" or new_sched or new_status != status:
                if status == "active" and sched:
                    segments.append((since, at, sched))
                since = at
            if new_sched:
                sched = (parse_iso(new_sched["anchor"]), parse_duration(new_sched["every"]))
            status = new_status
        grid = set()
        for lo, hi, (anchor, every) in segments:
            k = max(1, (lo - anchor) // every)
            while anchor + k * every < hi:
                g = anchor + k * every
                k += 1
                if g <= lo:
                    continue
                grid.add(g)
                rs = fires_of[job].get(g, [])
                if in_downtime(g) or any(x - margin_us <= g <= x for x in stops):
                    rep.counts["fires_exempt"] += 1
                    continue
                rep.counts["fires_checked"] += 1
                if not rs:
                    attempts = [k2 for k2, e in started.items()
                                if k2[0] == job and parse_iso(e["scheduled_for"]) == g]
                    if attempts and all(a in abandoned for a in attempts):
                        rep.counts["fires_abandoned"] += 1
                    elif any(f < g < at for f, at in starts_of[job]):
                        rep.counts["skipped_late"] += 1
                    elif g in skipped and "overlap" in skipped[g]:
                        rep.counts["skipped_overlap"] += 1
                    else:
                        rep.counts["missed"] += 1
                        rep.fail("job %s (%s): fire %s (every %gs) never started%s" % (
                            job, created["name"], fmt(g), every / 1e6,
                            " (%s)" % skipped[g] if g in skipped else ""))
                    continue
                first = min(r["start_us"] for r in rs)
                lateness = first - g
                excused = after_restart(g) or any(g <= hi and lo <= first for lo, hi in windows)
                if excused:
                    rep.counts["late_after_downtime"] += lateness > late_us
                    continue
                if lateness > late_us:
                    rep.counts["late"] += 1
                    rep.fail("job %s (%s): fire %s started %.3f s late (limit %.3f s)" % (
                        job, created["name"], fmt(g), lateness / 1e6, late_us / 1e6))
                rep.counts["max_lateness_us"] = max(rep.counts["max_lateness_us"], lateness)
        # Every run of a succeeding job is on the grid of a schedule it had.
        schedules = [(parse_iso(e["schedule"]["anchor"]), parse_duration(e["schedule"]["every"]))
                     for e in evs if e["type"] in ("JobCreated", "JobUpdated") and e.get("schedule")]
        for fire in fires_of[job]:
            if fire not in grid and not any((fire - a) % i == 0 for a, i in schedules):
                rep.fail("job %s: a run for %s, which is on none of its schedules" % (job, fmt(fire)))


def check(work, replay_bin, late=DEFAULT_LATE, margin=DEFAULT_MARGIN, seed=None, duration=None):
    """Runs every check on a driver's work dir; prints the violations and the counts. True: none."""
    rep = Report()
    data = os.path.join(work, "data")
    actions = read_jsonl(os.path.join(work, "actions.jsonl"))
    timeline = read_jsonl(os.path.join(work, "timeline.jsonl"))
    with open(os.path.join(work, "final.json")) as f:
        final = json.load(f)
    records = []
    ends = {}
    runs_path = os.path.join(work, "runs.log")
    if os.path.exists(runs_path):
        with open(runs_path) as f:
            for n, line in enumerate(f, 1):
                parts = line.split()
                if len(parts) != 7 or parts[6] not in ("start", "end") or not line.endswith("\n"):
                    rep.fail("runs.log line %d is torn: %r" % (n, line))
                    continue
                job, fire, run_id, at, pid, code, phase = parts
                if phase == "end":
                    ends[(job, int(run_id), int(pid))] = int(at)
                    continue
                records.append({"job": job, "fire_us": parse_iso(fire), "run_id": int(run_id),
                                "start_us": int(at), "pid": int(pid), "exit": int(code)})
    for r in records:
        r["end_us"] = ends.get((r["job"], r["run_id"], r["pid"]))

    rc, out, err = replay(replay_bin, data, "export", "--jsonl")
    if rc != 0:
        rep.fail("almanac-replay export failed (%d): %s" % (rc, err.strip()))
        out = ""
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    positions = [e["position"] for e in events]
    if positions != sorted(positions) or len(set(positions)) != len(positions):
        rep.fail("export positions are not strictly increasing")
    by_job = collections.defaultdict(list)
    for e in events:
        by_job[e["job_id"]].append(e)
    for evs in by_job.values():
        evs.sort(key=lambda e: e["seq"])

    for args in (["verify"], ["audit", "--compare"]):
        rc, out, err = replay(replay_bin, data, *args)
        if rc != 0:
            rep.fail("almanac-replay %s failed (%d): %s" % (" ".join(args), rc,
                                                            (out + err).strip()[-2000:]))
    for job in sorted(by_job):
        rc, out, err = replay(replay_bin, data, "runs", "--job", job, "--compare")
        if rc != 0:
            rep.fail("almanac-replay runs --job %s --compare failed (%d): %s" % (
                job, rc, (out + err).strip()[-2000:]))
    rc, out, err = replay(replay_bin, data, "--json", "audit")
    audit_actors = {json.loads(l)["actor"] for l in out.splitlines() if l.strip()} if rc == 0 else set()
    if rc != 0:
        rep.fail("almanac-replay audit --json failed (%d): %s" % (rc, err.strip()))

    check_actions(rep, actions, events, by_job)
    check_jobs(rep, actions, by_job, final, audit_actors)

    kills = [t["at_us"] for t in timeline if t["what"] == "kill"]
    readies = [t["at_us"] for t in timeline if t["what"] == "ready"]
    first_ready = readies[0]
    windows = list(zip(kills, readies[1:]))
    windows.append((0, first_ready))
    end_us = next(t["at_us"] for t in timeline if t["what"] == "quiesce")
    check_runs(rep, records, by_job, windows, end_us, int(margin * 1e6), int(late * 1e6))
    check_survivors_and_overlap(rep, records, timeline)

    c = rep.counts
    trials = sum(1 for t in timeline if t["what"] == "kill" and t["why"].startswith("cycle"))
    commit = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(__file__)), "rev-parse",
                             "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print("crash checker: trials %d, actions %d (acknowledged %d, refused %d, unanswered %d: "
          "%d applied), runs %d (logged starts %d, abandoned %d, %d of them before the spawn, "
          "%d left open by a delete), run processes that outlived their daemon %d, "
          "runs of one job at the same time %d, "
          "jobs %d (live %d, deleted %d), events %d" % (
              trials, len(actions), c["acknowledged"], c["refused"], c["unanswered"],
              c["unanswered_applied"], len(records), c["run_starts_logged"], c["runs_abandoned"],
              c["abandoned_before_spawn"], c["runs_left_open_by_delete"], c["survivors"],
              c["concurrent_duplicates"], len(by_job), c["jobs_live"], c["jobs_deleted"],
              len(events)))
    print("crash checker: fires checked %d (exempt %d: in a downtime, or within %.1f s before a "
          "pause, update, delete or the end), missed %d, late %d (limit %.1f s, worst %.3f s; "
          "%d later after a downtime), skipped after a late start %d, skipped for overlap %d, "
          "abandoned %d, duplicates %d (%d after RunAbandoned)" % (
              c["fires_checked"], c["fires_exempt"], margin, c["missed"], c["late"], late,
              c["max_lateness_us"] / 1e6, c["late_after_downtime"], c["skipped_late"],
              c["skipped_overlap"], c["fires_abandoned"], c["duplicates"],
              c["duplicates_after_abandon"]))
    print("crash checker: seed %s, %s, commit %s: %s" % (
        seed, "%.0f s" % duration if duration is not None else "-", commit or "-",
        "%d VIOLATIONS" % len(rep.violations) if rep.violations else "OK"), flush=True)
    return not rep.violations


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--replay", required=True, help="the almanac-replay binary")
    ap.add_argument("--late", type=float, default=DEFAULT_LATE)
    ap.add_argument("--margin", type=float, default=DEFAULT_MARGIN)
    ap.add_argument("work")
    args = ap.parse_args()
    return 0 if check(args.work, args.replay, args.late, args.margin) else 1


if __name__ == "__main__":
    sys.exit(main())
