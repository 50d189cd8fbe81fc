#!/bin/bash
# store.sh - StateBackend redis against a real redis-server on loopback.
# Two daemons, A and B, share one Redis: a sender tempfailed through A is
# accepted through B after RetryAfter, B takes A's probe results instead of
# probing, and -S adds both up. Then Redis is killed under load, stopped
# (slow), restarted: every recipient is still decided, without waiting,
# each change of state is logged once and counted (stats line and
# Prometheus file), and sharing resumes. The evidence for a verdict is
# shared too: a witness left through A excuses a sender at B, and so does
# an outage another milter saw. Last AUTH (the password never
# shows) and a server that answers nonsense.
. "$(dirname "$0")/mx_lib.sh"
. "$(dirname "$0")/redis_lib.sh"

require_miltertest
command -v redis-server >/dev/null && command -v redis-cli >/dev/null \
	|| skip "redis-server or redis-cli not installed"
command -v python3 >/dev/null || skip "python3 not installed (the nonsense server)"
printf 'StateBackend redis\n' >"$T/any.conf"
if ! "$MILTER" -n -c "$T/any.conf" >"$T/n.out" 2>&1; then
	grep -q 'no Redis support' "$T/n.out" && skip "built without hiredis"
	cat "$T/n.out"; fail "-n refused StateBackend redis"
fi

start_nsd
start_mx_hosts
start_redis

LUA="$top_srcdir/tests/integration/store.lua"
PREFIX="pool$$:"
TIMEOUT=200				# RedisTimeout, ms
UPKEY="probe:127.0.0.21%20$PROBE_PORT"	# up.bypass.test, live
DOWNKEY="probe:127.0.0.22%20$PROBE_PORT"	# down.bypass.test, refusing
# the recipient lines: every domain here has up.bypass.test as better MX
B="rank=20 better=up.bypass.test reachable=up.bypass.test reason=better-mx-reachable"

# store_conf FILE SERVER [LINES] - bypass_conf sharing its state in SERVER
store_conf() {
	bypass_conf "$1"
	printf 'StateBackend redis\nRedisServer %s\nRedisPrefix %s\nRedisTimeout %s\nStatsInterval 0\n%b' \
		"$2" "$PREFIX" "$TIMEOUT" "${3:-}" >>"$1"
}

# once NAME PATTERN WHAT - exactly one log line matches (waiting for the
# first: a daemon logs how its store started after its socket appears)
once() {
	local n
	wait_for dlog_count_above "$1" "$2" 0
	n=$(dlog_count "$1" "$2")
	[ "$n" = 1 ] || { grep -E -- "$2" "$T/$1.log" >&2; fail "$1: $3 logged $n times, expected once"; }
}

# send NAME CLIENT QID RCPTS [HEADER] - one message through daemon NAME
# (store.lua); the RCPT timings go to $T/mt-QID.out
send() {
	"$MILTERTEST" -D sock="$T/$1.sock" -D client="$2" -D qid="$3" -D rcpts="$4" \
		-D header="${5:-any}" -s "$LUA" >"$T/mt-$3.out" 2>&1 \
		|| { cat "$T/mt-$3.out"; tail -n 20 "$T/$1.log"; fail "miltertest $3 through $1"; }
}

# rcpt_ms QID ADDRESS - how long that RCPT took
rcpt_ms() { awk -v a="$2" '$1 == "rcpt" && $2 == a { print $4 }' "$T/mt-$1.out"; }

# want LINE KEY VALUE WHAT - a stats field has exactly that value
want() {
	[ "$(field "$1" "$2")" = "$3" ] || fail "$4: $2=$(field "$1" "$2"), expected $3 [$1]"
}

PROM="$T/metrics/a.prom"
mkdir -p "$T/metrics"
store_conf "$T/a.conf" "127.0.0.1:$REDIS_PORT" "StatsFile $PROM\n"
store_conf "$T/b.conf" "127.0.0.1:$REDIS_PORT"
start_daemon A "$T/a.conf"
start_daemon B "$T/b.conf"
for d in A B; do
	once $d "store: redis 127\.0\.0\.1:$REDIS_PORT: sharing retry memory, probe results and counters$" \
		"sharing at start"
done
pass "two daemons on one Redis: each logs that it shares its state"

# 1. Retry memory: tempfailed through A, the retry accepted through B.
send A 192.0.2.7 S1 "user@live.bypass.test=continue,user@temp.bypass.test=code,user@dead.bypass.test=continue" \
	live.bypass.test
