#!/usr/bin/env python3
"""smtpload - an SMTP load generator that times each RCPT

    smtpload.py HOST PORT SESSIONS MESSAGES RCPT-TEMPLATE [FIRST]

SESSIONS threads send MESSAGES messages in all, one connection per message
(as smtp-source does), each with one recipient made from RCPT-TEMPLATE:
"{n}" is replaced by the message's number (from FIRST, default 0), so
"user@d{n}.cold.test" sends every message to another domain. Prints one line:

    messages=N seconds=S rate=R rcpt-p50-ms=A rcpt-p99-ms=B msg-p50-ms=C msg-p99-ms=D failed=F

rate is messages per second; the RCPT times are from the client's side
(command sent to reply read), the message times from MAIL sent to the
reply to the end of data (a milter that does not answer RCPT makes its
decision show there, at end of message). With SMTPLOAD_SPREAD=yes in the environment
each message comes from a client network of its own (127.A.B.1, a /24
each), as mail from many senders does. With SMTPLOAD_RATE=R (messages per
second, in all) message n is not started before n / R seconds: a steady
load instead of as fast as the sessions go.
"""

import os
import socket
import sys
import threading
import time

BODY = b"Subject: bench\r\n\r\n" + b"x" * 500 + b"\r\n.\r\n"


def reply(f):
    """read one SMTP reply; return its code"""
    while True:
        line = f.readline()
        if not line:
            raise ConnectionError("connection closed")
        if line[3:4] != b"-":
            return int(line[:3])


def source(n):
    """the client address of message n: one /24 a message with SMTPLOAD_SPREAD"""
    if os.environ.get("SMTPLOAD_SPREAD") != "yes":
        return None
    return ("127.%d.%d.1" % (1 + n // 256 % 250, n % 256), 0)


def one_message(host, port, rcpt, src=None):
    """send one message; return its RCPT and message times in seconds, or None"""
    with socket.create_connection((host, port), timeout=60, source_address=src) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        f = s.makefile("rb")
        if reply(f) != 220:
            return None
        s.sendall(b"EHLO bench.test\r\n")
        reply(f)
        start = time.perf_counter()
        s.sendall(b"MAIL FROM:<bench@client.test>\r\n")
        if reply(f) != 250:
            return None
        t0 = time.perf_counter()
        s.sendall(b"RCPT TO:<" + rcpt.encode() + b">\r\n")
        code = reply(f)
        took = time.perf_counter() - t0
        if code != 250:
            return None
        s.sendall(b"DATA\r\n")
        if reply(f) != 354:
            return None
        s.sendall(BODY)
        if reply(f) != 250:
            return None
        whole = time.perf_counter() - start
        s.sendall(b"QUIT\r\n")
        reply(f)
        return took, whole


def percentiles(times):
    """the median and the 99th percentile of times, in milliseconds"""
    times = sorted(times) or [0.0]
    return (times[len(times) // 2] * 1000,
            times[min(len(times) - 1, int(len(times) * 0.99))] * 1000)


def main():
    host, port, sessions, messages, template = sys.argv[1:6]
    port, sessions, messages = int(port), int(sessions), int(messages)
    first = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    lock = threading.Lock()
    state = {"next": 0, "times": [], "whole": [], "failed": 0}
    rate = float(os.environ.get("SMTPLOAD_RATE") or 0)

    def worker():
        while True:
            with lock:
                n = state["next"]
                if n >= messages:
                    return
                state["next"] += 1
            if rate > 0:
                wait = state["t0"] + n / rate - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
            try:
                took = one_message(host, port, template.replace("{n}", str(first + n)),
                                   source(first + n))
            except OSError:
                took = None
            with lock:
                if took is None:
                    state["failed"] += 1
                else:
                    state["times"].append(took[0])
                    state["whole"].append(took[1])

    threads = [threading.Thread(target=worker) for _ in range(sessions)]
    t0 = state["t0"] = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    p50, p99 = percentiles(state["times"])
    m50, m99 = percentiles(state["whole"])
    print("messages=%d seconds=%.2f rate=%.1f rcpt-p50-ms=%.3f rcpt-p99-ms=%.3f "
          "msg-p50-ms=%.3f msg-p99-ms=%.3f failed=%d"
          % (messages, seconds, messages / seconds, p50, p99, m50, m99, state["failed"]))


if __name__ == "__main__":
    main()
