/*
 * NAME
 *	mxset - a domain's MX set as a value; which entries are this host
 * SYNOPSIS
 *	#include "mxset.h"
 * DESCRIPTION
 *	An MX set is what the lookup of a domain came to (resolver.c makes
 *	it): a status, and the entries sorted by preference with their
 *	addresses. Once built it is immutable and shared by reference
 *	counting.
 *
 *	Everything here is pure, with no DNS in it: the status words,
 *	mxset_rank() (which entries are this host, and the rank), and
 *	mx_better() (the entries better than a backup's rank), which every
 *	module that walks the better MX hosts asks.
 */

#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxset.h"

static const char *const status_names[] = {
	[MX_FOUND] = "found", [MX_NULL] = "null-mx", [MX_NXDOMAIN] = "nxdomain",
	[MX_NONE] = "no-mx", [MX_NOT_DOMAIN] = "not-a-domain", [MX_SERVFAIL] = "servfail",
	[MX_TIMEOUT] = "timeout", [MX_BADANSWER] = "bad-answer", [MX_ERROR] = "error",
};

static const char *const host_status_names[] = {
	[HOST_OK] = "ok", [HOST_NXDOMAIN] = "nxdomain", [HOST_NODATA] = "no-address",
	[HOST_BADNAME] = "bad-name", [HOST_ERROR] = "error",
};

/* mx_status_name - the word for an outcome, for logs and check mode */
const char *mx_status_name(enum mx_status s)
{
	return status_names[s];
}

/* mx_host_status_name - the word for a host's address lookup */
const char *mx_host_status_name(enum mx_host_status s)
{
	return host_status_names[s];
}

/* mx_status_is_error - an outcome that says nothing about the domain */
bool mx_status_is_error(enum mx_status s)
{
	return s == MX_SERVFAIL || s == MX_TIMEOUT || s == MX_BADANSWER || s == MX_ERROR;
}

/* mxset_hold - one more reference */
struct mxset *mxset_hold(struct mxset *m)
{
	atomic_fetch_add(&m->refs, 1);
	return m;
}

/* mxset_release - one reference less; the last frees */
void mxset_release(struct mxset *m)
{
	if (m == NULL || atomic_fetch_sub(&m->refs, 1) != 1)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].host);
	free(m);
}

/* mxset_new - an empty set with room for n entries; NULL without memory */
struct mxset *mxset_new(const char *domain, size_t n)
{
	struct mxset *m = calloc(1, sizeof(*m) + n * sizeof(m->v[0]));

	if (m == NULL)
		return NULL;
	atomic_init(&m->refs, 1);
	snprintf(m->domain, sizeof(m->domain), "%s", domain);
	return m;
}

/* mxset_new_status - a set that is only an outcome; NULL without memory */
struct mxset *mxset_new_status(const char *domain, enum mx_status status)
{
	struct mxset *m = mxset_new(domain, 0);

	if (m != NULL)
		m->status = status;
	return m;
}

/* entry_is_self - one of its addresses is where the client connected, or
 * in LocalAddresses, or its name is in LocalNames */
static bool entry_is_self(const struct mx_entry *e, const struct self_facts *f)
{
	if (f->local_names != NULL && domain_map_find(f->local_names, e->host) != NULL)
		return true;
	for (size_t i = 0; i < e->naddrs; i++) {
		const struct netaddr *a = &e->addrs[i];
		if (f->local.family != 0 ? netaddr_equal(a, &f->local)
		    : f->interfaces != NULL && cidr_list_match(f->interfaces, a))
			return true;
		if (f->local_addresses != NULL && cidr_list_match(f->local_addresses, a))
			return true;
	}
	return false;
}

/* mxset_rank - which entries are this host; rank = lowest self preference */
void mxset_rank(const struct mxset *m, const struct self_facts *f, struct mx_rank *out)
{
	memset(out, 0, sizeof(*out));
	if (m->status != MX_FOUND || m->n == 0)
		return;
	out->lowest = m->v[0].pref;
	for (size_t i = 0; i < m->n; i++) {
		if (m->v[i].pref < out->lowest)
			out->lowest = m->v[i].pref;
		if (!entry_is_self(&m->v[i], f))
			continue;
		out->self[i] = true;
		if (!out->has_self || m->v[i].pref < out->rank)
			out->rank = m->v[i].pref;
		out->has_self = true;
	}
}

/* mx_better - how many entries are better than this host's rank: they
 * come first, and only a backup has any (0 on a primary, when this host
 * is not in the set, or for a set that is only an outcome) */
size_t mx_better(const struct mxset *m, const struct mx_rank *rank)
{
	size_t n = 0;

	if (m == NULL || m->status != MX_FOUND || !rank->has_self || rank->rank <= rank->lowest)
		return 0;
	while (n < m->n && m->v[n].pref < rank->rank)
		n++;
	return n;
}