t_first=$(now_ms)
logged A S1 temp.bypass.test "client=192.0.2.7 verdict=bypass action=tempfail $B"
key="${PREFIX}retry:192.0.2.0/24:temp.bypass.test"
[ "$(redis_cli EXISTS "$key")" = 1 ] || { redis_cli KEYS '*' >&2; fail "no $key in Redis"; }
ttl=$(redis_cli TTL "$key")
[ "$ttl" -gt 0 ] && [ "$ttl" -le 60 ] || fail "$key: TTL $ttl, expected 1..60 (RetryExpire 60)"
first=$(redis_cli GET "$key")
[ $((t_first - first)) -ge 0 ] && [ $((t_first - first)) -lt 5000 ] \
	|| fail "$key holds $first, not the time of the tempfail (about $t_first)"
pass "A tempfailed 192.0.2.7 for temp.bypass.test: $key holds its time, TTL $ttl s (RetryExpire 60)"

sleep 1.1
send B 192.0.2.99 S2 "other@temp.bypass.test=continue,user@live.bypass.test=continue,user@dead.bypass.test=continue" \
	temp.bypass.test,live.bypass.test
logged B S2 temp.bypass.test "client=192.0.2.99 verdict=bypass action=retry-accept $B"
[ "$(dlog_count B 'action=tempfail')" = 0 ] || fail "B tempfailed before accepting"
send B 198.51.100.7 S3 "user@temp.bypass.test=code" -
logged B S3 temp.bypass.test "client=198.51.100.7 verdict=bypass action=tempfail $B"
pass "the retry from 192.0.2.0/24 accepted and tagged through B, which never tempfailed it; another network tempfailed"

# Check mode reads the pool's retry memory, and writes nothing to it.
"$MILTER" -c "$T/b.conf" -t temp.bypass.test -a 127.0.0.30 -C 192.0.2.50 >"$T/r1.out" 2>"$T/r1.err"
"$MILTER" -c "$T/b.conf" -t temp.bypass.test -a 127.0.0.30 -C 198.18.7.7 >"$T/r2.out" 2>"$T/r2.err"
grep -qx 'action: retry-accept (header X-MX-Bypass)' "$T/r1.out" \
	&& grep -qE '^retry: 192\.0\.2\.0/24 was first tempfailed for temp\.bypass\.test [0-9]+ s ago, RetryAfter 1 s: its retry is accepted and tagged$' "$T/r1.out" \
	&& grep -qx 'action: tempfail (451 4.7.1)' "$T/r2.out" \
	&& grep -qx 'retry: 198.18.7.0/24 was not tempfailed for temp.bypass.test yet: this would be its first tempfail' "$T/r2.out" \
	|| { cat "$T"/r[12].out "$T"/r[12].err; fail "-t -C: the pool's retry memory"; }
[ "$(redis_cli EXISTS "${PREFIX}retry:198.18.7.0/24:temp.bypass.test")" = 0 ] \
	|| fail "-t wrote a retry record for 198.18.7.0/24"
pass "-t -C reads the pool's retry memory (192.0.2.0/24: retry-accept; 198.18.7.0/24: a first tempfail) and writes nothing"

# 2. Probe results: B took A's, up and down, instead of probing.
logged B S2 live.bypass.test "client=192.0.2.99 verdict=bypass action=tag $B"
logged B S2 dead.bypass.test "client=192.0.2.99 verdict=backup action=accept rank=20 better=down.bypass.test reason=better-mx-unreachable"
[ "$(redis_cli GET "$PREFIX$UPKEY")" = up ] && [ "$(redis_cli GET "$PREFIX$DOWNKEY")" = down ] \
	|| { redis_cli KEYS '*' >&2; fail "no probe results $PREFIX$UPKEY (up), $PREFIX$DOWNKEY (down)"; }
pttl_up=$(redis_cli PTTL "$PREFIX$UPKEY")
pttl_down=$(redis_cli PTTL "$PREFIX$DOWNKEY")
[ "$pttl_up" -gt 0 ] && [ "$pttl_up" -le 300000 ] && [ "$pttl_down" -gt 0 ] && [ "$pttl_down" -le 60000 ] \
	|| fail "probe keys kept $pttl_up / $pttl_down ms, expected ProbeTTLUp 300 s / ProbeTTLDown 60 s"
totals A
ta=$TOTALS
want "$ta" probes 2 "A"
want "$ta" probe-shared 0 "A"
totals B
tb=$TOTALS
want "$tb" probes 0 "B"
want "$tb" probe-shared 2 "B"
want "$tb" store up "B"
pass "probe results shared: A probed 2 addresses; B probes=0 probe-shared=2 (keys kept $pttl_up / $pttl_down ms)"

# pool_rcpts_now - rcpts in the pool's line (-S: every milter's minutes)
pool_rcpts_now() { field "$("$MILTER" -c "$T/a.conf" -S 2>/dev/null)" rcpts; }

