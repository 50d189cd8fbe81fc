#!/usr/bin/env python3
"""mkseeds.py - write the seed corpora of the fuzz harnesses.

Run from anywhere: python3 tests/fuzz/mkseeds.py. The seeds are kept in
the repository (tests/fuzz/corpus/NAME/); this script says how each was
made and remakes them the same way. It never touches crashers/.

Input formats are described at the top of each harness.
"""

import os
import socket
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def write(name, fname, data):
    d = os.path.join(CORPUS, name)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("latin-1")
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- config

CONFIG = {
    "defaults-empty": "",
    "example-file": open(os.path.join(HERE, "..", "..", "conf",
                                      "mxbypass-milter.conf")).read(),
    "every-key": (
        "# every key, each with a value that parses\n"
        "Socket inet:8894@127.0.0.1\n"
        "UserID root:root\n"
        "UMask 027\n"
        "PidFile /run/mxbypass-milter/mxbypass-milter.pid\n"
        "Syslog no\n"
        "SyslogFacility local3\n"
        "LogLevel debug\n"
        "Action tempfail\n"
        "Domains example.org, .example.org example.com\n"
        "HeaderName X-MX-Bypass\n"
        "ReplyText Please deliver to the primary MX host of this domain\n"
        "RetryAfter 15m\n"
        "RetryExpire 2d\n"
        "RetryPrefix4 24\n"
        "RetryPrefix6 48\n"
        "LocalAddresses 192.0.2.25, 2001:db8::25\n"
        "LocalNames mx2.example.org\n"
        "TrustedNetworks 127.0.0.0/8, ::1/128 192.0.2.0/24\n"
        "SkipAuthenticated yes\n"
        "DnsServers 127.0.0.1:5354, [::1]:53, ::1\n"
        "DnsTimeout 2s\n"
        "DnsTries 3\n"
        "CacheSize 50000\n"
        "MinTTL 1m\n"
        "MaxTTL 1h\n"
        "NegativeTTL 300\n"
        "ProbePort 25\n"
        "ProbeTimeout 250ms\n"
        "ProbeBanner yes\n"
        "ProbeTTLUp 5m\n"
        "ProbeTTLDown 60\n"
        "ProbeConcurrency 128\n"
        "DecisionTimeout 10000\n"
        "StatsInterval 0\n"
        "StatsFile /var/lib/prometheus/node-exporter/mxbypass.prom\n"
        "StateBackend memory\n"
        "RedisServer [::1]:6379\n"
        "RedisPasswordFile /etc/mxbypass-milter/redis.pass\n"
        "RedisDatabase 3\n"
        "RedisPrefix mxb:\n"
        "RedisTimeout 200\n"),
    "actionmap-file": ("ActionMap /fuzz/a\nAction tag\n\0"
                       "# per-domain actions\n"
                       "example.org reject\n\n"
                       ".example.net   LOG # subdomains\n"
                       "Example.COM. tempfail\n"),
    "domains-file": ("Domains file:/fuzz/b\n\0\0"
                     "example.org\n.example.org, example.com\n# comment\n"),
    "both-files": ("ActionMap /fuzz/a\nDomains file:/fuzz/b\nLocalNames none\n\0"
                   "example.org log\n\0example.org\n"),
    "missing-file": "ActionMap /etc/mxbypass-milter/actions\nDomains file:relative\n",
    "case-comments": ("  # a comment line\n"
                      "action TEMPFAIL\n"
                      "RETRYAFTER 15m   # a trailing comment\n"
                      "ReplyText Use mx1#primary, please\n"
                      "probebanner off\n"
                      "SkipAuthenticated false\n"),
    "crlf-lines": "Action reject\r\nLogLevel Notice\r\n\r\nMinTTL 0\r\n",
    "errors-keys": ("Actoin tag\nAction=tag\nAction\nAction tag\nAction reject\n"
                    "NoSuchKey 1\n"),
    "errors-values": ("RetryAfter 8d\nRetryPrefix4 33\nRetryPrefix6 0\nDnsTimeout 5\n"
                      "CacheSize 99999999999999999999999\nUMask 0800\n"
                      "Syslog maybe\nLogLevel loud\nHeaderName X-Bad:Name\n"
                      "ReplyText caf\xc3\xa9\nPidFile relative.pid\n"
                      "ProbeTimeout 1m\nMinTTL 2d\n"),
    "errors-cross": "MinTTL 2h\nMaxTTL 1h\nRetryAfter 2d\nRetryExpire 1d\n",
    "networks": ("TrustedNetworks 192.0.2.1/24, 2001:db8::/129, ::ffff:10.0.0.0/104, "
                 "10.0.0.0/8 none\n"
                 "LocalAddresses IPv6:[2001:db8::1], ::ffff:192.0.2.9\n"),
    "networks-none": "TrustedNetworks none\nLocalAddresses none\nLocalNames none\n",
    "sockets": "Socket unix:/run/mxbypass-milter/mxbypass-milter.sock\n",
    "socket-inet6": "Socket inet6:8894@[::1]\n",
    "socket-bad": "Socket inet:99999@host\n",
    "socket-local": "Socket local:relative/path\n",
    "dns-servers-bad": "DnsServers 127.0.0.1:0, [::1, 1.2.3.4:53:53, host.example\n",
    "domains-list": ("Domains Example.ORG., .sub.example.org,example.net\t"
                     ".example.net example.org\n"),
    "domains-bad": "Domains -bad-.example, exa mple.org, a..b, .\n",
    "localnames-pattern": "LocalNames .example.org, mx2.example.org\n",
    "redis": ("StateBackend redis\nRedisServer unix:/run/redis/redis.sock\n"
              "RedisPrefix mx bypass\n"),
    "user-unknown": "UserID nosuchuser:nosuchgroup\n",
    "durations": ("RetryAfter 1w\nRetryExpire 30d\nMaxTTL 7d\nMinTTL 0s\n"
                  "NegativeTTL 1d\nStatsInterval 24h\nProbeTTLUp 86400\n"),
}

