"""The dashboard's scenarios in headless chromium against the real almanacd of run_ui_test.sh.

Every wait is a bounded explicit wait (WebDriverWait) on what the page shows; nothing sleeps.
Usage: ui_test.py PART   (ALMANAC_UI_HTTP, ALMANAC_UI_TOKEN and ALMANAC_UI_TMP set by the script)
"""
import http.client
import json
import os
import re
import sys
import time
import urllib.parse

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

HTTP = os.environ["ALMANAC_UI_HTTP"]
TOKEN = os.environ["ALMANAC_UI_TOKEN"]
TMP = os.environ["ALMANAC_UI_TMP"]
ADDR = urllib.parse.urlparse(HTTP)
WAIT = 45  # seconds: generous, a real daemon runs real processes on a shared machine


class Failure(Exception):
    pass


DRIVERS = []  # the browsers open, for what a failure shows of them


def check(cond, what):
    if not cond:
        raise Failure(what)


# --- the API, straight (to set up and to check what the UI did) ------------------------------

def request(method, path, body=None, token=TOKEN, headers=None):
    conn = http.client.HTTPConnection(ADDR.hostname, ADDR.port, timeout=30)
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = json.dumps(body)
        h["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=h)
    r = conn.getresponse()
    raw = r.read()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, raw


def api(method, path, body=None, expect=None):
    status, _, raw = request(method, path, body)
    if expect is not None and status != expect:
        raise Failure(f"{method} {path}: expected {expect}, got {status}: {raw[:300]!r}")
    return json.loads(raw) if raw else None


def create(name, schedule=None, argv=None, policies=None):
    body = {"name": name, "schedule": schedule or {"kind": "every", "every": "1h"},
            "target": {"kind": "exec", "argv": argv or ["true"]}}
    if policies:
        body["policies"] = policies
    return api("POST", "/api/jobs", body, expect=201)


def all_jobs(**filters):
    out, cursor = [], ""
    while True:
        q = "limit=1000" + "".join(f"&{k}={urllib.parse.quote(v)}" for k, v in filters.items())
        page = api("GET", "/api/jobs?" + q + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else ""),
                   expect=200)
        out += page["jobs"]
        cursor = page.get("next_cursor", "")
        if not cursor:
            return out


# --- the browser -----------------------------------------------------------------------------

def browser(width=1280, height=800):
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              f"--window-size={width},{height}", f"--user-data-dir={TMP}/chromium",
              "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--disable-extensions",
              "--lang=en-US"]:
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver", log_output=f"{TMP}/chromedriver.log")
                         if "log_output" in Service.__init__.__code__.co_varnames
                         else Service("/usr/bin/chromedriver"), options=o)
    d.set_page_load_timeout(WAIT)
    DRIVERS.append(d)
    return d


def close(d):
    """Quits the browser, unless a failure is on its way out: main shows the page first."""
    if sys.exc_info()[0] is None:
        DRIVERS.remove(d)
        d.quit()


def wait(d, cond, what, timeout=WAIT):
    def attempt(drv):
        try:
            return cond(drv)
        except StaleElementReferenceException:
            return False
    try:
        return WebDriverWait(d, timeout, poll_frequency=0.1).until(attempt)
    except Exception as e:
        raise Failure(f"timed out waiting for {what}: {type(e).__name__}") from None


def find(d, css):
    found = d.find_elements(By.CSS_SELECTOR, css)
    return found[0] if found else None


def shown(d, css):
    return wait(d, lambda x: (e := find(x, css)) is not None and e.is_displayed() and e, css + " shown")


def text_of(d, css):
    e = find(d, css)
    return e.text if e else ""


def erase(e):
    """Empties an input the way a user does, so that its input event fires (clear() fires none)."""
    e.send_keys(Keys.CONTROL + "a")
    e.send_keys(Keys.DELETE)


def sign_in(d, fragment="#/jobs"):
    d.get(HTTP + "/ui/#token=" + urllib.parse.quote(TOKEN))
    shown(d, "#nav")
    if fragment != "#/jobs":
        d.execute_script("location.hash = arguments[0]", fragment)


def rows(d):
    return {r.get_attribute("data-id"): r for r in d.find_elements(By.CSS_SELECTOR, "#jobs-body tr[data-id]")}


def row_names(d):
    return [r.find_element(By.CSS_SELECTOR, "a.job-link").text
            for r in d.find_elements(By.CSS_SELECTOR, "#jobs-body tr[data-id]")]


def job_status(d):
    return text_of(d, "#job-status .badge")


def audit_rows(d):
    out = []
    for r in d.find_elements(By.CSS_SELECTOR, "#audit tbody tr"):
        cells = [c.text for c in r.find_elements(By.CSS_SELECTOR, "td")]
        if len(cells) == 5:
            out.append(cells)
    return out