# 3. -S: the pool's line adds up both daemons, once both have pushed.
rcpts=$(( $(field "$ta" rcpts) + $(field "$tb" rcpts) ))
[ "$rcpts" = 7 ] || fail "A and B decided $rcpts recipients, expected 7"
pushed() { [ "$(pool_rcpts_now)" = "$rcpts" ]; }
wait_for pushed || fail "the pool's line (-S) says rcpts=$(pool_rcpts_now), expected $rcpts"
"$MILTER" -c "$T/a.conf" -S >"$T/pool.out" 2>"$T/pool.err"
rc=$?
[ "$rc" = 0 ] && [ "$(wc -l <"$T/pool.out")" = 1 ] && [ ! -s "$T/pool.err" ] \
	|| { cat "$T/pool.out" "$T/pool.err"; fail "-S: exit $rc, expected 0 and one line"; }
pool=$(cat "$T/pool.out")
echo "$pool" | grep -q '^stats: pool interval=300 milters=2 rcpts=' || fail "-S: [$pool]"
for k in rcpts bypass backup tagged tempfailed retry-accepted probes probe-shared; do
	want "$pool" "$k" $(( $(field "$ta" "$k") + $(field "$tb" "$k") )) "-S ($k: A + B)"
done
want "$pool" store-down 0 "-S"
echo "$pool" | grep -q ' top-domains=temp\.bypass\.test:3,' || fail "-S: top-domains [$pool]"
others=$(redis_cli KEYS '*' | grep -v "^$PREFIX")
[ -z "$others" ] || fail "keys outside RedisPrefix $PREFIX: $others"
pass "-S: one pool line, milters=2, rcpts=$rcpts = A's $(field "$ta" rcpts) + B's $(field "$tb" rcpts), every count the sum; every key under $PREFIX"

# 3b. Redis closing idle connections (its "timeout", CLIENT KILL) is no
# outage: a pooled connection the server closed is left, not tried.
killed=$(redis_cli CLIENT KILL TYPE normal)
send A 192.0.9.77 S9 "user@temp.bypass.test=code" -
logged A S9 temp.bypass.test "client=192.0.9.77 verdict=bypass action=tempfail $B"
[ "$(redis_cli EXISTS "${PREFIX}retry:192.0.9.0/24:temp.bypass.test")" = 1 ] \
	|| fail "after Redis closed its connections, A's tempfail did not reach Redis"
sleep 1.5	# and each daemon's counters went out once more
[ "$(dlog_count A 'is away')" = 0 ] && [ "$(dlog_count B 'is away')" = 0 ] \
	|| fail "Redis closing idle connections was taken for an outage: $(grep -h 'is away' "$T/A.log" "$T/B.log")"
pass "Redis closed the pool's $killed connections: the next operations took fresh ones, no outage"

# 3c. Evidence across the pool. A plays the primary: a client of
# 198.51.77.0/24 connects to up.bypass.test's address (a recipient outside
# Domains makes the round trip that miltertest waits for). B, the backup, does not
# accuse that network, and does accuse another. An address some milter of
# the pool saw down lately excuses as well.
ukey="witness:198.51.77.0/24:127.0.0.21"
"$MILTERTEST" -D sock="$T/A.sock" -D client=198.51.77.7 -D qid=V1 -D rcpts=user@example.com=continue -D header=- \
	-D daemon=127.0.0.21 -s "$LUA" >"$T/mt-V1.out" 2>&1 || { cat "$T/mt-V1.out"; fail "miltertest V1"; }
[ "$(redis_cli EXISTS "$PREFIX$ukey")" = 1 ] || { redis_cli KEYS '*witness*' >&2; fail "no $PREFIX$ukey in Redis"; }
wttl=$(redis_cli TTL "$PREFIX$ukey")
[ "$wttl" -gt 590 ] && [ "$wttl" -le 600 ] || fail "$ukey: TTL $wttl, expected WitnessWindow 600"
send B 198.51.77.9 V2 "user@live2.bypass.test=continue" -
logged B V2 live2.bypass.test "client=198.51.77.9 verdict=backup action=accept rank=20 better=up.bypass.test reachable=up.bypass.test reason=tried-better-mx"
send B 198.51.78.9 V3 "user@live2.bypass.test=continue" live2.bypass.test
logged B V3 live2.bypass.test "client=198.51.78.9 verdict=bypass action=tag $B"
pass "witness: 198.51.77.0/24 connected to the primary through A ($ukey, TTL $wttl s); B excused that network (tried-better-mx), tagged 198.51.78.0/24"

