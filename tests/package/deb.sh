#!/bin/bash
# deb.sh - the Debian package, end to end, as root on Debian 12: built with
# dpkg-buildpackage from the tracked files (what a clean clone has, with
# their content as it is on disk), lintian-clean, installed, its files, user,
# group and conffile, the unit verified, the daemon started the way the unit
# starts it and answering on the packaged socket, an upgrade that keeps an
# edited conffile, remove (the conffile stays) and purge (nothing is left).
#
# It installs and purges the package mxbypass-milter on this machine: it
# refuses to run when that package is already installed, and leaves the
# machine as it found it (the package purged, the user mxbypass removed if
# the test made it), also when it fails.
. "$(dirname "$0")/../integration/lib.sh"

top=$top_srcdir
pkg=mxbypass-milter
unit=/lib/systemd/system/$pkg.service
tmpfiles=/usr/lib/tmpfiles.d/$pkg.conf
conf=/etc/$pkg.conf
sockdir=/var/spool/postfix/$pkg
sock=$sockdir/$pkg.sock

[ "$(id -u)" = 0 ] || skip "needs root (installs the package)"
[ -f "$top/debian/control" ] || skip "no debian/ in $top"
for c in dpkg-buildpackage lintian systemd-analyze systemd-tmpfiles fakeroot "$MILTERTEST"; do
	command -v "$c" >/dev/null || skip "$c not found (scripts/deps.sh installs it)"
done
if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -qv 'not-installed'; then
	skip "$pkg is installed on this machine already: not touching it"
fi
user_before=$(getent passwd mxbypass || true)
group_before=$(getent group mxbypass || true)

deb_cleanup() {
	cleanup
	if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -qv 'not-installed'; then
		dpkg --purge "$pkg" >/dev/null 2>&1
	fi
	if [ -z "$user_before" ] && getent passwd mxbypass >/dev/null; then
		deluser --quiet --system mxbypass >/dev/null 2>&1
	fi
	if [ -z "$group_before" ] && getent group mxbypass >/dev/null; then
		delgroup --quiet --system mxbypass >/dev/null 2>&1
	fi
	rm -rf "/run/$pkg" "$sockdir"
}
trap deb_cleanup EXIT

# copy_tree DIR - the tracked files of the work tree into DIR (no build
# directories, nothing untracked)
copy_tree() {
	mkdir -p "$1"
	(cd "$top" && git ls-files -z | while IFS= read -r -d '' f; do
		[ -e "$f" ] && printf '%s\0' "$f"
	done | tar --null -T - -cf -) | tar -xf - -C "$1"
}

# build DIR - dpkg-buildpackage -b in DIR; the files land in DIR/..
build() {
	(cd "$1" && dpkg-buildpackage -us -uc -b -j2) >"$1.build.log" 2>&1 \
		|| { tail -40 "$1.build.log"; fail "dpkg-buildpackage failed in $1 (log: $1.build.log)"; }
}

# The conffile script refuses an example file that lacks a line it sets.
cp "$top/conf/mxbypass-milter.conf" "$T/good.conf"
sh "$top/debian/make-conffile" "$T/good.conf" || fail "make-conffile rejects the example file"
grep -vx '#Action tag' "$top/conf/mxbypass-milter.conf" >"$T/bad.conf"
sh "$top/debian/make-conffile" "$T/bad.conf" 2>"$T/bad.out" && fail "make-conffile accepts a file without '#Action tag'"
grep -q "expected the line '#Action tag' once, found it 0 times" "$T/bad.out" \
	|| fail "make-conffile: $(cat "$T/bad.out")"
pass "debian/make-conffile sets the example file up, and fails on one that lacks a line it changes"

git -C "$top" rev-parse --git-dir >/dev/null 2>&1 || skip "$top is not a git checkout"
version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
[ -z "$(git -C "$top" status --porcelain --untracked-files=no)" ] \
	|| echo "# the work tree has uncommitted changes: the package is built with them"
src="$T/a/$pkg-$version"
copy_tree "$src"
build "$src"
deb="$T/a/${pkg}_${version}_amd64.deb"
[ -f "$deb" ] || fail "no $deb"
pass "dpkg-buildpackage -us -uc -b builds ${deb##*/} from the tracked files"

# the .changes names the .deb, the -dbgsym .deb and the .buildinfo
lintian -I --fail-on error,warning "$T/a/${pkg}_${version}_amd64.changes" >"$T/lintian.out" 2>&1
rc=$?
sed 's/^/# lintian: /' "$T/lintian.out"
grep -E '^[EW]: ' "$T/lintian.out" && fail "lintian reports errors or warnings"
[ $rc = 0 ] || fail "lintian failed (status $rc)"
pass "lintian: no errors, no warnings (.deb, .buildinfo, .changes)"

export DEBIAN_FRONTEND=noninteractive
dpkg -i "$deb" >"$T/install.out" 2>&1 || apt-get -f install -y -qq >>"$T/install.out" 2>&1 \
	|| { cat "$T/install.out"; fail "dpkg -i $deb failed"; }
