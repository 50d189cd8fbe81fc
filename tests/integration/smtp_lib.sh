# smtp_lib.sh - the SMTP ends of the tests with a real MTA, Postfix or
# Sendmail: an smtp-sink that saves every message, and swaks sending
# messages that name a tag, so that the saved copy can be found (sourced,
# bash; extends lib.sh)
#
# A message sent by send_tagged ends with the line "end-of-TAG"; the copy
# a sink saved is whole once that line is there (sink_copy).

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# smtp-sink and Postfix live in sbin, often not in a CI user's PATH.
PATH=$PATH:/usr/sbin:/sbin

# start_sink ADDR:PORT DIR - an SMTP server that accepts every message and
# saves each one as its own file in DIR; its output goes to $T/sink.log;
# sets SINK_PID
start_sink() {
	mkdir -p "$2"
	# smtp-sink drops to the postfix user before it writes any file
	chown postfix "$2"
	smtp-sink -u postfix -h sink.test -d "$2/%Y%m%d%H%M%S." "$1" 64 \
		>>"$T/sink.log" 2>&1 &
	SINK_PID=$!
	PIDS="$PIDS $SINK_PID"
	wait_listen 10 "$1" "$T/sink.log" smtp-sink
}

# sink_file DIR PATTERN - print the first saved message matching PATTERN
sink_file() {
	grep -lE -- "$2" "$1"/* 2>/dev/null | head -n 1 | grep .
}

# sink_copy DIR TAG - the saved copy of message TAG, once it is whole
sink_copy() { sink_file "$1" "end-of-$2\$"; }

# sink_count DIR - how many messages the sink saved in DIR
sink_count() { find "$1" -type f 2>/dev/null | wc -l; }

# sink_count_atleast DIR N - it saved N messages or more
sink_count_atleast() { [ "$(sink_count "$1")" -ge "$2" ]; }

# bypass_headers FILE - the X-MX-Bypass lines (any case) of the header block
# of a saved message
bypass_headers() { sed '/^$/q' "$1" | grep -i '^X-MX-Bypass:'; }

# send_tagged SERVER TAG TO [SWAKS_ARGS...] - one message to the
# comma-separated TO at SERVER (ADDR:PORT), subject "test TAG", its body's
# last line end-of-TAG; prints the SMTP dialogue, returns swaks' status
send_tagged() {
	local server=$1 tag=$2 to=$3
	shift 3
	swaks --server "${server%:*}" --port "${server##*:}" --helo client.test \
		--from sender@client.test --to "$to" --header "Subject: test $tag" \
		--body "message $tag end-of-$tag" --timeout 30 "$@" 2>&1
}
