/*
 * NAME
 *	check - check mode: mxbypass-milter -t DOMAIN [-a LOCAL] [-C CLIENT]
 * SYNOPSIS
 *	#include "check.h"
 * DESCRIPTION
 *	Decides for DOMAIN exactly as the milter would for a recipient there
 *	(decide.c: same lookups, rank and probes), and prints what it found,
 *	one "key: value" line each: the MX set (preference, host, addresses,
 *	self or not, probe result), the rank, and last the verdict. LOCAL is
 *	the address the client would have connected to (without it every
 *	address of this host's interfaces counts as self); CLIENT the client.
 *	On a backup it also says what the evidence for a delivery from
 *	CLIENT is: the witnesses of its network and the outage history of
 *	the better MX, from the configured store (the pool's, with Redis).
 *	Before the verdict it says what the milter would do with it (the
 *	same choice, action.c): "action: WORD", and with Action tempfail and
 *	RetryAfter what the retry memory says of CLIENT's network; check mode
 *	only looks at that memory, it never writes to it.
 *
 *	Exit status: 0 when it could decide, 1 on verdict error, 2 when the
 *	check itself could not run.
 */

#include "autoconfig.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "config.h"
#include "decide.h"
#include "evidence.h"
#include "log.h"
#include "mxset.h"
#include "netaddr.h"
#include "store.h"

static const char *const probe_words[] = {
	[PROBE_NONE] = "none", [PROBE_DOWN] = "down", [PROBE_UP] = "up",
	[PROBE_UNKNOWN] = "unknown", [PROBE_WENT_DOWN] = "went-down",
};

/* print_entry - one MX entry: preference, host, addresses, self, probe */
static void print_entry(const struct decision *d, size_t i)
{
	const struct mx_entry *e = &d->mx->v[i];
	char addr[NETADDR_STRLEN];

	printf("mx: pref=%u host=%s", e->pref, e->host);
	if (e->status != HOST_OK)
		printf(" addresses=none (%s)", mx_host_status_name(e->status));
	for (size_t j = 0; j < e->naddrs; j++)
		printf("%s%s", j == 0 ? " addresses=" : ",",
		       netaddr_format(&e->addrs[j], addr, sizeof(addr)));
	printf("%s self=%s", e->cname ? " cname=yes" : "", d->rank.self[i] ? "yes" : "no");
	if (i < decision_better(d))
		printf(" probe=%s", probe_words[d->probes[i]]);
	printf("\n");
}

/* print_rank - the rank line */
static void print_rank(const struct decision *d, const char *domain)
{
	if (d->mx == NULL || d->mx->status != MX_FOUND)
		return;
	if (!d->rank.has_self)
		printf("rank: none (this host is not an MX of %s)\n", domain);
	else
		printf("rank: %u (%s)\n", d->rank.rank,
		       d->rank.rank <= d->rank.lowest ? "primary" : "backup");
}

/* ago - "N s ago" of a store time */
static uint64_t ago_s(struct services *s, uint64_t at_ms)
{
	uint64_t now = store_now(s->store);

	return now > at_ms ? (now - at_ms) / 1000 : 0;
}

/* print_evidence - what the witnesses and the outage history say for a
 * backup delivery from this client (asked for the display when the
 * verdict did not need it) */
static void print_evidence(const struct config *cfg, struct services *s,
			   const struct decision_input *in, struct decision *d)
{
	const char *net = d->evidence.network;

	if (decision_better(d) == 0)
		return;
	if (!d->evidence.asked)
		evidence_gather(s->store, cfg, d->mx, &d->rank, d->probes, &in->client,
				&d->evidence);
	if (cfg->witness_window == 0)
		printf("witness: off (WitnessWindow 0)\n");
	else if (in->client.family == 0)
		printf("witness: not asked (no client: -C CLIENT-ADDR)\n");
	else if (d->evidence.witness_ms != 0)
		printf("witness: %s reached %s %" PRIu64 " s ago (WitnessWindow %u)\n", net,
		       d->evidence.witness_addr, ago_s(s, d->evidence.witness_ms),
		       cfg->witness_window);
	else
		printf("witness: none (%s reached no better MX within WitnessWindow %u)\n", net,
		       cfg->witness_window);
	if (cfg->probe_confirm == 0)
		printf("confirm: off (ProbeConfirm 0)\n");
	else
		printf("confirm: a bypass rests on an \"up\" no older than ProbeConfirm %u s%s\n",
		       cfg->probe_confirm, decision_went_down(d) ? "; one went down since its last probe" : "");
	if (cfg->recent_down_window == 0)
		printf("recent-down: off (RecentDownWindow 0)\n");
	else if (d->evidence.down_ms != 0)
		printf("recent-down: %s was down %" PRIu64 " s ago (RecentDownWindow %u)\n",
		       d->evidence.down_addr, ago_s(s, d->evidence.down_ms), cfg->recent_down_window);
	else
		printf("recent-down: none (no better MX answering now was down within "
		       "RecentDownWindow %u)\n", cfg->recent_down_window);
}

