# dns_lib.sh - DNS servers for the tests, on loopback (sourced; extends lib.sh)
#
# start_nsd serves the zones of tests/integration/zones with NSD;
# start_dnsmasq runs dnsmasq with the given records and a query log;
# start_blackhole runs a server that never answers. Each picks a free port
# and sets the matching variable: NSD_PORT, DNSMASQ_PORT, BLACKHOLE_PORT.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ZONES="$top_srcdir/tests/integration/zones"
TOOLS="$top_builddir/tests/tools"
PATH=$PATH:/usr/sbin:/sbin

# nsd_run DIR PORT NAME:FILE... - NSD in the foreground on 127.0.0.1:PORT
# serving those zones, its files in DIR; false if it did not start (sets
# NSD_PID)
nsd_run() {
	local d=$1 port=$2 z
	shift 2
	cat >"$d/nsd.conf" <<-EOF
	server:
	  ip-address: 127.0.0.1
	  port: $port
	  username: ""
	  chroot: ""
	  database: ""
	  zonelistfile: "$d/zone.list"
	  xfrdfile: "$d/xfrd.state"
	  pidfile: "$d/nsd.pid"
	  logfile: "$d/nsd.log"
	  server-count: 1
	  # no response rate limiting: tests and benchmarks send bursts
	  rrl-ratelimit: 0
	  rrl-whitelist-ratelimit: 0
	  verbosity: 1
	remote-control:
	  control-enable: no
	EOF
	for z; do
		printf 'zone:\n  name: %s\n  zonefile: "%s"\n' "${z%%:*}" "${z#*:}" >>"$d/nsd.conf"
	done
	nsd -d -c "$d/nsd.conf" >>"$d/nsd.out" 2>&1 &
	NSD_PID=$!
	PIDS="$PIDS $NSD_PID"
	if wait_for grep -q 'nsd started' "$d/nsd.log" && kill -0 "$NSD_PID" 2>/dev/null; then
		return 0
	fi
	kill "$NSD_PID" 2>/dev/null
	return 1
}

# start_nsd - NSD on 127.0.0.1:$NSD_PORT serving every zone of zones/, and
# NSD_EXTRA_ZONES: "NAME:FILE ..." as well (the benchmarks)
start_nsd() {
	command -v nsd >/dev/null || skip "nsd not installed"
	local d="$T/nsd" try
	mkdir -p "$d"
	cp "$ZONES"/*.zone "$d/"
	for try in 1 2 3 4 5; do
		NSD_PORT=$(random_port)
		# shellcheck disable=SC2086
		nsd_run "$d" "$NSD_PORT" "mxb.test:$d/mxb.test.zone" "broken.test:$d/broken.test.zone" \
			"bypass.test:$d/bypass.test.zone" ${NSD_EXTRA_ZONES:-} && return 0
	done
	cat "$d/nsd.out" "$d/nsd.log" >&2
	fail "nsd did not start"
}

# start_dnsmasq ARGS... - dnsmasq answering only from its own records
# (--mx-host, --host-record ...), every query logged to $T/dnsmasq.log
start_dnsmasq() {
	command -v dnsmasq >/dev/null || skip "dnsmasq not installed"
	local try
	for try in 1 2 3 4 5; do
		DNSMASQ_PORT=$(random_port)
		dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
			--listen-address=127.0.0.1 --bind-interfaces --port="$DNSMASQ_PORT" \
			--user=root --pid-file="$T/dnsmasq.pid" --log-queries \
			--log-facility="$T/dnsmasq.log" "$@" 2>>"$T/dnsmasq.out" &
		DNSMASQ_PID=$!
		PIDS="$PIDS $DNSMASQ_PID"
		if wait_for grep -q 'started, version' "$T/dnsmasq.log" && kill -0 "$DNSMASQ_PID" 2>/dev/null; then
			return 0
		fi
		kill "$DNSMASQ_PID" 2>/dev/null
	done
	cat "$T/dnsmasq.out" "$T/dnsmasq.log" >&2 2>/dev/null
	fail "dnsmasq did not start"
}

# start_blackhole - UDP and TCP on 127.0.0.1:$BLACKHOLE_PORT, never answering
start_blackhole() {
	local try
	for try in 1 2 3 4 5; do
		BLACKHOLE_PORT=$(random_port)
		"$TOOLS/blackhole" 127.0.0.1 "$BLACKHOLE_PORT" 2>>"$T/blackhole.out" &
		BLACKHOLE_PID=$!
		PIDS="$PIDS $BLACKHOLE_PID"
		sleep 0.2
		kill -0 "$BLACKHOLE_PID" 2>/dev/null && return 0
	done
	cat "$T/blackhole.out" >&2
	fail "blackhole did not start"
}
