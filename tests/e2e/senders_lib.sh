# senders_lib.sh - real sending MTAs against a domain with a primary and a
# backup MX, for tests/e2e/senders.sh (sourced, bash)
#
# Everything runs in namespaces of its own (sendmail_lib.sh's
# sm_enter_namespaces): port 25 of every loopback address and the resolver
# are the test's. Inside, over /etc (this mount namespace only), the test
# puts a resolv.conf that names NSD on 127.0.0.1:53, a hosts file, and a
# passwd/group with the user Exim is built for.
#
#   NSD        127.0.0.1:53    fallback.test: MX 10 mx1 (127.0.0.10), MX 20 mx2 (127.0.0.20)
#   redis      127.0.0.1:$REDIS_PORT
#   mx1        127.0.0.10:25   Postfix "mx1", relays fallback.test to smtp-sink
#                              127.0.0.11:25 ($T/sink-mx1); postgrey on
#                              127.0.0.1:10023 when a run greylists; the
#                              milter ($T/sock/RUN-mx1) in the pool runs
#   mx2        127.0.0.20:25   Postfix "mx2", the milter ($T/sock/RUN-mx2), relays
#                              fallback.test to smtp-sink 127.0.0.21:25 ($T/sink-mx2)
#   sender     127.0.1.30      Postfix "sender", DNS on, smtpd 127.0.1.30:2525
#   exim       127.0.2.40      Exim 4 from the Debian packages, unpacked (never
#                              installed: exim4-daemon-light replaces Postfix)
#   ratware    127.0.3.50      swaks, straight to mx2
#
# One run (sx_run_begin ... sx_run_end) gets $RUN, a directory of its own:
# fresh Postfix queues and logs, a fresh Exim spool (queue and retry
# database), fresh milters (local caches) with a Redis key space of their
# own (RedisPrefix mxb-RUN:). The Postfix instances are created and checked
# once (sx_postfix_setup); a run starts each from the saved main.cf plus its
# own lines. Messages carry a tag (RUN-LABEL) that finds them in the sinks.
#
# sx_require, sx_fetch and sm_enter_namespaces run before lib.sh is sourced.

# shellcheck disable=SC1091,SC2034,SC2154  # found at run time; results go to
# the caller in SX_* variables; SX_SOCK_NAME and SX_MARK_NAME are set by eval
SX_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$SX_LIB_DIR/sendmail_lib.sh"

SX_CACHE="${MXB_PKG_CACHE:-/var/cache/mxbypass-tests}/exim"
SX_EXIM_PKGS="exim4-daemon-light exim4-base"

SX_DOMAIN=fallback.test
SX_MX1=127.0.0.10
SX_MX2=127.0.0.20
SX_SINK1=127.0.0.11
SX_SINK2=127.0.0.21
SX_PF_ADDR=127.0.1.30
SX_PF_SMTPD=127.0.1.30:2525
SX_EXIM_ADDR=127.0.2.40
SX_RAT_ADDR=127.0.3.50
SX_TRUSTED=127.0.9.0/24
SX_PG_ADDR=127.0.0.1:10023
SX_FROM=alice@sender.test
SX_RCPT=bob@fallback.test

# --- outside the namespaces ------------------------------------------------

# sx_require - skip unless this machine can run the test at all
sx_require() {
	local c
	[ "$(id -u)" = 0 ] || sm_skip "needs root (namespaces, port 25, Postfix)"
	for c in unshare ip ss perl dpkg dpkg-deb dpkg-query apt-get flock postfix postconf \
		postsuper smtp-sink swaks nsd redis-server redis-cli; do
		command -v "$c" >/dev/null || sm_skip "$c not installed"
	done
	unshare --net --uts --mount --pid --fork true 2>/dev/null \
		|| sm_skip "cannot create namespaces (unshare --net --uts --mount --pid)"
	id postfix >/dev/null 2>&1 || sm_skip "no postfix user"
}

# sx_installed PACKAGE - dpkg has it installed
sx_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# sx_apt_install PACKAGE... - install packages without an MTA among them
sx_apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=120 \
		--no-install-recommends "$@" >>"$SX_CACHE/fetch.log" 2>&1 && return 0
	apt-get update -qq >>"$SX_CACHE/fetch.log" 2>&1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=120 \
		--no-install-recommends "$@" >>"$SX_CACHE/fetch.log" 2>&1
}