def no_console_errors(d):
    try:
        logs = d.get_log("browser")
    except Exception:
        return
    # A refused action is a 4xx the console reports; the page shows it, and the scenario checks.
    bad = [l for l in logs if l.get("level") == "SEVERE"
           and not re.search(r"/api/.* status of 4\d\d", l.get("message", ""))]
    check(not bad, f"console errors: {bad}")


# --- the scenarios ---------------------------------------------------------------------------

def part_headers():
    """Static files without the token, with strict headers; no API data without it."""
    secret_name = "only-with-the-token-7f3a"
    create(secret_name)
    expect_csp = ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
                  "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"]
    for path, ctype in [("/ui/", "text/html; charset=utf-8"), ("/ui/index.html", "text/html; charset=utf-8"),
                        ("/ui/app.js", "text/javascript; charset=utf-8"), ("/ui/app.css", "text/css; charset=utf-8")]:
        status, h, body = request("GET", path, token=None)
        check(status == 200, f"GET {path} without the token: {status}")
        check(h.get("content-type") == ctype, f"{path}: Content-Type {h.get('content-type')}")
        csp = h.get("content-security-policy", "")
        for part in expect_csp:
            check(part in csp, f"{path}: CSP lacks {part}: {csp}")
        check("unsafe-inline" not in csp and "unsafe-eval" not in csp, f"{path}: CSP allows inline: {csp}")
        check(h.get("x-content-type-options") == "nosniff", f"{path}: no nosniff")
        check(h.get("referrer-policy") == "no-referrer", f"{path}: Referrer-Policy {h.get('referrer-policy')}")
        check(h.get("cache-control") == "no-cache", f"{path}: Cache-Control {h.get('cache-control')}")
        check(h.get("x-frame-options") == "DENY", f"{path}: X-Frame-Options {h.get('x-frame-options')}")
        check(secret_name.encode() not in body, f"{path} holds a job's name")
        check(len(body) > 100, f"{path} is nearly empty")
        check(int(h.get("content-length", "-1")) == len(body), f"{path}: Content-Length")
    # The page has no inline script or style for the CSP to have to allow.
    _, _, index = request("GET", "/ui/", token=None)
    check(not re.search(rb"<script(?![^>]*\bsrc=)", index), "index.html has an inline script")
    check(b"style=" not in index and b"<style" not in index, "index.html has inline style")
    check(b"http://" not in index and b"https://" not in index, "index.html names another origin")
    _, _, js = request("GET", "/ui/app.js", token=None)
    check(b"innerHTML" not in js, "app.js writes HTML from strings")
    status, h, body = request("HEAD", "/ui/app.js", token=None)
    check(status == 200 and body == b"" and int(h.get("content-length", "0")) > 1000, f"HEAD: {status} {h}")
    status, h, _ = request("GET", "/ui", token=None)
    check(status == 308 and h.get("location") == "/ui/", f"/ui: {status} {h.get('location')}")
    for path in ["/ui/nope.js", "/ui/../api/jobs", "/ui/%2e%2e/api/jobs", "/ui/..%2fapi%2fjobs",
                 "/ui/app.js/../../api/jobs", "/ui//api/jobs", "/ui/index.html?x=/api/jobs"]:
        status, h, body = request("GET", path, token=None)
        want = 200 if path.startswith("/ui/index.html") else 404
        check(status == want, f"GET {path} without the token: {status}")
        check(secret_name.encode() not in body, f"GET {path} without the token shows a job")
        check(h.get("x-content-type-options") == "nosniff", f"{path}: no nosniff on {status}")
    for method in ["POST", "PUT", "DELETE", "PATCH"]:
        status, h, _ = request(method, "/ui/", body={}, token=None)
        check(status == 401, f"{method} /ui/ without the token: {status} (only GET and HEAD are open)")
        status, h, _ = request(method, "/ui/", body={})
        check(status == 405 and h.get("allow") == "GET, HEAD", f"{method} /ui/ with the token: {status}")
    for method, path in [("GET", "/api/jobs"), ("GET", "/api/health"), ("GET", "/metrics"),
                         ("POST", "/api/preview"), ("GET", "/api/jobs?group=")]:
        status, _, body = request(method, path, body={} if method == "POST" else None, token=None)
        check(status == 401, f"{method} {path} without the token: {status}")
        check(secret_name.encode() not in body, f"{method} {path} without the token shows a job")
    # The Origin check stands for the open files too (a page elsewhere cannot read them as
    # this origin's either way; the check just holds).
    status, _, _ = request("GET", "/ui/", token=None, headers={"Origin": "http://evil.example"})
    check(status == 403, f"GET /ui/ with a foreign Origin: {status}")
    # The group filter the jobs page uses, with paging: every job of the group exactly once.
    made = {create(f"g-{i}", policies={"group": "nightly" if i % 3 == 0 else "other"})["id"] for i in range(12)}
    want = {j["id"] for j in all_jobs() if j["policies"]["group"] == "nightly"}
    check(len(want) == 4 and want <= made, f"nightly jobs: {want}")
    seen, cursor, pages = [], "", 0
    while True:
        page = api("GET", "/api/jobs?group=nightly&limit=2" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else ""),
                   expect=200)
        check(len(page["jobs"]) <= 2, f"a page of {len(page['jobs'])} over limit 2")
        seen += [j["id"] for j in page["jobs"]]
        check(all(j["policies"]["group"] == "nightly" for j in page["jobs"]), "a job of another group")
        cursor, pages = page.get("next_cursor", ""), pages + 1
        if not cursor:
            break
        check(pages < 50, "the group walk does not end")
    check(sorted(seen) == sorted(want), f"group walk: {seen} vs {want}")
    page = api("GET", "/api/jobs?group=nightly&status=paused", expect=200)
    check(page["jobs"] == [], "group and status together")
    status, _, _ = request("GET", "/api/jobs?group=nightly&limit=0")
    check(status == 400, f"group with limit 0: {status}")


