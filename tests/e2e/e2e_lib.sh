# e2e_lib.sh - a domain's MX hosts on loopback, for the end-to-end tests and
# the demo (sourced, bash; extends the integration helpers)
#
# e2e_start brings up, in zones/bypass.test:
#   NSD            127.0.0.1:$NSD_PORT, the zone
#   primary        up.bypass.test     127.0.0.21:$E2E_PORT  smtp-sink, saves to $T/primary
#   backup         backup.bypass.test 127.0.0.30:$E2E_PORT  Postfix "backup", the milter
#                                                          in smtpd_milters, relaying
#                                                          every bypass.test domain to
#                                                          the primary
#   mxbypass-milter $T/milter.conf, log $T/milter.log
# Senders connect from $E2E_CLIENT (untrusted) or $E2E_TRUSTED.

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$E2E_LIB_DIR/../integration/postfix_lib.sh"
. "$E2E_LIB_DIR/../integration/dns_lib.sh"
. "$E2E_LIB_DIR/../integration/mx_lib.sh"

E2E_CLIENT=127.0.0.50
E2E_TRUSTED=127.0.0.60
E2E_PRIMARY_ADDR=127.0.0.21
E2E_BACKUP_ADDR=127.0.0.30

# e2e_free_port - a port free on both the primary's and the backup's address
e2e_free_port() {
	local p
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		p=$(random_port)
		tcp_open "$E2E_PRIMARY_ADDR:$p" || tcp_open "$E2E_BACKUP_ADDR:$p" || { echo "$p"; return; }
	done
	fail "no free port"
}

# e2e_start [MILTER_CONF_LINE...] - everything above; extra lines go to the
# milter's configuration (keys bypass_conf does not set: a repeated key is an error)
e2e_start() {
	require_postfix
	start_nsd
	E2E_PORT=$(e2e_free_port)
	PRIMARY=$E2E_PRIMARY_ADDR:$E2E_PORT
	BACKUP=$E2E_BACKUP_ADDR:$E2E_PORT
	start_sink "$PRIMARY" "$T/primary"

	MILTER_CONF="$T/milter.conf"
	PROBE_PORT=$E2E_PORT bypass_conf "$MILTER_CONF.base"
	# the probes must see the primary come and go within a test
	grep -v '^TrustedNetworks' "$MILTER_CONF.base" >"$MILTER_CONF"
	printf '%s\n' "TrustedNetworks $E2E_TRUSTED/32" "ProbeTTLUp 1" "ProbeTTLDown 1" \
		"UserID postfix" "$@" >>"$MILTER_CONF"
	start_milter "$MILTER_CONF"

	start_postfix backup "$BACKUP" "$PRIMARY" \
		"myhostname = backup.bypass.test" \
		"relay_domains = bypass.test" \
		"smtpd_milters = { unix:$SOCK, default_action=accept, command_timeout=15s }"
}

# e2e_set KEY VALUE - rewrite one key and reload the milter (SIGHUP)
e2e_set() {
	sed -i "/^$1 /d" "$MILTER_CONF"
	echo "$1 $2" >>"$MILTER_CONF"
	reload milter || fail "the milter did not reload"
}

# e2e_set_action ACTION - rewrite Action and reload the milter
e2e_set_action() { e2e_set Action "$1"; }

# e2e_send SERVER TAG TO [SWAKS_ARGS...] - one message from $E2E_CLIENT to
# SERVER (ADDR:PORT); the body names TAG so the delivered copy can be found;
# prints the SMTP dialogue
e2e_send() { send_tagged "$1" "$2" "$3" --local-interface "$E2E_CLIENT" "${@:4}"; }

# e2e_delivered TAG - the primary's copy of the message TAG
e2e_delivered() { sink_copy "$T/primary" "$1"; }

# e2e_header TAG - its X-MX-Bypass header, or nothing
e2e_header() {
	local f
	f=$(e2e_delivered "$1") || return 1
	bypass_headers "$f" | sed 's/^[^:]*: *//'
}

# e2e_copies_atleast N - the primary holds N messages or more
e2e_copies_atleast() { sink_count_atleast "$T/primary" "$1"; }
