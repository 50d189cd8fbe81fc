#!/bin/bash
# rspamd.sh - conf/rspamd-mxbypass.conf in a real Rspamd: the rule of
# mxbypass.cf (SpamAssassin) for the same header, condition and score. The
# daemon tags a bypassing recipient (miltertest, NSD, a live primary); a
# message with that header, one without and one where "bypass;" is not at
# the start go through rspamc to an rspamd the test starts on loopback with
# Debian's configuration, the snippet as its local.d/regexp.conf, its own
# directories and a DNS server that does not exist (no network lookups).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dns_lib.sh"
. "$(dirname "$0")/mx_lib.sh"

SNIPPET="$top_srcdir/conf/rspamd-mxbypass.conf"
SA="$top_srcdir/conf/mxbypass.cf"
command -v rspamd >/dev/null && command -v rspamc >/dev/null || skip "rspamd not installed"
[ -f /etc/rspamd/rspamd.conf ] || skip "no /etc/rspamd/rspamd.conf"
[ -x "$MILTERTEST" ] || skip "miltertest not installed"
command -v curl >/dev/null || skip "curl not installed"

# The two rules agree: header, condition and score.
read -r sa_name sa_header sa_re < <(sed -n 's|^header *\([A-Z_]*\) *\([A-Za-z-]*\) =~ \(/.*/\)$|\1 \2 \3|p' "$SA")
sa_score=$(sed -n "s/^score *$sa_name *//p" "$SA")
rs_re=$(sed -n 's|^ *re = "\([A-Za-z-]*=/.*/\)H";$|\1|p' "$SNIPPET")
rs_score=$(sed -n 's/^ *score = \([0-9.]*\);$/\1/p' "$SNIPPET")
[ -n "$sa_name" ] && [ -n "$sa_score" ] || fail "cannot read the rule of $SA"
grep -q "^$sa_name {" "$SNIPPET" || fail "the Rspamd rule is not named $sa_name"
[ "$rs_re" = "$sa_header=$sa_re" ] || fail "Rspamd matches [$rs_re], SpamAssassin [$sa_header=$sa_re]"
[ "$rs_score" = "$sa_score" ] || fail "Rspamd scores $rs_score, SpamAssassin $sa_score"
pass "the Rspamd rule is SpamAssassin's: $sa_name, $sa_header =~ $sa_re, score $sa_score"

# The header, as the daemon writes it.
start_nsd
start_mx_hosts
bypass_conf "$T/milter.conf"
start_milter "$T/milter.conf"
"$MILTERTEST" -D sock="$SOCK" -s "$top_srcdir/tests/integration/header.lua" >"$T/mt.out" 2>&1 \
	|| { cat "$T/mt.out" "$T/milter.log"; fail "miltertest header.lua"; }
header=$(sed -n 's/^header: //p' "$T/mt.out")
case $header in bypass\;*) ;; *) fail "the daemon's header: [$header]" ;; esac
stop_milter || fail "milter exited non-zero on SIGTERM"
echo "# $sa_header: $header"

# message FILE [HEADER-LINE] - a small message, with that header line
message() {
	local now
	now=$(date -R)
	{
		printf 'Received: from client.example (client.example [192.0.2.7])\n'
		printf '\tby backup.bypass.test with ESMTP id H1; %s\n' "$now"
		printf 'From: Sender <sender@example.net>\nTo: <user@live.bypass.test>\n'
		printf 'Subject: rspamd\nDate: %s\n' "$now"
		printf 'Message-ID: <%s@example.net>\n' "$(basename "$1" .eml)"
		[ -z "${2:-}" ] || printf '%s\n' "$2"
		printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\nHello.\n'
	} >"$1"
}
message "$T/tagged.eml" "$sa_header: $header"
message "$T/untagged.eml"
message "$T/inside.eml" "$sa_header: none; ${header}"

# Rspamd's own tree under $T; the workers as _rspamd when run as root.
R="$T/rspamd"
mkdir -p "$R/etc/local.d" "$R/etc/override.d" "$R/db" "$R/run" "$R/log"
cp "$SNIPPET" "$R/etc/local.d/regexp.conf"
printf 'enabled = false;\n' >"$R/etc/override.d/worker-proxy.inc"
# the resolver: a loopback port nobody serves, answers nothing quickly
printf 'dns {\n  nameserver = ["127.0.0.1:%s"];\n  timeout = 0.2s;\n  retransmits = 1;\n}\n' \
	"$(random_port)" >"$R/etc/local.d/options.inc"