# sx_exim_libs - the library packages Exim's packages depend on (the first
# alternative of each, without the version)
sx_exim_libs() {
	local p deb
	for p in $SX_EXIM_PKGS; do
		deb=$(SM_CACHE=$SX_CACHE sm_deb "$p") || continue
		dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/[[:space:]]//g'
	done | grep '^lib' | sort -u
}

# sx_fetch - the Exim packages in the cache, their libraries and postgrey
# installed; false with the reason in SX_WHY
sx_fetch() {
	local missing=() libs=() p
	SX_WHY=""
	mkdir -p "$SX_CACHE" 2>/dev/null || { SX_WHY="cannot create $SX_CACHE"; return 1; }
	exec 8>"$SX_CACHE/.lock"
	flock -w 300 8 || { SX_WHY="$SX_CACHE/.lock is held by another test"; return 1; }
	for p in $SX_EXIM_PKGS; do
		SM_CACHE=$SX_CACHE sm_deb "$p" >/dev/null || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ] && ! SM_CACHE=$SX_CACHE sm_download "${missing[@]}"; then
		SX_WHY="could not download ${missing[*]} (see $SX_CACHE/fetch.log)"
	fi
	if [ -z "$SX_WHY" ]; then
		# libraries (no conflicts) and postgrey (a policy server, no MTA)
		for p in $(sx_exim_libs) postgrey; do
			sx_installed "$p" || libs+=("$p")
		done
		if [ ${#libs[@]} -gt 0 ] && ! sx_apt_install "${libs[@]}"; then
			SX_WHY="could not install ${libs[*]} (see $SX_CACHE/fetch.log)"
		fi
	fi
	exec 8>&-
	[ -z "$SX_WHY" ]
}

# --- inside: the namespaces ------------------------------------------------

# sx_over_etc FILE CONTENT_FILE - bind CONTENT_FILE over /etc/FILE, in this
# mount namespace only (refused anywhere else)
sx_over_etc() {
	local target
	[ "$(readlink /proc/self/ns/mnt)" != "${SM_OUTER_MNTNS:-}" ] \
		|| fail "refusing to mount over /etc/$1 outside the test's mount namespace"
	# a symbolic link (systemd-resolved's resolv.conf): over its target
	target=$(readlink -f "/etc/$1")
	[ -f "$target" ] || fail "/etc/$1 is not a file here: cannot put the test's over it"
	mount --bind "$2" "$target" || fail "cannot bind $2 over $target"
}

# sx_free_id FILE - a numeric id not used in passwd/group FILE
sx_free_id() {
	local id=64990
	while cut -d: -f3 "$1" | grep -qx "$id"; do id=$((id - 1)); done
	echo "$id"
}

# sx_namespace_setup - loopback, host name, resolver, users
sx_namespace_setup() {
	local id gid
	[ -n "${SM_IN_NAMESPACES:-}" ] || fail "sx_namespace_setup outside the test's namespaces"
	ip link set lo up || fail "cannot bring up lo"
	echo "senders.test" >/proc/sys/kernel/hostname || fail "cannot set the host name"
	mkdir -p "$T/etc"
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:2\n' >"$T/etc/resolv.conf"
	printf '127.0.0.1 localhost senders.test\n' >"$T/etc/hosts"
	cp /etc/passwd "$T/etc/passwd"
	cp /etc/group "$T/etc/group"
	# Exim is built with EXIM_USER=ref:Debian-exim, looked up at every start
	if ! getent passwd Debian-exim >/dev/null; then
		id=$(sx_free_id "$T/etc/passwd")
		gid=$(sx_free_id "$T/etc/group")
		getent group Debian-exim >/dev/null && gid=$(getent group Debian-exim | cut -d: -f3) \
			|| echo "Debian-exim:x:$gid:" >>"$T/etc/group"
		echo "Debian-exim:x:$id:$gid:Exim (test):/nonexistent:/usr/sbin/nologin" >>"$T/etc/passwd"
	fi
	chmod 644 "$T/etc/"*
	for f in resolv.conf hosts passwd group; do sx_over_etc "$f" "$T/etc/$f"; done
	: >"$T/empty"
	mkdir -p "$T/runs"
}

# --- DNS -------------------------------------------------------------------

# sx_start_nsd - NSD on 127.0.0.1:53 with the zone fallback.test
sx_start_nsd() {
	local d="$T/nsd"
	command -v nsd >/dev/null || fail "nsd not installed"
	mkdir -p "$d"
	cat >"$d/fallback.test.zone" <<-EOF
	\$ORIGIN fallback.test.
	\$TTL 10
	@    SOA ns hostmaster 1 3600 600 86400 10
	@    NS  ns
	ns   A   127.0.0.1
	@    MX  10 mx1
	@    MX  20 mx2
	mx1  A   $SX_MX1
	mx2  A   $SX_MX2
	EOF
	nsd_run "$d" 53 "$SX_DOMAIN:$d/fallback.test.zone" \
		|| { cat "$d/nsd.out" "$d/nsd.log" >&2; fail "nsd did not start"; }
}

# --- Postfix ---------------------------------------------------------------

# sx_postfix_init NAME LISTEN RELAY [MAIN_CF_LINE...] - create an instance
# (start_postfix: the first start checks the whole tree), stop it, keep its
# main.cf as the base every run starts from
sx_postfix_init() {
	local dir
	dir=$(pf_dir "$1")
	start_postfix "$@" "inet_protocols = ipv4" "smtpd_peername_lookup = no" \
		"smtp_connection_cache_on_demand = no" "smtp_connection_cache_destinations =" \
		"smtpd_soft_error_limit = 100" "smtpd_hard_error_limit = 100" \
		"maillog_file_prefixes = $T"
	stop_postfix "$1"
	cp "$dir/etc/main.cf" "$dir/etc/main.cf.base"
	eval "SX_PF_LISTEN_$1=$2"
}

# sx_postfix NAME [MAIN_CF_LINE...] - start an instance for this run: the base
# main.cf and these lines, its log in $RUN/NAME.maillog, an empty queue
sx_postfix() {
	local name=$1 dir
	dir=$(pf_dir "$name")
	shift
	cp "$dir/etc/main.cf.base" "$dir/etc/main.cf"
	postconf -c "$dir/etc" -e "maillog_file = $RUN/$name.maillog" "$@" \
		|| fail "postfix $name: bad settings: $*"
	# "postfix start" waits until main.cf is 2 s old (a change within
	# the same second must not go unseen); the tree was checked at init
	cp "$dir/etc/main.cf" "$RUN/$name.main.cf"
	touch -d '-10 seconds' "$dir/etc/main.cf" "$dir/etc/master.cf"
	touch "$dir/spool/quick-start"
	pf_start "$name" "$RUN/$name.maillog"
	eval "SX_PF_MASTER_$name=$(sed -n '1s/ //gp' "$dir/spool/pid/master.pid")"
}

# sx_master_gone NAME - the instance's master is not running, nothing
# listens on its SMTP address any more
sx_master_gone() {
	local pid listen
	eval "pid=\${SX_PF_MASTER_$1:-} listen=\${SX_PF_LISTEN_$1}"
	{ [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; } && ! ss -Hltn src "$listen" | grep -q .
}

# sx_postfix_stop NAME - stop it if it runs, empty its queue. Not "postfix
# stop": that polls once a second. The master, on SIGTERM, takes its
# children with it.
sx_postfix_stop() {
	local dir q pid
	dir=$(pf_dir "$1")
	eval "pid=\${SX_PF_MASTER_$1:-}"
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null
		wait_for -t 10 sx_master_gone "$1" || fail "postfix $1 did not stop"
		eval "SX_PF_MASTER_$1="
	fi
	for q in maildrop incoming active deferred defer bounce trace hold corrupt saved; do
		[ -d "$dir/spool/$q" ] && find "$dir/spool/$q" -type f -delete
	done
	return 0
}

# sx_postfix_setup - the three instances (their first, checked start)
sx_postfix_setup() {
	sx_postfix_init mx1 "$SX_MX1:25" "$SX_SINK1:25" \
		"myhostname = mx1.$SX_DOMAIN" "relay_domains = $SX_DOMAIN" "mynetworks = 127.0.0.1/32"
	sx_postfix_init mx2 "$SX_MX2:25" "$SX_SINK2:25" \
		"myhostname = mx2.$SX_DOMAIN" "relay_domains = $SX_DOMAIN" "mynetworks = 127.0.0.1/32"
	# the sender: MX lookups in DNS, its own source address, quick
	# retries (start_postfix), bounces to the sender's domain discarded
	sx_postfix_init sender "$SX_PF_SMTPD" "[127.0.0.1]:9" \
		"myhostname = mta.sender.test" "mydomain = sender.test" \
		"relayhost =" "relay_domains =" "smtp_dns_support_level = enabled" \
		"smtp_bind_address = $SX_PF_ADDR" \
		"transport_maps = inline:{ sender.test=discard: }" \
		"smtp_connect_timeout = 3s" \
		"minimal_backoff_time = 2s" "maximal_backoff_time = 4s"
}

# sx_start_mx1 [MAIN_CF_LINE...] - the primary MX for this run
sx_start_mx1() { sx_postfix mx1 "$@"; }

# sx_start_mx2 - the backup MX, with the run's milter
sx_start_mx2() {
	sx_postfix mx2 "smtpd_milters = { unix:$SX_SOCK_mx2, default_action=tempfail, command_timeout=15s }"
}

# sx_start_sender - the sending Postfix
sx_start_sender() { sx_postfix sender; }

# --- the milters -----------------------------------------------------------

# sx_milter_supports KEY VALUE - this build of the milter takes the key
sx_milter_supports() {
	printf 'Syslog no\n%s %s\n' "$1" "$2" >"$T/keycheck.conf"
	"$MILTER" -n -c "$T/keycheck.conf" >/dev/null 2>&1
}

# sx_milter_conf FILE ACTION POOL(yes|no) [LINE...] - a milter configuration
sx_milter_conf() {
	local f=$1 action=$2 pool=$3
	shift 3
	{
		printf '%s\n' "Syslog no" "LogLevel ${SENDERS_LOGLEVEL:-info}" "UserID postfix" \
			"TrustedNetworks $SX_TRUSTED" "DnsServers 127.0.0.1:53" "DnsTimeout 1000" \
			"ProbePort 25" "ProbeTimeout 1000" "ProbeTTLUp 300" "ProbeTTLDown 1" \
			"Action $action" "RetryAfter 3" "RetryExpire 600" "StatsInterval 3600"
		[ -n "$SX_HAVE_WITNESS" ] && echo "WitnessWindow 600"
		[ -n "$SX_HAVE_RECENTDOWN" ] && echo "RecentDownWindow 1800"
		[ -n "$SX_HAVE_CONFIRM" ] && echo "ProbeConfirm 2"
		# a key space of the run's own: nothing a milter of an earlier
		# run still writes while it stops can reach this one
		[ "$pool" = yes ] && printf '%s\n' "StateBackend redis" \
			"RedisServer 127.0.0.1:$REDIS_PORT" "RedisPrefix mxb-$RUN_ID:"
		[ $# -gt 0 ] && printf '%s\n' "$@"
	} >"$f"
	"$MILTER" -n -c "$f" >"$f.check" 2>&1 || { cat "$f.check" >&2; fail "milter configuration $f refused"; }
}

# sx_milter NAME CONF - the milter on a socket of this run (SX_SOCK_NAME),
# log $RUN/milter-NAME.log
sx_milter() {
	local name=$1 conf=$2 sock="$T/sock/$RUN_ID-$1" log="$RUN/milter-$1.log"
	mkdir -p "$T/sock"
	run_milter "SX_MILTER_PID_$name" "$sock" "$log" "$conf"
	eval "SX_SOCK_$name=$sock"
	if grep -q '^StateBackend redis' "$conf"; then
		wait_for grep -q "store: redis 127.0.0.1:$REDIS_PORT: sharing" "$log" \
			|| { cat "$log" >&2; fail "milter $name did not connect to redis"; }
	fi
}

# sx_milter_stop NAME - SIGTERM; a clean stop takes libmilter seconds, so
# the test does not wait here: sx_milters_reap does, at the end
SX_STOPPED=""
sx_milter_stop() {
	local pid
	eval "pid=\${SX_MILTER_PID_$1:-}"
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	SX_STOPPED="$SX_STOPPED $pid:$RUN/milter-$1.log"
	eval "SX_MILTER_PID_$1="
	return 0
}

# sx_milters_reap - wait for every milter stopped; false (with the logs
# named in SX_REAP_BAD) if one did not exit 0
sx_milters_reap() {
	local e pid rc
	SX_REAP_BAD="" SX_REAPED=0
	for e in $SX_STOPPED; do
		pid=${e%%:*}
		wait "$pid" 2>/dev/null
		rc=$?
		SX_REAPED=$((SX_REAPED + 1))
		[ "$rc" = 0 ] || SX_REAP_BAD="$SX_REAP_BAD ${e#*:}(exit $rc)"
	done
	SX_STOPPED=""
	[ -z "$SX_REAP_BAD" ]
}

# --- postgrey --------------------------------------------------------------

# sx_postgrey DELAY - a fresh postgrey on 127.0.0.1:10023 (database in $RUN,
# no whitelists, no auto-whitelisting)
sx_postgrey() {
	mkdir -p "$RUN/postgrey"
	chown postgrey:postgrey "$RUN/postgrey" 2>/dev/null || chown postgrey "$RUN/postgrey"
	postgrey --inet="$SX_PG_ADDR" --delay="$1" --dbdir="$RUN/postgrey" \
		--whitelist-clients="$T/empty" --whitelist-recipients="$T/empty" \
		--auto-whitelist-clients=0 --hostname="mx1.$SX_DOMAIN" \
		--greylist-text="Greylisted for %s seconds" >>"$RUN/postgrey.log" 2>&1 &
	SX_PG_PID=$!
	PIDS="$PIDS $SX_PG_PID"
	wait_listen 20 "$SX_PG_ADDR" "$RUN/postgrey.log" postgrey
}

sx_postgrey_stop() {
	[ -n "${SX_PG_PID:-}" ] || return 0
	kill "$SX_PG_PID" 2>/dev/null
	wait "$SX_PG_PID" 2>/dev/null
	SX_PG_PID=""
	return 0
}

# --- Exim ------------------------------------------------------------------

# sx_exim_unpack - the packages, unpacked into $T/exim-root; sets SX_EXIM
sx_exim_unpack() {
	local p deb
	for p in $SX_EXIM_PKGS; do
		deb=$(SM_CACHE=$SX_CACHE sm_deb "$p") || fail "$p is not in $SX_CACHE"
		dpkg -x "$deb" "$T/exim-root" || fail "cannot unpack $deb"
	done
	SX_EXIM="$T/exim-root/usr/sbin/exim4"
	SX_EXIM_DUMPDB="$T/exim-root/usr/sbin/exim_dumpdb"
	"$SX_EXIM" -bV -C /dev/null >"$T/exim-version" 2>&1
	SX_EXIM_VERSION=$(sed -n 's/^Exim version \([^ ]*\).*/\1/p' "$T/exim-version")
	[ -n "$SX_EXIM_VERSION" ] || { cat "$T/exim-version" >&2; fail "the unpacked exim does not run"; }
}

# sx_exim_config [RETRY_RULE] - an Exim of its own in $RUN/exim: spool (queue
# and retry database), logs, configuration; sets SX_EXIM_CONF
sx_exim_config() {
	local d="$RUN/exim" retry=${1:-'F,2h,15m; G,16h,1h,1.5; F,4d,6h'}
	mkdir -p "$d/spool" "$d/log"
	chown Debian-exim: "$d/spool" "$d/log"
	SX_EXIM_CONF="$d/exim.conf"
	SX_EXIM_SPOOL="$d/spool"
	SX_EXIM_LOG="$d/log/mainlog"
	cat >"$SX_EXIM_CONF" <<-EOF
	# Built by senders_lib.sh: an Exim that sends, nothing else
	# it runs itself again for deliveries: this copy, not /usr/sbin/exim4
	exim_path = $SX_EXIM
	primary_hostname = exim.sender.test
	qualify_domain = sender.test
	spool_directory = $d/spool
	log_file_path = $d/log/%slog
	pid_file_path = $d/exim.pid
	log_selector = +all -arguments
	local_interfaces = $SX_EXIM_ADDR
	disable_ipv6 = true
	tls_advertise_hosts =
	keep_environment =
	dns_retrans = 1s
	dns_retry = 2
	# no daemon, no queue runner: the test drives every delivery
	queue_only = false
	begin routers
	# bounces go nowhere
	sender_domain:
	  driver = redirect
	  domains = sender.test
	  data = :blackhole:
	dnslookup:
	  driver = dnslookup
	  domains = ! sender.test
	  transport = remote_smtp
	  no_more
	begin transports
	remote_smtp:
	  driver = smtp
	  interface = $SX_EXIM_ADDR
	  connect_timeout = 3s
	  hosts_avoid_tls = *
	  hosts_try_dane = :
	  hosts_try_fastopen = :
	  hosts_try_chunking = :
	  hosts_try_prdr = :
	begin retry
	*   *   $retry
	begin rewrite
	EOF
	chmod 644 "$SX_EXIM_CONF"
	"$SX_EXIM" -C "$SX_EXIM_CONF" -bV >"$d/bV.out" 2>&1 \
		|| { cat "$d/bV.out" >&2; fail "exim refuses $SX_EXIM_CONF"; }
}

# sx_exim ARGS... - the unpacked exim with the run's configuration
sx_exim() { "$SX_EXIM" -C "$SX_EXIM_CONF" "$@"; }

# sx_exim_retrydb - the retry database, as exim_dumpdb prints it
sx_exim_retrydb() { "$SX_EXIM_DUMPDB" "$SX_EXIM_SPOOL" retry 2>/dev/null; }

# --- runs ------------------------------------------------------------------

# sx_run_begin NAME - a fresh directory $RUN for one run
sx_run_begin() {
	SX_RUN_N=$(( ${SX_RUN_N:-0} + 1 ))
	RUN_ID=$(printf 'r%02d' "$SX_RUN_N")
	RUN="$T/runs/$RUN_ID-$1"
	mkdir -p "$RUN"
}

# sx_run_end - stop what the run started, leave its logs in $RUN
sx_run_end() {
	sx_postfix_stop sender
	sx_postfix_stop mx1
	sx_postfix_stop mx2
	sx_postgrey_stop
	sx_milter_stop mx1
	sx_milter_stop mx2
}

# --- messages --------------------------------------------------------------

# sx_mark - where the milters' logs of this run end now
sx_mark() {
	SX_MARK_mx2=$( { wc -l <"$RUN/milter-mx2.log"; } 2>/dev/null || echo 0)
	SX_MARK_mx1=$( { wc -l <"$RUN/milter-mx1.log"; } 2>/dev/null || echo 0)
}

# sx_verdicts CLIENT [MILTER] - the verdicts the milter (mx2 by default)
# logged for CLIENT since the mark, as verdict/reason/action, repeats
# counted ("x3"), comma-separated
sx_verdicts() {
	local m=${2:-mx2} mark
	eval "mark=\$SX_MARK_$m"
	tail -n +"$((mark + 1))" "$RUN/milter-$m.log" 2>/dev/null \
		| grep -F " client=$1 " \
		| sed -nE 's/.* verdict=([^ ]+) action=([^ ]+).* reason=([^ ]+).*/\1\/\3\/\2/p' \
		| uniq -c | awk '{ printf "%s%s%s", (NR > 1 ? "," : ""), $2, ($1 > 1 ? " x" $1 : "") }'
}

# sx_tagged FILE - the header block carries the milter's bypass header
sx_tagged() { bypass_headers "$1" | grep -qi '^X-MX-Bypass: *bypass'; }

# sx_where_copy TAG [SECS] - wait for the copy of TAG in one of the sinks;
# sets SX_WHERE (primary|backup) and SX_TAGGED (yes|no)
sx_where_copy() {
	local f end=$((SECONDS + ${2:-15}))
	SX_WHERE="" SX_TAGGED=no
	while [ "$SECONDS" -le "$end" ]; do
		if f=$(sink_copy "$T/sink-mx1" "$1"); then SX_WHERE=primary; break; fi
		if f=$(sink_copy "$T/sink-mx2" "$1"); then SX_WHERE=backup; break; fi
		sleep 0.1
	done
	[ -n "$SX_WHERE" ] || return 1
	sx_tagged "$f" && SX_TAGGED=yes
	return 0
}

# sx_msg_body TAG - a message named TAG, as a sender would submit it
sx_msg_body() {
	printf 'From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%s@sender.test>\n\nmessage %s\nend-of-%s\n' \
		"$SX_FROM" "$SX_RCPT" "$1" "$1" "$1" "$1"
}

# sx_pf_submit TAG - hand TAG to the sending Postfix (swaks to its smtpd);
# sets SX_QID
sx_pf_submit() {
	swaks --server "${SX_PF_SMTPD%:*}" --port "${SX_PF_SMTPD##*:}" --helo submit.sender.test \
		--from "$SX_FROM" --to "$SX_RCPT" --data - --timeout 30 \
		>"$RUN/submit-$1.out" 2>&1 < <(sx_msg_body "$1")
	SX_QID=$(sed -n 's/^<- *250 .*queued as \([0-9A-Za-z]*\).*/\1/p' "$RUN/submit-$1.out")
	[ -n "$SX_QID" ] || { cat "$RUN/submit-$1.out" >&2; fail "the sending Postfix did not take $1"; }
}

# sx_pf_status QID [FINAL] - the recipient's last status in the sender's log
# (sent, bounced, deferred); with FINAL, deferred does not count
sx_pf_status() {
	local re='sent|bounced|deferred'
	[ -n "${2:-}" ] && re='sent|bounced'
	grep -E "^.* $1: to=<$SX_RCPT>, .* status=($re) " "$RUN/sender.maillog" 2>/dev/null \
		| tail -n 1 | grep .
}

# sx_pf_flushing QID SECS - flush the sending Postfix's queue every 2 s
# until QID is sent or bounced, up to SECS
sx_pf_flushing() {
	local end=$((SECONDS + $2))
	while [ "$SECONDS" -lt "$end" ]; do
		wait_for -t 2 sx_pf_status "$1" final && return 0
		postqueue -c "$(pf_dir sender)/etc" -f >/dev/null 2>&1
	done
	return 1
}

# sx_pf_outcome TAG QID [SECS] [FINAL] - wait until the sending Postfix is
# done with QID (SECS, 30 by default); sets SX_WHERE (primary|backup|bounced|
# queued|lost), SX_TAGGED
sx_pf_outcome() {
	local line
	SX_WHERE=lost SX_TAGGED=no
	if [ -n "${4:-}" ]; then
		# a flush every 2 s, as a queue run would come (a deferral
		# met by qmgr's scan of the deferred queue can otherwise
		# cost 60 s: "skipped, still being delivered")
		sx_pf_flushing "$2" "${3:-30}"
	else
		wait_for -t "${3:-30}" sx_pf_status "$2"
	fi
	line=$(sx_pf_status "$2" "${4:-}") || {
		sx_pf_status "$2" >/dev/null && SX_WHERE=queued
		return 0
	}
	case $line in
	*status=sent*) sx_where_copy "$1" || SX_WHERE=lost ;;
	*status=bounced*) SX_WHERE=bounced ;;
	*status=deferred*) SX_WHERE=queued ;;
	esac
}

