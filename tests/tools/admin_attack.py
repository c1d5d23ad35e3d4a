#!/usr/bin/env python3
"""Attacks on almanacd's admin port, for e2e_admin_port.sh. Each prints one line of figures on
stdout and exits 0 once the attack ran (the script judges the figures); a bounded wait never
hangs. Only loopback addresses are accepted.

  basp-header HOST PORT WAIT      one 32-byte BASP header announcing a 0xF0000000-byte payload,
                                  no secret, no TLS: prints "closed SECONDS" or "open"
  silent HOST PORT WAIT           connects and sends nothing: "closed SECONDS BYTES" or "open BYTES"
                                  (BYTES: what the daemon sent meanwhile)
  plain-basp HOST PORT WAIT       what a plain CAF client does: connects, waits for the server's
                                  BASP handshake: "reply BYTES" when any byte came, else "closed"
                                  or "silent"
  tls HOST PORT CERT KEY CA WAIT  a TLS client with this certificate: "reply BYTES" when
                                  application data came, "refused WHY" when the daemon closed
  tls-idle HOST PORT CERT KEY CA WAIT
                                  the same, then silent: "reply BYTES closed SECONDS" when the
                                  daemon closed it within WAIT seconds, "reply BYTES open" if not
  stall HOST PORT CERT KEY CA WAIT
                                  a real TLS client that sends its ClientHello, reads the server's
                                  answer and then stalls: "closed SECONDS BYTES" or "open BYTES"
  hold HOST PORT COUNT WAIT       opens COUNT idle connections, waits up to WAIT seconds while the
                                  daemon closes some: "open N closed M" (held N until the end)
"""
import ipaddress
import socket
import ssl
import struct
import sys
import time


def closed_within(s, wait):
    """(closed?, seconds, bytes received) reading until EOF or `wait` seconds."""
    start = time.monotonic()
    got = 0
    while True:
        left = wait - (time.monotonic() - start)
        if left <= 0:
            return False, wait, got
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return False, wait, got
        except OSError:
            return True, time.monotonic() - start, got
        if not chunk:
            return True, time.monotonic() - start, got
        got += len(chunk)


def basp_header(host, port, wait):
    # op 0 (server handshake), 2 padding bytes, flags, payload_len 0xF0000000, then operation
    # data, source and destination actor ids (header.hpp of CAF 0.17).
    header = struct.pack(">BBBBIQQQ", 0, 0, 0, 0, 0xF0000000, 1, 0, 0)
    assert len(header) == 32
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(header)
        closed, secs, _ = closed_within(s, wait)
    print("closed %.2f" % secs if closed else "open")


def silent(host, port, wait):
    with socket.create_connection((host, port), timeout=5) as s:
        closed, secs, got = closed_within(s, wait)
    print("closed %.2f %d" % (secs, got) if closed else "open %d" % got)


def plain_basp(host, port, wait):
    with socket.create_connection((host, port), timeout=5) as s:
        closed, _, got = closed_within(s, wait)
    print("reply %d" % got if got else ("closed" if closed else "silent"))


def tls(host, port, cert, key, ca, wait, then_idle=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(cert, key)
    raw = socket.create_connection((host, port), timeout=wait)
    try:
        with ctx.wrap_socket(raw, server_hostname="almanacd") as s:
            data = s.recv(65536)
            if not data:
                print("refused eof")
            elif not then_idle:
                print("reply %d" % len(data))
            else:
                closed, secs, _ = closed_within(s, wait)
                print("reply %d %s" % (len(data), "closed %.2f" % secs if closed else "open"))
    except (ssl.SSLError, OSError) as e:
        print("refused %s" % type(e).__name__)


def stall(host, port, cert, key, ca, wait):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(cert, key)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls_object = ctx.wrap_bio(incoming, outgoing, server_hostname="almanacd")
    try:
        tls_object.do_handshake()
    except ssl.SSLWantReadError:
        pass
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(outgoing.read())
        closed, secs, got = closed_within(s, wait)
    print("closed %.2f %d" % (secs, got) if closed else "open %d" % got)


def hold(host, port, count, wait):
    held = []
    try:
        for _ in range(count):
            held.append(socket.create_connection((host, port), timeout=5))
        deadline = time.monotonic() + wait
        open_ = list(held)
        closed = 0
        while open_ and time.monotonic() < deadline:
            still = []
            for s in open_:
                s.setblocking(False)
                try:
                    data = s.recv(1)
                    if not data:
                        closed += 1
                        continue
                except BlockingIOError:
                    pass
                except OSError:
                    closed += 1
                    continue
                still.append(s)
            open_ = still
            time.sleep(0.1)
        print("open %d closed %d" % (len(open_), closed), flush=True)
    finally:
        for s in held:
            s.close()


def main():
    cmd, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit("admin_attack.py: %s is not a loopback address" % host)
    args = sys.argv[4:]
    if cmd == "basp-header":
        basp_header(host, port, float(args[0]))
    elif cmd == "silent":
        silent(host, port, float(args[0]))
    elif cmd == "plain-basp":
        plain_basp(host, port, float(args[0]))
    elif cmd == "tls":
        tls(host, port, args[0], args[1], args[2], float(args[3]))
    elif cmd == "tls-idle":
        tls(host, port, args[0], args[1], args[2], float(args[3]), then_idle=True)
    elif cmd == "stall":
        stall(host, port, args[0], args[1], args[2], float(args[3]))
    elif cmd == "hold":
        count, wait = int(args[0]), float(args[1])
        if not 0 < count <= 1000 or not 0 < wait <= 120:
            sys.exit("admin_attack.py: COUNT must be 1-1000 and WAIT 0-120 seconds")
        hold(host, port, count, wait)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
