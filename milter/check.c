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
 *
 *	Exit status: 0 when it could decide, 1 on verdict error, 2 when the
 *	check itself could not run.
 */

#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "decide.h"
#include "log.h"
#include "mxset.h"
#include "netaddr.h"

static const char *const probe_words[] = {
	[PROBE_NONE] = "none", [PROBE_DOWN] = "down", [PROBE_UP] = "up",
	[PROBE_UNKNOWN] = "unknown",
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
	/* probes are made for the entries better than a backup's rank */
	if (d->rank.has_self && d->rank.rank > d->rank.lowest && e->pref < d->rank.rank
	    && d->result.verdict != VERDICT_EXEMPT)
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

/* check_domain - the -t command */
int check_domain(const struct config *cfg, const char *domain, const char *local_addr,
		 const char *client_addr)
{
	char name[DOMAIN_MAXLEN + 1];
	struct cidr_list interfaces = { 0 };
	struct services services;
	struct resolver *resolver = NULL;
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
	if (!services_init(&services, cfg, false, NULL)) {
		fprintf(stderr, "mxbypass-milter: -t: out of memory\n");
		cidr_list_free(&interfaces);
		return 2;
	}

	decide(cfg, &services, &resolver, &in, &d);

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
	printf("reason: %s\n", d.result.reason);
	printf("verdict: %s\n", verdict_name(d.result.verdict));

	decision_clear(&d);
	resolver_free(resolver);
	services_free(&services);
	cidr_list_free(&interfaces);
	return d.result.verdict == VERDICT_ERROR ? 1 : 0;
}