# sx_events - what a sender met at mx1, in order, repeats counted, from
# lines "refused", "450@rcpt", "450@data", "accepted" on stdin
sx_events() {
	uniq -c | awk '{ printf "%s%s%s", (NR > 1 ? "," : ""), $2, ($1 > 1 ? " x" $1 : "") }'
}

# sx_pf_mx1 QID - what the sending Postfix met at mx1 for QID: its log from
# the message's "queue active" to its last status line (one message is in
# flight at a time: the "connect to" lines carry no queue id)
sx_pf_mx1() {
	awk -v q="$1: " -v mx1="mx1.${SX_DOMAIN}[${SX_MX1}]" '
		index($0, q "from=<") { on = 1 }
		!on { next }
		index($0, "connect to " mx1) && /Connection refused/ { print "refused" }
		index($0, q "host " mx1 " said: ") {
			match($0, /said: [0-9][0-9][0-9]/); code = substr($0, RSTART + 6, 3)
			if ($0 ~ /in reply to RCPT TO/) print code "@rcpt"
			else if ($0 ~ /in reply to end of DATA/) print code "@data"
			else print code "@other"
		}
		index($0, q "to=<") && index($0, "relay=" mx1) && /status=sent/ { print "accepted" }
		index($0, q "to=<") && /status=(sent|bounced)/ { on = 0 }
	' "$RUN/sender.maillog" | sx_events
}