# ------------------------------------------------------------ addresses

ADDRESSES = {
    "plain": "<user@example.org>",
    "bare": "user@example.org",
    "upper-trailing-dot": "<User@Example.ORG.>",
    "spaces-around": " \t<user@sub.example.net>\t ",
    "source-route-literal": "<@a,@b:u@[1.2.3.4]>",
    "source-route-name": "<@relay.example.com,@b.example:user@example.org>",
    "literal-v6": "<user@[IPv6:2001:db8::1]>",
    "quoted-at": '<"quoted@local"@example.net>',
    "quoted-escape": '<"a\\"b@c"@example.org>',
    "null-path": "<>",
    "postmaster": "<postmaster>",
    "no-domain": "<user@>",
    "underscore": "<user@under_score.example>",
    "hyphens": "<user@-bad-.example>",
    "space-in-domain": "<user@exa mple.org>",
    "unclosed": "<user@example.org",
    "only-close": "user@example.org>",
    "idn-alabel": "<user@xn--bcher-kva.example>",
    "label-63": "<u@" + "a" * 63 + ".example>",
    "label-64": "<u@" + "a" * 64 + ".example>",
    "name-253": "<u@" + ".".join(["a" * 63] * 3 + ["b" * 61]) + ">",
    "name-254": "<u@" + ".".join(["a" * 63] * 3 + ["b" * 62]) + ">",
    "empty-label": "<u@a..b>",
    "leading-dot": "<u@.example.org>",
    "at-only": "@",
    "two-ats": "<a@b@example.org>",
    "utf8": "<user@b\xc3\xbccher.example>",
    "example-net-sub": "<x@deep.sub.example.net>",
}

# ------------------------------------------------------------ sanitiser

SANITIZE = {
    "header-value": (80, "bypass; domain=example.org; via=mx2.example.org (pref 20); "
                         "reachable=mx1.example.org (pref 10)"),
    "crlf-injection": (200, "example.org\r\nX-Injected: yes\r\n"),
    "utf8": (64, "Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln"),
    "controls": (32, "\x01\x02\x1b[31mred\x1b[0m\x7f\xff\t"),
    "cut-short": (8, "a long line that does not fit"),
    "size-one": (1, "anything"),
    "size-zero": (0, "anything"),
    "empty": (16, ""),
    "exact-fit": (6, "12345"),
}

# ------------------------------------------------------------- greeting

GREETINGS = {
    "postfix": (10, "220 mx1.example.org ESMTP Postfix (Debian/GNU)\r\n"),
    "multiline": (30, "220-mx1.example.org ESMTP\r\n220-second line\r\n220 ready\r\n"),
    "reject": (3, "554 5.7.1 mx1.example.org: no service for you\r\n"),
    "tempfail": (0, "421 4.3.2 Service not available, closing channel\r\n"),
    "bare-code": (2, "220\r\n"),
    "bare-code-lf": (4, "220\n"),
    "code-cr-only": (3, "220\r"),
    "multi-then-other": (12, "220-first\r\n221 second\r\n"),
    "not-smtp": (5, "HTTP/1.1 400 Bad Request\r\n"),
    "partial": (7, "220 mx1.example.org ESMTP no line end yet"),
    "partial-multiline": (9, "220-first\r\n"),
    "no-space": (4, "220mx1.example.org\r\n"),
    "short-line": (1, "22\r\n"),
    "empty-line": (0, "\r\n"),
    "nul-in-text": (6, "220 a\x00b\r\n"),
    "sendmail": (40, "220 mx2.example.org ESMTP Sendmail 8.17.1.9/8.17.1.9; "
                     "Mon, 23 Nov 2026 12:00:00 +0100\r\n"),
}