def part_jobs():
    """The table lists created jobs with their statuses; filters, sorting, live updates."""
    a = create("alpha-nightly", {"kind": "cron", "cron": "0 3 * * *", "tz": "Europe/Berlin"},
               policies={"group": "etl", "max_consecutive_errors": 5})
    b = create("beta-hourly", {"kind": "every", "every": "1h"})
    c = create("gamma-held", {"kind": "cron", "cron": "*/15 * * * *", "tz": "America/New_York"})
    api("POST", f"/api/jobs/{c['id']}/pause", {"note": "held for the test"}, expect=200)
    d = browser()
    try:
        sign_in(d)
        wait(d, lambda x: len(rows(x)) == 3, "three rows")
        r = rows(d)
        for job, status in [(a, "active"), (b, "active"), (c, "paused")]:
            check(r[job["id"]].get_attribute("data-status") == status, f"{job['name']} row status")
            check(r[job["id"]].find_element(By.CSS_SELECTOR, ".badge").text == status, f"{job['name']} badge")
        ra = r[a["id"]].text
        check("daily at 03:00" in ra and "Europe/Berlin" in ra, f"alpha's schedule: {ra}")
        check("0 of 5" in ra, f"alpha's errors: {ra}")
        check("every 1h" in r[b["id"]].text, f"beta's schedule: {r[b['id']].text}")
        check("every 15 minutes" in r[c["id"]].text and "America/New_York" in r[c["id"]].text, "gamma's schedule")
        check(re.search(r"in \d+ (minutes?|hours?|seconds?)", ra), f"alpha's relative next run: {ra}")
        # Fleet health on top.
        wait(d, lambda x: text_of(x, '#health [data-status="active"] .count') == "2", "2 active in health")
        check(text_of(d, '#health [data-status="paused"] .count') == "1", "1 paused in health")
        # Filters.
        Select(find(d, "#f-status")).select_by_value("paused")
        wait(d, lambda x: row_names(x) == ["gamma-held"], "status filter")
        Select(find(d, "#f-status")).select_by_value("")
        wait(d, lambda x: len(rows(x)) == 3, "status filter cleared")
        find(d, "#f-group").send_keys("etl")
        wait(d, lambda x: row_names(x) == ["alpha-nightly"], "group filter")
        erase(find(d, "#f-group"))
        wait(d, lambda x: len(rows(x)) == 3, "group filter cleared")
        find(d, "#f-name").send_keys("BET")
        wait(d, lambda x: row_names(x) == ["beta-hourly"], "name filter")
        erase(find(d, "#f-name"))
        wait(d, lambda x: len(rows(x)) == 3, "name filter cleared")
        # Sorting.
        wait(d, lambda x: row_names(x) == ["alpha-nightly", "beta-hourly", "gamma-held"], "sorted by name")
        find(d, "#sort-name").click()
        wait(d, lambda x: row_names(x) == ["gamma-held", "beta-hourly", "alpha-nightly"], "name descending")
        check(find(d, 'th[data-key="name"]').get_attribute("aria-sort") == "descending", "aria-sort")
        find(d, "#sort-status").click()
        wait(d, lambda x: row_names(x)[-1] == "gamma-held", "sorted by status")
        # Live: a job created and one paused behind the page's back show up without a reload.
        d.execute_script("window.__not_reloaded = true")
        e = create("delta-new")
        api("POST", f"/api/jobs/{b['id']}/pause", {}, expect=200)
        wait(d, lambda x: e["id"] in rows(x), "the new job appears")
        wait(d, lambda x: rows(x)[b["id"]].get_attribute("data-status") == "paused", "beta paused live")
        wait(d, lambda x: text_of(x, '#health [data-status="paused"] .count') == "2", "health updated live")
        check(d.execute_script("return window.__not_reloaded === true"), "the page was reloaded")
        no_console_errors(d)
    finally:
        close(d)


