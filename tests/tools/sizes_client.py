#!/usr/bin/env python3
"""The HTTP side of e2e_sizes.sh: drives a real almanacd and checks the bounds on sizes.

  sizes_client.py HTTP TOKEN PID create N        N large jobs (~16 KiB argv and env), 32 at a time
  sizes_client.py HTTP TOKEN PID attack [LIMIT]  8 concurrent GET /api/jobs: RSS growth, health
                                                 (LIMIT: every list asks for it, for figures)
  sizes_client.py HTTP TOKEN PID walk            pages walk every job once amid creates/deletes
  sizes_client.py HTTP TOKEN PID cap N           the N-th+1 create is refused with 507

Prints figures as `figure NAME VALUE` lines; exits 1 naming the first broken bound.
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse

BASE, TOKEN, PID, MODE = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
HOSTPORT = urllib.parse.urlparse(BASE).netloc
# The largest page and the default one (include/almanac/admin.hpp).
MAX_PAGE, DEFAULT_PAGE = 1000, 100
# A page also ends after 1 MiB of job state; its JSON is about as large, plus one job.
MAX_PAGE_BODY = (1 << 20) + 64 * 1024


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


class client:
    def __init__(self, timeout=60):
        self.timeout = timeout
        self.conn = None

    def call(self, method, path, body=None):
        headers = {"Authorization": "Bearer " + TOKEN}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOSTPORT, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                raw = r.read()
                return r.status, raw
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        return None, b""

    def json(self, method, path, body=None):
        status, raw = self.call(method, path, body)
        return status, (json.loads(raw) if raw else None)


def rss_kib():
    with open("/proc/%d/status" % PID) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    fail("no VmRSS for pid %d" % PID)


def job_body(name):
    return {"name": name, "schedule": {"kind": "every", "every": "1h"},
            "target": {"kind": "exec", "argv": ["true", "a" * 8192], "env": {"PAD": "e" * 8192}}}


def parallel(n, work):
    errors = []

    def run(i):
        try:
            work(i)
        except Exception as e:  # noqa: BLE001 - reported below, the test fails on it
            errors.append("%s: %s" % (type(e).__name__, e))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        fail("client error: " + errors[0])


def create(n, prefix="big"):
    ids = [None] * n

    def work(w):
        c = client()
        for i in range(w, n, 32):
            status, body = c.json("POST", "/api/jobs", job_body("%s-%d" % (prefix, i)))
            if status != 201:
                raise RuntimeError("create %d: %s %s" % (i, status, body))
            ids[i] = body["id"]

    started = time.monotonic()
    parallel(min(32, n), work)
    print("figure create_seconds %.1f" % (time.monotonic() - started))
    return ids


def walk(c, limit, between=None):
    """Every page of GET /api/jobs; between(page_number, seen_ids) runs after each page."""
    seen, cursor, pages = [], None, 0
    while True:
        path = "/api/jobs?limit=%d" % limit
        if cursor:
            path += "&cursor=" + urllib.parse.quote(cursor)
        status, body = c.json("GET", path)
        if status != 200:
            fail("GET %s: %s %s" % (path, status, body))
        if len(body["jobs"]) > limit:
            fail("a page of %d jobs for limit %d" % (len(body["jobs"]), limit))
        seen += [j["id"] for j in body["jobs"]]
        pages += 1
        cursor = body.get("next_cursor")
        if not cursor:
            return seen, pages
        if pages > 10000:
            fail("the walk does not end")
        if between:
            between(pages, seen)


def attack(fixed_limit=None):
    # 8 clients list the fleet at once, each 4 times, with the default page and with the largest;
    # meanwhile health is asked every 50 ms and the daemon's RSS sampled.
    base = rss_kib()
    peak = [base]
    health = []
    sizes = []
    oversized = []
    done = threading.Event()

    def watch():
        c = client(timeout=30)
        while not done.is_set():
            t = time.monotonic()
            status, _ = c.call("GET", "/api/health")
            health.append(time.monotonic() - t)
            if status != 200:
                fail("health answered %s under the lists" % status)
            peak[0] = max(peak[0], rss_kib())
            time.sleep(0.05)

    def lister(i):
        c = client(timeout=120)
        for k in range(4):
            limit = fixed_limit or (MAX_PAGE if (i + k) % 2 else None)
            path = "/api/jobs" + ("?limit=%d" % limit if limit else "")
            status, raw = c.call("GET", path)
            if status != 200:
                raise RuntimeError("GET %s: %s" % (path, status))
            body = json.loads(raw)
            if len(body["jobs"]) > (limit or DEFAULT_PAGE):
                oversized.append("%d jobs on one page of %s" % (len(body["jobs"]), path))
            sizes.append(len(raw))
            peak[0] = max(peak[0], rss_kib())

    w = threading.Thread(target=watch)
    w.start()
    started = time.monotonic()
    try:
        parallel(8, lister)
    finally:
        done.set()
        w.join()
    took = time.monotonic() - started
    growth_mib = (peak[0] - base) / 1024
    worst = max(health) if health else 0
    print("figure rss_base_mib %.0f" % (base / 1024))
    print("figure rss_growth_mib %.0f" % growth_mib)
    print("figure health_worst_ms %.0f" % (worst * 1000))
    print("figure health_samples %d" % len(health))
    print("figure largest_reply_kib %.0f" % (max(sizes) / 1024))
    print("figure lists_seconds %.1f" % took)
    if oversized:
        fail(oversized[0])
    if max(sizes) > MAX_PAGE_BODY:
        fail("a reply of %d bytes: over the page bound of %d" % (max(sizes), MAX_PAGE_BODY))
    # 8 pages of at most ~1 MiB each in flight, each as job states, a JSON tree and its text: a
    # few tens of MiB. Building whole fleets' JSON (2000 jobs of 16 KiB, 32 MB of text, several
    # times that as a tree, 8 at once) grows by gigabytes.
    if growth_mib > 200:
        fail("RSS grew by %.0f MiB under 8 concurrent lists (bound 200 MiB)" % growth_mib)
    if worst > 1.0:
        fail("health took %.2f s under 8 concurrent lists (bound 1 s)" % worst)


def walk_amid_changes():
    c = client()
    before, _ = walk(c, MAX_PAGE)
    originals = set(before)
    if len(originals) != len(before):
        fail("a job listed twice in a quiet walk")
    deleted, deleted_unseen, created = set(), set(), set()
    order = sorted(originals)
    made = [0]

    def between(page, seen):
        # New jobs land anywhere in id order (ids are random); deletes hit jobs already listed
        # and jobs not reached yet.
        for _ in range(5):
            status, body = c.json("POST", "/api/jobs", job_body("walk-new-%d" % made[0]))
            made[0] += 1
            if status != 201:
                fail("create between pages: %s %s" % (status, body))
            created.add(body["id"])
        for victim in (order[(page * 37) % len(order)], order[-1 - page * 11]):
            if victim in deleted:
                continue
            status, body = c.json("DELETE", "/api/jobs/" + victim)
            if status != 200:
                fail("delete between pages: %s %s" % (status, body))
            deleted.add(victim)
            if victim not in seen:
                deleted_unseen.add(victim)

    seen, pages = walk(c, 150, between)
    print("figure walk_pages %d" % pages)
    counts = {}
    for i in seen:
        counts[i] = counts.get(i, 0) + 1
    twice = [i for i, n in counts.items() if n > 1]
    if twice:
        fail("listed more than once: %s" % twice[:5])
    missing = [i for i in originals - deleted if i not in counts]
    if missing:
        fail("%d jobs that existed throughout were skipped, e.g. %s" % (len(missing), missing[:5]))
    ghosts = [i for i in deleted_unseen if i in counts]
    if ghosts:
        fail("listed after their delete: %s" % ghosts[:5])
    strangers = [i for i in counts if i not in originals and i not in created]
    if strangers:
        fail("listed but never created: %s" % strangers[:5])
    if len(deleted_unseen) < 3 or pages < 10:
        fail("the walk was too short to test anything (%d pages)" % pages)
    # A bad cursor, and a limit over the largest page, are refused.
    for path in ("/api/jobs?cursor=nonsense", "/api/jobs?cursor=a0000000000000001",
                 "/api/jobs?limit=1001", "/api/jobs?limit=0"):
        status, body = c.json("GET", path)
        if status != 400 or body.get("error") != "invalid_input":
            fail("GET %s: expected 400 invalid_input, got %s %s" % (path, status, body))
    victim = sorted(originals - deleted)[0]
    for path in ("/api/jobs/%s/audit?cursor=j0000000000000001" % victim,
                 "/api/jobs/%s/runs?cursor=zz" % victim, "/api/jobs/%s/runs?limit=5000" % victim):
        status, body = c.json("GET", path)
        if status != 400:
            fail("GET %s: expected 400, got %s %s" % (path, status, body))
    # The audit trail of one job pages too.
    for _ in range(3):
        c.json("POST", "/api/jobs/%s/pause" % victim)
        c.json("POST", "/api/jobs/%s/resume" % victim)
    status, whole = c.json("GET", "/api/jobs/%s/audit?limit=1000" % victim)
    entries, cursor = [], None
    while True:
        path = "/api/jobs/%s/audit?limit=2" % victim + ("&cursor=" + cursor if cursor else "")
        status, body = c.json("GET", path)
        if status != 200:
            fail("GET %s: %s %s" % (path, status, body))
        entries += [e["position"] for e in body["entries"]]
        cursor = body.get("next_cursor")
        if not cursor:
            break
    if entries != [e["position"] for e in whole["entries"]] or len(entries) < 7:
        fail("the audit pages %s are not the trail %s" % (entries, whole["entries"]))


def cap(n):
    c = client()
    status, body = c.json("POST", "/api/jobs", job_body("over-the-cap"))
    if status != 507 or body.get("error") != "limit_exceeded":
        fail("create at the cap of %d: expected 507 limit_exceeded, got %s %s" % (n, status, body))
    if str(n) not in body.get("message", ""):
        fail("the refusal does not name the cap: %s" % body)
    status, _ = c.json("GET", "/api/jobs/over-the-cap")
    if status != 404:
        fail("the refused create left a job behind (GET: %s)" % status)


if MODE == "create":
    create(int(sys.argv[5]), sys.argv[6] if len(sys.argv) > 6 else "big")
elif MODE == "attack":
    attack(int(sys.argv[5]) if len(sys.argv) > 5 else None)
elif MODE == "walk":
    walk_amid_changes()
elif MODE == "cap":
    cap(int(sys.argv[5]))
else:
    fail("unknown mode " + MODE)
