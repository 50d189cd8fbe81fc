#!/bin/bash
# cmdline.sh - options, exit codes and messages of the command line.
. "$(dirname "$0")/lib.sh"

# expect STATUS PATTERN CMD... - exit status and a line of output
expect() {
	want=$1 pattern=$2; shift 2
	"$@" > "$T/out" 2>&1
	got=$?
	[ "$got" = "$want" ] || { cat "$T/out"; fail "$*: exit $got, expected $want"; }
	[ -z "$pattern" ] || grep -Eq -- "$pattern" "$T/out" || { cat "$T/out"; fail "$*: no line matching /$pattern/"; }
	pass "$* -> exit $want"
}

expect 0 '^mxbypass-milter [0-9]+\.[0-9]+' "$MILTER" -V
expect 0 '^usage: mxbypass-milter' "$MILTER" -h
expect 2 'unknown option -x' "$MILTER" -x
expect 2 'option -c needs a value' "$MILTER" -c
expect 2 'unexpected argument "extra"' "$MILTER" -n extra
expect 2 '-a and -C go with -t' "$MILTER" -a 127.0.0.1
expect 2 '-a: "nowhere" is not an IPv4 or IPv6 address' "$MILTER" -t example.org -a nowhere
expect 2 '-C: "1.2.3" is not' "$MILTER" -t example.org -C 1.2.3

printf 'Action log\n' > "$T/good.conf"
expect 0 '' "$MILTER" -n -c "$T/good.conf"
[ ! -s "$T/out" ] || fail "-n printed something for a good file"

printf '# fine\nAction log\nProbeTimeout 0\nBogusKey yes\n' > "$T/bad.conf"
expect 1 "^$T/bad.conf:3: ProbeTimeout: 0 is out of range" "$MILTER" -n -c "$T/bad.conf"
grep -q "^$T/bad.conf:4: unknown key \"BogusKey\"" "$T/out" || fail "-n did not print every problem"
pass "-n prints every problem as FILE:LINE: message"

expect 1 "^$T/missing.conf: cannot open" "$MILTER" -n -c "$T/missing.conf"
expect 1 '^-p: Socket: .*expected unix:PATH' "$MILTER" -n -c "$T/good.conf" -p nonsense
expect 1 '^-u: UserID: unknown user' "$MILTER" -n -c "$T/good.conf" -u no-such-user-xyz
expect 1 'StateBackend is memory: there is no pool' "$MILTER" -S -c "$T/good.conf"

# StateBackend redis: -n checks the password file, -S needs the server;
# a build without hiredis refuses the backend by name.
printf 'StateBackend redis\nRedisServer 127.0.0.1:1\n' > "$T/redis.conf"
if grep -q '^#define HAVE_HIREDIS 1' "$top_builddir/autoconfig.h"; then
	expect 0 '' "$MILTER" -n -c "$T/redis.conf"
	expect 1 '-S: redis 127.0.0.1:1: connect: Connection refused' "$MILTER" -S -c "$T/redis.conf"
	printf 'RedisPasswordFile %s\n' "$T/no-such.pass" >> "$T/redis.conf"
	expect 1 "redis.conf: RedisPasswordFile $T/no-such.pass: No such file" \
		"$MILTER" -n -c "$T/redis.conf"
	: > "$T/empty.pass"
	printf 'StateBackend redis\nRedisPasswordFile %s\n' "$T/empty.pass" > "$T/redis2.conf"
	expect 1 "RedisPasswordFile $T/empty.pass: no password on its first line" \
		"$MILTER" -n -c "$T/redis2.conf"
else
	expect 1 "redis.conf:1: StateBackend: redis: this build has no Redis support" \
		"$MILTER" -n -c "$T/redis.conf"
fi

# A bad file stops the daemon before it opens anything.
expect 1 "bad.conf:3: ProbeTimeout" "$MILTER" -f -c "$T/bad.conf" -p "unix:$T/never.sock"
[ ! -e "$T/never.sock" ] || fail "a socket was opened despite a bad configuration"
pass "a bad configuration stops start-up"

# A socket that cannot be opened is a start-up failure, also when daemonising.
printf 'Syslog no\n' > "$T/quiet.conf"
expect 1 'cannot open socket' "$MILTER" -f -l -c "$T/quiet.conf" -p "unix:$T/no/such/dir/m.sock"
expect 1 'cannot open socket' "$MILTER" -l -c "$T/quiet.conf" -p "unix:$T/no/such/dir/m.sock"