dkey="down:127.0.0.22%20$PROBE_PORT"	# A found down.bypass.test down
dpttl=$(redis_cli PTTL "$PREFIX$dkey")
[ "$dpttl" -gt 1700000 ] && [ "$dpttl" -le 1800000 ] || { redis_cli KEYS '*down*' >&2; fail "$dkey: PTTL $dpttl, expected RecentDownWindow 1800 s"; }
upkey="down:127.0.0.21%20$PROBE_PORT"
redis_cli SET "$PREFIX$upkey" "$(now_ms)" PX 60000 >/dev/null	# another milter saw up.bypass.test down
send B 198.51.99.9 V4 "user@live2.bypass.test=continue" -
logged B V4 live2.bypass.test "client=198.51.99.9 verdict=backup action=accept rank=20 better=up.bypass.test reachable=up.bypass.test reason=better-mx-recently-down"
"$MILTER" -c "$T/b.conf" -t live2.bypass.test -a 127.0.0.30 -C 198.51.77.50 >"$T/t1.out" 2>"$T/t1.err"
"$MILTER" -c "$T/b.conf" -t live2.bypass.test -a 127.0.0.30 -C 192.0.2.200 >"$T/t2.out" 2>"$T/t2.err"
redis_cli DEL "$PREFIX$upkey" >/dev/null
"$MILTER" -c "$T/b.conf" -t live2.bypass.test -a 127.0.0.30 -C 192.0.2.200 >"$T/t3.out" 2>"$T/t3.err"
grep -qE '^witness: 198\.51\.77\.0/24 reached 127\.0\.0\.21 [0-9]+ s ago \(WitnessWindow 600\)$' "$T/t1.out" \
	&& grep -qx 'reason: tried-better-mx' "$T/t1.out" && grep -qx 'verdict: backup' "$T/t1.out" \
	&& grep -qE "^recent-down: 127\.0\.0\.21 $PROBE_PORT was down [0-9]+ s ago \(RecentDownWindow 1800\)$" "$T/t2.out" \
	&& grep -qx 'witness: none (192.0.2.0/24 reached no better MX within WitnessWindow 600)' "$T/t2.out" \
	&& grep -qx 'reason: better-mx-recently-down' "$T/t2.out" && grep -qx 'verdict: backup' "$T/t2.out" \
	&& grep -q '^recent-down: none ' "$T/t3.out" && grep -qx 'verdict: bypass' "$T/t3.out" \
	|| { cat "$T"/t[123].out "$T"/t[123].err; fail "-t -C: the pool's evidence"; }
totals B
want "$TOTALS" tried-better-mx 1 "B"
want "$TOTALS" recently-down 1 "B"
pass "outage history: A kept $dkey (PTTL $dpttl ms); another milter's down:127.0.0.21 excused a sender through B (better-mx-recently-down); -t -C shows both, then bypass once it is gone"

# 4. Redis killed while recipients keep coming, then back.
[ "$(metric "$PROM" mxbypass_store_up)" = 1 ] && [ "$(metric "$PROM" mxbypass_store_down_total)" = 0 ] \
	|| fail "StatsFile before the kill: store_up $(metric "$PROM" mxbypass_store_up), down_total $(metric "$PROM" mxbypass_store_down_total)"

# load - one message after the other, through A and B in turn, each from a
# network of its own (so a first tempfail), until $T/load.stop: live
# (tagged), temp (tempfailed), reject (rejected). "DAEMON QID" per message
# in $T/load.sent, the RCPT timings in $T/load.times.
load() {
	local i=0 d q
	while [ ! -e "$T/load.stop" ]; do
		i=$((i + 1)); d=A; [ $((i % 2)) = 0 ] && d=B; q=K$i
		"$MILTERTEST" -D sock="$T/$d.sock" -D client="198.$((18 + i / 250)).$((i % 250)).7" \
			-D qid="$q" -D rcpts="u@live.bypass.test=continue,u@temp.bypass.test=code,u@reject.bypass.test=code" \
			-D header=live.bypass.test -s "$LUA" >"$T/load.out" 2>&1 \
			|| { cp "$T/load.out" "$T/load.fail"; return 1; }
		echo "$d $q" >>"$T/load.sent"
		awk -v d=$d -v q=$q '$1 == "rcpt" { print d, q, $2, $3, $4 }' "$T/load.out" >>"$T/load.times"
		sleep 0.02
	done
}
: >"$T/load.sent"; : >"$T/load.times"
load &
LOADER=$!
PIDS="$PIDS $LOADER"
sleep 1
t_kill=$(now_ms)
kill_redis
for d in A B; do
	wait_for dlog_count_above $d "store: redis 127\.0\.0\.1:$REDIS_PORT is away" 0 \
		|| fail "$d: no 'is away' line after the kill"
done
sleep 1.5		# reconnect tries at 0.25, 0.75, 1.75 s: refused, logged at debug only
for d in A B; do
	once $d "store: redis 127\.0\.0\.1:$REDIS_PORT is away \(.*\): deciding with the in-memory store$" \
		"'is away'"
	echo "# $d: $(grep -o 'is away (.*)' "$T/$d.log")"