# ------------------------------------------------------------------ DNS


def name(n):
    """A name in wire format, uncompressed; "" is the root."""
    out = b""
    if n:
        for label in n.split("."):
            b = label.encode("latin-1")
            out += bytes([len(b)]) + b
    return out + b"\0"


def rr(owner, rtype, ttl, rdata):
    return owner + struct.pack(">HHIH", rtype, 1, ttl, len(rdata)) + rdata


T_A, T_CNAME, T_MX, T_AAAA = 1, 5, 15, 28


def message(qname, qtype, answers, rcode=0):
    hdr = struct.pack(">HHHHHH", 0x4d58, 0x8180 | rcode, 1, len(answers), 0, 0)
    return hdr + name(qname) + struct.pack(">HH", qtype, 1) + b"".join(answers)


def mx(owner, pref, target, ttl=3600):
    return rr(owner, T_MX, ttl, struct.pack(">H", pref) + target)


def a(owner, addr, ttl=3600):
    return rr(owner, T_A, ttl, socket.inet_pton(socket.AF_INET, addr))


def aaaa(owner, addr, ttl=3600):
    return rr(owner, T_AAAA, ttl, socket.inet_pton(socket.AF_INET6, addr))


def cname(owner, target, ttl=3600):
    return rr(owner, T_CNAME, ttl, target)


Q = b"\xc0\x0c"                  # pointer to the question name
D = "example.org"

# mode octets: status index (bits 0-3), timing (bits 4-5)
OK, NODATA, NXDOMAIN, SERVFAIL, TIMEOUT = 0, 8, 9, 10, 12
H_OK, H_NXDOMAIN, H_NODATA, H_SERVFAIL, H_TIMEOUT = 0, 4, 5, 6, 7
H_BADNAME, H_EMPTY = 10, 15        # EMPTY: success without an address
LATER, NEVER = 0x20, 0x30
# flags: TTL bounds (bits 0-1), deadline (bits 2-3: 0 gone, 1 s, 4 s, 60 s),
# self (bits 4-7: local 192.0.2.1 = 1, 2001:db8::1 = 2; +4 LocalAddresses
# 192.0.2.0/28; +8 LocalNames mx2.example.org, .example.net)
FLAGS = 0x0c


def blob(b):
    return struct.pack(">H", len(b)) + b


def host(mode, a_msg=b"", aaaa_msg=b""):
    return bytes([mode]) + blob(a_msg) + blob(aaaa_msg)


def a_answer(hname, *addrs, ttl=3600):
    return message(hname, T_A, [a(name(hname), x, ttl) for x in addrs])


def aaaa_answer(hname, *addrs, ttl=3600):
    return message(hname, T_AAAA, [aaaa(name(hname), x, ttl) for x in addrs])


def dns_seed(flags, mx_mode, mx_msg, *hosts):
    return bytes([flags, mx_mode]) + blob(mx_msg) + b"".join(hosts)


MX1, MX2 = "mx1.example.org", "mx2.example.org"
TWO_MX = message(D, T_MX, [mx(name(D), 10, name(MX1), 600), mx(name(D), 20, name(MX2), 900)])
TWO_HOSTS = (host(H_OK, a_answer(MX1, "192.0.2.1", ttl=300)),
             host(H_OK, a_answer(MX2, "192.0.2.2"), aaaa_answer(MX2, "2001:db8::2")))