# sx_exim_mx1 ID - what Exim met at mx1 for message ID
sx_exim_mx1() {
	awk -v id=" $1 " -v mx1="H=mx1.$SX_DOMAIN [$SX_MX1]" '
		!index($0, id) || !index($0, mx1) { next }
		/Connection refused/ { print "refused"; next }
		/ => / { print "accepted"; next }
		match($0, /(after RCPT TO:<[^>]*>|after end of data|after MAIL FROM:<[^>]*>|after DATA): [0-9][0-9][0-9]/) {
			code = substr($0, RSTART + RLENGTH - 3, 3)
			if ($0 ~ /after RCPT TO/) print code "@rcpt"
			else if ($0 ~ /after end of data/) print code "@data"
			else print code "@other"
			next
		}
		{ print "other" }
	' "$SX_EXIM_LOG" | sx_events
}

# sx_exim_submit TAG - hand TAG to Exim, delivery in the foreground (-odi):
# it returns once Exim tried every host it would; sets SX_EXIM_ID
sx_exim_submit() {
	sx_exim -odi -f "$SX_FROM" "$SX_RCPT" >"$RUN/submit-$1.out" 2>&1 < <(sx_msg_body "$1")
	SX_EXIM_ID=$(grep -F " T=\"$1\" " "$SX_EXIM_LOG" | grep -F ' <= ' \
		| sed -nE 's/.* ([0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}) <= .*/\1/p' | head -n 1)
	[ -n "$SX_EXIM_ID" ] || { cat "$RUN/submit-$1.out" "$SX_EXIM_LOG" >&2; fail "exim did not take $1"; }
}