done
totals A
down=$TOTALS
want "$down" store down "A, Redis killed"
want "$down" store-down 1 "A, Redis killed"
[ "$(field "$down" store-local)" -ge 1 ] || fail "A: nothing answered in memory while Redis was away"
totals B
want "$TOTALS" store down "B, Redis killed"
want "$TOTALS" store-down 1 "B, Redis killed"
pass "Redis killed: 'is away' once per daemon; stats store=down store-down=1 (A store-local=$(field "$down" store-local))"

# 8. The Prometheus file says so too.
[ "$(metric "$PROM" mxbypass_store_up)" = 0 ] && [ "$(metric "$PROM" mxbypass_store_down_total)" = 1 ] \
	&& [ "$(metric "$PROM" mxbypass_store_local_total)" = "$(field "$down" store-local)" ] \
	&& [ "$(metric "$PROM" mxbypass_probe_shared_total)" = 0 ] \
	|| { grep store "$PROM" >&2; fail "StatsFile after the kill"; }
pass "StatsFile after the kill: mxbypass_store_up 0, mxbypass_store_down_total 1, mxbypass_store_local_total $(metric "$PROM" mxbypass_store_local_total)"

t_restart=$(now_ms)
restart_redis
for d in A B; do	# the backoff is 10 s at most: 20 s is plenty
	wait_for dlog_count_above $d "answers again" 0 || wait_for dlog_count_above $d "answers again" 0 \
		|| fail "$d: no 'answers again' within 20 s of the restart"
done
t_back=$(now_ms)
[ $((t_back - t_restart)) -le 11000 ] || fail "Redis restarted: back after $((t_back - t_restart)) ms, more than the 10 s backoff"
sleep 0.5
touch "$T/load.stop"
wait "$LOADER" || { cat "$T/load.fail"; fail "a message under load got a wrong reply"; }
for d in A B; do
	once $d "store: redis 127\.0\.0\.1:$REDIS_PORT answers again after [0-9]+\.[0-9] s: sharing resumes$" \
		"'answers again'"
	once $d "is away" "'is away'"
done
echo "# $(grep -o 'answers again after [0-9.]* s' "$T/A.log") (A), restart to both back: $((t_back - t_restart)) ms"
pass "Redis restarted: 'answers again' once per daemon, $((t_back - t_restart)) ms after the restart"

# every recipient of the load decided, logged, with the right action
sent=$(wc -l <"$T/load.sent")
for d in A B; do
	n=$(grep -c "^$d " "$T/load.sent")
	[ "$n" -ge 5 ] || fail "load: only $n messages through $d"
	[ "$(dlog_count $d '^mxbypass-milter\[[0-9]+\]: info: K[0-9]+: rcpt-domain=')" = $((3 * n)) ] \
		|| fail "load: $d logged $(dlog_count $d ': K[0-9]+: rcpt-domain=') recipient lines for $n messages"
	[ "$(dlog_count $d ': K[0-9]+: rcpt-domain=temp\.bypass\.test .* action=tempfail ')" = "$n" ] \
		|| fail "load: $d did not tempfail every first try"
done
# the timings: RCPTs started after the kill
read -r after first slowest < <(awk -v k="$t_kill" '$4 >= k {
		n++; e = $4 + $5 - k; if (n == 1 || e < f) f = e; if ($5 > s) s = $5 }
	END { print n + 0, f + 0, s + 0 }' "$T/load.times")
read -r before base < <(awk -v k="$t_kill" '$4 < k { n++; if ($5 > s) s = $5 } END { print n + 0, s + 0 }' \
	"$T/load.times")
echo "# load: $sent messages, $before RCPTs before the kill (slowest $base ms), $after after it"
echo "# fallback: first decision after kill in $first ms, slowest decision after kill $slowest ms (RedisTimeout $TIMEOUT ms)"
[ "$after" -ge 10 ] || fail "load: only $after RCPTs after the kill"
[ "$slowest" -lt "$TIMEOUT" ] || fail "a RCPT after the kill took $slowest ms: it waited for a dead Redis"
pass "under load, Redis killed and restarted: $((3 * sent)) recipients all decided and logged; first decision after the kill in $first ms, slowest $slowest ms"

totals A
want "$TOTALS" store up "A, Redis back"
want "$TOTALS" store-down 1 "A, Redis back"
[ "$(metric "$PROM" mxbypass_store_up)" = 1 ] && [ "$(metric "$PROM" mxbypass_store_down_total)" = 1 ] \
	|| { grep store "$PROM" >&2; fail "StatsFile after the restart"; }
