# sendmail_lib.sh - a throwaway Sendmail for the end-to-end tests, unpacked
# from the Debian packages (sourced, bash)
#
# sendmail-bin conflicts with postfix (both are the system MTA), so it is
# never installed: sm_fetch downloads the .deb files into a cache that
# survives between runs, the only step that needs the network; sm_unpack
# unpacks them into the test's temp dir, sm_config builds a .cf with m4 from
# the unpacked sendmail-cf and sm_start runs the daemon in the foreground.
# Sendmail wants a fully qualified host name, port 25 and /dev/log, so a
# test runs it in namespaces of its own: sm_enter_namespaces re-executes the
# test there, sm_namespace_setup prepares loopback, host name and a syslog.
#
# sm_require, sm_fetch, sm_enter_namespaces and sm_reenter run before lib.sh
# is sourced (the re-executed test makes its own $T); everything else needs
# lib.sh.

PATH=$PATH:/usr/sbin:/sbin

# The cache of downloaded packages; root's, like apt's own.
SM_CACHE="${MXB_PKG_CACHE:-/var/cache/mxbypass-tests}/sendmail"
SM_NAME=backup.bypass.test
SM_PID=""

# sm_skip REASON - the test cannot run here (usable before lib.sh)
sm_skip() { echo "SKIP: $*" >&2; exit 77; }

# sm_require - skip unless this machine can run the test at all
sm_require() {
	local c
	[ "$(id -u)" = 0 ] || sm_skip "Sendmail tests need root (namespaces, port 25)"
	for c in unshare ip ss m4 perl dpkg dpkg-query apt-get flock swaks smtp-sink nsd; do
		command -v "$c" >/dev/null || sm_skip "$c not installed"
	done
	id postfix >/dev/null 2>&1 || sm_skip "no postfix user (smtp-sink drops to it)"
	unshare --net --uts --mount --pid --fork true 2>/dev/null \
		|| sm_skip "cannot create namespaces (unshare --net --uts --mount --pid)"
}

# sm_deb PACKAGE - the cached .deb of a package, if any
sm_deb() {
	local arch
	arch=$(dpkg --print-architecture)
	ls "$SM_CACHE/$1"_*_{"$arch",all}.deb 2>/dev/null | sort -V | tail -n 1 | grep .
}

# sm_system_libwrap - libwrap0 (which sendmail links) is installed
sm_system_libwrap() {
	dpkg-query -W -f='${Status}' libwrap0 2>/dev/null | grep -q 'install ok installed'
}

