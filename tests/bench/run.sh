#!/bin/bash
# run.sh - the benchmarks (make bench; needs root for Postfix): every
# figure is a ratio against a baseline measured in the same run.
#
#   1. end to end, warm cache: smtp-source into a loopback Postfix relaying
#      to smtp-sink (one instance: one queue, a smtpd per milter), with no
#      milter, a no-op milter, and mxbypass-milter
#      (StateBackend memory, and StateBackend redis against a redis-server
#      on loopback), the order reversed every other round; each
#      comparison is the median of the ratios of the same round
#   1c. the same with Action log against the no-op milter: no header is
#      added, so Postfix edits no message (what tagging every message costs)
#   1b. the same with Action tempfail and RetryAfter, every message a
#      retry that is accepted: each RCPT asks the retry memory (with Redis:
#      one round trip), memory against redis
#   2. cold path: every message to another of BENCH_DOMAINS domains served
#      by NSD behind a forwarder that delays each answer as a network would:
#      mxbypass-milter (c-ares: the MX query, then every address query at
#      once) against a milter doing blocking res_query lookups one by one
#   3. decision cost: decide_bench, warm, 1 and 2 threads; cold (the MX
#      set asked of NSD each time), a channel per lookup against the pool
#   4. memory: the daemon's peak RSS after 100,000 distinct recipient
#      domains (default CacheSize), then after 100,000 distinct client
#      networks (retry memory, top lists)
#   5. added latency, warm, one session, from the client's side: the RCPT,
#      and the whole message (where a decision not owed at RCPT shows)
#   6. the witness on a primary: the message time (MAIL to the end of
#      data) of mail for which this host is the primary, every message
#      from a client network of its own,
#      StateBackend redis, WitnessWindow 600 (every connection written to
#      Redis at connect) against 0, alternated
#   7. the milter's instructions per message (insns.sh, callgrind)
#   steady load: a domain with a 2 s TTL under a steady load (steady.sh):
#      the recipients that waited on DNS after the first lookup, the
#      refreshes made
#
# Sections 1 and 1c also give each milter's CPU time (user + system,
# from /proc) per 1000 messages and, with perf(1) (package linux-perf), its
# system calls and context switches per message: counted, not timed, so
# they hold still where the host's noise moves the rates.
#
# Knobs: BENCH_MESSAGES (5000), BENCH_SESSIONS (20), BENCH_ROUNDS (3),
# BENCH_RETRY_MESSAGES (half of BENCH_MESSAGES, for 1b), BENCH_DOMAINS
# (10000), BENCH_MEM (100000), BENCH_LATENCY (2000), BENCH_DNS_DELAY (5 ms
# added to every DNS answer on the cold path), BENCH_STEADY (60 s; and
# BENCH_STEADY_RATE, BENCH_STEADY_SESSIONS: see steady.sh). BENCH_ONLY=e2e
# runs sections 1 and 1c only, BENCH_ONLY=steady
# sets up and runs only the steady-load section. Without redis-server or a
# build with hiredis, the Redis figures are left out.

[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/e2e/e2e_lib.sh"
. "$top_srcdir/tests/integration/redis_lib.sh"

MESSAGES=${BENCH_MESSAGES:-5000}
RETRY_MESSAGES=${BENCH_RETRY_MESSAGES:-$((MESSAGES / 2))}
SESSIONS=${BENCH_SESSIONS:-20}
ROUNDS=${BENCH_ROUNDS:-3}
DOMAINS=${BENCH_DOMAINS:-10000}
MEM=${BENCH_MEM:-100000}
LATENCY=${BENCH_LATENCY:-2000}
DNS_DELAY=${BENCH_DNS_DELAY:-5}
B="$top_builddir/tests/bench"
BS="$top_srcdir/tests/bench"
require_postfix
for p in noop_milter decide_bench; do
	[ -x "$B/$p" ] || fail "$B/$p not built (make bench builds it)"
done

# median N... - the middle value
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
# ratio A B - A/B to two decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
# paired_median A B - the median of the per-round ratios a1/b1 a2/b2 ...
paired_median() { median $(per_round "$1" "$2"); }
# per_round A B - "a1/b1 a2/b2 ..." of two lists of rates, to two decimals
per_round() {
	paste -d' ' <(printf '%s\n' $1) <(printf '%s\n' $2) \
		| awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), ($2 > 0 ? $1 / $2 : 0) }'
}