totals B
want "$TOTALS" store up "B, Redis back"
send A 203.0.113.9 S4 "user@temp.bypass.test=code" -
[ "$(redis_cli EXISTS "${PREFIX}retry:203.0.113.0/24:temp.bypass.test")" = 1 ] \
	|| fail "after the restart, A's tempfail did not reach Redis"
sleep 1.1
send B 203.0.113.10 S5 "user@temp.bypass.test=continue" temp.bypass.test
logged B S5 temp.bypass.test "client=203.0.113.10 verdict=bypass action=retry-accept $B"
pass "sharing resumes: store=up (stats and StatsFile), a pair tempfailed through A is accepted through B"

# 5. Slow Redis: stopped, it accepts connections and never answers.
# pool_rcpts - recipients in the pool's totals, and in A's and B's own
pool_rcpts() {
	local last=none same=0
	# each daemon pushes once a second: settled when unchanged for 1.5 s
	for _ in $(seq 1 60); do
		POOL=$(pool_rcpts_now)
		if [ "$POOL" = "$last" ]; then
			same=$((same + 1))
			[ "$same" -ge 5 ] && break
		else
			same=0 last=$POOL
		fi
		sleep 0.3
	done
	totals A; OWN=$(field "$TOTALS" rcpts)
	totals B; OWN=$((OWN + $(field "$TOTALS" rcpts)))
}
pool_rcpts
pool0=$POOL own0=$OWN
kill -STOP "$REDIS_PID"
# B decides without Redis (cached probe, no retry memory): its next push of
# counters is what finds Redis silent
send B 100.64.9.7 W0 "u1@live.bypass.test=continue,u2@live.bypass.test=continue" live.bypass.test
send A 100.64.1.7 W1 "user@temp.bypass.test=code" -
slow=$(rcpt_ms W1 user@temp.bypass.test)
send A 100.64.2.7 W2 "user@temp.bypass.test=code" -
next=$(rcpt_ms W2 user@temp.bypass.test)
wait_for dlog_count_above A "is away" 1 || fail "A: no 'is away' while Redis is stopped"
why=$(grep -o 'is away (.*)' "$T/A.log" | tail -n 1)
echo "# slow Redis: the decision needing it took $slow ms (RedisTimeout $TIMEOUT ms), the next $next ms; A: $why"
[ "$slow" -le $((TIMEOUT + 300)) ] || fail "slow Redis: the decision took $slow ms, RedisTimeout is $TIMEOUT ms"
case $why in
*"retry: no answer within RedisTimeout"*|*"evidence: no answer within RedisTimeout"*)
	# this decision found Redis silent, reading the retry memory or the
	# evidence before it: it waited RedisTimeout, not less
	[ "$slow" -ge $((TIMEOUT - 20)) ] || fail "slow Redis: answered after $slow ms, before RedisTimeout?" ;;
*"counters: no answer within RedisTimeout"*|*"PING: no answer within RedisTimeout"*|*"witness: no answer within RedisTimeout"*)
	# the counter push, the connection's witness, or a connection
	# opened because the only one was busy (by the decision or by the
	# push), found Redis silent first
	echo "# (found silent by: ${why#*(})" ;;
*) fail "slow Redis: A says [$why], expected no answer within RedisTimeout" ;;
esac
[ "$next" -lt "$TIMEOUT" ] || fail "slow Redis: the next decision waited $next ms, Redis was known away"
wait_for dlog_count_above B "is away" 1 || fail "B: no 'is away' while Redis is stopped"
kill -CONT "$REDIS_PID"
t_cont=$(now_ms)
for d in A B; do
	wait_for dlog_count_above $d "answers again" 1 || wait_for dlog_count_above $d "answers again" 1 \
		|| fail "$d: no 'answers again' after SIGCONT"
done
echo "# back $(($(now_ms) - t_cont)) ms after SIGCONT"
for d in A B; do
	[ "$(dlog_count $d 'is away')" = 2 ] && [ "$(dlog_count $d 'answers again')" = 2 ] \
		|| fail "$d: 'is away' $(dlog_count $d 'is away') times, 'answers again' $(dlog_count $d 'answers again') times, expected 2 each"
done
send A 100.64.3.7 W3 "user@temp.bypass.test=code" -
[ "$(redis_cli EXISTS "${PREFIX}retry:100.64.3.0/24:temp.bypass.test")" = 1 ] \
	|| fail "after SIGCONT, A's tempfail did not reach Redis"
# checked at the end, so that a miscount does not hide the scenarios after it
pool_rcpts
pooled=$((POOL - pool0)) decided=$((OWN - own0))
echo "# slow Redis: the pool's rcpts went $pool0 -> $POOL (+$pooled), A's + B's $own0 -> $OWN (+$decided)"
pass "slow Redis: answered after $slow ms (RedisTimeout $TIMEOUT), then at once ($next ms); after SIGCONT sharing is back"