user=()
if [ "$(id -u)" = 0 ]; then
	id _rspamd >/dev/null 2>&1 || skip "no _rspamd user"
	chown -R _rspamd:_rspamd "$R/db" "$R/run" "$R/log"
	user=(-u _rspamd -g _rspamd)
fi
vars=(--var="LOCAL_CONFDIR=$R/etc" --var="DBDIR=$R/db" --var="RUNDIR=$R/run" --var="LOGDIR=$R/log")
rspamadm "${vars[@]}" configtest -c /etc/rspamd/rspamd.conf >"$T/configtest.out" 2>&1 \
	|| { cat "$T/configtest.out"; fail "rspamadm configtest refuses the configuration"; }
pass "rspamadm configtest accepts Debian's configuration with the snippet in local.d/regexp.conf"

# pong PORT - the worker on PORT answers /ping ("pong", CRLF)
pong() { curl -sf --max-time 2 "http://127.0.0.1:$1/ping" | grep -q '^pong'; }

# start_rspamd - normal worker on $RS_PORT, controller on $RS_CTL; its
# start-up (maps, regexp compilation) may take a while: 90 s at most
start_rspamd() {
	local try deadline
	for try in 1 2 3; do
		RS_PORT=$(random_port)
		RS_CTL=$(random_port)
		printf 'bind_socket = "127.0.0.1:%s";\ncount = 1;\n' "$RS_PORT" \
			>"$R/etc/override.d/worker-normal.inc"
		printf 'bind_socket = "127.0.0.1:%s";\ncount = 1;\n' "$RS_CTL" \
			>"$R/etc/override.d/worker-controller.inc"
		rspamd -f "${user[@]}" -c /etc/rspamd/rspamd.conf "${vars[@]}" >>"$T/rspamd.out" 2>&1 &
		RS_PID=$!
		PIDS="$PIDS $RS_PID"
		deadline=$(( $(date +%s) + 90 ))
		while kill -0 "$RS_PID" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do
			pong "$RS_PORT" && pong "$RS_CTL" && return 0
			sleep 0.5
		done
		kill "$RS_PID" 2>/dev/null
		wait "$RS_PID" 2>/dev/null
	done
	tail -n 30 "$T/rspamd.out" "$R/log/rspamd.log" >&2
	fail "rspamd did not start"
}
start_rspamd
echo "# $(rspamd --version)"
pass "rspamd on 127.0.0.1:$RS_PORT (controller $RS_CTL) answers"

# scan NAME - rspamc's symbols for $T/NAME.eml into $T/NAME.out
scan() {
	rspamc -h "127.0.0.1:$RS_PORT" -t 30 symbols "$T/$1.eml" >"$T/$1.out" 2>&1 \
		|| { cat "$T/$1.out"; fail "rspamc: $1"; }
	grep -q '^Score: ' "$T/$1.out" || { cat "$T/$1.out"; fail "rspamc: no score for $1"; }
}
want=$(printf 'Symbol: %s (%.2f)' "$sa_name" "$sa_score")
scan tagged
grep -qxF "$want" "$T/tagged.out" || { cat "$T/tagged.out"; fail "tagged: no [$want]"; }
echo "# tagged: $(grep '^Score: ' "$T/tagged.out"), $(grep -F "$sa_name" "$T/tagged.out")"
pass "the tagged message: $want"
for m in untagged inside; do
	scan $m
	grep -qF "$sa_name" "$T/$m.out" && { cat "$T/$m.out"; fail "$m: $sa_name"; }
	echo "# $m: $(grep '^Score: ' "$T/$m.out"), no $sa_name"
done
pass "no $sa_name without the header, nor when bypass; is not at its start"
# score NAME - the message's total score
score() { sed -n 's|^Score: \([-0-9.]*\) / .*|\1|p' "$T/$1.out"; }
diff=$(awk -v a="$(score tagged)" -v b="$(score untagged)" 'BEGIN { printf "%.2f", a - b }')
[ "$diff" = "$(printf '%.2f' "$sa_score")" ] \
	|| fail "the header adds $diff to the score ($(score untagged) to $(score tagged)), not $sa_score"
pass "the header alone adds $diff: $(score untagged) untagged, $(score tagged) tagged"
rspamc -h "127.0.0.1:$RS_CTL" stat >"$T/stat.out" 2>&1 || { cat "$T/stat.out"; fail "rspamc stat"; }
grep -qx 'Messages scanned: 3' "$T/stat.out" || { cat "$T/stat.out"; fail "the controller did not count 3 scans"; }
pass "the controller counts the 3 scans"
