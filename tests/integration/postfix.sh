#!/bin/bash
# postfix.sh - the milter behind a real Postfix: mail passes, forged
# X-MX-Bypass headers are removed, and a stopped milter does not stop mail.

[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/postfix_lib.sh"

require_postfix

SINK="$T/sink"
MTA=127.0.0.2:2525
NEXT=127.0.0.3:2526

# smtpd runs as postfix: the socket (mode 770 with the default UMask) must
# belong to that user, as it would in a real installation
printf 'Syslog no\nLogLevel debug\nUserID postfix\n' >"$T/milter.conf"

start_sink "$NEXT" "$SINK"
start_milter "$T/milter.conf"
start_postfix mx "$MTA" "$NEXT" \
	"smtpd_milters = { unix:$SOCK, default_action=accept, command_timeout=15s }"

# send TAG [SWAKS_ARGS...] - send_tagged to rcpt-TAG@example.test through
# the MTA; swaks' transcript goes to $T/swaks-TAG.out
send() {
	send_tagged "$MTA" "$1" "rcpt-$1@example.test" "${@:2}" >"$T/swaks-$1.out" ||
		{ cat "$T/swaks-$1.out" >&2; fail "swaks could not send message $1"; }
}

# delivered TAG N - wait until message TAG, the Nth one sent, was relayed and
# saved whole (its last line is there); sets FILE to the saved copy
delivered() {
	wait_sent mx "$2" || { cat "$(pf_log mx)" >&2; fail "message $1 was not relayed within 30 s"; }
	wait_for -t 10 sink_copy "$SINK" "$1" || fail "message $1 did not reach the sink"
	FILE=$(sink_copy "$SINK" "$1")
}

# (a) plain mail passes through the milter
send a
delivered a 1
pass "message a relayed through Postfix to the sink"
# the local address comes from Postfix's {daemon_addr}
wait_log "conn[0-9]+: connect from .* to 127\.0\.0\.2$" || fail "milter did not log the connect to 127.0.0.2"
wait_log ": rcpt-domain=example\.test client=127\.0\.0\.1 verdict=exempt action=accept reason=trusted-network$" \
	|| fail "milter did not log the recipient of message a"
pass "milter saw the connect and the recipient"

# (b) a forged header is removed before the message leaves
send b --add-header "X-MX-Bypass: bypass; forged"
delivered b 2
# only the header block counts, not a body that might quote it
bypass_headers "$FILE" >/dev/null && { cat "$FILE" >&2; fail "forged X-MX-Bypass header was delivered"; }
grep -q '^Subject: test b' "$FILE" || fail "delivered copy of b lost its headers"
pass "delivered copy of b has no X-MX-Bypass header"
wait_log ": removed 1 incoming X-MX-Bypass header" || fail "milter did not log the removal"
pass "milter logged the removal"

# (c) default_action=accept: mail still flows without the milter
stop_milter || fail "milter did not exit cleanly"
send c
delivered c 3
pf_log_has mx "warning: connect to Milter service unix:$SOCK" || fail "Postfix did not notice the milter was gone"
pass "message c relayed while the milter was down"