stop_daemon A
stop_daemon B
pass "A and B stop cleanly (exit 0)"
kill_redis

# 6. AUTH: the password from RedisPasswordFile; a wrong one is refused.
PW="pw-$RANDOM$RANDOM-right"
WRONG="pw-$RANDOM$RANDOM-wrong"
start_redis --requirepass "$PW"
REDIS_PASSWORD=$PW
(umask 077; echo "$PW" >"$T/redis.pass"; echo "$WRONG" >"$T/wrong.pass"; : >"$T/empty.pass")
store_conf "$T/c.conf" "127.0.0.1:$REDIS_PORT" "RedisPasswordFile $T/redis.pass\n"
store_conf "$T/d.conf" "127.0.0.1:$REDIS_PORT" "RedisPasswordFile $T/wrong.pass\nLogLevel debug\n"
"$MILTER" -n -c "$T/c.conf" >"$T/n.out" 2>&1 || { cat "$T/n.out"; fail "-n: a good RedisPasswordFile refused"; }
# nopass FILE WHY - -n, and the daemon, refuse a RedisPasswordFile, naming it
nopass() {
	sed "s|^RedisPasswordFile .*|RedisPasswordFile $1|" "$T/c.conf" >"$T/nopass.conf"
	"$MILTER" -n -c "$T/nopass.conf" >"$T/n.out" 2>&1
	rc=$?
	[ "$rc" = 1 ] && grep -q "RedisPasswordFile $1: $2" "$T/n.out" \
		|| { cat "$T/n.out"; fail "-n with RedisPasswordFile $1: exit $rc, expected 1 naming it"; }
}
nopass "$T/missing.pass" "No such file or directory"
nopass "$T/empty.pass" "no password on its first line"
nopass "$T" ""
if [ "$(id -u)" != 0 ]; then
	(umask 077; echo x >"$T/locked.pass"); chmod 000 "$T/locked.pass"
	nopass "$T/locked.pass" "Permission denied"
fi
sed "s|^RedisPasswordFile .*|RedisPasswordFile $T/missing.pass|" "$T/c.conf" >"$T/nopass.conf"
"$MILTER" -f -l -c "$T/nopass.conf" -p "unix:$T/never.sock" >"$T/n.out" 2>&1
rc=$?
[ "$rc" = 1 ] && grep -q "RedisPasswordFile $T/missing.pass" "$T/n.out" && [ ! -e "$T/never.sock" ] \
	|| { cat "$T/n.out"; fail "the daemon started without its RedisPasswordFile (exit $rc)"; }
pass "-n, and the daemon, refuse a missing, empty or unreadable RedisPasswordFile (exit 1, naming it)"

start_daemon C "$T/c.conf"
start_daemon D "$T/d.conf"
wait_for dlog_count_above C "sharing retry memory" 0
once C "store: redis 127\.0\.0\.1:$REDIS_PORT: sharing retry memory" "sharing"
send C 192.0.2.7 P1 "user@temp.bypass.test=code" -
[ "$(redis_cli EXISTS "${PREFIX}retry:192.0.2.0/24:temp.bypass.test")" = 1 ] \
	|| fail "AUTH: C's tempfail did not reach Redis"
pass "AUTH with the password from RedisPasswordFile (mode $(stat -c %a "$T/redis.pass")): C shares"

send D 192.0.2.8 P2 "user@temp.bypass.test=code,user@live.bypass.test=continue" live.bypass.test
logged D P2 temp.bypass.test "client=192.0.2.8 verdict=bypass action=tempfail $B"
logged D P2 live.bypass.test "client=192.0.2.8 verdict=bypass action=tag $B"
sleep 1.2		# reconnect tries at 0.25 and 0.75 s, logged at debug only
once D "store: redis 127\.0\.0\.1:$REDIS_PORT is away \(AUTH refused: .*\): deciding with the in-memory store$" \
	"'is away (AUTH refused)'"
