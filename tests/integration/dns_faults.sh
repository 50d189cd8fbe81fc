#!/bin/bash
# dns_faults.sh - DNS that does not answer, refuses, or is asked by many
# threads at once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dns_lib.sh"

# run_t CONF ARGS... - check mode with CONF, its output in $T/out; sets rc
# (its exit status) and ms (how long it took)
run_t() {
	local conf=$1 t0
	shift
	t0=$(now_ms)
	"$MILTER" -c "$conf" -t "$@" >"$T/out" 2>&1
	rc=$?
	ms=$(( $(now_ms) - t0 ))
}

# A silent server: error within DnsTimeout x DnsTries plus a small margin.
start_blackhole
printf 'Syslog no\nDnsServers 127.0.0.1:%s\nDnsTimeout 400\nDnsTries 2\n' "$BLACKHOLE_PORT" >"$T/silent.conf"
run_t "$T/silent.conf" two.mxb.test -a 127.0.0.12
[ $rc = 1 ] || { cat "$T/out"; fail "silent server: exit $rc, expected 1"; }
grep -q '^lookup: timeout ' "$T/out" || { cat "$T/out"; fail "silent server: not a timeout"; }
grep -q '^verdict: error$' "$T/out" || fail "silent server: verdict not error"
[ $ms -ge 700 ] && [ $ms -le 1300 ] || fail "silent server: answered after $ms ms, expected about 800 (400 ms x 2)"
pass "silent server: verdict error after $ms ms (DnsTimeout 400 x DnsTries 2)"

# DecisionTimeout below that: it wins.
printf 'DecisionTimeout 300\n' >>"$T/silent.conf"
run_t "$T/silent.conf" two.mxb.test -a 127.0.0.12
grep -q '^lookup: timeout ' "$T/out" || fail "decision timeout: not a timeout"
[ $ms -le 600 ] || fail "decision timeout: answered after $ms ms, expected about 300"
pass "DecisionTimeout 300 ends the lookup after $ms ms"

# Nothing listening: refused at once, an error too, no waiting.
printf 'Syslog no\nDnsServers 127.0.0.1:9\nDnsTimeout 2000\n' >"$T/refused.conf"
run_t "$T/refused.conf" two.mxb.test
[ $rc = 1 ] && grep -q '^verdict: error$' "$T/out" || { cat "$T/out"; fail "refused: no error verdict"; }
[ $ms -le 1000 ] || fail "refused: took $ms ms"
pass "no server listening: verdict error after $ms ms"

# 50 threads, one cold domain, one shared cache: exactly one MX query.
start_dnsmasq --mx-host=storm.test,mx1.storm.test,10 --host-record=mx1.storm.test,127.0.0.11
printf 'Syslog no\nDnsServers 127.0.0.1:%s\n' "$DNSMASQ_PORT" >"$T/storm.conf"
"$TOOLS/storm" "$T/storm.conf" storm.test 50 >"$T/storm.out" 2>&1 || { cat "$T/storm.out"; fail "storm failed"; }
cat "$T/storm.out"
# the others either waited for the leader or, scheduled after its answer,
# found it in the cache; which of the two is up to the scheduler
read -r joined hits < <(sed -n 's/^threads=50 leaders=1 joined=\([0-9]*\) hits=\([0-9]*\) timeouts=0 found=50 other=0$/\1 \2/p' "$T/storm.out")
[ -n "$joined" ] && [ $((joined + hits)) = 49 ] || fail "storm: not one leader and 49 served by it"
sleep 0.2
n=$(grep -c 'query\[MX\] storm.test from' "$T/dnsmasq.log")
[ "$n" = 1 ] || { cat "$T/dnsmasq.log"; fail "storm: the DNS server saw $n MX queries"; }
pass "50 threads asking for one cold domain: 1 MX query at the server ($joined waited for it, $hits found it cached)"

# Malformed answers: an error verdict (accepted), never a crash, and no
# waiting past DnsTimeout x DnsTries. A spoofed ID is ignored: a timeout.
for mode in short garbage pointer wrongid; do
	for try in 1 2 3 4 5; do
		BAD_PORT=$(random_port)
		"$TOOLS/baddns" 127.0.0.1 "$BAD_PORT" $mode 2>>"$T/baddns.out" &
		bad=$!
		PIDS="$PIDS $bad"
		sleep 0.2
		kill -0 $bad 2>/dev/null && break
	done
	printf 'Syslog no\nDnsServers 127.0.0.1:%s\nDnsTimeout 400\nDnsTries 2\n' "$BAD_PORT" >"$T/bad.conf"
	run_t "$T/bad.conf" two.mxb.test -a 127.0.0.12
	[ $rc = 1 ] && grep -q '^verdict: error$' "$T/out" \
		|| { cat "$T/out"; fail "$mode answers: exit $rc, expected 1 and verdict error"; }
	[ $ms -le 1300 ] || fail "$mode answers: took $ms ms"
	kill $bad
	pass "$mode DNS answers: $(sed -n 's/^lookup: \([a-z-]*\).*/\1/p' "$T/out"), verdict error after $ms ms"
done
