/*
 * NAME
 *	check - check mode: mxbypass-milter -t DOMAIN [-a LOCAL] [-C CLIENT]
 * SYNOPSIS
 *	#include "check.h"
 * DESCRIPTION
 *	Resolves and ranks DOMAIN with the same modules the milter uses, and
 *	prints what it found, one "key: value" line each: the MX set
 *	(preference, host, addresses, self or not), the rank, and last the
 *	verdict. LOCAL is the address the client would have connected to;
 *	without it every address of this host's interfaces counts as self.
 *
 *	Exit status: 0 when it could decide, 1 on verdict error, 2 when the
 *	check itself could not run.
 */

#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "log.h"
#include "mxset.h"
#include "netaddr.h"

/* print_entry - one MX entry: preference, host, addresses, self or not */
static void print_entry(const struct mx_entry *e, bool self)
{
	char addr[NETADDR_STRLEN];

	printf("mx: pref=%u host=%s", e->pref, e->host);
	if (e->status != HOST_OK)
		printf(" addresses=none (%s)", mx_host_status_name(e->status));
	for (size_t i = 0; i < e->naddrs; i++)
		printf("%s%s", i == 0 ? " addresses=" : ",",
		       netaddr_format(&e->addrs[i], addr, sizeof(addr)));
	printf("%s self=%s\n", e->cname ? " cname=yes" : "", self ? "yes" : "no");
}

/* verdict - print the last line; the exit status that goes with it */
static int verdict(const char *word)
{
	printf("verdict: %s\n", word);
	return strcmp(word, "error") == 0 ? 1 : 0;
}

/* check_domain - the -t command */
int check_domain(const struct config *cfg, const char *domain, const char *local_addr,
		 const char *client_addr)
{
	char name[DOMAIN_MAXLEN + 1], err[256];
	struct self_facts self = { .local_addresses = &cfg->local_addresses,
				   .local_names = &cfg->local_names };
	struct cidr_list interfaces = { 0 };
	struct resolver *r;
	struct mxset *m;
	struct mx_rank rank;
	enum domain_kind kind = domain_classify(domain, strlen(domain), name, sizeof(name));
	int status;

	(void)client_addr;
	if (kind != DOMAIN_NAME) {
		printf("domain: %s\nlookup: not-a-domain (%s), not looked up\n", domain,
		       kind == DOMAIN_LITERAL ? "address literal" : "malformed");
		return verdict("not-mx");
	}
	printf("domain: %s\n", name);
	if (local_addr != NULL) {
		netaddr_parse(local_addr, &self.local);
		printf("local: %s\n", local_addr);
	} else {
		if (!netaddr_interfaces(&interfaces))
			log_warning("check: cannot read the interface addresses");
		self.interfaces = &interfaces;
		printf("local: (every interface address)\n");
	}
	if ((r = resolver_new(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "mxbypass-milter: -t: %s\n", err);
		cidr_list_free(&interfaces);
		return 2;
	}
	m = mxset_lookup(r, name, clock_ms() + cfg->decision_timeout_ms);
	resolver_free(r);
	if (m == NULL) {
		fprintf(stderr, "mxbypass-milter: -t: out of memory\n");
		cidr_list_free(&interfaces);
		return 2;
	}
	printf("lookup: %s%s ttl=%u\n", mx_status_name(m->status),
	       m->implicit ? " (implicit MX: no MX records, the domain's own address)" : "",
	       m->ttl);
	mxset_rank(m, &self, &rank);
	for (size_t i = 0; i < m->n; i++)
		print_entry(&m->v[i], rank.self[i]);
	if (m->truncated)
		printf("note: more than %d MX records; the best %d were kept\n",
		       MX_MAX_ENTRIES, MX_MAX_ENTRIES);

	if (mx_status_is_error(m->status)) {
		status = verdict("error");
	} else if (m->status != MX_FOUND || !rank.has_self) {
		printf("rank: none (this host is not an MX of %s)\n", name);
		status = verdict("not-mx");
	} else if (rank.rank <= rank.lowest) {
		printf("rank: %u (primary)\n", rank.rank);
		status = verdict("primary");
	} else {
		printf("rank: %u (backup)\n", rank.rank);
		for (size_t i = 0; i < m->n && m->v[i].pref < rank.rank; i++)
			printf("better: pref=%u host=%s\n", m->v[i].pref, m->v[i].host);
		status = 0;
	}
	mxset_release(m);
	cidr_list_free(&interfaces);
	return status;
}