REDIS=""
if command -v redis-server >/dev/null && grep -q '^#define HAVE_HIREDIS 1' "$top_builddir/autoconfig.h"; then
	REDIS=yes
fi

echo "== setting up: NSD, smtp-sink, ${REDIS:+redis-server, }milters, one Postfix instance with a smtpd per milter (in $T)"
{
	printf '$ORIGIN cold.test.\n$TTL 3600\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 127.0.0.1\n'
	for ((i = 0; i < DOMAINS + 200; i++)); do
		printf 'd%d MX 10 up.bypass.test.\nd%d MX 20 backup.bypass.test.\n' $i $i
	done
} >"$T/cold.test.zone"
printf '$ORIGIN mem.test.\n$TTL 3600\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 127.0.0.1\n* MX 10 up.bypass.test.\n* MX 20 backup.bypass.test.\n' \
	>"$T/mem.test.zone"
NSD_EXTRA_ZONES="cold.test:$T/cold.test.zone mem.test:$T/mem.test.zone" start_nsd

PORT=$(e2e_free_port)
SINK=127.0.0.21:$PORT
smtp-sink -u postfix -h up.bypass.test "$SINK" 256 >>"$T/sink.log" 2>&1 &
PIDS="$PIDS $!"
wait_listen 10 "$SINK" "$T/sink.log" smtp-sink

conf="$T/milter.conf"
PROBE_PORT=$PORT bypass_conf "$conf.base"
grep -v '^TrustedNetworks\|^ActionMap\|^Domains' "$conf.base" >"$conf"
printf 'TrustedNetworks 127.0.0.60/32\nUserID postfix\nAction tag\n' >>"$conf"
start_milter "$conf"
# start_rmilter - the same milter with the shared store, daemon "rmilter":
# its own socket, log and server; sets RMILTER_PID
start_rmilter() {
	local n
	n=$(dlog_count rmilter "store: redis .*: sharing" 2>/dev/null)
	rm -f "$T/rmilter.sock"
	start_daemon rmilter "$conf.redis"
	RMILTER_PID=$PID_rmilter
	[ "$(dlog_count rmilter "store: redis .*: sharing")" -gt "${n:-0}" ] \
		|| fail "the redis milter is not sharing"
}
if [ -n "$REDIS" ]; then
	start_redis
	{ cat "$conf"; printf 'StateBackend redis\nRedisServer 127.0.0.1:%s\n' "$REDIS_PORT"; } >"$conf.redis"
	start_rmilter
fi
(umask 0; exec "$B/noop_milter" "unix:$T/noop.sock") 2>>"$T/noop.log" &
NOOP_PID=$!
PIDS="$PIDS $!"
DELAY_PORT=$(random_port)
python3 "$BS/dnsdelay.py" "$DELAY_PORT" "$NSD_PORT" "$DNS_DELAY" 2>>"$T/dnsdelay.log" &
PIDS="$PIDS $!"
(umask 0; exec "$B/noop_milter" "unix:$T/resq.sock" 127.0.0.1 "$DELAY_PORT") 2>>"$T/noop.log" &
PIDS="$PIDS $!"
wait_for test -S "$T/noop.sock" && wait_for test -S "$T/resq.sock" || fail "no-op milters did not start"