def part_failed():
    """A job running `false` with max errors 3 fails; only force revives it, and the audit says so."""
    job = create("always-fails", {"kind": "every", "every": "1s"}, argv=["false"],
                 policies={"max_consecutive_errors": 3, "backoff": ["250ms"]})
    d = browser()
    try:
        sign_in(d, "#/job/" + job["id"])
        wait(d, lambda x: job_status(x) == "failed", "the job shown failed", timeout=90)
        wait(d, lambda x: find(x, "#act-revive") is not None, "the revive button")
        check(find(d, "#act-resume") is None, "plain resume is offered on a failed job")
        check(find(d, "#act-pause") is None and find(d, "#act-run") is None, "pause or run on a failed job")
        check(find(d, "#act-delete") is not None and find(d, "#act-edit") is not None, "delete and edit")
        status, _, body = request("POST", f"/api/jobs/{job['id']}/resume")
        check(status == 409 and b"force" in body, f"plain resume through the API: {status}")
        wait(d, lambda x: len(x.find_elements(By.CSS_SELECTOR, "#runs tbody tr td")) > 3, "failed runs listed")
        check("failed" in text_of(d, "#runs"), "runs show the failures")
        # Fixed first (a long interval), so that it stays active once revived.
        api("PATCH", f"/api/jobs/{job['id']}", {"schedule": {"kind": "every", "every": "1h"}}, expect=200)
        current = api("GET", f"/api/jobs/{job['id']}", expect=200)
        check(current["status"] == "failed", "the patch revived it")
        find(d, "#act-revive").click()
        shown(d, "#revive-dialog")
        check(text_of(d, "#revive-count") == str(current["consecutive_errors"]) == "3",
              f"the confirm shows {text_of(d, '#revive-count')} errors to clear")
        check(current["last_error"] and current["last_error"] in text_of(d, "#revive-error"),
              f"the confirm shows the last error: {text_of(d, '#revive-error')!r} vs {current['last_error']!r}")
        check(api("GET", f"/api/jobs/{job['id']}")["status"] == "failed", "revived before the confirm")
        find(d, "#revive-note").send_keys("fixed the interval")
        find(d, "#revive-dialog-ok").click()
        wait(d, lambda x: job_status(x) == "active", "active after the revive")
        check(find(d, "#revive-dialog") is None, "the confirm stays open")
        check(api("GET", f"/api/jobs/{job['id']}")["status"] == "active", "the daemon has it active")
        wait(d, lambda x: any(r[2] == "resume:force" for r in audit_rows(x)), "resume:force in the audit")
        entry = next(r for r in audit_rows(d) if r[2] == "resume:force")
        check(entry[1].startswith("http") and "failed → active" in entry[3] and "fixed the interval" in entry[4],
              f"the audit entry: {entry}")
        check(find(d, "#act-pause") is not None and find(d, "#act-revive") is None, "buttons of an active job")
        no_console_errors(d)
    finally:
        close(d)


def part_pause():
    """Pause with a note, then resume; the buttons follow the status; the audit has both."""
    job = create("pausable", {"kind": "every", "every": "1h"})
    d = browser()
    try:
        sign_in(d, "#/job/" + job["id"])
        wait(d, lambda x: job_status(x) == "active", "active")
        check(find(d, "#act-resume") is None and find(d, "#act-revive") is None, "resume on an active job")
        find(d, "#act-pause").click()
        shown(d, "#pause-note").send_keys("maintenance window")
        find(d, "#pause-dialog-ok").click()
        wait(d, lambda x: job_status(x) == "paused", "paused")
        check(api("GET", f"/api/jobs/{job['id']}")["status"] == "paused", "the daemon has it paused")
        wait(d, lambda x: find(x, "#act-resume") is not None, "the resume button")
        check(find(d, "#act-pause") is None and find(d, "#act-run") is None and find(d, "#act-revive") is None,
              "buttons of a paused job")
        wait(d, lambda x: any(r[2] == "pause" and "maintenance window" in r[4] and "active → paused" in r[3]
                              for r in audit_rows(x)), "the pause and its note in the audit")
        find(d, "#act-resume").click()
        wait(d, lambda x: job_status(x) == "active", "active again")
        wait(d, lambda x: any(r[2] == "resume" and "paused → active" in r[3] for r in audit_rows(x)),
             "the resume in the audit")
        check(not any(r[2] == "resume:force" for r in audit_rows(d)), "a plain resume recorded as forced")
        # Delete, behind its confirm.
        find(d, "#act-delete").click()
        shown(d, "#delete-dialog-cancel").click()
        check(api("GET", f"/api/jobs/{job['id']}")["status"] == "active", "cancel deleted it")
        find(d, "#act-delete").click()
        shown(d, "#delete-dialog-ok").click()
        wait(d, lambda x: find(x, "#jobs") is not None and job["id"] not in rows(x), "back to the jobs, without it")
        check(request("GET", f"/api/jobs/{job['id']}")[0] == 404, "the daemon still has it")
        check(any(e["action"] == "delete" for e in api("GET", f"/api/jobs/{job['id']}/audit", expect=200)["entries"]),
              "the delete is not in the audit")
        no_console_errors(d)
    finally:
        close(d)


