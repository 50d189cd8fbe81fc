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

static const char *const names[VERDICT_COUNT] = {
	[VERDICT_EXEMPT] = "exempt", [VERDICT_ERROR] = "error",
	[VERDICT_NOT_MX] = "not-mx", [VERDICT_PRIMARY] = "primary",
	[VERDICT_BACKUP] = "backup", [VERDICT_BYPASS] = "bypass",
};

/* verdict_name - the contract word */
const char *verdict_name(enum verdict v)
{
	return names[v];
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

static void set(struct verdict_result *out, enum verdict v, const char *reason)
{
	out->verdict = v;
	out->reason = reason;
}

/* verdict_decide - the policy */
void verdict_decide(const struct verdict_facts *f, struct verdict_result *out)
{
	const struct mxset *mx = f->mx;
	const struct mx_rank *rank = f->rank;
	bool unknown = false, went_down = false;

	out->via = out->reachable = -1;
	if (!f->domain_listed)
		return set(out, VERDICT_EXEMPT, "domain-not-listed");
	if (f->client_trusted)
		return set(out, VERDICT_EXEMPT, "trusted-network");
	if (f->client_authenticated)
		return set(out, VERDICT_EXEMPT, "authenticated");
	if (mx == NULL)
		return set(out, VERDICT_ERROR, "no-lookup");
	if (mx_status_is_error(mx->status))
		return set(out, VERDICT_ERROR, mx_status_name(mx->status));
	if (mx->status != MX_FOUND)
		return set(out, VERDICT_NOT_MX, mx_status_name(mx->status));
	if (verdict_client_is_mx(mx, &f->client))
		return set(out, VERDICT_EXEMPT, "client-is-mx");
	if (rank == NULL || !rank->has_self)
		return set(out, VERDICT_NOT_MX, "not-listed");
	for (size_t i = 0; i < mx->n && out->via < 0; i++)
		if (rank->self[i] && mx->v[i].pref == rank->rank)
			out->via = (int)i;
	if (rank->rank <= rank->lowest)
		return set(out, VERDICT_PRIMARY, "lowest-preference");
	for (size_t i = 0; i < mx->n && mx->v[i].pref < rank->rank; i++) {
		enum probe_state p = f->probes != NULL ? f->probes[i] : PROBE_UNKNOWN;
		if (p == PROBE_UP) {
			out->reachable = (int)i;
			if (f->tried_better)
				return set(out, VERDICT_BACKUP, "tried-better-mx");
			if (f->better_recently_down)
				return set(out, VERDICT_BACKUP, "better-mx-recently-down");
			return set(out, VERDICT_BYPASS, "better-mx-reachable");
		}
		unknown |= p == PROBE_UNKNOWN;
		went_down |= p == PROBE_WENT_DOWN;
	}
	if (unknown)
		return set(out, VERDICT_ERROR, "probe-unfinished");
	if (went_down)
		return set(out, VERDICT_BACKUP, "better-mx-went-down");
	return set(out, VERDICT_BACKUP, "better-mx-unreachable");
}
