#!/usr/bin/env python3
"""The chaos driver's exec target: appends this run's key and start time to a file, durably.

Usage: record_run.py FILE [EXIT_CODE]

One line a run: "JOB_ID SCHEDULED_FOR RUN_ID START_UNIX_US PID EXIT_CODE", from the run key
almanacd passes in the environment (tools/exec_runner.hpp). The line is one write to a file
opened with O_APPEND, then fsync'd, so concurrent runs never interleave and a kill of the daemon
right after the spawn still leaves the record. Nothing is printed: the daemon that reads the
output pipe may already be dead.
"""
import os
import sys
import time


def main():
    start_us = time.time_ns() // 1000
    path = sys.argv[1]
    code = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    line = "%s %s %s %d %d %d\n" % (
        os.environ.get("ALMANAC_JOB_ID", "-"),
        os.environ.get("ALMANAC_SCHEDULED_FOR", "-"),
        os.environ.get("ALMANAC_RUN_ID", "-"),
        start_us,
        os.getpid(),
        code,
    )
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return code


if __name__ == "__main__":
    sys.exit(main())
