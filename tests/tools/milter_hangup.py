#!/usr/bin/env python3
"""milter_hangup - an MTA that writes its last commands and hangs up at once

    milter_hangup.py SOCKET CLIENT QID RCPT...

Speaks the milter protocol (version 6) to the milter at the unix socket
SOCKET: offers every action and step and reads the milter's answer, then,
owing nothing a reply it would wait for, writes in one go what an MTA
writes for a session that ends without a message (the client CLIENT
connects to 127.0.0.30; MAIL unless the milter skipped it; a RCPT for each
address, with the queue id QID; abort; quit) and closes the socket without
reading another byte. Prints the protocol flags the milter asked for, in
hex. What the milter made of the session is in its log.
"""

import socket
import struct
import sys

SMFIP_NOMAIL = 0x02
ALL_ACTIONS = 0x1FF
ALL_STEPS = 0x1FFFFF


def packet(cmd, data=b""):
    """one milter command: length, command byte, data"""
    return struct.pack("!I", len(data) + 1) + cmd + data


def nul(*words):
    """NUL-terminated strings, one after the other"""
    return b"".join(w.encode() + b"\0" for w in words)


def read_packet(s):
    """one packet of the milter's: (command byte, data)"""
    head = b""
    while len(head) < 4:
        more = s.recv(4 - len(head))
        if not more:
            raise ConnectionError("milter closed")
        head += more
    size = struct.unpack("!I", head)[0]
    body = b""
    while len(body) < size:
        more = s.recv(size - len(body))
        if not more:
            raise ConnectionError("milter closed")
        body += more
    return body[:1], body[1:]


def main():
    path, client, qid = sys.argv[1:4]
    rcpts = sys.argv[4:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(packet(b"O", struct.pack("!III", 6, ALL_ACTIONS, ALL_STEPS)))
    cmd, data = read_packet(s)
    if cmd != b"O":
        sys.exit("milter_hangup: negotiation answered %r" % cmd)
    steps = struct.unpack("!III", data[:12])[2]
    print("steps=%#x" % steps)
    out = packet(b"D", b"C" + nul("{daemon_addr}", "127.0.0.30", "{client_addr}", client))
    out += packet(b"C", nul("client.example") + b"4" + struct.pack("!H", 25) + nul(client))
    if not steps & SMFIP_NOMAIL:
        out += packet(b"D", b"M" + nul("i", qid))
        out += packet(b"M", nul("<sender@example.net>"))
    for r in rcpts:
        out += packet(b"D", b"R" + nul("i", qid))
        out += packet(b"R", nul("<" + r + ">"))
    out += packet(b"A") + packet(b"Q")
    s.sendall(out)
    s.close()


if __name__ == "__main__":
    main()
