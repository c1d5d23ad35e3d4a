#!/usr/bin/env python3
"""The attacks of http_attack_test.cpp against a real almanacd, with what the daemon holds meanwhile.

    python3 tests/reliability/http_attack_figures.py --almanacd build/bin/almanacd

Starts the daemon on a fresh data directory (127.0.0.1, ports picked by the system), performs each
attack and prints: how long a normal request took during it, the daemon's peak resident memory above
its idle figure, its peak open descriptors, and what the attack got. Every wait is bounded; the daemon
is stopped at the end. The figures in docs/SECURITY.md come from this script.
"""
import argparse
import json
import os
import socket
import subprocess
import tempfile
import threading
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


class Sampler:
    """The daemon's peak RSS and descriptor count while an attack runs."""

    def __init__(self, pid):
        self.pid, self.peak_rss, self.peak_fds, self.stop = pid, 0, 0, False
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop:
            self.peak_rss = max(self.peak_rss, rss_kib(self.pid))
            self.peak_fds = max(self.peak_fds, fds(self.pid))
            time.sleep(0.05)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *a):
        self.stop = True
        self.thread.join()


def request(port, text, timeout=15.0):
    """(status or None, seconds) for one request on its own connection."""
    start = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(text.encode())
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            status = int(data.split(b" ")[1]) if data.startswith(b"HTTP/1.1 ") else None
            return status, time.monotonic() - start
    except OSError:
        return None, time.monotonic() - start


# The bearer token of a daemon that generates one into its data directory (none for older ones).
TOKEN = None


def http(port, method, path, body=b"", headers=()):
    text = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
    if TOKEN:
        text += f"Authorization: Bearer {TOKEN}\r\n"
    for h in headers:
        text += h + "\r\n"
    if body:
        text += f"Content-Length: {len(body)}\r\n"
    return text + "\r\n" + body.decode()


def job(name):
    return json.dumps({"name": name, "schedule": {"kind": "every", "every": "1h"},
                       "target": {"kind": "exec", "argv": ["true"]}}).encode()


def job_names(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(http(port, "GET", "/api/jobs").encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    body = data.split(b"\r\n\r\n", 1)[1]
    return [j["name"] for j in json.loads(body)["jobs"]]


def flood(port, first, chunk, total, limit=30.0):
    """Bytes the server took before it answered or closed, and its answer's status line."""
    s = socket.create_connection(("127.0.0.1", port), timeout=limit)
    s.settimeout(0.5)
    sent, answer, deadline = 0, b"", time.monotonic() + limit
    try:
        s.sendall(first)
        sent += len(first)
        while sent < total and time.monotonic() < deadline:
            s.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass
    try:
        s.settimeout(5)
        answer = s.recv(200)
    except OSError:
        pass
    s.close()
    return sent, answer.split(b"\r\n")[0].decode(errors="replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--almanacd", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = subprocess.Popen([args.almanacd, "--data", f"{tmp}/d", "--admin", "127.0.0.1:0",
                              "--http", "127.0.0.1:0"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
        try:
            line = d.stdout.readline()
            port = int(line.strip().split("http=")[1].rsplit(":", 1)[1])
            pid = d.pid
            global TOKEN
            if os.path.exists(f"{tmp}/d/credentials/http-token"):
                with open(f"{tmp}/d/credentials/http-token") as f:
                    TOKEN = f.read().strip()
            health = http(port, "GET", "/api/health")
            request(port, health)
            base_rss, base_fds = rss_kib(pid), fds(pid)
            print(f"idle: RSS {base_rss} KiB, {base_fds} fds")

            def report(name, sampler, extra):
                print(f"{name}: peak RSS +{(sampler.peak_rss - base_rss) / 1024:.1f} MiB, "
                      f"peak fds {sampler.peak_fds}; {extra}")

            # 8 connections sending one byte every 500 ms.
            with Sampler(pid) as smp:
                conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(8)]
                stop = threading.Event()

                def drip():
                    for k in range(60):
                        if stop.is_set():
                            return
                        for c in conns:
                            try:
                                c.send(b"GET /api/health HTTP/1.1\r\nX: "[k:k + 1] or b"x")
                            except OSError:
                                pass
                        time.sleep(0.5)
                t = threading.Thread(target=drip)
                t.start()
                time.sleep(0.5)
                status, took = request(port, health)
                stop.set()
                t.join()
                for c in conns:
                    c.close()
            report("8 slow-header connections", smp, f"a normal request: {status} in {took:.2f} s")

            with Sampler(pid) as smp:
                conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(200)]
                time.sleep(0.2)
                start = time.monotonic()
                status = None
                while status != 200 and time.monotonic() - start < 40:
                    status, _ = request(port, health, timeout=40)
                took = time.monotonic() - start
                for c in conns:
                    c.close()
            report("200 idle connections", smp, f"a normal request: {status} after {took:.2f} s")

            with Sampler(pid) as smp:
                sent, answer = flood(port, b"GET /", b"a" * 65536, 200 << 20)
            report("a 200 MiB line without a newline", smp,
                   f"taken {sent / 1048576:.1f} MiB, answer '{answer}'")
            time.sleep(1)
            base_rss = rss_kib(pid)

            fields = "".join(f"X-F{i}: v\r\n" for i in range(300000)).encode()
            with Sampler(pid) as smp:
                sent, answer = flood(port, f"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                                     .encode() + fields + b"\r\n", b"", 0)
            report("300,000 header fields", smp, f"answer '{answer}'")

            hidden = http(port, "POST", "/api/jobs", job("hidden"),
                          ["Content-Type: application/json"])
            outer = (f"POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {70000}\r\n\r\n" + hidden)
            status, _ = request(port, outer, timeout=5)
            time.sleep(0.5)
            print(f"413 with a create hidden in the body: {status}; "
                  f"hidden job created: {'hidden' in job_names(port)}")

            csrf = http(port, "POST", "/api/jobs", job("csrf"),
                        ["Content-Type: text/plain", "Origin: http://evil.example"])
            status, _ = request(port, csrf.replace(f"127.0.0.1:{port}", f"evil.example:{port}"))
            print(f"text/plain POST, Origin and Host evil.example: {status}; "
                  f"job created: {'csrf' in job_names(port)}")
            status, _ = request(port, http(port, "GET", "/api/jobs")
                                .replace(f"127.0.0.1:{port}", f"evil.example:{port}"))
            print(f"GET /api/jobs with Host evil.example: {status}")
        finally:
            d.terminate()
            try:
                d.wait(timeout=30)
            except subprocess.TimeoutExpired:
                d.kill()


if __name__ == "__main__":
    main()