# sm_download PACKAGE... - apt-get download into the cache; apt-get update
# only when the first try fails (an old or empty package list)
sm_download() {
	local tmp log="$SM_CACHE/fetch.log"
	# a half-done download must not look like a cached package
	tmp=$(mktemp -d "$SM_CACHE/download.XXXXXX") || return 1
	# apt downloads as _apt when it can write there (no warning then)
	chown _apt "$tmp" 2>/dev/null
	if ! (cd "$tmp" && apt-get download "$@") >>"$log" 2>&1; then
		apt-get update -qq >>"$log" 2>&1
		(cd "$tmp" && apt-get download "$@") >>"$log" 2>&1 || { rm -rf "$tmp"; return 1; }
	fi
	mv "$tmp"/*.deb "$SM_CACHE/" && rm -rf "$tmp"
}

# sm_fetch - make sure sendmail-bin, sendmail-cf and libwrap0 are at hand;
# false with the reason in SM_WHY when they cannot be had
sm_fetch() {
	local missing=() p
	SM_WHY=""
	mkdir -p "$SM_CACHE" 2>/dev/null || { SM_WHY="cannot create $SM_CACHE"; return 1; }
	# tests running at the same time wait for one download
	exec 8>"$SM_CACHE/.lock"
	flock -w 300 8 || { SM_WHY="$SM_CACHE/.lock is held by another test"; return 1; }
	for p in sendmail-bin sendmail-cf; do
		sm_deb "$p" >/dev/null || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ] && ! sm_download "${missing[@]}"; then
		SM_WHY="could not download ${missing[*]} (see $SM_CACHE/fetch.log)"
	elif ! sm_system_libwrap; then
		# a library without conflicts: installed as the package says; else
		# its .deb is unpacked beside sendmail (sm_unpack)
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=120 \
			--no-install-recommends libwrap0 >>"$SM_CACHE/fetch.log" 2>&1 \
			|| sm_deb libwrap0 >/dev/null || sm_download libwrap0 \
			|| SM_WHY="could neither install nor download libwrap0 (see $SM_CACHE/fetch.log)"
	fi
	exec 8>&-
	[ -z "$SM_WHY" ]
}

# sm_enter_namespaces SCRIPT ARGS... - run the test again in namespaces of its
# own (never returns): network (loopback only, port 25 free, no resolver),
# host name (fully qualified), mount (a /dev/log of its own) and process IDs
# (when the test ends, whatever it started ends with it). A TERM to the
# test reaches the inner shell, whose traps clean up.
sm_enter_namespaces() {
	SM_OUTER_MNTNS=$(readlink /proc/self/ns/mnt)
	export SM_OUTER_MNTNS SM_IN_NAMESPACES=1
	exec unshare --net --uts --mount --pid --fork --kill-child=TERM --mount-proc \
		bash "$@"
}

# sm_reenter REQUIRE FETCH WHY SCRIPT ARGS... - outside the namespaces:
# REQUIRE, FETCH (else a skip, the reason in the variable WHY), then
# sm_enter_namespaces SCRIPT ARGS (never returns); inside, nothing
sm_reenter() {
	local require=$1 fetch=$2 why=$3
	shift 3
	[ -z "${SM_IN_NAMESPACES:-}" ] || return 0
	"$require"
	"$fetch" || sm_skip "${!why}"
	sm_enter_namespaces "$@"
}

# sm_namespace_setup - inside the namespaces: loopback up, a fully qualified
# host name (a short one costs Sendmail 60 s at every start), a syslog
# socket for Sendmail, sm_stop at exit
sm_namespace_setup() {
	[ -n "${SM_IN_NAMESPACES:-}" ] || fail "sm_namespace_setup outside the test's namespaces"
	ip link set lo up || fail "cannot bring up lo"
	echo "$SM_NAME" >/proc/sys/kernel/hostname || fail "cannot set the host name"
	SM_DIR="$T/sm"
	mkdir -p "$SM_DIR"
	sm_syslog "$SM_DIR/syslog" || echo "# no syslog for Sendmail (overlay on /dev failed)" >&2
	trap 'sm_stop; cleanup' EXIT
}

# sm_syslog FILE - a /dev/log for this mount namespace only, whose messages
# go to FILE. /dev is shared with the host, so an overlay on it takes the
# socket; the host's /dev is never touched.
sm_syslog() {
	[ "$(readlink /proc/self/ns/mnt)" != "${SM_OUTER_MNTNS:-}" ] || return 1
	mkdir -p "$SM_DIR/dev-upper" "$SM_DIR/dev-work"
	mount -t overlay mxb-dev -o "lowerdir=/dev,upperdir=$SM_DIR/dev-upper,workdir=$SM_DIR/dev-work" \
		/dev 2>/dev/null || return 1
	# the overlay hides the mounts below /dev
	mount -t tmpfs -o mode=1777 shm /dev/shm
	rm -f /dev/log
	# perl is there with swaks; recv returns "" (false) for an unnamed sender
	perl -MSocket -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => "/dev/log") or die "/dev/log: $!\n";
		open(my $f, ">>", $ARGV[0]) or die "$ARGV[0]: $!\n";
		$f->autoflush(1);
		while (defined $s->recv(my $m, 65536)) { $m =~ s/\n*$/\n/; print $f $m; }
	' "$1" 2>>"$SM_DIR/syslog.err" &
	PIDS="$PIDS $!"
	wait_for test -S /dev/log
}

# sm_unpack - the packages, unpacked into $SM_DIR/root; sets SM_BIN
sm_unpack() {
	local p deb lib
	SM_ROOT="$SM_DIR/root"
	for p in sendmail-bin sendmail-cf; do
		deb=$(sm_deb "$p") || fail "$p is not in $SM_CACHE"
		dpkg -x "$deb" "$SM_ROOT" || fail "cannot unpack $deb"
	done
	SM_BIN="$SM_ROOT/usr/libexec/sendmail/sendmail"
	# a setgid binary ignores LD_LIBRARY_PATH; this copy needs no privilege
	chmod g-s "$SM_BIN"
	SM_LIBPATH=""
	if ! sm_system_libwrap; then
		deb=$(sm_deb libwrap0) || fail "libwrap0 is neither installed nor in $SM_CACHE"
		dpkg -x "$deb" "$SM_ROOT" || fail "cannot unpack $deb"
		lib=$(find "$SM_ROOT" -name libwrap.so.0 | head -n 1)
		SM_LIBPATH=$(dirname "$lib")
	fi
}

# sm_run ARGS... - the unpacked sendmail with the instance's .cf
sm_run() {
	if [ -n "$SM_LIBPATH" ]; then
		LD_LIBRARY_PATH="$SM_LIBPATH" "$SM_BIN" -C "$SM_CF" "$@"
	else
		"$SM_BIN" -C "$SM_CF" "$@"
	fi
}

# sm_config LISTEN_ADDR RELAY_ADDR MILTER_SOCKET DOMAIN... - the .cf of a
# backup MX on LISTEN_ADDR:25 that relays mail for the DOMAINs to
# [RELAY_ADDR]:25 over SMTP (a mailertable) and asks the milter (unix socket)
# at RCPT; sets SM_CF
sm_config() {
	local listen=$1 relay=$2 sock=$3 d
	shift 3
	SM_CF="$SM_DIR/sendmail.cf"
	mkdir -p "$SM_DIR/mqueue"
	chmod 700 "$SM_DIR/mqueue"
	# names from a file only: the namespace has no DNS resolver
	printf 'hosts files\naliases files\n' >"$SM_DIR/service.switch"
	printf '127.0.0.1 localhost\n%s %s\n' "$listen" "$SM_NAME" >"$SM_DIR/hosts"
	# a text map: no makemap, no database library
	for d in "$@"; do printf '%s esmtp:[%s]\n' "$d" "$relay"; done >"$SM_DIR/mailertable"
	sed -e "s|@CF@|$SM_ROOT/usr/share/sendmail/cf|g" -e "s|@ROOT@|$SM_ROOT|g" \
		-e "s|@DIR@|$SM_DIR|g" -e "s|@NAME@|$SM_NAME|g" -e "s|@LISTEN@|$listen|g" \
		-e "s|@SOCK@|$sock|g" -e "s|@DOMAINS@|$*|g" >"$SM_DIR/sendmail.mc" <<-'EOF'
	dnl Built by sendmail_lib.sh: a backup MX on @LISTEN@ for @DOMAINS@;
	dnl nothing in /etc/mail or /var/spool is used.
	include(`@CF@/m4/cf.m4')dnl
	VERSIONID(`mxbypass-milter end-to-end test')dnl
	OSTYPE(`linux')dnl
	define(`confDOMAIN_NAME', `@NAME@')dnl
	define(`QUEUE_DIR', `@DIR@/mqueue')dnl
	define(`confPID_FILE', `@DIR@/sendmail.pid')dnl
	define(`STATUS_FILE', `@DIR@/statistics')dnl
	define(`ALIAS_FILE', `')dnl
	define(`confHELP_FILE', `@ROOT@/etc/mail/helpfile')dnl
	define(`confSERVICE_SWITCH_FILE', `@DIR@/service.switch')dnl
	define(`confHOSTS_FILE', `@DIR@/hosts')dnl
	dnl the milter socket and the queue are below /tmp (world-writable, sticky)
	define(`confDONT_BLAME_SENDMAIL', `TrustStickyBit')dnl
	define(`confLOG_LEVEL', `9')dnl
	define(`confMILTER_LOG_LEVEL', `14')dnl
	define(`confTO_CONNECT', `5s')dnl
	FEATURE(`no_default_msa')dnl
	FEATURE(`nocanonify')dnl
	FEATURE(`accept_unresolvable_domains')dnl
	FEATURE(`mailertable', `text -k0 -v1 @DIR@/mailertable')dnl
	RELAY_DOMAIN(`@DOMAINS@')dnl
	DAEMON_OPTIONS(`Port=25, Addr=@LISTEN@, Name=MTA')dnl
	INPUT_MAIL_FILTER(`mxbypass', `S=unix:@SOCK@, F=T, T=C:10s;S:10s;R:30s;E:5m')dnl
	MAILER(`smtp')dnl
	EOF
	m4 "$SM_DIR/sendmail.mc" >"$SM_CF" 2>"$SM_DIR/m4.err" && [ ! -s "$SM_DIR/m4.err" ] \
		|| { cat "$SM_DIR/m4.err" >&2; fail "m4 could not build $SM_CF"; }
	SM_LISTEN=$listen
}

# sm_listening - the daemon accepts connections on $SM_LISTEN:25
sm_listening() { ss -Hltn src "$SM_LISTEN:25" | grep -q .; }

# sm_start - run the daemon in the foreground (-bD) with an SMTP transcript
# of every session ($SM_DIR/traffic.log); waits until it listens
sm_start() {
	sm_run -bD -X "$SM_DIR/traffic.log" >>"$SM_DIR/sendmail.out" 2>&1 &
	SM_PID=$!
	# polled, not connected to: a test connection would reach the milter too
	for _ in $(seq 1 100); do
		sm_listening && return 0
		kill -0 "$SM_PID" 2>/dev/null || break
		sleep 0.1
	done
	sm_show_logs
	fail "sendmail does not listen on $SM_LISTEN:25"
}

# sm_stop - stop the daemon and whatever delivery it still runs
sm_stop() {
	local p
	[ -n "$SM_PID" ] || return 0
	kill -TERM "$SM_PID" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$SM_PID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$SM_PID" 2>/dev/null
	wait "$SM_PID" 2>/dev/null
	SM_PID=""
	# children it forked (deliveries) run the same binary
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = "$SM_BIN" ] && kill -9 "${p#/proc/}" 2>/dev/null
	done
	return 0
}

# sm_queue - the queue, as mailq shows it
sm_queue() { sm_run -bp 2>&1; }

# sm_queue_has PATTERN - the queue listing matches an extended regex
sm_queue_has() { sm_queue | grep -Eq -- "$1"; }

# sm_run_queue - one queue run in the foreground, transcript in $SM_DIR
sm_run_queue() { sm_run -q -v >>"$SM_DIR/queue-run.out" 2>&1; }

# sm_show_logs - what Sendmail said, for a failure report
sm_show_logs() {
	local f
	for f in sendmail.out syslog traffic.log queue-run.out; do
		[ -s "$SM_DIR/$f" ] && { echo "--- $SM_DIR/$f"; tail -n 60 "$SM_DIR/$f"; }
	done >&2
}