MILTERS=(none "" noop "unix:$T/noop.sock" mxbypass "unix:$SOCK" resquery "unix:$T/resq.sock")
[ -z "$REDIS" ] || MILTERS+=(redis "unix:$T/rmilter.sock")
# One Postfix instance, a smtpd service of its own per milter: the mail of
# every milter goes through the same queue, cleanup and delivery. (Making
# the queue file costs cleanup more than any milter here, and the cost
# differs from one queue directory to another: RESULTS.md, "the
# conversation counted".)
declare -A ADDR
for ((i = 0; i < ${#MILTERS[@]}; i += 2)); do
	ADDR[${MILTERS[i]}]=127.0.0.30:$((PORT + 1 + i / 2))
done
PF=bench
start_postfix "$PF" "${ADDR[none]}" "$SINK" "relay_domains = bypass.test cold.test mem.test" \
	"default_process_limit = 200" "smtpd_client_connection_count_limit = 0"
for ((i = 2; i < ${#MILTERS[@]}; i += 2)); do
	name=${MILTERS[i]}
	postconf -c "$(pf_dir "$PF")/etc" -e \
		"${name}_milters = { ${MILTERS[i + 1]}, default_action=accept, command_timeout=30s }"
	printf '%s inet n - n - - smtpd -o smtpd_milters=$%s_milters\n' "${ADDR[$name]}" "$name" \
		>>"$(pf_dir "$PF")/etc/master.cf"
done
postfix -c "$(pf_dir "$PF")/etc" reload >/dev/null 2>&1 || fail "postfix $PF: no reload"
for ((i = 2; i < ${#MILTERS[@]}; i += 2)); do
	wait_listen 10 "${ADDR[${MILTERS[i]}]}" "$(pf_dir "$PF")/maillog" "postfix $PF (${MILTERS[i]})"
done
if [ "${BENCH_ONLY:-}" = steady ]; then
	. "$BS/steady.sh"
	exit 0
fi

# drained NAME - the queue is empty (one queue for every milter NAME)
drained() { [ -z "$(find "$(pf_dir "$PF")/spool/"{incoming,active,deferred,maildrop} -type f 2>/dev/null | head -n 1)" ]; }
# cpu_ticks PID - user + system time of a process, in clock ticks
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)
# PERF: perf(1) can count a process's system calls and context switches
PERF=""
if command -v perf >/dev/null \
	&& perf stat -x, -e raw_syscalls:sys_enter,context-switches -o /dev/null true 2>/dev/null; then
	PERF=yes
fi
# source NAME [MESSAGES] - smtp-source into an instance: messages per second;
# with CPU_FILE set, the CPU seconds per 1000 messages of the instance's
# milter (CPUPID) go to CPU_FILE.NAME, and with perf its system calls and
# context switches per message to CPU_FILE.NAME.sys and CPU_FILE.NAME.cs
source_rate() {
	local t0 t1 c0 c1 m=${2:-$MESSAGES} pid=${CPUPID[$1]:-} perf=""
	[ -z "$pid" ] || c0=$(cpu_ticks "$pid")
	if [ -n "$pid" ] && [ -n "${CPU_FILE:-}" ] && [ -n "$PERF" ]; then
		perf stat -x, -e raw_syscalls:sys_enter,context-switches -p "$pid" -o "$T/perf.out" &
		perf=$!
		sleep 0.3	# attached before the first message (not timed)
	fi
	t0=$(date +%s%N)
	smtp-source -s "$SESSIONS" -m "$m" -l 512 -f bench@client.test -t user@live.bypass.test \
		"${ADDR[$1]}" >>"$T/source.log" 2>&1 || fail "smtp-source into $1 failed"
	t1=$(date +%s%N)
	wait_for -t 120 drained "$1" || fail "$1: the queue did not drain"
	if [ -n "$pid" ] && [ -n "${CPU_FILE:-}" ]; then
		c1=$(cpu_ticks "$pid")
		awk -v c=$((c1 - c0)) -v t="$TICK" -v m="$m" 'BEGIN { printf "%.3f\n", c / t / m * 1000 }' \
			>>"$CPU_FILE.$1"
	fi
	if [ -n "$perf" ]; then
		kill -INT "$perf"
		wait "$perf" || true	# perf ends on SIGINT
		awk -F, -v m="$m" -v f="$CPU_FILE.$1" '$3 ~ /sys_enter/ { printf "%.1f\n", $1 / m >>(f ".sys") }
			$3 ~ /context-switches/ { printf "%.1f\n", $1 / m >>(f ".cs") }' "$T/perf.out"
	fi
	awk -v m="$m" -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", m / (ns / 1e9) }'
}
# order R NAME... - the names, turned by one place every two rounds and
# reversed in even rounds: each pair of rounds measures neighbours (the
# figures compared: no-op and mxbypass, memory and redis) first and second
# alike, and over the rounds every name runs in every place of a round,
# for the place moves the rate too (RESULTS.md, "the conversation counted")
order() {
	local r=$1 i k
	shift
	local names=("$@") turned=()
	k=$(((r - 1) / 2 % $#))
	for ((i = 0; i < $#; i++)); do turned+=("${names[(i + k) % $#]}"); done
	if [ $((r % 2)) = 0 ]; then
		for ((i = $# - 1; i >= 0; i--)); do printf '%s ' "${turned[i]}"; done
	else
		printf '%s ' "${turned[@]}"
	fi
}
# kernel_counts FILE - the milters' kernel work that source_rate counted
# into FILE.{noop,mxbypass}.{sys,cs}: counted, not timed, what the
# conversation saves
kernel_counts() {
	local kind f m n
	if [ -z "$PERF" ]; then
		echo "   (no perf: the milters' system calls and context switches are not counted)"
		return
	fi
	for kind in sys:"system calls" cs:"context switches"; do
		f=${kind%%:*}
		[ -s "$1.mxbypass.$f" ] && [ -s "$1.noop.$f" ] || continue
		m=$(cat "$1.mxbypass.$f") n=$(cat "$1.noop.$f")
		printf '   milter %s per message: no-op %s, mxbypass %s (medians); mxbypass/no-op %s, paired (per round %s)\n' \
			"${kind#*:}" "$(median $n)" "$(median $m)" "$(paired_median "$m" "$n")" "$(per_round "$m" "$n")"
	done
}
# rcpt_time LABEL - RCPT time with one session, memory against redis: the
# cost of the store on one decision, without the noise of a loaded host
rcpt_time() {
	local name line m=$((LATENCY / 2))
	declare -A p50 p99
	for name in mxbypass redis; do
		line=$(python3 "$BS/smtpload.py" "${ADDR[$name]%:*}" "${ADDR[$name]##*:}" 1 "$m" user@live.bypass.test)
		[ "$(field "$line" failed)" = 0 ] || fail "rcpt_time $name: $line"
		p50[$name]=$(field "$line" rcpt-p50-ms) p99[$name]=$(field "$line" rcpt-p99-ms)
		wait_for -t 120 drained "$name" || fail "$name: the queue did not drain"
	done
	awk -v l="$1" -v m="$m" -v a="${p50[mxbypass]}" -v b="${p99[mxbypass]}" -v c="${p50[redis]}" \
		-v d="${p99[redis]}" 'BEGIN { printf "   RCPT time, 1 session, %d messages, %s: memory p50 %.3f p99 %.3f ms, redis p50 %.3f p99 %.3f ms; redis adds p50 %+.3f ms\n",
		m, l, a, b, c, d, c - a }'
}
# round_line R NAME... - the rates of round R
round_line() {
	local r=$1 line name
	shift
	line="   round $r:"
	for name; do line="$line $name ${RATES[$name]##* }"; done
	echo "$line msg/s"
}

E2E=(none noop mxbypass)
[ -z "$REDIS" ] || E2E+=(redis)
# warm-up: caches, Postfix processes
for name in "${E2E[@]}"; do
	python3 "$BS/smtpload.py" "${ADDR[$name]%:*}" "${ADDR[$name]##*:}" 4 200 user@live.bypass.test >/dev/null
done

echo
echo "== 1. end to end, warm cache: $MESSAGES messages, $SESSIONS sessions, $ROUNDS rounds alternated"
[ -n "$REDIS" ] || echo "   (no redis-server, or a build without hiredis: StateBackend redis left out)"
declare -A RATES=([none]= [noop]= [mxbypass]= [redis]=)
declare -A CPUPID=([noop]=$NOOP_PID [mxbypass]=$MILTER_PID [redis]=${RMILTER_PID:-})
[ -z "$REDIS" ] || redis_cli CONFIG RESETSTAT >/dev/null
CPU_FILE="$T/cpu"
for ((r = 1; r <= ROUNDS; r++)); do
	for name in $(order "$r" "${E2E[@]}"); do
		RATES[$name]="${RATES[$name]} $(source_rate "$name")"
	done
	round_line "$r" "${E2E[@]}"
done
CPU_FILE=""
none=$(median ${RATES[none]}); noop=$(median ${RATES[noop]}); mxb=$(median ${RATES[mxbypass]})
printf '   %-28s %8s msg/s\n' "no milter" "$none" "no-op milter" "$noop" "mxbypass-milter (tag)" "$mxb"
[ -z "$REDIS" ] || printf '   %-28s %8s msg/s\n' "mxbypass-milter (tag, redis)" "$(median ${RATES[redis]})"
printf '   mxbypass/no-op      %s   median of the paired per-round ratios (target >= 1.05; per round %s; ratio of the medians %s)\n' \
	"$(paired_median "${RATES[mxbypass]}" "${RATES[noop]}")" \
	"$(per_round "${RATES[mxbypass]}" "${RATES[noop]}")" "$(ratio "$mxb" "$noop")"
for name in noop mxbypass redis; do
	[ -s "$T/cpu.$name" ] || continue
	printf '   milter CPU per 1000 messages, %-9s median %s s (rounds: %s)\n' "$name:" \
		"$(median $(cat "$T/cpu.$name"))" "$(tr '\n' ' ' <"$T/cpu.$name" | sed 's/ $//')"
done
printf '   milter CPU, mxbypass/no-op: %s   median of the paired per-round ratios (target <= 1.00; per round %s)\n' \
	"$(paired_median "$(cat "$T/cpu.mxbypass")" "$(cat "$T/cpu.noop")")" \
	"$(per_round "$(cat "$T/cpu.mxbypass")" "$(cat "$T/cpu.noop")")"
kernel_counts "$T/cpu"
printf '   mxbypass/no-milter  %s\n' "$(ratio "$mxb" "$none")"
if [ -n "$REDIS" ]; then
	printf '   redis/memory        %s   median of the paired per-round ratios (target >= 0.95; per round %s)\n' \
		"$(paired_median "${RATES[redis]}" "${RATES[mxbypass]}")" "$(per_round "${RATES[redis]}" "${RATES[mxbypass]}")"
	# what the redis milter asked while it decided: probes and counters only
	redis_cli INFO commandstats | sed -n 's/^cmdstat_\([a-z]*\):calls=\([0-9]*\),.*/\1=\2/p' \
		| sort | tr '\n' ' ' | sed 's/^/   redis commands meanwhile: /; s/ $/\n/'
	rcpt_time "Action tag"
fi
grep -c 'verdict=bypass action=tag' "$T/milter.log" | sed 's/^/   bypass lines logged: /'

# reconf CONF DAEMON "Key value"... - change keys of a running milter (SIGHUP)
reconf() {
	local conf=$1 name=$2 kv
	shift 2
	for kv; do
		sed -i "/^${kv%% *} /d" "$conf"
		echo "$kv" >>"$conf"
	done
	reload "$name" || fail "no reload of $conf"
}

echo
echo "== 1c. the same with Action log: no header added, so Postfix edits no message; against"
echo "   the no-op milter, $ROUNDS rounds (what tagging every message costs, beside section 1)"
reconf "$conf" milter "Action log"
python3 "$BS/smtpload.py" "${ADDR[mxbypass]%:*}" "${ADDR[mxbypass]##*:}" 4 200 user@live.bypass.test >/dev/null
RATES[noop]= RATES[mxbypass]=
CPU_FILE="$T/cpu1c"
for ((r = 1; r <= ROUNDS; r++)); do
	for name in $(order "$r" noop mxbypass); do
		RATES[$name]="${RATES[$name]} $(source_rate "$name")"
	done
	round_line "$r" noop mxbypass
done
CPU_FILE=""
printf '   mxbypass (log)/no-op   %s   median of the paired per-round ratios (per round %s)\n' \
	"$(paired_median "${RATES[mxbypass]}" "${RATES[noop]}")" "$(per_round "${RATES[mxbypass]}" "${RATES[noop]}")"
printf '   milter CPU, mxbypass (log)/no-op: %s   median of the paired per-round ratios (per round %s)\n' \
	"$(paired_median "$(cat "$T/cpu1c.mxbypass")" "$(cat "$T/cpu1c.noop")")" \
	"$(per_round "$(cat "$T/cpu1c.mxbypass")" "$(cat "$T/cpu1c.noop")")"
kernel_counts "$T/cpu1c"
reconf "$conf" milter "Action tag"
[ "${BENCH_ONLY:-}" != e2e ] || exit 0

if [ -n "$REDIS" ]; then
	echo
	echo "== 1b. end to end, Action tempfail + RetryAfter, every message a retry accepted:"
	echo "   each RCPT asks the retry memory (redis: one round trip); $RETRY_MESSAGES messages, $ROUNDS rounds"
	RETRY=(mxbypass redis)
	declare -A RCONF=([mxbypass]="$conf" [redis]="$conf.redis") RNAME=([mxbypass]=milter [redis]=rmilter)
	for name in "${RETRY[@]}"; do
		reconf "${RCONF[$name]}" "${RNAME[$name]}" "Action tempfail" "RetryAfter 1" "RetryExpire 86400"
		# the first tempfail, then past RetryAfter every RCPT is a retry accepted
		python3 "$BS/smtpload.py" "${ADDR[$name]%:*}" "${ADDR[$name]##*:}" 1 1 user@live.bypass.test >/dev/null
	done
	sleep 1.2
	for name in "${RETRY[@]}"; do
		line=$(python3 "$BS/smtpload.py" "${ADDR[$name]%:*}" "${ADDR[$name]##*:}" 4 200 user@live.bypass.test)
		[ "$(field "$line" failed)" = 0 ] || fail "tempfail warm-up $name: $line"
		RATES[$name]=
	done
	sets0=$(redis_cli INFO commandstats | sed -n 's/^cmdstat_set:calls=\([0-9]*\),.*/\1/p')
	for ((r = 1; r <= ROUNDS; r++)); do
		for name in $(order "$r" "${RETRY[@]}"); do
			RATES[$name]="${RATES[$name]} $(source_rate "$name" "$RETRY_MESSAGES")"
		done
		round_line "$r" "${RETRY[@]}"
	done
	printf '   %-28s %8s msg/s\n' "memory, tempfail+retry" "$(median ${RATES[mxbypass]})" \
		"redis, tempfail+retry" "$(median ${RATES[redis]})"
	printf '   redis/memory (tempfail+RetryAfter)  %s   (no target; per round %s)\n' \
		"$(ratio "$(median ${RATES[redis]})" "$(median ${RATES[mxbypass]})")" \
		"$(per_round "${RATES[redis]}" "${RATES[mxbypass]}")"
	rcpt_time "tempfail+retry"
	sets=$(( $(redis_cli INFO commandstats | sed -n 's/^cmdstat_set:calls=\([0-9]*\),.*/\1/p') - sets0 ))
	echo "   retry-accept lines: memory $(grep -c 'verdict=bypass action=retry-accept' "$T/milter.log")," \
		"redis $(dlog_count rmilter 'verdict=bypass action=retry-accept'); Redis SET NX meanwhile: $sets"
	totals rmilter
	grep -o ' store=.*' <<<"$TOTALS" | sed 's/^ /   redis milter: /'
	reconf "$conf" milter "Action tag" "RetryExpire 60"
	kill -TERM "$RMILTER_PID"
	wait "$RMILTER_PID" 2>/dev/null
fi

echo
half=$((DOMAINS / 2))
echo "== 2. cold path: every message to another domain, DNS answers $DNS_DELAY ms away"
echo "   ($half messages per run, 2 runs each, $SESSIONS sessions)"
sed -i "s/^DnsServers .*/DnsServers 127.0.0.1:$DELAY_PORT/" "$conf"
reload milter || fail "no reload"
declare -A COLD=([mxbypass]= [resquery]=) C50=([mxbypass]= [resquery]=)
for r in 0 1; do
	for name in mxbypass resquery; do
		line=$(python3 "$BS/smtpload.py" "${ADDR[$name]%:*}" "${ADDR[$name]##*:}" "$SESSIONS" "$half" \
			"u@d{n}.cold.test" $((r * half)))
		[ "$(field "$line" failed)" = 0 ] || fail "cold $name: $line"
		COLD[$name]="${COLD[$name]} $(field "$line" rate)"
		C50[$name]="${C50[$name]} $(field "$line" rcpt-p50-ms)"
		echo "   run $((r + 1)) $name: $line"
		wait_for -t 120 drained "$name" || fail "$name: the queue did not drain"
	done
done
# one session, 200 domains neither milter has seen: the RCPT time of a
# cold lookup, without queueing
for name in mxbypass resquery; do
	line=$(python3 "$BS/smtpload.py" "${ADDR[$name]%:*}" "${ADDR[$name]##*:}" 1 200 \
		"u@d{n}.cold.test" "$DOMAINS")
	eval "one_$name=\$(field \"\$line\" rcpt-p50-ms)"
	wait_for -t 120 drained "$name" || fail "$name: the queue did not drain"
done
totals milter
misses=$(grep -o 'dns-misses=[0-9]*' <<<"$TOTALS")
c_mxb=$(median ${COLD[mxbypass]}); c_res=$(median ${COLD[resquery]})
l_mxb=$(median ${C50[mxbypass]}); l_res=$(median ${C50[resquery]})
printf '   %-28s %8s msg/s  RCPT p50 %s ms  (%s)\n' "mxbypass-milter (c-ares)" "$c_mxb" "$l_mxb" "$misses"
printf '   %-28s %8s msg/s  RCPT p50 %s ms\n' "blocking res_query milter" "$c_res" "$l_res"
printf '   mxbypass/blocking   throughput %s, RCPT time %s\n' "$(ratio "$c_mxb" "$c_res")" "$(ratio "$l_mxb" "$l_res")"
printf '   one session, 200 new domains: RCPT p50 %s ms (mxbypass) vs %s ms (blocking), ratio %s\n' \
	"$one_mxbypass" "$one_resquery" "$(ratio "$one_mxbypass" "$one_resquery")"
sed -i "s/^DnsServers .*/DnsServers 127.0.0.1:$NSD_PORT/" "$conf"

echo "== 3. decision cost, warm (cache hit + rank + verdict); cold, 1 thread, NSD on loopback"
"$B/decide_bench" "$conf" live.bypass.test 127.0.0.30 192.0.2.7 1000000 3000 | sed 's/^/   /'

echo
echo "== 4. memory of the daemon (default CacheSize 10000, retry memory 100000), peak RSS"
stop_milter
printf 'Syslog no\nLogLevel notice\nTrustedNetworks 127.0.0.60/32\nDnsServers 127.0.0.1:%s\nProbePort %s\nAction tag\n' \
	"$NSD_PORT" "$PORT" >"$T/mem.conf"
start_milter "$T/mem.conf"
rss() { awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$MILTER_PID/status"; }
echo "   at start: $(rss) MiB"
chunk=$((MEM / 4))
# mem_run MODE CHUNKS - CHUNKS chunks of distinct domains or client networks
mem_run() {
	for ((c = 0; c < $2; c++)); do
		"$MILTERTEST" -D sock="$SOCK" -D mode=$1 -D first=$((c * chunk)) -D count=$chunk \
			-s "$BS/mem.lua" >"$T/mem.out" 2>&1 || { cat "$T/mem.out"; fail "mem.lua $1"; }
		echo "   after $(( (c + 1) * chunk )) distinct $3: $(rss) MiB"
	done
}
mem_run domains 4 "recipient domains (Action tag: the MX set cache)"
# tempfail: every client network and domain pair goes to the retry memory
sed -i 's/^Action tag$/Action tempfail/' "$T/mem.conf"
reload milter || fail "no reload"
mem_run clients 5 "client networks (Action tempfail: retry memory, top lists)"
echo "   (target: under 64 MiB, flat once the caches are full)"

echo "== 5. added latency, warm cache, 1 session, $LATENCY messages each: the RCPT, and the"
echo "   whole message (MAIL to the end of data: with Action tag the decision is made there)"
stop_milter
start_milter "$conf"
for name in none noop mxbypass; do
	python3 "$BS/smtpload.py" "${ADDR[$name]%:*}" "${ADDR[$name]##*:}" 1 200 user@live.bypass.test >/dev/null
done
declare -A P50 P99 M50 M99
lines0=$(log_count ': rcpt-domain=')
for name in none noop mxbypass; do
	line=$(python3 "$BS/smtpload.py" "${ADDR[$name]%:*}" "${ADDR[$name]##*:}" 1 "$LATENCY" user@live.bypass.test)
	P50[$name]=$(field "$line" rcpt-p50-ms); P99[$name]=$(field "$line" rcpt-p99-ms)
	M50[$name]=$(field "$line" msg-p50-ms); M99[$name]=$(field "$line" msg-p99-ms)
	printf '   %-28s RCPT p50 %s ms  p99 %s ms; message p50 %s ms  p99 %s ms\n' "$name" \
		"${P50[$name]}" "${P99[$name]}" "${M50[$name]}" "${M99[$name]}"
done
# added WHAT P50 P99 - what each milter adds to a time (the arrays of its
# medians and 99th percentiles), against no milter
added() {
	local -n a=$2 b=$3
	awk -v w="$1" -v a="${a[mxbypass]}" -v b="${a[none]}" -v c="${b[mxbypass]}" -v d="${b[none]}" \
		-v e="${a[noop]}" -v f="${b[noop]}" 'BEGIN {
		printf "   %s time added by mxbypass-milter: p50 %+.3f ms, p99 %+.3f ms (no-op milter: p50 %+.3f ms, p99 %+.3f ms)\n",
			w, a - b, c - d, e - b, f - d }'
}
added RCPT P50 P99
added message M50 M99
decided=$(( $(log_count ': rcpt-domain=') - lines0 ))
echo "   (mxbypass-milter decided $decided recipients here)"
[ "$decided" -ge "$LATENCY" ] || fail "section 5: the milter decided $decided recipients, not $LATENCY"
stop_milter

printf 'WitnessWindow 600\n' >"$T/witness.conf"
if [ -z "$REDIS" ] || ! "$MILTER" -n -c "$T/witness.conf" >/dev/null 2>&1; then
	echo
	echo "== 6. (left out: no Redis, or a build that has no WitnessWindow)"
else
	echo
	echo "== 6. the witness on a primary: message time, 1 session, this host the primary, StateBackend redis"
	start_rmilter
	# every connection's witness is one Redis write at connect, owing the
	# MTA no reply; the RCPT comes after EHLO and MAIL
	declare -A WP50=([on]= [off]=)
	w0=$(redis_cli INFO commandstats | sed -n 's/^cmdstat_set:calls=\([0-9]*\),.*/\1/p')
	for ((r = 1; r <= 2 * ROUNDS; r++)); do
		for w in $(order "$r" on off); do
			reconf "$conf.redis" rmilter \
				"WitnessWindow $([ "$w" = on ] && echo 600 || echo 0)"
			# every connection from a network of its own: a witness
			# written for each (the worst case; one network is
			# written once in 5 s)
			line=$(SMTPLOAD_SPREAD=yes python3 "$BS/smtpload.py" "${ADDR[redis]%:*}" \
				"${ADDR[redis]##*:}" 1 $((LATENCY / 2)) user@primary.bypass.test $((r * LATENCY)))
			[ "$(field "$line" failed)" = 0 ] || fail "section 6 ($w): $line"
			WP50[$w]="${WP50[$w]} $(field "$line" msg-p50-ms)"
			wait_for -t 120 drained redis || fail "redis: the queue did not drain"
		done
	done
	w1=$(redis_cli INFO commandstats | sed -n 's/^cmdstat_set:calls=\([0-9]*\),.*/\1/p')
	on=$(median ${WP50[on]}); off=$(median ${WP50[off]})
	printf '   message p50, witness on (WitnessWindow 600): %s ms (rounds:%s)\n' "$on" "${WP50[on]}"
	printf '   message p50, witness off (WitnessWindow 0):  %s ms (rounds:%s)\n' "$off" "${WP50[off]}"
	awk -v a="$on" -v b="$off" 'BEGIN { printf "   the witness adds p50 %+.3f ms\n", a - b }'
	echo "   (Redis SETs meanwhile: $((w1 - w0)), for $((ROUNDS * LATENCY)) connections with the witness on)"
	dlog_count rmilter 'verdict=primary' | sed 's/^/   primary verdicts logged: /'
fi
echo
echo "== 7. the milter's own instructions per message, warm bypass, Action tag (callgrind: repeatable)"
if command -v valgrind >/dev/null; then
	top_srcdir=$top_srcdir bash "$BS/insns.sh" "$top_builddir" | sed 's/^/   /'
else
	echo "   (left out: valgrind not installed)"
fi
. "$BS/steady.sh"
echo
echo "== done"