[ "$(dlog_count D 'AUTH refused')" -ge 3 ] || fail "D: no reconnect tries at debug level"
totals D
want "$TOTALS" store down "D, wrong password"
[ "$(field "$TOTALS" probes)" -ge 1 ] || fail "D: no probes of its own"
echo "# D: $(grep -o 'is away (.*)' "$T/D.log")"
in_pool() { [ "$(redis_cli ZCARD "${PREFIX}milters")" = 1 ]; }
wait_for in_pool || fail "C never pushed its counters"
"$MILTER" -c "$T/c.conf" -S >"$T/pool-c.out" 2>&1 || { cat "$T/pool-c.out"; fail "-S with the password"; }
grep -q '^stats: pool interval=300 milters=1 ' "$T/pool-c.out" || fail "-S with AUTH: $(cat "$T/pool-c.out")"
"$MILTER" -c "$T/d.conf" -S >"$T/pool-d.out" 2>&1 && fail "-S with a wrong password exited 0"
grep -q 'AUTH refused' "$T/pool-d.out" || fail "-S with a wrong password: $(cat "$T/pool-d.out")"
ps -eww -o pid=,args= >"$T/ps.out"
grep -F -e "$PW" -e "$WRONG" "$T/ps.out" && fail "a password in ps output"
grep -F -l -e "$PW" -e "$WRONG" "$T"/*.log "$T"/*.out "$T"/mt-*.out 2>/dev/null && fail "a password in a log"
pass "wrong password: 'AUTH refused' once, decided in memory; neither password in a log (LogLevel debug) or in ps"
stop_daemon C
stop_daemon D
kill_redis

# 7. A server that answers nonsense.
cat >"$T/nonsense.py" <<'EOF'
# nonsense.py PORT - accepts TCP and answers whatever comes with nonsense
import socket, sys, threading
replies = [b"\x00\xff\x1b[2J not redis\r\n", b"HTTP/1.1 400 Bad Request\r\n\r\n", b"+OK\r\n",
           b"*2\r\n:1\r\n", b"$99999999999\r\n", b":x\r\n"]
count = [0]
lock = threading.Lock()
def serve(c):
    while True:
        try:
            if not c.recv(4096):
                break
        except OSError:
            break
        with lock:
            r = replies[count[0] % len(replies)]
            count[0] += 1
        try:
            c.sendall(r)
        except OSError:
            break
    c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    print("accept", flush=True)
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
for _ in 1 2 3 4 5; do
	FAKE_PORT=$(random_port)
	python3 "$T/nonsense.py" "$FAKE_PORT" >"$T/nonsense.out" 2>&1 &
	PIDS="$PIDS $!"
	wait_for grep -q listening "$T/nonsense.out" && break
done
grep -q listening "$T/nonsense.out" || { cat "$T/nonsense.out"; fail "the nonsense server did not start"; }
store_conf "$T/e.conf" "127.0.0.1:$FAKE_PORT"
start_daemon E "$T/e.conf"
send E 192.0.2.7 G1 "user@temp.bypass.test=code,user@live.bypass.test=continue,user@dead.bypass.test=continue" \
	live.bypass.test
logged E G1 temp.bypass.test "client=192.0.2.7 verdict=bypass action=tempfail $B"
logged E G1 dead.bypass.test "client=192.0.2.7 verdict=backup action=accept rank=20 better=down.bypass.test reason=better-mx-unreachable"
sleep 2		# reconnect tries at 0.25, 0.75, 1.75 s: nonsense each time
# the same network after RetryAfter: the local retry memory accepts it
send E 192.0.2.8 G2 "user@temp.bypass.test=continue,user@live.bypass.test=continue" \
	temp.bypass.test,live.bypass.test
logged E G2 temp.bypass.test "client=192.0.2.8 verdict=bypass action=retry-accept $B"
kill -0 "$PID_E" 2>/dev/null || fail "E died"
once E "store: redis 127\.0\.0\.1:$FAKE_PORT is away \(.*\): deciding with the in-memory store$" "'is away'"
[ "$(dlog_count E 'answers again')" = 0 ] || fail "E: nonsense taken for an answer"
[ "$(grep -c '^accept' "$T/nonsense.out")" -ge 3 ] || fail "E tried the nonsense server only $(grep -c '^accept' "$T/nonsense.out") times"
LC_ALL=C grep -q '[^ -~]' "$T/E.log" && fail "E logged bytes that are not printable ASCII"
for q in G1 G2; do
	while read -r _ a _ took; do
		[ "$took" -lt "$TIMEOUT" ] || fail "nonsense server: $q $a took $took ms"
	done < <(grep '^rcpt ' "$T/mt-$q.out")
done
totals E
want "$TOTALS" store down "E"
want "$TOTALS" store-down 1 "E"
want "$TOTALS" rcpts 5 "E"
echo "# E: $(grep -o 'is away (.*)' "$T/E.log"); $(grep -c '^accept' "$T/nonsense.out") connections"
stop_daemon E
pass "a server answering nonsense: 'is away' once, every recipient decided in memory at once (retry memory too), no crash, exit 0"

# 5, the pool's counters: a push that found Redis silent is not pushed twice
# (Redis runs the commands it was sent once it answers again)
[ "$pooled" = "$decided" ] \
	|| fail "slow Redis: the pool counted $pooled recipients while A and B decided $decided"
pass "slow Redis: the pool counted the $decided recipients decided meanwhile once each"
