#!/bin/bash
# smoke.sh - the real daemon on a unix socket, driven by miltertest:
# negotiation, connect, mail, rcpt, headers, end of message, abort, stop.
. "$(dirname "$0")/lib.sh"

require_miltertest

# example.org is checked; nothing listens on port 9, so its lookup fails
# at once (verdict error, mail accepted); the client is not trusted
printf 'Syslog no\nLogLevel debug\nTrustedNetworks none\nDomains example.org\nDnsServers 127.0.0.1:9\n' \
	> "$T/milter.conf"
start_milter "$T/milter.conf"

"$MILTERTEST" -D sock="$SOCK" -s "$top_srcdir/tests/integration/smoke.lua" \
	> "$T/mt.out" 2>&1 || { cat "$T/mt.out" "$T/milter.log"; fail "miltertest script failed"; }
pass "miltertest script: negotiation, replies and header removal"

log_has 'conn[0-9]+: connect from client\.example \[192\.0\.2\.7\] to 127\.0\.0\.2' \
	|| fail "connect not logged with client and local address"
pass "connect logged with client and local address"
log_has '4XyZ1: rcpt-domain=example\.org client=192\.0\.2\.7 verdict=error action=accept reason=servfail$' \
	|| fail "rcpt of message 1 not logged with queue id and verdict error"
log_has '4XyZ2: rcpt-domain=example\.org client=192\.0\.2\.7 verdict=exempt action=accept reason=authenticated$' \
	|| fail "authenticated rcpt of message 2 not exempt"
pass "one line per recipient: queue id, domain, client, verdict; DNS failure fails open"
log_has '4XyZ1: removed 1 incoming X-MX-Bypass header' || fail "header removal not logged"
! log_has '4XyZ2: removed' || fail "a header removed from message 2, which had none"
pass "forged header removal logged, for the message that carried one only"

stop_milter || fail "milter exited non-zero on SIGTERM"
[ ! -e "$SOCK" ] || fail "socket left behind after stop"
log_has 'stopped$' || fail "stop not logged"
pass "clean stop on SIGTERM, socket removed"