def part_run_now():
    """Run now starts a run that the history shows with its output; a refusal's message is shown."""
    job = create("on-demand", {"kind": "every", "every": "1h"}, argv=["sh", "-c", "echo hello-from-the-run"])
    slow = create("slow-one", {"kind": "every", "every": "1h"}, argv=["sleep", "60"], policies={"timeout": "2m"})
    d = browser()
    try:
        sign_in(d, "#/job/" + job["id"])
        wait(d, lambda x: job_status(x) == "active", "active")
        find(d, "#act-run").click()
        wait(d, lambda x: "succeeded" in text_of(x, "#runs tbody"), "the run succeeded in the history")
        runs = api("GET", f"/api/jobs/{job['id']}/runs", expect=200)["runs"]
        check(len(runs) == 1 and runs[0]["trigger"] == "manual", f"runs: {runs}")
        row = text_of(d, "#runs tbody")
        check("manual" in row, f"the run's trigger: {row}")
        find(d, "#runs details summary").click()
        wait(d, lambda x: "hello-from-the-run" in text_of(x, "#runs details pre"), "the output tail")
        # A second run now while one is in flight is refused (overlap skip): the message shows.
        d.execute_script("location.hash = arguments[0]", "#/job/" + slow["id"])
        wait(d, lambda x: text_of(x, "#job-name") == "slow-one" and job_status(x) == "active", "the slow job")
        find(d, "#act-run").click()
        wait(d, lambda x: "running" in text_of(x, "#runs tbody") or
             api("GET", f"/api/jobs/{slow['id']}")["runs_in_flight"], "the slow run in flight")
        wait(d, lambda x: find(x, "#act-run") is not None, "run now still offered")
        find(d, "#act-run").click()
        wait(d, lambda x: "in flight" in text_of(x, "#action-error"), "the refusal's message")
        check("409" in text_of(d, "#action-error"), f"the refusal: {text_of(d, '#action-error')}")
        check(len(api("GET", f"/api/jobs/{slow['id']}/runs")["runs"]) == 1, "a second run started")
    finally:
        close(d)