DNS = {
    "two-mx": dns_seed(FLAGS, OK, TWO_MX, *TWO_HOSTS),
    "two-mx-self-backup": dns_seed(FLAGS | 0x80, OK, TWO_MX, *TWO_HOSTS),
    "two-mx-self-by-address": dns_seed(FLAGS | 0x10, OK, TWO_MX,
                                       host(H_OK, a_answer(MX1, "192.0.2.1")),
                                       TWO_HOSTS[1]),
    "null-mx": dns_seed(FLAGS, OK, message(D, T_MX, [mx(name(D), 0, name(""))])),
    "null-mx-and-real": dns_seed(FLAGS, OK, message(D, T_MX, [
        mx(name(D), 0, name("")), mx(name(D), 10, name(MX1))]), TWO_HOSTS[0]),
    "nxdomain": dns_seed(FLAGS, NXDOMAIN, message(D, T_MX, [], rcode=3)),
    "servfail": dns_seed(FLAGS, SERVFAIL, b""),
    "timeout": dns_seed(FLAGS, TIMEOUT, b""),
    "nodata-implicit": dns_seed(FLAGS, NODATA, b"",
                                host(H_OK, a_answer(D, "192.0.2.10"))),
    "nodata-no-address": dns_seed(FLAGS, NODATA, b"", host(H_NODATA)),
    "nodata-host-servfail": dns_seed(FLAGS, NODATA, b"", host(H_SERVFAIL)),
    "cname-only-answer": dns_seed(FLAGS, OK, message(D, T_MX, [
        cname(name(D), name("mail.example.net"), 50)]),
        host(H_OK, a_answer(D, "192.0.2.10"))),
    "compressed-names": dns_seed(FLAGS, OK, message(D, T_MX, [
        mx(Q, 10, b"\x03mx1" + Q), mx(Q, 20, b"\x03mx2" + Q)]), *TWO_HOSTS),
    "target-is-cname": dns_seed(FLAGS, OK, message(D, T_MX, [mx(name(D), 10, name(MX1))]),
                                host(H_OK, message(MX1, T_A, [
                                    cname(name(MX1), name("real.example.net")),
                                    a(name("real.example.net"), "192.0.2.7")]))),
    "bad-target-name": dns_seed(FLAGS, OK, message(D, T_MX, [
        mx(name(D), 10, b"\x08bad name\x07example\x03org\x00"),
        mx(name(D), 20, b"\x03a.b\x07example\x03org\x00"),
        mx(name(D), 30, name(MX2))]), TWO_HOSTS[1]),
    "many-records": dns_seed(FLAGS, OK, message(D, T_MX, [
        mx(name(D), (i * 37) % 70 * 10, name("mx%d.example.org" % i)) for i in range(70)])),
    "equal-preferences": dns_seed(FLAGS, OK, message(D, T_MX, [
        mx(name(D), 10, name(MX2)), mx(name(D), 10, name(MX1))]), *TWO_HOSTS),
    "duplicate-addresses": dns_seed(FLAGS, OK, message(D, T_MX, [mx(name(D), 10, name(MX1))]),
                                    host(H_OK, a_answer(MX1, "192.0.2.1", "192.0.2.1"),
                                         aaaa_answer(MX1, "::ffff:192.0.2.1"))),
    "later-answers": dns_seed(FLAGS, OK | LATER, TWO_MX,
                              host(H_OK | LATER, a_answer(MX1, "192.0.2.1")),
                              host(H_OK | LATER, a_answer(MX2, "192.0.2.2"))),
    "host-never-answers": dns_seed(FLAGS, OK, TWO_MX, TWO_HOSTS[0], host(H_OK | NEVER)),
    "mx-never-answers": dns_seed(FLAGS, OK | NEVER, TWO_MX),
    "deadline-gone": dns_seed(FLAGS & ~0x0c, OK | LATER, TWO_MX, *TWO_HOSTS),
    "host-failures": dns_seed(FLAGS, OK, TWO_MX, host(H_NXDOMAIN), host(H_TIMEOUT)),
    "host-badname-empty": dns_seed(FLAGS, OK, TWO_MX, host(H_BADNAME), host(H_EMPTY)),
    "nodata-implicit-empty": dns_seed(FLAGS, NODATA, b"", host(H_EMPTY)),
    "ttl-top-bit": dns_seed(FLAGS | 1, OK, message(D, T_MX, [
        mx(name(D), 10, name(MX1), 0xffffffff)]), TWO_HOSTS[0]),
    "ttl-bounds-short": dns_seed(0x0e, OK, TWO_MX, *TWO_HOSTS),
    "short-header": dns_seed(FLAGS, OK, TWO_MX[:11]),
    "cut-in-record": dns_seed(FLAGS, OK, TWO_MX[:-9]),
    "rdlength-past-end": dns_seed(FLAGS, OK, TWO_MX[:-21] + b"\x00\x40" + TWO_MX[-19:]),
    "pointer-loop": dns_seed(FLAGS, OK, message(D, T_MX, [mx(b"\xc0\x1d", 10, b"\xc0\x1d")])),
    "local-names": dns_seed(FLAGS | 0x80, OK, message(D, T_MX, [
        mx(name(D), 10, name(MX1)), mx(name(D), 20, name(MX2)),
        mx(name(D), 30, name("mx3.example.net"))]), *TWO_HOSTS,
        host(H_OK, a_answer("mx3.example.net", "203.0.113.3"))),
}

