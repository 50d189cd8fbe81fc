/*
 * NAME
 *	verdict - facts in, verdict out
 * SYNOPSIS
 *	#include "verdict.h"
 * DESCRIPTION
 *	verdict_decide() is the whole policy of the milter in one pure
 *	function: no I/O, no clock, no libmilter, no c-ares. The callers
 *	gather the facts (and skip the DNS lookup and probes a verdict does
 *	not need); the rules live here, in the order of docs/design.md "Verdicts":
 *
 *	exempt	  the domain is outside Domains, the client is trusted or
 *		  authenticated, or it is one of the domain's MX hosts (a
 *		  primary relaying to us)
 *	error	  the MX lookup failed, or a better MX could not be probed in
 *		  time and none was found reachable (fail open)
 *	not-mx	  no MX set, null MX, or this host is not in it
 *	primary	  this host's rank is the lowest preference (ties count)
 *	backup	  a better MX is reachable, but the evidence says the sender
 *		  had a reason to come here: its network connected to a
 *		  better MX lately (greylisted, deferred after DATA), or the
 *		  better MX that answers now was down lately (an MTA that
 *		  remembers failures skips it for a while)
 *	bypass	  a better MX is reachable and nothing excuses the sender:
 *		  it skipped a primary it never tried
 *	backup	  no better MX is reachable: a legitimate backup delivery
 *		  (better-mx-went-down when one was up at the last probe but
 *		  the confirmation before accusing found it down)
 */

#include "autoconfig.h"

#include "verdict.h"

/* The verdict words. */
static const char *const verdict_words[VERDICT_COUNT] = {
	[VERDICT_EXEMPT] = "exempt", [VERDICT_NOT_MX] = "not-mx",
	[VERDICT_PRIMARY] = "primary", [VERDICT_BACKUP] = "backup",
	[VERDICT_BYPASS] = "bypass", [VERDICT_ERROR] = "error",
};

/* The reason words; the evidence has a counter word too (the statistics
 * line; the Prometheus file labels it with the reason word). */
static const struct {
	const char *name;
	const char *counter;
} reasons[REASON_COUNT] = {
	[REASON_TRIED_BETTER] = { "tried-better-mx", "tried-better-mx" },
	[REASON_RECENTLY_DOWN] = { "better-mx-recently-down", "recently-down" },
	[REASON_WENT_DOWN] = { "better-mx-went-down", "went-down" },
	[REASON_DOMAIN_NOT_LISTED] = { "domain-not-listed", NULL },
	[REASON_TRUSTED] = { "trusted-network", NULL },
	[REASON_AUTHENTICATED] = { "authenticated", NULL },
	[REASON_NO_LOOKUP] = { "no-lookup", NULL },
	[REASON_LOOKUP] = { NULL, NULL },	/* mx_status_name() */
	[REASON_CLIENT_IS_MX] = { "client-is-mx", NULL },
	[REASON_NOT_LISTED] = { "not-listed", NULL },
	[REASON_LOWEST_PREFERENCE] = { "lowest-preference", NULL },
	[REASON_REACHABLE] = { "better-mx-reachable", NULL },
	[REASON_PROBE_UNFINISHED] = { "probe-unfinished", NULL },
	[REASON_UNREACHABLE] = { "better-mx-unreachable", NULL },
};

/* verdict_name - the contract word */
const char *verdict_name(enum verdict v)
{
	return verdict_words[v];
}

/* verdict_reason_name - the word that says why */
const char *verdict_reason_name(const struct verdict_result *r)
{
	return r->reason == REASON_LOOKUP ? mx_status_name(r->lookup) : reasons[r->reason].name;
}

/* verdict_reason_word - the word of a reason (NULL for REASON_LOOKUP: the
 * lookup's status says it) */
const char *verdict_reason_word(enum reason r)
{
	return reasons[r].name;
}

/* verdict_evidence_counter - the statistics word of an evidence reason
 * (r < REASON_EVIDENCE_COUNT) */
const char *verdict_evidence_counter(enum reason r)
{
	return reasons[r].counter;
}

/* verdict_client_is_mx - the client's address is one of the MX hosts' */
bool verdict_client_is_mx(const struct mxset *mx, const struct netaddr *client)
{
	if (mx == NULL || mx->status != MX_FOUND || client->family == 0)
		return false;
	for (size_t i = 0; i < mx->n; i++)
		for (size_t j = 0; j < mx->v[i].naddrs; j++)
			if (netaddr_equal(&mx->v[i].addrs[j], client))
				return true;
	return false;
}

static void set(struct verdict_result *out, enum verdict v, enum reason reason)
{
	out->verdict = v;
	out->reason = reason;
}

/* set_lookup - a verdict that the MX lookup's status explains */
static void set_lookup(struct verdict_result *out, enum verdict v, enum mx_status status)
{
	set(out, v, REASON_LOOKUP);
	out->lookup = status;
}

/* verdict_decide - the policy */
void verdict_decide(const struct verdict_facts *f, struct verdict_result *out)
{
	const struct mxset *mx = f->mx;
	const struct mx_rank *rank = f->rank;
	bool unknown = false, went_down = false;

	out->via = out->reachable = -1;
	if (!f->domain_listed)
		return set(out, VERDICT_EXEMPT, REASON_DOMAIN_NOT_LISTED);
	if (f->client_trusted)
		return set(out, VERDICT_EXEMPT, REASON_TRUSTED);
	if (f->client_authenticated)
		return set(out, VERDICT_EXEMPT, REASON_AUTHENTICATED);
	if (mx == NULL)
		return set(out, VERDICT_ERROR, REASON_NO_LOOKUP);
	if (mx_status_is_error(mx->status))
		return set_lookup(out, VERDICT_ERROR, mx->status);
	if (mx->status != MX_FOUND)
		return set_lookup(out, VERDICT_NOT_MX, mx->status);
	if (verdict_client_is_mx(mx, &f->client))
		return set(out, VERDICT_EXEMPT, REASON_CLIENT_IS_MX);
	if (rank == NULL || !rank->has_self)
		return set(out, VERDICT_NOT_MX, REASON_NOT_LISTED);
	for (size_t i = 0; i < mx->n && out->via < 0; i++)
		if (rank->self[i] && mx->v[i].pref == rank->rank)
			out->via = (int)i;
	if (rank->rank <= rank->lowest)
		return set(out, VERDICT_PRIMARY, REASON_LOWEST_PREFERENCE);
	for (size_t i = 0, better = mx_better(mx, rank); i < better; i++) {
		enum probe_state p = f->probes != NULL ? f->probes[i] : PROBE_UNKNOWN;
		if (p == PROBE_UP) {
			out->reachable = (int)i;
			if (f->tried_better)
				return set(out, VERDICT_BACKUP, REASON_TRIED_BETTER);
			if (f->better_recently_down)
				return set(out, VERDICT_BACKUP, REASON_RECENTLY_DOWN);
			return set(out, VERDICT_BYPASS, REASON_REACHABLE);
		}
		unknown |= p == PROBE_UNKNOWN;
		went_down |= p == PROBE_WENT_DOWN;
	}
	if (unknown)
		return set(out, VERDICT_ERROR, REASON_PROBE_UNFINISHED);
	if (went_down)
		return set(out, VERDICT_BACKUP, REASON_WENT_DOWN);
	return set(out, VERDICT_BACKUP, REASON_UNREACHABLE);
}