# sx_exim_status ID - delivered, failed (a bounce) or deferred, from the log
sx_exim_status() {
	if grep -qE " $1 (=>|->) $SX_RCPT " "$SX_EXIM_LOG"; then echo delivered
	elif grep -qE " $1 \*\* $SX_RCPT" "$SX_EXIM_LOG"; then echo bounced
	elif grep -qE " $1 == $SX_RCPT " "$SX_EXIM_LOG"; then echo deferred
	else return 1
	fi
}

# sx_exim_outcome TAG ID - what became of it; sets SX_WHERE, SX_TAGGED
sx_exim_outcome() {
	SX_WHERE=lost SX_TAGGED=no
	case $(sx_exim_status "$2") in
	delivered) sx_where_copy "$1" || SX_WHERE=lost ;;
	bounced) SX_WHERE=bounced ;;
	deferred) SX_WHERE=queued ;;
	esac
}

# sx_rat_send TAG - ratware: straight to the backup from 127.0.3.50; sets
# SX_WHERE (backup|rejected|tempfailed|lost), SX_TAGGED
sx_rat_send() {
	swaks --server "$SX_MX2" --port 25 --local-interface "$SX_RAT_ADDR" --helo rat.example \
		--from spam@rat.example --to "$SX_RCPT" --header "Subject: $1" \
		--body "message $1
end-of-$1" --timeout 30 >"$RUN/rat-$1.out" 2>&1
	SX_WHERE=lost SX_TAGGED=no
	if grep -qE '^<\*\* +5[0-9][0-9]' "$RUN/rat-$1.out"; then SX_WHERE=rejected
	elif grep -qE '^<\*\* +4[0-9][0-9]' "$RUN/rat-$1.out"; then SX_WHERE=tempfailed
	elif grep -qE '^<- +250 .*queued as' "$RUN/rat-$1.out"; then sx_where_copy "$1" || SX_WHERE=lost
	fi
}
