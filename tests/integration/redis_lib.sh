# redis_lib.sh - a real redis-server on loopback, the tests' own (sourced;
# extends lib.sh)
#
# start_redis [ARGS...] starts redis-server on 127.0.0.1:$REDIS_PORT with
# its own directory $T/redis, no persistence, extra ARGS passed on (e.g.
# --requirepass SECRET); it is stopped with the test's other processes.
# kill_redis stops it hard (SIGKILL), restart_redis starts it again on the
# same port, redis_cli runs redis-cli against it.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REDIS_PORT=""
REDIS_PID=""
REDIS_ARGS=""

# redis_run - redis-server in the foreground on $REDIS_PORT; false if it died
redis_run() {
	mkdir -p "$T/redis"
	# shellcheck disable=SC2086
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$T/redis" --save '' \
		--appendonly no --daemonize no --logfile "$T/redis/redis.log" $REDIS_ARGS &
	REDIS_PID=$!
	PIDS="$PIDS $REDIS_PID"
	wait_for redis_cli PING || return 1
	kill -0 "$REDIS_PID" 2>/dev/null
}

start_redis() {
	local try
	command -v redis-server >/dev/null || skip "redis-server not installed"
	REDIS_ARGS="$*"
	for try in 1 2 3 4 5; do
		REDIS_PORT=$(random_port)
		redis_run && return 0
		kill -9 "$REDIS_PID" 2>/dev/null
	done
	cat "$T/redis/redis.log" >&2
	fail "redis-server did not start"
}

# kill_redis - SIGKILL, and wait until it is gone
kill_redis() {
	kill -9 "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
	return 0
}

# restart_redis - again on the same port (empty: nothing was persisted)
restart_redis() {
	redis_run || { cat "$T/redis/redis.log" >&2; fail "redis-server did not restart"; }
}

# redis_cli ARGS... - a command against the test's server (AUTH from
# $REDIS_PASSWORD when set)
redis_cli() {
	if [ -n "${REDIS_PASSWORD:-}" ]; then
		REDISCLI_AUTH=$REDIS_PASSWORD redis-cli --no-auth-warning -h 127.0.0.1 \
			-p "$REDIS_PORT" "$@"
	else
		redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"
	fi
}
