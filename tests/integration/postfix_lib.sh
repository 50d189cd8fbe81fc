# postfix_lib.sh - throwaway Postfix instances for the tests (sourced,
# bash; extends lib.sh and smtp_lib.sh)
#
# Each instance lives in $T/pf-NAME (etc/, spool/, data/, maillog) and never
# touches the system's /etc/postfix or /var/spool/postfix. Every instance
# started is stopped at exit, before lib.sh's cleanup removes $T.

. "$(dirname "${BASH_SOURCE[0]}")/smtp_lib.sh"

PF_INSTANCES=""

# pf_cleanup - stop every instance still running (output would only be noise)
pf_cleanup() {
	for d in $PF_INSTANCES; do
		postfix -c "$d/etc" stop >/dev/null 2>&1
	done
}
trap 'pf_cleanup; cleanup' EXIT
# Postfix daemons outlive the test if a signal skips the EXIT trap.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# require_postfix - skip unless Postfix, smtp-sink and swaks can run here
require_postfix() {
	for c in postfix postconf smtp-sink swaks; do
		command -v "$c" >/dev/null || skip "$c not installed"
	done
	# the master daemon and the -u option of smtp-sink need root
	[ "$(id -u)" = 0 ] || skip "Postfix tests need root"
	id postfix >/dev/null 2>&1 || skip "no postfix user"
}

# pf_dir NAME - the directory of an instance
pf_dir() { echo "$T/pf-$1"; }

# start_postfix NAME LISTEN_ADDR:PORT RELAY_ADDR:PORT [MAIN_CF_LINE...]
# Run an instance whose smtpd listens on LISTEN and which relays mail for
# example.test (and anything else) to RELAY. Extra "name = value" lines
# override the defaults below.
start_postfix() {
	local name=$1 listen=$2 relay=$3 dir line
	shift 3
	dir=$(pf_dir "$name")
	mkdir -p "$dir/etc" "$dir/spool" "$dir/data"
	# the daemons write there as the postfix user (check-warn insists too)
	chown postfix "$dir/data"
	case $relay in \[*) ;; *) relay="[${relay%:*}]:${relay##*:}" ;; esac

	cat >"$dir/etc/main.cf" <<-EOF
	compatibility_level = 3.6
	queue_directory = $dir/spool
	data_directory = $dir/data
	maillog_file = $dir/maillog
	maillog_file_prefixes = $dir
	# the smtp client refuses a server greeting with its own name (a loop)
	myhostname = $name.pf.test
	mydomain = pf.test
	myorigin = \$myhostname
	mydestination =
	local_recipient_maps =
	alias_maps =
	alias_database =
	biff = no
	# listen address is in the master.cf service name, so no alias is needed
	inet_interfaces = 127.0.0.1
	inet_protocols = ipv4
	mynetworks = 127.0.0.0/8
	relay_domains = example.test
	relayhost = $relay
	smtpd_peername_lookup = no
	smtp_dns_support_level = disabled
	smtpd_error_sleep_time = 0
	smtp_connect_timeout = 5s
	# retry soon after a failure, give up quickly
	queue_run_delay = 1s
	minimal_backoff_time = 1s
	maximal_backoff_time = 2s
	maximal_queue_lifetime = 5m
	bounce_queue_lifetime = 5m
	delay_warning_time = 0
	EOF

	# no chroot: a unix milter socket path is then a plain absolute path
	cat >"$dir/etc/master.cf" <<-EOF
	$listen   inet  n       -       n       -       -       smtpd
	pickup    unix  n       -       n       60      1       pickup
	cleanup   unix  n       -       n       -       0       cleanup
	qmgr      unix  n       -       n       300     1       qmgr
	rewrite   unix  -       -       n       -       -       trivial-rewrite
	bounce    unix  -       -       n       -       0       bounce
	defer     unix  -       -       n       -       0       bounce
	trace     unix  -       -       n       -       0       bounce
	verify    unix  -       -       n       -       1       verify
	flush     unix  n       -       n       1000?   0       flush
	proxymap  unix  -       -       n       -       -       proxymap
	smtp      unix  -       -       n       -       -       smtp
	relay     unix  -       -       n       -       -       smtp
	showq     unix  n       -       n       -       -       showq
	error     unix  -       -       n       -       -       error
	retry     unix  -       -       n       -       -       error
	discard   unix  -       -       n       -       -       discard
	anvil     unix  -       -       n       -       1       anvil
	scache    unix  -       -       n       -       1       scache
	postlog   unix-dgram n  -       n       -       1       postlogd
	EOF

	for line in "$@"; do
		postconf -c "$dir/etc" -e "$line" || fail "postfix $name: bad setting: $line"
	done

	PF_INSTANCES="$PF_INSTANCES $dir"
	# "start" returns once the master has bound its sockets (master -w), so
	# no probe connection is needed (it would also show up in milter logs).
	pf_start "$name" "$dir/maillog"
}

# pf_start NAME LOG - "postfix start" of an instance set up, else fail
# showing what it said (Postfix tools print errors to a terminal or LOG)
pf_start() {
	local dir
	dir=$(pf_dir "$1")
	postfix -c "$dir/etc" start >"$dir/start.out" 2>&1 || {
		cat "$dir/start.out" "$2" >&2 2>/dev/null
		fail "postfix $1 did not start"
	}
}

# stop_postfix NAME - stop an instance (waits for the master to exit)
stop_postfix() {
	postfix -c "$(pf_dir "$1")/etc" stop >/dev/null 2>&1
}

# pf_log NAME - the log file of an instance
pf_log() { echo "$(pf_dir "$1")/maillog"; }

# pf_log_has NAME PATTERN - the instance's log contains an extended regex
pf_log_has() { grep -Eq -- "$2" "$(pf_log "$1")"; }

# pf_sent NAME - how many deliveries the instance logged as sent
pf_sent() { grep -c 'status=sent' "$(pf_log "$1")" 2>/dev/null; }

# pf_sent_atleast NAME N
pf_sent_atleast() { [ "$(pf_sent "$1")" -ge "$2" ]; }

# wait_sent NAME N [SECS] - wait (30 s by default) for N "status=sent" lines
wait_sent() {
	wait_for -t "${3:-30}" pf_sent_atleast "$1" "$2"
}
