#!/bin/bash
# install.sh - make install DESTDIR=...: the daemon, both manual pages, the
# example configuration, the systemd unit with its paths filled in, the
# tmpfiles.d entry and the MTA, SpamAssassin, Rspamd and Grafana examples;
# the pages render without a warning, and the installed daemon accepts the
# installed file.
. "$(dirname "$0")/lib.sh"

root="$T/root"
make -s -C "$top_builddir" install DESTDIR="$root" >"$T/install.out" 2>&1 \
	|| { cat "$T/install.out"; fail "make install failed"; }
# installed - the one installed file whose path ends in SUFFIX (relative
# to DESTDIR), wherever configure put the directories
installed() {
	local f
	f=$(cd "$root" && find . -type f -path "*$1" | sed 's|^\.||')
	[ -n "$f" ] && [ "$(echo "$f" | wc -l)" = 1 ] || fail "not installed once: *$1 ($f)"
	echo "$f"
}
sbin=$(installed /sbin/mxbypass-milter)
conf=$(installed /etc/mxbypass-milter.conf)
man8=$(installed /man8/mxbypass-milter.8)
man5=$(installed /man5/mxbypass-milter.conf.5)
unit=$(installed /systemd/system/mxbypass-milter.service)
installed /tmpfiles.d/mxbypass-milter.conf >/dev/null
for f in postfix-main.cf sendmail.mc mxbypass.cf rspamd-mxbypass.conf grafana-dashboard.json; do installed "/examples/$f" >/dev/null; done
installed /doc/mxbypass-milter/README.md >/dev/null
for f in design.md architecture.md testing.md; do installed "/doc/mxbypass-milter/docs/$f" >/dev/null; done
pass "make install DESTDIR: daemon, config, 2 man pages, unit, tmpfiles, 5 examples, README, docs"

grep -qx "ExecStart=$sbin -f -c $conf" "$root$unit" \
	|| fail "unit: ExecStart does not name the installed paths"
grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$root$unit" || fail "unit: no ExecReload with SIGHUP"
grep -q '@' "$root$unit" && fail "unit: a placeholder is left"
pass "systemd unit: installed paths, reload by SIGHUP"

if command -v groff >/dev/null; then
	for m in "$man8" "$man5"; do
		w=$(groff -man -Tutf8 -ww -z "$root$m" 2>&1)
		[ -z "$w" ] || fail "$m: $w"
	done
	for k in $(sed -n 's/^#\([A-Za-z0-9]*\) .*/\1/p' "$root$conf"); do
		grep -qx -- ".B $k" "$root$man5" \
			|| fail "mxbypass-milter.conf(5) does not describe $k"
	done
	pass "man pages render without warnings; the .5 page describes every key of the example file"
fi

"$root$sbin" -n -c "$root$conf" \
	|| fail "the installed daemon rejects the installed configuration"
pass "the installed daemon accepts the installed configuration (-n)"
make -s -C "$top_builddir" uninstall DESTDIR="$root" >/dev/null 2>&1 || fail "make uninstall failed"
left=$(find "$root" -type f)
[ -z "$left" ] || fail "left after uninstall: $left"
pass "make uninstall removes every file"
