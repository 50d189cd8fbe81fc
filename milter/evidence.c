/*
 * NAME
 *	evidence - what says a sender had a reason to come to a backup MX
 * SYNOPSIS
 *	#include "evidence.h"
 * DESCRIPTION
 *	A probe that finds the primary greeting 220 does not prove that the
 *	sender skipped it: real MTAs come to a backup at once when the
 *	primary deferred them (greylisting at RCPT, 4xx after DATA), and
 *	Exim and Sendmail skip a primary that failed them for up to half an
 *	hour after it is back. Two facts tell those senders apart from one
 *	that never tried; both live in the store (store.c), in fixed memory
 *	and, with Redis, shared by the pool:
 *
 *	witness	  at connect, every milter records that the client's network
 *		  (RetryPrefix4/6) reached it, under each address it knows
 *		  itself by: the one the client connected to ({daemon_addr},
 *		  {if_addr}) and the single addresses of LocalAddresses (the
 *		  public ones behind NAT, as DNS names them). Recorded at
 *		  connect, not at RCPT: Postfix's own restrictions (a
 *		  greylisting policy service) defer the recipient before any
 *		  milter sees it. Kept WitnessWindow.
 *	outage	  the time each probed address was last down, kept
 *		  RecentDownWindow, well past ProbeTTLDown.
 *
 *	evidence_gather() asks, only for a bypass candidate, whether its
 *	network reached any address of a better MX within WitnessWindow, and
 *	whether an address of the reachable better MX that answers now was
 *	down within RecentDownWindow: one look at the local copy, then one
 *	round trip to the pool. An address that stays down (broken IPv6
 *	beside a working IPv4) is not evidence: only the addresses known up
 *	now are asked about.
 */

#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "evidence.h"
#include "mxset.h"
#include "probe.h"
#include "retry.h"
#include "stats.h"
#include "store.h"

/* evidence_record - at connect: the client's network reached this host */
void evidence_record(struct store *s, const struct config *cfg, const struct netaddr *client,
		     const struct netaddr *local)
{
	char net[NETADDR_STRLEN + 8], text[STORE_WITNESS_MAX][NETADDR_STRLEN];
	const char *addrs[STORE_WITNESS_MAX];
	struct netaddr seen[STORE_WITNESS_MAX];
	size_t n = 0;

	if (cfg->witness_window == 0 || client->family == 0)
		return;
	if (local->family != 0 && !netaddr_is_wildcard(local))
		seen[n++] = *local;
	for (size_t i = 0; i < cfg->local_addresses.n && n < STORE_WITNESS_MAX; i++) {
		const struct cidr *c = &cfg->local_addresses.v[i];
		bool dup = false;
		/* a network of addresses names no one address the MX records give */
		if (c->prefix != (c->addr.family == AF_INET ? 32u : 128u))
			continue;
		for (size_t j = 0; j < n && !dup; j++)
			dup = netaddr_equal(&seen[j], &c->addr);
		if (!dup)
			seen[n++] = c->addr;
	}
	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++)
		addrs[i] = netaddr_format(&seen[i], text[i], sizeof(text[i]));
	retry_network(client, cfg->retry_prefix4, cfg->retry_prefix6, net, sizeof(net));
	store_witness_put(s, net, addrs, n, cfg->witness_window);
	stats_add(STAT_WITNESSES);
}

/* evidence_gather - for a bypass candidate: did its network reach a better
 * MX lately, and was the better MX that answers now down lately */
void evidence_gather(struct store *s, const struct config *cfg, const struct mxset *m,
		     const struct mx_rank *rank, const enum probe_state *probes,
		     const struct netaddr *client, struct evidence *out)
{
	char atext[PROBE_MAX_ADDRS][NETADDR_STRLEN], ktext[PROBE_MAX_ADDRS][NETADDR_STRLEN + 8];
	const char *addrs[PROBE_MAX_ADDRS], *keys[PROBE_MAX_ADDRS];
	/* a witness needs the client's network; an outage, a better MX up now */
	bool witness = cfg->witness_window > 0 && client->family != 0;
	bool outage = cfg->recent_down_window > 0;
	size_t na = 0, nk = 0;
	struct store_evidence st;

	memset(out, 0, sizeof(*out));
	retry_network(client, cfg->retry_prefix4, cfg->retry_prefix6, out->network,
		      sizeof(out->network));
	if (!witness && !outage)
		return;
	for (size_t i = 0, better = mx_better(m, rank); i < better; i++)
		for (size_t j = 0; j < m->v[i].naddrs; j++) {
			const struct netaddr *a = &m->v[i].addrs[j];
			bool up;
			if (witness && na < PROBE_MAX_ADDRS)
				addrs[na] = netaddr_format(a, atext[na], sizeof(atext[na])), na++;
			if (!outage || probes[i] != PROBE_UP || nk == PROBE_MAX_ADDRS)
				continue;
			probe_key(ktext[nk], sizeof(ktext[nk]), a, cfg->probe_port);
			if (store_probe_known(s, ktext[nk], 0, &up) && up)
				keys[nk] = ktext[nk], nk++;
		}
	store_evidence(s, out->network, addrs, na, keys, nk, cfg->witness_window,
		       cfg->recent_down_window, &st);
	out->asked = true;
	if ((out->witness_ms = st.witness_ms) != 0)
		snprintf(out->witness_addr, sizeof(out->witness_addr), "%s", addrs[st.witness_addr]);
	if ((out->down_ms = st.down_ms) != 0)
		snprintf(out->down_addr, sizeof(out->down_addr), "%s", keys[st.down_key]);
}
