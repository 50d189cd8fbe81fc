# mx_lib.sh - the MX hosts of zones/bypass.test, on loopback (sourced;
# extends lib.sh and dns_lib.sh)
#
# start_mx_hosts picks one port, PROBE_PORT, and starts on it the better MX
# hosts the zone names: a live primary (smtp-sink) on 127.0.0.21, nothing on
# .22 (refused), a tarpit on .23, a 421 greeter on .24, a 220 greeter that
# logs what it hears on .25 ($T/greeter.log), a 554 greeter on .26, a
# host that drops every SYN on .27, one that resets mid-greeting on .28.

. "$(dirname "${BASH_SOURCE[0]}")/dns_lib.sh"

# bypass_conf FILE - the milter's configuration for these hosts: this host
# is 127.0.0.30, clients in 10.9.9.0/24 are trusted, per-domain actions
# for reject., temp. and dryrun.bypass.test, a retry accepted after 1 s
bypass_conf() {
	printf 'reject.bypass.test reject\ntemp.bypass.test tempfail\ndryrun.bypass.test log\n' \
		>"$T/actions"
	cat >"$1" <<-EOF
	Syslog no
	TrustedNetworks 10.9.9.0/24
	Domains .bypass.test, www.broken.test
	DnsServers 127.0.0.1:$NSD_PORT
	DnsTimeout 1000
	ProbePort $PROBE_PORT
	ProbeTimeout 1000
	ActionMap $T/actions
	RetryAfter 1
	RetryExpire 60
	EOF
}

# mt_phase NAME - run one phase of verdicts.lua against the milter at $SOCK
mt_phase() {
	"$MILTERTEST" -D sock="$SOCK" -D phase="$1" -s "$top_srcdir/tests/integration/verdicts.lua" \
		>"$T/mt.out" 2>&1 || { cat "$T/mt.out" "$T/milter.log"; fail "miltertest phase $1"; }
}

# mx_host ADDR PORT [GREETING] - one blackhole listener; false if it died
mx_host() {
	"$TOOLS/blackhole" "$@" >>"$T/greeter-$1.log" 2>&1 &
	PIDS="$PIDS $!"
	sleep 0.1
	kill -0 "$!" 2>/dev/null
}

# sink_host ADDR PORT - smtp-sink as a live primary; false if it died
sink_host() {
	local user=""
	[ "$(id -u)" = 0 ] && user="-u postfix"
	/usr/sbin/smtp-sink $user -h up.bypass.test "$1:$2" 64 >>"$T/sink.log" 2>&1 &
	PIDS="$PIDS $!"
	sleep 0.2
	kill -0 "$!" 2>/dev/null
}

# start_mx_hosts - every host above, on PROBE_PORT
start_mx_hosts() {
	local try
	[ -x /usr/sbin/smtp-sink ] || skip "smtp-sink not installed"
	for try in 1 2 3 4 5; do
		PROBE_PORT=$(random_port)
		sink_host 127.0.0.21 "$PROBE_PORT" \
			&& mx_host 127.0.0.23 "$PROBE_PORT" \
			&& mx_host 127.0.0.24 "$PROBE_PORT" "421 busy.bypass.test too busy" \
			&& mx_host 127.0.0.25 "$PROBE_PORT" "220 greeter.bypass.test ESMTP" \
			&& mx_host 127.0.0.26 "$PROBE_PORT" "554 rude.bypass.test no thanks" \
			&& mx_host 127.0.0.27 "$PROBE_PORT" synfull \
			&& mx_host 127.0.0.28 "$PROBE_PORT" "reset:220-reset.bypass.test ESMTP" \
			&& return 0
	done
	cat "$T"/greeter-*.log "$T/sink.log" >&2
	fail "could not start the MX hosts"
}

# bypass_up CONF - NSD serving the zones, the MX hosts, and bypass_conf CONF
bypass_up() {
	start_nsd
	start_mx_hosts
	bypass_conf "$1"
}
