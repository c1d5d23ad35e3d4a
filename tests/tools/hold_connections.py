#!/usr/bin/env python3
"""Opens up to COUNT idle TCP connections to a loopback HOST:PORT and holds them for HOLD
seconds, then closes them all and exits. Stops opening at the first connection that does not
complete within a second (the peer stopped accepting and its backlog is full). Prints the number
opened once they are all open, on stdout.

Usage: hold_connections.py HOST PORT COUNT HOLD
Only loopback addresses are accepted: this exists to exhaust a local daemon's file descriptors
in a test, never anything else's."""
import ipaddress
import socket
import sys
import time


def main():
    host, port, count, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit("hold_connections.py: %s is not a loopback address" % host)
    if not 0 < count <= 4000 or not 0 < hold <= 120:
        sys.exit("hold_connections.py: COUNT must be 1-4000 and HOLD 0-120 seconds")
    held = []
    try:
        for _ in range(count):
            try:
                held.append(socket.create_connection((host, port), timeout=1))
            except OSError:
                break
        print(len(held), flush=True)
        time.sleep(hold)
    finally:
        for s in held:
            s.close()


if __name__ == "__main__":
    main()
