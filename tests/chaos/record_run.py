#!/usr/bin/env python3
"""The chaos driver's exec target: appends this run's key and start time to a file, durably,
stays for a while, then appends its end.

Usage: record_run.py FILE [EXIT_CODE [HOLD_SECONDS]]

Two lines a run: "JOB_ID SCHEDULED_FOR RUN_ID UNIX_US PID EXIT_CODE start" when it starts and the
same with "end" (and the time then) after HOLD_SECONDS (default 0), from the run key almanacd
passes in the environment (tools/almanacd/exec_runner.hpp). Each line is one write to a file opened with
O_APPEND, then fsync'd, so concurrent runs never interleave and a kill of the daemon right after
the spawn still leaves the record. A run killed with its daemon has no end line: the driver checks
that its process is gone before the daemon restarts. The hold is what makes two copies of one
job's run at once visible. Nothing is printed: the daemon that reads the output pipe may already
be dead.
"""
import os
import sys
import time


def record(path, code, phase):
    line = "%s %s %s %d %d %d %s\n" % (
        os.environ.get("ALMANAC_JOB_ID", "-"),
        os.environ.get("ALMANAC_SCHEDULED_FOR", "-"),
        os.environ.get("ALMANAC_RUN_ID", "-"),
        time.time_ns() // 1000,
        os.getpid(),
        code,
        phase,
    )
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def main():
    path = sys.argv[1]
    code = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    hold = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    record(path, code, "start")
    if hold > 0:
        time.sleep(hold)
    record(path, code, "end")
    return code


if __name__ == "__main__":
    sys.exit(main())