apt-get -f install -y -qq >>"$T/install.out" 2>&1 || { cat "$T/install.out"; fail "apt-get -f install failed"; }
dpkg-query -W -f='${Status} ${Version}' "$pkg" | grep -qx "install ok installed $version" \
	|| fail "$pkg $version is not installed"
pass "dpkg -i: $pkg $version installed"

dpkg -L "$pkg" >"$T/files"
examples=/usr/share/doc/$pkg/examples
want="/usr/sbin/mxbypass-milter $conf $unit $tmpfiles
	/usr/share/man/man8/mxbypass-milter.8.gz /usr/share/man/man5/mxbypass-milter.conf.5.gz
	/usr/share/doc/$pkg/README.Debian /usr/share/doc/$pkg/copyright
	$examples/postfix-main.cf $examples/sendmail.mc $examples/mxbypass.cf
	$examples/rspamd-mxbypass.conf $examples/grafana-dashboard.json"
n=0
for f in $want; do
	grep -qx -- "$f" "$T/files" || fail "dpkg -L $pkg does not list $f"
	[ -f "$f" ] || fail "$f is not installed"
	n=$((n + 1))
done
pass "dpkg -L: the daemon, the conffile, the unit, the tmpfiles entry, 2 man pages, docs, examples ($n files)"
dpkg-query -W -f='${Conffiles}\n' "$pkg" | grep -q "^ $conf [0-9a-f]\{32\}$" \
	|| fail "$conf is not a conffile"
pass "$conf is a conffile"
man -w mxbypass-milter.conf >/dev/null 2>&1 || [ ! -x /usr/bin/man ] \
	|| fail "man cannot find mxbypass-milter.conf(5)"

IFS=: read -r _ _ uid gid _ home shell <<<"$(getent passwd mxbypass)"
[ -n "$uid" ] || fail "no user mxbypass"
[ "$uid" -lt 1000 ] || fail "mxbypass is not a system user (uid $uid)"
[ "$(getent group mxbypass | cut -d: -f3)" = "$gid" ] || fail "the primary group of mxbypass is not mxbypass"
[ "$home" = /nonexistent ] || fail "home of mxbypass: $home"
[ "$shell" = /usr/sbin/nologin ] || fail "shell of mxbypass: $shell"
pass "system user and group mxbypass (uid $uid, home /nonexistent, no shell)"
if getent passwd postfix >/dev/null; then
	id -nG postfix | tr ' ' '\n' | grep -qx mxbypass || fail "postfix is not in the group mxbypass"
	pass "postfix is in the group mxbypass"
else
	echo "# no user postfix on this machine: the group membership is not checked"
fi

for d in "/run/$pkg" "$sockdir"; do
	[ "$(stat -c '%U:%G %a' "$d" 2>/dev/null)" = "mxbypass:mxbypass 750" ] \
		|| fail "$d: $(stat -c '%U:%G %a' "$d" 2>&1), expected mxbypass:mxbypass 750"
done
pass "postinst made the socket directories (tmpfiles): mxbypass:mxbypass 0750"

for line in "Socket unix:$sock" 'UserID mxbypass:mxbypass' 'Action log'; do
	[ "$(grep -cxF -- "$line" "$conf")" = 1 ] || fail "$conf does not set '$line' once"
done
head -n 1 "$conf" | grep -q 'Debian package' || fail "$conf: no header at the top"
/usr/sbin/mxbypass-milter -n -c "$conf" || fail "mxbypass-milter -n rejects $conf"
pass "$conf: the package's header, Socket in the chroot, UserID, Action log; -n accepts it"

if [ -d /run/systemd/system ]; then
	echo "# systemd runs this machine: verifying the unit"
else
	echo "# no systemd as PID 1 here: verifying the unit offline"
fi
systemd-analyze verify "$unit" >"$T/verify.out" 2>&1 || { cat "$T/verify.out"; fail "systemd-analyze verify $unit"; }
[ ! -s "$T/verify.out" ] || { cat "$T/verify.out"; fail "systemd-analyze verify complains"; }
grep -qx "ExecStart=/usr/sbin/mxbypass-milter -f -c $conf" "$unit" || fail "unit: ExecStart does not name /usr/sbin and /etc"
pass "systemd-analyze verify accepts the unit; its paths are /usr/sbin and /etc"

# Start the daemon the way the unit does: tmpfiles first (the unit's
# system runs them at boot), then ExecStartPre and ExecStart, as root.
rm -rf "/run/$pkg" "$sockdir"
systemd-tmpfiles --create "$tmpfiles" || fail "systemd-tmpfiles --create $tmpfiles"
pre=$(sed -n 's/^ExecStartPre=[-@+!:]*//p' "$unit")
start=$(sed -n 's/^ExecStart=[-@+!:]*//p' "$unit")
[ -n "$pre" ] && [ -n "$start" ] && [ "$(echo "$start" | wc -l)" = 1 ] || fail "unit: ExecStartPre/ExecStart not found"
while IFS= read -r cmd; do
	$cmd || fail "ExecStartPre failed: $cmd"