def part_create():
    """An invalid cron shows the field's error as you type and creates nothing; a valid one shows
    the next fires before the save, and the save creates exactly that job."""
    d = browser()
    try:
        sign_in(d, "#/new")
        shown(d, "#edit")
        wait(d, lambda x: len(x.find_elements(By.CSS_SELECTOR, "#preview li")) == 5, "the default's fires")
        find(d, "#e-name").send_keys("from-the-form")
        cron = find(d, "#e-cron")
        cron.clear()
        cron.send_keys("61 * * * *")
        wait(d, lambda x: find(x, "#e-cron").get_attribute("aria-invalid") == "true", "the cron field marked invalid")
        msg = text_of(d, "#e-cron-msg")
        check("schedule" in msg or "cron" in msg or "minute" in msg, f"the field's error: {msg!r}")
        check(not d.find_elements(By.CSS_SELECTOR, "#preview li"), "fires shown for an invalid cron")
        find(d, "#e-argv").send_keys("true")
        find(d, "#save").click()
        wait(d, lambda x: text_of(x, "#save-error") != "", "the save's refusal")
        check("400" in text_of(d, "#save-error"), f"the refusal: {text_of(d, '#save-error')}")
        check(find(d, "#e-cron").get_attribute("aria-invalid") == "true", "the field's error after the save")
        check(all_jobs() == [], "an invalid cron created a job")
        # Fixed as you type: the words and the next fires, before any save.
        cron.clear()
        cron.send_keys("30 2 * * *")
        tz = find(d, "#e-tz")
        tz.clear()
        tz.send_keys("Europe/Berlin")
        wait(d, lambda x: find(x, "#e-cron").get_attribute("aria-invalid") is None, "the cron accepted")
        wait(d, lambda x: "daily at 02:30" in text_of(x, "#e-cron-msg"), "the cron in words")
        wait(d, lambda x: len(x.find_elements(By.CSS_SELECTOR, "#preview li")) == 5, "five fires")
        check(all_jobs() == [], "created before the save")
        tz.send_keys("x")
        wait(d, lambda x: find(x, "#e-tz").get_attribute("aria-invalid") == "true", "a bad zone marked")
        tz.send_keys(Keys.BACKSPACE)
        wait(d, lambda x: find(x, "#e-tz").get_attribute("aria-invalid") is None, "the zone accepted")
        find(d, "#save").click()
        wait(d, lambda x: text_of(x, "#job-name") == "from-the-form", "the new job's page")
        jobs = all_jobs()
        check(len(jobs) == 1 and jobs[0]["schedule"] == {"kind": "cron", "cron": "30 2 * * *", "tz": "Europe/Berlin"}
              and jobs[0]["target"]["argv"] == ["true"], f"created: {jobs}")
        wait(d, lambda x: len(x.find_elements(By.CSS_SELECTOR, "#fires li")) == 10, "the next 10 fires")
        # DST transitions are marked: ten monthly fires in Berlin always cross one; UTC has none.
        monthly = create("monthly-berlin", {"kind": "cron", "cron": "0 12 1 * *", "tz": "Europe/Berlin"})
        utc = create("monthly-utc", {"kind": "cron", "cron": "0 12 1 * *", "tz": "UTC"})
        d.execute_script("location.hash = arguments[0]", "#/job/" + monthly["id"])
        wait(d, lambda x: text_of(x, "#job-name") == "monthly-berlin" and
             len(x.find_elements(By.CSS_SELECTOR, "#fires li")) == 10, "the monthly job's fires")
        marks = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#fires li.dst .dst-mark")]
        check(1 <= len(marks) <= 2 and all(re.search(r"GMT\+0[12]:00 → GMT\+0[12]:00", m) for m in marks),
              f"DST marks: {marks}")
        d.execute_script("location.hash = arguments[0]", "#/job/" + utc["id"])
        wait(d, lambda x: text_of(x, "#job-name") == "monthly-utc" and
             len(x.find_elements(By.CSS_SELECTOR, "#fires li")) == 10, "the UTC job's fires")
        check(not d.find_elements(By.CSS_SELECTOR, "#fires li.dst"), "DST marked in UTC")
        d.execute_script("location.hash = arguments[0]", "#/edit/" + jobs[0]["id"])
        shown(d, "#edit")
        wait(d, lambda x: find(x, "#e-name").get_attribute("value") == "from-the-form", "the edit form")
        name = find(d, "#e-name")
        name.clear()
        name.send_keys("renamed-in-the-form")
        find(d, "#save").click()
        wait(d, lambda x: text_of(x, "#job-name") == "renamed-in-the-form", "the renamed job's page")
        check(api("GET", f"/api/jobs/{jobs[0]['id']}")["name"] == "renamed-in-the-form", "the rename")
        # An edit sends what it changed only: what the form does not show stays as it was.
        rich = api("POST", "/api/jobs", {"name": "rich", "schedule": {"kind": "every", "every": "1h",
                                                                      "anchor": "2030-01-01T00:00:30Z"},
                                         "target": {"kind": "exec", "argv": ["true"], "env": {"A": "1"}, "cwd": "/tmp"},
                                         "policies": {"misfire": "skip", "jitter": "5s"}}, expect=201)
        d.execute_script("location.hash = arguments[0]", "#/edit/" + rich["id"])
        wait(d, lambda x: find(x, "#e-name") is not None and find(x, "#e-name").get_attribute("value") == "rich",
             "the rich job's form")
        argv = find(d, "#e-argv")
        argv.send_keys(Keys.CONTROL + "a")
        argv.send_keys("sh\n-c\nexit 0")
        grp = find(d, "#e-group")
        grp.send_keys("batch")
        find(d, "#save").click()
        wait(d, lambda x: text_of(x, "#job-name") == "rich" and find(x, "#definition dl") is not None, "the rich job's page")
        after = api("GET", f"/api/jobs/{rich['id']}", expect=200)
        check(after["target"]["argv"] == ["sh", "-c", "exit 0"] and after["policies"]["group"] == "batch",
              f"the edit: {after['target']} {after['policies']}")
        for key in ["env", "cwd"]:
            check(after["target"][key] == rich["target"][key], f"the edit changed target {key}: {after['target']}")
        for key in ["misfire", "jitter", "timeout", "max_consecutive_errors"]:
            check(after["policies"][key] == rich["policies"][key], f"the edit changed policies {key}")
        check(after["schedule"] == rich["schedule"], f"the edit changed the schedule: {after['schedule']}")
        no_console_errors(d)
    finally:
        close(d)


