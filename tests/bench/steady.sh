# steady.sh - the benchmark's steady-load section (sourced by run.sh, with
# its Postfix instance and milters running): a domain whose MX set lives
# 2 s (the milter at MinTTL 0) under a steady load for BENCH_STEADY
# seconds (60), BENCH_STEADY_RATE messages a second (20) over
# BENCH_STEADY_SESSIONS sessions (2), through mxbypass-milter's smtpd.
# Without refresh ahead each expiry would send a recipient to DNS (some
# 30 in a minute); with it only the first waits.
# Prints the recipients that waited on DNS (dns-misses + dns-joins of the
# milter's totals line, over the section: 1, the first) and the
# refreshes made.

STEADY=${BENCH_STEADY:-60}
STEADY_RATE=${BENCH_STEADY_RATE:-20}
STEADY_SESSIONS=${BENCH_STEADY_SESSIONS:-2}

echo
echo "== steady load: one domain, DNS TTL 2 s (MinTTL 0), $STEADY s at $STEADY_RATE msg/s, $STEADY_SESSIONS sessions"
# its own NSD: the zone has a 2 s TTL throughout, MX targets included
mkdir -p "$T/steady"
printf '%s\n' '$ORIGIN steady.bypass.test.' '$TTL 2' '@ SOA ns hostmaster 1 3600 600 86400 2' \
	'@ NS ns' 'ns A 127.0.0.1' 'hot MX 10 up' 'hot MX 20 backup' 'up A 127.0.0.21' \
	'backup A 127.0.0.30' >"$T/steady/steady.zone"
for try in 1 2 3 4 5; do
	STEADY_PORT=$(random_port)
	nsd_run "$T/steady" "$STEADY_PORT" "steady.bypass.test:$T/steady/steady.zone" && break
	STEADY_PORT=
done
[ -n "$STEADY_PORT" ] || fail "steady: nsd did not start"
kill -0 "$MILTER_PID" 2>/dev/null || start_milter "$conf"
cp "$conf" "$conf.before-steady"
sed -i "/^MinTTL /d; s/^DnsServers .*/DnsServers 127.0.0.1:$STEADY_PORT/" "$conf"
echo "MinTTL 0" >>"$conf"
reload milter || fail "steady: no reload"
totals milter
s0=$TOTALS
line=$(SMTPLOAD_RATE=$STEADY_RATE python3 "$BS/smtpload.py" "${ADDR[mxbypass]%:*}" \
	"${ADDR[mxbypass]##*:}" "$STEADY_SESSIONS" $((STEADY * STEADY_RATE)) user@hot.steady.bypass.test)
[ "$(field "$line" failed)" = 0 ] || fail "steady: $line"
totals milter
s1=$TOTALS
# delta WORD - how much a word of the totals line grew over the section
delta() { echo $(( $(field "$s1" "$1") - $(field "$s0" "$1") )); }
echo "   $line"
echo "   recipients decided: $(delta rcpts), from the cache: $(delta dns-hits)"
echo "   recipients that waited on DNS: $(( $(delta dns-misses) + $(delta dns-joins) ))" \
	"(dns-misses $(delta dns-misses) + dns-joins $(delta dns-joins); 1 is the first lookup)"
echo "   refreshes made in the background: dns $(delta dns-refreshes), probe $(delta probe-refreshes);" \
	"dropped $(delta refresh-dropped); probes by recipients $(delta probes)"
cp "$conf.before-steady" "$conf"
reload milter || fail "steady: no reload back"
if declare -F drained >/dev/null; then
	wait_for -t 120 drained mxbypass || fail "mxbypass: the queue did not drain"
fi
