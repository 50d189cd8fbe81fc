#!/bin/bash
# postfix.sh - the milter where it lives: in smtpd_milters of a real
# Postfix that is the backup MX of bypass.test, with real DNS (NSD), a real
# primary (smtp-sink) and real SMTP clients (swaks, smtp-source). Each
# scenario checks the SMTP answers, the milter's log line and the copy the
# primary received.

[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/e2e_lib.sh"

e2e_start
L="rcpt-domain=live.bypass.test client=$E2E_CLIENT"
HDR="bypass; domain=live.bypass.test; via=backup.bypass.test (pref 20); reachable=up.bypass.test (pref 10)"

# expect_reply OUT CODE - swaks printed a server reply starting with CODE
expect_reply() {
	grep -qE -- "^<(-|\*\*) +$2" <<<"$1" || { echo "$1" >&2; fail "no reply $2"; }
}

# (1) The primary is up and the sender went to the backup: the Action.
out=$(e2e_send "$BACKUP" tag1 user@live.bypass.test)
expect_reply "$out" "250 .*queued as"
wait_for -t 20 e2e_delivered tag1 || fail "tag1 not delivered to the primary"
[ "$(e2e_header tag1)" = "$HDR" ] || fail "tag1: header [$(e2e_header tag1)]"
log_has ": $L verdict=bypass action=tag rank=20 better=up.bypass.test reachable=up.bypass.test " \
	|| fail "tag1: no bypass line"
pass "primary up, sender at the backup, Action tag: delivered with [X-MX-Bypass: $HDR]"

e2e_set_action tempfail
out=$(e2e_send "$BACKUP" temp1 user@live.bypass.test)
expect_reply "$out" "451 4\.7\.1 Please deliver to the primary MX host of this domain"
pass "Action tempfail: 451 4.7.1 at RCPT"
e2e_set_action reject
out=$(e2e_send "$BACKUP" reject1 user@live.bypass.test)
expect_reply "$out" "550 5\.7\.1 Please deliver to the primary MX host of this domain"
pass "Action reject: 550 5.7.1 at RCPT"
e2e_set_action log
out=$(e2e_send "$BACKUP" log1 user@live.bypass.test)
expect_reply "$out" "250 .*queued as"
wait_for -t 20 e2e_delivered log1 || fail "log1 not delivered"
[ -z "$(e2e_header log1)" ] || fail "log1: tagged under Action log"
log_has ": $L verdict=bypass action=log " || fail "log1: no log line"
pass "Action log: delivered untagged, logged"
e2e_set_action tag

# (2) The primary is down: a legitimate backup delivery, queued at the
# backup and relayed untagged when the primary returns.
kill "$SINK_PID"
wait "$SINK_PID" 2>/dev/null
wait_for -t 10 tcp_closed "$PRIMARY" || fail "sink still up"
sleep 1.1	# ProbeTTLUp: forget that the primary was up
out=$(e2e_send "$BACKUP" down1 user@live.bypass.test)
expect_reply "$out" "250 .*queued as"
log_has ": $L verdict=backup action=accept rank=20 better=up.bypass.test reason=better-mx-unreachable" \
	|| fail "down1: not a backup verdict"
wait_for -t 20 pf_log_has backup "status=deferred .*Connection refused" || fail "down1: not deferred"
start_sink "$PRIMARY" "$T/primary"
postqueue -c "$(pf_dir backup)/etc" -f
wait_for -t 30 e2e_delivered down1 || fail "down1 not relayed once the primary was back"
[ -z "$(e2e_header down1)" ] || fail "down1: tagged"
pass "primary down: accepted (verdict backup), queued, relayed untagged when the primary returned"

# (3) The sender went to the primary: the milter is not even asked. A
# domain whose primary this host is: verdict primary, untagged.
out=$(e2e_send "$PRIMARY" direct1 user@live.bypass.test)
expect_reply "$out" "250 "
wait_for -t 10 e2e_delivered direct1 && [ -z "$(e2e_header direct1)" ] || fail "direct1"
out=$(e2e_send "$BACKUP" prim1 user@primary.bypass.test)
expect_reply "$out" "250 .*queued as"
wait_for -t 20 e2e_delivered prim1 && [ -z "$(e2e_header prim1)" ] || fail "prim1 tagged or lost"
log_has ": rcpt-domain=primary.bypass.test client=$E2E_CLIENT verdict=primary action=accept rank=10 " \
	|| fail "prim1: not primary"
pass "sender at the primary: untouched; this host the primary of a domain: verdict primary"

# (4) Exempt: a trusted client, and a SASL-authenticated one.
sleep 1.1	# ProbeTTLDown: the primary is back
out=$(swaks --server "${BACKUP%:*}" --port "$E2E_PORT" --local-interface "$E2E_TRUSTED" \
	--helo trusted.test --from a@trusted.test --to user@live.bypass.test \
	--body "message trusted1 end-of-trusted1" --timeout 30 2>&1)
expect_reply "$out" "250 .*queued as"
wait_for -t 20 e2e_delivered trusted1 && [ -z "$(e2e_header trusted1)" ] || fail "trusted1"
log_has ": rcpt-domain=live.bypass.test client=$E2E_TRUSTED verdict=exempt action=accept reason=trusted-network" \
	|| fail "trusted1: not exempt"
pass "trusted client: exempt, untagged"

# Debian's Postfix reads $config_directory/sasl/smtpd.conf
d=$(pf_dir backup)/etc
mkdir -p "$d/sasl"
cat >"$d/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $d/sasl/sasldb2
EOF
echo secret | saslpasswd2 -p -f "$d/sasl/sasldb2" -c -u bypass.test alice || fail "saslpasswd2"
chown postfix "$d/sasl/sasldb2"
postconf -c "$d" -e smtpd_sasl_auth_enable=yes cyrus_sasl_config_path="$d/sasl" \
	smtpd_sasl_local_domain=bypass.test
postfix -c "$d" reload >/dev/null 2>&1
sleep 1
out=$(e2e_send "$BACKUP" auth1 user@live.bypass.test --auth PLAIN --auth-user alice \
	--auth-password secret)
expect_reply "$out" "235 "
expect_reply "$out" "250 .*queued as"
wait_for -t 20 e2e_delivered auth1 && [ -z "$(e2e_header auth1)" ] || fail "auth1"
log_has ": $L verdict=exempt action=accept reason=authenticated" || fail "auth1: not exempt"
pass "SASL-authenticated client: exempt, untagged"

# (4b) The primary was down minutes ago: an MTA that remembers the failure
# (Exim, Sendmail) may still come to the backup, so that is no bypass.
out=$(e2e_send "$BACKUP" recent1 user@live.bypass.test)
expect_reply "$out" "250 .*queued as"
wait_for -t 20 e2e_delivered recent1 && [ -z "$(e2e_header recent1)" ] || fail "recent1 tagged or lost"
log_has ": $L verdict=backup action=accept rank=20 better=up.bypass.test reachable=up.bypass.test reason=better-mx-recently-down" \
	|| fail "recent1: not excused by the outage"
pass "primary back after an outage: a sender at the backup is excused (better-mx-recently-down), untagged"
e2e_set RecentDownWindow 0

# (5) Several recipients in different domains, one transaction: each its
# own answer; the delivered copy names only the tagged domain.
out=$(e2e_send "$BACKUP" multi1 \
	user@live.bypass.test,user@reject.bypass.test,user@temp.bypass.test,user@primary.bypass.test)
expect_reply "$out" "550 5\.7\.1 "
expect_reply "$out" "451 4\.7\.1 "
expect_reply "$out" "250 .*queued as"
[ "$(grep -cE '^<- +250 2\.1\.5' <<<"$out")" = 2 ] || { echo "$out"; fail "multi1: not two recipients accepted"; }
wait_for -t 20 e2e_delivered multi1 || fail "multi1 not delivered"
[ "$(e2e_header multi1)" = "$HDR" ] || fail "multi1: header [$(e2e_header multi1)]"
[ "$(bypass_headers "$(e2e_delivered multi1)" | wc -l)" = 1 ] || fail "multi1: two headers"
pass "four recipients in four domains: 250 tagged, 550, 451, 250 primary; one header"

# (6) The milter stopped: Postfix (default_action=accept) keeps accepting.
stop_milter
for i in 1 2 3; do
	expect_reply "$(e2e_send "$BACKUP" nomilter$i user@live.bypass.test)" "250 .*queued as"
done
for i in 1 2 3; do
	wait_for -t 20 e2e_delivered nomilter$i || fail "nomilter$i lost"
done
pf_log_has backup "milter unix:$SOCK: can't connect|connect to Milter service unix:$SOCK" \
	|| fail "Postfix did not notice the milter was gone"
pass "milter stopped: 3 of 3 messages accepted and delivered (default_action=accept)"
start_milter "$MILTER_CONF"

# (7) Reloads while mail flows: 200 messages, one connection each, from 4
# sessions at once, while the Action switches between tag and log every
# 0.2 s. Every message is delivered, tagged exactly when its line says tag.
N=200
ls "$T/primary" | sort >"$T/before"
before=$(wc -l <"$T/before")
smtp-source -s 4 -m $N -l 512 -f sender@client.test -t user@live.bypass.test "$BACKUP" \
	>"$T/source.out" 2>&1 &
src=$!
reloads=0
while kill -0 "$src" 2>/dev/null; do
	sleep 0.2
	e2e_set_action "$([ $((reloads % 2)) = 0 ] && echo log || echo tag)"
	reloads=$((reloads + 1))
done
wait "$src" || { cat "$T/source.out"; fail "smtp-source failed"; }
wait_for -t 60 e2e_copies_atleast $((before + N)) \
	|| fail "reloads: $(( $(sink_count "$T/primary") - before )) of $N delivered"
tagged=$(log_count 'client=127.0.0.1 verdict=bypass action=tag ')
logged=$(log_count 'client=127.0.0.1 verdict=bypass action=log ')
[ $((tagged + logged)) = $N ] || fail "reloads: $tagged tagged + $logged logged lines, not $N"
new=$(ls "$T/primary" | sort | comm -13 "$T/before" - | sed "s|^|$T/primary/|")
with=$(grep -lx "X-MX-Bypass: $HDR" $new | wc -l)
[ "$with" = "$tagged" ] || fail "reloads: $with delivered copies tagged, $tagged lines say tag"
[ "$tagged" -gt 0 ] && [ "$logged" -gt 0 ] || fail "reloads: the Action never changed ($tagged/$logged)"
pass "$reloads reloads under load: $N of $N delivered, $tagged tagged and $logged only logged, as the log says"

stop_milter || fail "milter exited non-zero"
pass "clean stop"