def part_token():
    """No token, no data: the sign-in form; a wrong token is refused; #token= signs in and goes."""
    create("needs-a-token")
    d = browser()
    try:
        d.get(HTTP + "/ui/")
        shown(d, "#sign-in")
        check(find(d, "#jobs") is None and "needs-a-token" not in d.page_source, "data without a token")
        find(d, "#token-input").send_keys("wrong-token-0123456789")
        find(d, "#token-input").send_keys(Keys.ENTER)
        wait(d, lambda x: "refused" in text_of(x, "#sign-in-error"), "the wrong token refused")
        check("needs-a-token" not in d.page_source, "data with a wrong token")
        check(d.execute_script("return sessionStorage.getItem('almanac.token')") is None, "a refused token kept")
        find(d, "#token-input").send_keys(TOKEN + Keys.ENTER)
        wait(d, lambda x: "needs-a-token" in row_names(x), "signed in with the form")
        find(d, "#sign-out").click()
        shown(d, "#sign-in")
        check(d.execute_script("return sessionStorage.getItem('almanac.token')") is None, "signed out keeps the token")
        # The fragment: signs in, and leaves neither the address bar nor the history.
        d.get(HTTP + "/ui/#token=" + urllib.parse.quote(TOKEN))
        wait(d, lambda x: "needs-a-token" in row_names(x), "signed in by the fragment")
        check("token" not in d.current_url and TOKEN not in d.current_url, f"the address bar: {d.current_url}")
        check(d.execute_script("return sessionStorage.getItem('almanac.token')") == TOKEN, "the token kept")
        check(TOKEN not in d.execute_script("return document.cookie + location.href + document.referrer"), "leaked")
        # Another tab's session starts without it (sessionStorage, not localStorage).
        check(d.execute_script("return localStorage.length") == 0, "the token in localStorage")
        # A token that stops working sends the page back to the sign-in form.
        d.execute_script("sessionStorage.setItem('almanac.token', 'revoked-0123456789')")
        wait(d, lambda x: find(x, "#sign-in") is not None, "back to the sign-in on a 401", timeout=WAIT)
    finally:
        close(d)