/* print_action - what the milter would do, chosen by the same code; with
 * RetryAfter, what the retry memory says of the client's network (read,
 * never written) */
static void print_action(const struct config *cfg, struct services *s,
			 const struct decision_input *in, const struct decision *d)
{
	const struct action_result *a = &d->action;
	const char *net = d->evidence.network;

	printf("action: %s", action_name(a->action));
	if (a->code != NULL)
		printf(" (%s %s)", a->code, a->xcode);
	else if (a->tag)
		printf(" (header %s)", cfg->header_name);
	printf("\n");
	switch (d->action_facts.retry) {
	case RETRY_NOT_ASKED:
		if (action_asks_retry(&d->action_facts))	/* no client to ask for */
			printf("retry: not asked (no client: -C CLIENT-ADDR); a retry after "
			       "RetryAfter %u s is accepted and tagged\n", cfg->retry_after);
		break;
	case RETRY_FIRST:
		printf("retry: %s was not tempfailed for %s yet: this would be its first "
		       "tempfail\n", net, in->domain);
		break;
	case RETRY_TOO_SOON:
		printf("retry: %s was first tempfailed for %s %" PRIu64 " s ago, less than "
		       "RetryAfter %u s: tempfailed again\n", net, in->domain,
		       ago_s(s, d->retry_first_ms), cfg->retry_after);
		break;
	case RETRY_ACCEPT:
		printf("retry: %s was first tempfailed for %s %" PRIu64 " s ago, RetryAfter "
		       "%u s: its retry is accepted and tagged\n", net, in->domain,
		       ago_s(s, d->retry_first_ms), cfg->retry_after);
		break;
	}
}

/* check_domain - the -t command */
int check_domain(const struct config *cfg, const char *domain, const char *local_addr,
		 const char *client_addr, const char *password)
{
	char name[DOMAIN_MAXLEN + 1];
	struct cidr_list interfaces = { 0 };
	struct services services;
	struct decision d;
	struct decision_input in = {
		.domain = name,
		.kind = domain_classify(domain, strlen(domain), name, sizeof(name)),
		.interfaces = &interfaces,
		.deadline_ms = clock_ms() + cfg->decision_timeout_ms,
	};

	if (in.kind != DOMAIN_NAME)
		snprintf(name, sizeof(name), "%s", domain);
	printf("domain: %s\n", name);
	if (local_addr != NULL) {
		netaddr_parse(local_addr, &in.local);
		printf("local: %s\n", local_addr);
	} else {
		if (!netaddr_interfaces(&interfaces))
			log_warning("check: cannot read the interface addresses");
		printf("local: (every interface address)\n");
	}
	if (client_addr != NULL) {
		netaddr_parse(client_addr, &in.client);
		printf("client: %s\n", client_addr);
	}
	if (!services_init(&services, cfg, SERVICES_CHECK, password)) {
		fprintf(stderr, "mxbypass-milter: -t: out of memory\n");
		cidr_list_free(&interfaces);
		return 2;
	}

	decide(cfg, &services, &in, &d);

	if (d.mx == NULL)
		printf("lookup: none\n");
	else if (d.mx->status == MX_NOT_DOMAIN)
		printf("lookup: not-a-domain (%s), not looked up\n",
		       in.kind == DOMAIN_LITERAL ? "address literal" : "malformed");
	else
		printf("lookup: %s%s ttl=%u\n", mx_status_name(d.mx->status),
		       d.mx->implicit ? " (implicit MX: no MX records, the domain's own address)" : "",
		       d.mx->ttl);
	for (size_t i = 0; d.mx != NULL && i < d.mx->n; i++)
		print_entry(&d, i);
	if (d.mx != NULL && d.mx->truncated)
		printf("note: more than %d MX records; the best %d were kept\n",
		       MX_MAX_ENTRIES, MX_MAX_ENTRIES);
	print_rank(&d, name);
	if (d.result.reachable >= 0)
		printf("reachable: pref=%u host=%s\n", d.mx->v[d.result.reachable].pref,
		       d.mx->v[d.result.reachable].host);
	print_evidence(cfg, &services, &in, &d);
	decide_action(cfg, &services, &in, true, &d);
	print_action(cfg, &services, &in, &d);
	printf("reason: %s\n", verdict_reason_name(&d.result));
	printf("verdict: %s\n", verdict_name(d.result.verdict));

	decision_clear(&d);
	services_free(&services);
	cidr_list_free(&interfaces);
	return d.result.verdict == VERDICT_ERROR ? 1 : 0;
}