done <<<"$pre"
$start >"$T/milter.log" 2>&1 &
MILTER_PID=$!
PIDS="$PIDS $MILTER_PID"
wait_for test -S "$sock" || { cat "$T/milter.log"; fail "the daemon did not open $sock"; }
[ "$(ps -o user= -p "$MILTER_PID")" = mxbypass ] \
	|| fail "the daemon runs as $(ps -o user= -p "$MILTER_PID"), not mxbypass"
[ "$(stat -c '%U:%G %A' "$sock")" = "mxbypass:mxbypass srwxrwx---" ] \
	|| fail "$sock: $(stat -c '%U:%G %A' "$sock")"
pass "started as the unit does ($start): runs as mxbypass, socket $sock mxbypass:mxbypass 0770"
if getent passwd postfix >/dev/null; then
	runuser -u postfix -- test -w "$sock" || fail "postfix may not write to $sock"
	pass "postfix, through the group mxbypass, may connect to the socket"
fi

"$MILTERTEST" -D sock="$sock" -s "$(dirname "$0")/deb.lua" >"$T/mt.out" 2>&1 \
	|| { cat "$T/mt.out" "$T/milter.log"; fail "miltertest session through $sock failed"; }
pass "miltertest through the packaged socket: connect, mail, rcpt, eom answered, no header (Action log)"
kill -TERM "$MILTER_PID"
wait "$MILTER_PID" || fail "the daemon exited with status $? on SIGTERM"
[ ! -e "$sock" ] || fail "$sock is left after the daemon stopped"
pass "SIGTERM stops the daemon (status 0) and removes the socket"

# An upgrade keeps an edited conffile without asking: the conffile is the
# same in both versions.
printf '\n# edited by the administrator\nLogLevel notice\n' >>"$conf"
sum=$(md5sum <"$conf")
src2="$T/b/$pkg-$version+test1"
copy_tree "$src2"
{
	printf '%s (%s+test1) unstable; urgency=medium\n\n  * Upgrade test.\n\n' "$pkg" "$version"
	printf ' -- %s  %s\n\n' "$(dpkg-parsechangelog -l "$src/debian/changelog" -S Maintainer)" "$(date -R)"
	cat "$src/debian/changelog"
} >"$src2/debian/changelog.new"
mv "$src2/debian/changelog.new" "$src2/debian/changelog"
build "$src2"
dpkg -i "$T/b/${pkg}_${version}+test1_amd64.deb" </dev/null >"$T/upgrade.out" 2>&1 \
	|| { cat "$T/upgrade.out"; fail "dpkg -i of $version+test1 failed"; }
dpkg-query -W -f='${Status} ${Version}' "$pkg" | grep -qx "install ok installed $version+test1" \
	|| fail "the upgrade to $version+test1 did not happen"
grep -q 'Configuration file' "$T/upgrade.out" && { cat "$T/upgrade.out"; fail "dpkg asked about $conf"; }
[ "$(md5sum <"$conf")" = "$sum" ] || fail "the upgrade changed the edited $conf"
[ ! -e "$conf.dpkg-dist" ] && [ ! -e "$conf.dpkg-old" ] || fail "the upgrade left $conf.dpkg-*"
pass "upgrade $version -> $version+test1 keeps the edited conffile, no question asked"

apt-get remove -y -qq "$pkg" >"$T/remove.out" 2>&1 || { cat "$T/remove.out"; fail "apt-get remove failed"; }
dpkg-query -W -f='${Status}' "$pkg" | grep -qx 'deinstall ok config-files' || fail "after remove: $(dpkg-query -W -f='${Status}' "$pkg")"
[ -f "$conf" ] && [ "$(md5sum <"$conf")" = "$sum" ] || fail "apt-get remove did not keep the edited $conf"
[ ! -e /usr/sbin/mxbypass-milter ] && [ ! -e "$unit" ] || fail "apt-get remove left the program or the unit"
pass "apt-get remove: the program is gone, the edited $conf stays"

apt-get purge -y -qq "$pkg" >"$T/purge.out" 2>&1 || { cat "$T/purge.out"; fail "apt-get purge failed"; }
dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -qv 'not-installed' && fail "after purge: $(dpkg-query -W -f='${Status}' "$pkg")"
[ -z "$(dpkg -L "$pkg" 2>/dev/null)" ] || fail "dpkg -L still lists files after purge"
for f in "$conf" "/usr/share/doc/$pkg" "/run/$pkg" "$sockdir" "$unit" "$tmpfiles" \
	"/etc/systemd/system/multi-user.target.wants/$pkg.service"; do
	[ ! -e "$f" ] || fail "left after purge: $f"
done
pass "apt-get purge: the conffile, the docs, the unit and the socket directories are gone"
getent passwd mxbypass >/dev/null || fail "purge removed the user mxbypass (it should stay)"
pass "purge leaves the system user mxbypass, as README.Debian says"