def part_layout():
    """Readable at 1280x800 and at a phone's width, light and dark, and usable by keyboard."""
    create("layout-one", {"kind": "cron", "cron": "0 9 * * 1-5", "tz": "Asia/Tokyo"}, policies={"group": "reports"})
    create("layout-two-with-a-rather-long-name-for-a-phone", {"kind": "every", "every": "5m"})
    for width, height in [(1280, 800), (390, 844)]:
        d = browser(width, height)
        try:
            sign_in(d)
            wait(d, lambda x: len(rows(x)) == 2, "two rows")
            over = d.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            check(over <= 0, f"{width}px: the page is {over}px wider than the window")
            for css in ["#f-status", "#f-group", "#f-name", "#token-input"]:
                e = find(d, css)
                if e is None:
                    continue
                eid = e.get_attribute("id")
                check(d.find_elements(By.CSS_SELECTOR, f'label[for="{eid}"]'), f"{css} has no label")
            colors = {}
            for scheme in ["light", "dark"]:
                d.execute_cdp_cmd("Emulation.setEmulatedMedia",
                                  {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
                colors[scheme] = d.execute_script(
                    "return [getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]")
            check(colors["light"] != colors["dark"], f"dark and light look the same: {colors}")
            if width == 1280:
                os.makedirs(f"{TMP}/shots", exist_ok=True)
                # Keyboard: Tab reaches the first job's link; Enter opens it; Escape closes a confirm.
                d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
                body = find(d, "body")
                body.click()
                for _ in range(30):
                    active = d.switch_to.active_element
                    if active.get_attribute("class") == "job-link":
                        break
                    active.send_keys(Keys.TAB)
                active = d.switch_to.active_element
                check(active.get_attribute("class") == "job-link", "Tab never reaches a job's link")
                name = active.text
                active.send_keys(Keys.ENTER)
                wait(d, lambda x: text_of(x, "#job-name") == name, "Enter opens the job")
                wait(d, lambda x: find(x, "#act-pause") is not None, "the pause button")
                find(d, "#act-pause").send_keys(Keys.ENTER)
                wait(d, lambda x: d.switch_to.active_element.get_attribute("id") == "pause-note", "focus in the confirm")
                d.switch_to.active_element.send_keys(Keys.ESCAPE)
                wait(d, lambda x: find(x, "#pause-dialog") is None, "Escape closes the confirm")
        finally:
            close(d)


# --- not in CTest: screenshots for docs/ and the first-render time ---------------------------

def part_screenshots(out):
    ok = create("nightly-report", {"kind": "cron", "cron": "30 2 * * *", "tz": "Europe/Berlin"},
                argv=["sh", "-c", "echo report written"], policies={"group": "reports", "max_consecutive_errors": 5})
    create("cache-warmup", {"kind": "every", "every": "10m"}, policies={"group": "web"})
    held = create("weekly-backup", {"kind": "cron", "cron": "0 4 * * 0", "tz": "America/New_York"},
                  argv=["true"], policies={"group": "ops"})
    api("POST", f"/api/jobs/{held['id']}/pause", {"note": "storage migration"}, expect=200)
    bad = create("sync-invoices", {"kind": "every", "every": "1s"}, argv=["sh", "-c", "echo 'upstream refused: 503' >&2; false"],
                 policies={"max_consecutive_errors": 3, "backoff": ["250ms"]})
    create("hourly-digest", {"kind": "cron", "cron": "5 * * * *", "tz": "UTC"})
    api("POST", f"/api/jobs/{ok['id']}/run", {}, expect=200)
    deadline = time.monotonic() + 60
    while api("GET", f"/api/jobs/{bad['id']}")["status"] != "failed":
        check(time.monotonic() < deadline, "the failing job never failed")
        time.sleep(0.2)
    api("PATCH", f"/api/jobs/{bad['id']}", {"schedule": {"kind": "every", "every": "15m"}}, expect=200)
    d = browser(1280, 800)
    try:
        sign_in(d)
        wait(d, lambda x: len(rows(x)) == 5, "five rows")
        wait(d, lambda x: rows(x)[bad["id"]].get_attribute("data-status") == "failed", "failed row")
        d.save_screenshot(f"{out}/ui-jobs.png")
        d.execute_script("location.hash = arguments[0]", "#/job/" + ok["id"])
        wait(d, lambda x: "succeeded" in text_of(x, "#runs tbody") and len(x.find_elements(By.CSS_SELECTOR, "#fires li")) == 10, "job page")
        d.save_screenshot(f"{out}/ui-job.png")
        d.execute_script("location.hash = arguments[0]", "#/job/" + bad["id"])
        wait(d, lambda x: find(x, "#act-revive") is not None, "revive")
        find(d, "#act-revive").click()
        shown(d, "#revive-dialog")
        d.save_screenshot(f"{out}/ui-revive.png")
        d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
        d.set_window_size(390, 844)
        d.execute_script("location.hash = '#/jobs'")
        wait(d, lambda x: len(rows(x)) == 5, "five rows")
        d.save_screenshot(f"{out}/ui-jobs-phone-dark.png")
    finally:
        close(d)


def part_measure(n):
    """Creates N jobs through the API, then times loading /ui/ to the first page of rows drawn."""
    n = int(n)
    conn = http.client.HTTPConnection(ADDR.hostname, ADDR.port, timeout=30)
    t0 = time.monotonic()
    for i in range(n):
        body = json.dumps({"name": f"job-{i:06d}", "schedule": {"kind": "cron", "cron": f"{i % 60} * * * *", "tz": "UTC"},
                           "target": {"kind": "exec", "argv": ["true"]}, "policies": {"group": f"g{i % 20}"}})
        conn.request("POST", "/api/jobs", body=body,
                     headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        check(r.status == 201, f"create {i}: {r.status}")
    conn.close()
    print(f"created {n} jobs in {time.monotonic() - t0:.1f} s")
    d = browser()
    try:
        d.get(HTTP + "/ui/#token=" + urllib.parse.quote(TOKEN))
        wait(d, lambda x: len(rows(x)) == 100, "100 rows")
        for i in range(5):
            d.execute_script("window.__t0 = performance.now(); location.reload()")
            wait(d, lambda x: len(rows(x)) == 100, "100 rows")
            nav = d.execute_script(
                "const n = performance.getEntriesByType('navigation')[0];"
                "const drawn = +document.getElementById('jobs').dataset.loaded;"
                "return [drawn - performance.timeOrigin, n.domContentLoadedEventEnd];")
            print(f"load {i + 1}: first page of 100 rows drawn {nav[0]:.0f} ms after navigation start "
                  f"(DOMContentLoaded {nav[1]:.0f} ms)")
        def timed(what, action):
            before = d.execute_script("return +document.getElementById('jobs').dataset.loaded")
            d.execute_script("window.__t = Date.now();" + action)
            wait(d, lambda x: x.execute_script("return +document.getElementById('jobs').dataset.loaded") > before,
                 what)
            took = d.execute_script("return +document.getElementById('jobs').dataset.loaded - window.__t")
            print(f"{what}: {took} ms")

        first = set(row_names(d))
        timed("next page", "document.getElementById('next-page').click()")
        check(len(rows(d)) == 100 and not first & set(row_names(d)), "page 2 is page 1")
        timed("group filter, 1 job in 20 (with the 300 ms typing debounce)", "const g = document.getElementById('f-group');"
              "g.value = 'g7'; g.dispatchEvent(new Event('input'))")
        check(len(rows(d)) == 100 and all("group g7" in r.text for r in rows(d).values()), "the g7 page")
    finally:
        close(d)


PARTS = {n[5:]: f for n, f in globals().items() if n.startswith("part_")}

if __name__ == "__main__":
    part = sys.argv[1]
    if part not in PARTS:
        sys.exit(f"unknown part {part}; one of {', '.join(PARTS)}")
    try:
        PARTS[part](*sys.argv[2:])
    except Failure as e:
        print(f"FAIL ({part}): {e}", file=sys.stderr)
        for d in DRIVERS:
            try:
                print("--- page:", d.current_url, file=sys.stderr)
                print(d.find_element(By.TAG_NAME, "body").text[:3000], file=sys.stderr)
                for line in d.get_log("browser")[-20:]:
                    print("console:", line.get("message"), file=sys.stderr)
            except Exception:
                pass
            d.quit()
        sys.exit(1)
    print(f"ok: {part}")