# ---------------------------------------------------------------- Redis


def bulk(s):
    b = s.encode("latin-1") if isinstance(s, str) else s
    return b"$%d\r\n" % len(b) + b + b"\r\n"


def arr(*items):
    return b"*%d\r\n" % len(items) + b"".join(items)


def num(n):
    return b":%d\r\n" % n


NIL = b"$-1\r\n"
OK_ = b"+OK\r\n"

# the replies of one request each (what redis.c pipelines), good and bad
REDIS = {
    "retry-ours": OK_ + bulk("1700000000123"),
    "retry-theirs": NIL + bulk("1699999999000"),
    "retry-expired-between": NIL + NIL,
    "retry-set-error": b"-ERR syntax error\r\n" + NIL,
    "retry-get-garbage": NIL + bulk("17e11"),
    "retry-get-integer": NIL + num(1700000000123),
    "probe-up": bulk("up") + num(300000),
    "probe-down": bulk("down") + num(60000),
    "probe-none": NIL + num(-2),
    "probe-no-expiry": bulk("up") + num(-1),
    "probe-pttl-zero": bulk("down") + num(0),
    "probe-other-word": bulk("UP") + num(1000),
    "probe-pttl-string": bulk("up") + bulk("30000"),
    "counters": arr(bulk("rcpts"), bulk("812"), bulk("bypass"), bulk("751"),
                    bulk("probe-up"), bulk("29"), bulk("newer-counter"), bulk("1")),
    "counters-odd": arr(bulk("rcpts"), bulk("1"), bulk("bypass")),
    "counters-bad-value": arr(bulk("rcpts"), bulk("1"), bulk("bypass"), bulk("-3")),
    "counters-nested": arr(bulk("rcpts"), arr(bulk("1")), bulk("a"), num(2)),
    "top": arr(bulk("example.org"), bulk("751"), bulk("192.0.2.0/24"), bulk("402"),
               bulk("2001:db8:1:2::/64"), bulk("0")),
    "top-bad-members": arr(bulk("a,b"), bulk("1"), bulk("a b"), bulk("2"),
                           bulk("a\x7fb"), bulk("3"), bulk(""), bulk("4")),
    "top-long-member": arr(bulk("x" * 255), bulk("9"), bulk("y" * 256), bulk("8")),
    "top-float-score": arr(bulk("a"), bulk("1.5"), bulk("b"), bulk("1e+20")),
    "numbers": (bulk("9999999999999999999") + bulk("10000000000000000000") +
                bulk("0000000000000000042") + bulk("-1") + bulk("") + bulk("+7")),
    "integers": num(0) + num(-1) + num(9223372036854775807) + num(-9223372036854775808),
    "status-words": OK_ + b"+PONG\r\n+QUEUED\r\n+\r\n+OKAY\r\n" +
                    b"-WRONGPASS invalid username-password pair\r\n",
    "pool-report": (arr(bulk("rcpts"), bulk("10"), bulk("bypass"), bulk("7")) +
                    arr(bulk("198.51.100.0/24"), bulk("5")) +
                    arr(bulk("example.org"), bulk("7")) + num(2)),
    "nil-array": b"*-1\r\n*0\r\n",
    "nested-deep": b"*1\r\n" * 7 + arr(bulk("up"), num(5)),
    "nul-in-string": bulk("up\0") + num(5) + arr(bulk("a\0b"), bulk("1")),
    "protocol-error": OK_ + b"!bad\r\n" + OK_,
    "partial": bulk("up") + b"$10\r\nabc",
    "huge-array": b"*100000000\r\n" + bulk("x"),
}


def main():
    for fname, text in CONFIG.items():
        write("config", fname, text)
    for fname, addr in ADDRESSES.items():
        write("address", fname, "0" + addr)
    for fname, (size, text) in SANITIZE.items():
        write("sanitize", fname, bytes([size]) + text.encode("latin-1"))
    for fname, (cut, text) in GREETINGS.items():
        write("greeting", fname, struct.pack(">H", cut) + text.encode("latin-1"))
    for fname, data in DNS.items():
        write("dns", fname, data)
    for fname, data in REDIS.items():
        write("redis", fname, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
