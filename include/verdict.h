/*
 * verdict.h - facts in, verdict out: pure, no I/O, no clock.
 */
#ifndef MXB_VERDICT_H
#define MXB_VERDICT_H

#include <stdbool.h>

#include "mxset.h"
#include "netaddr.h"

/* The verdicts, in the order of the statistics line; their words are a
 * contract (logs, statistics, the Prometheus file, check mode) and live in
 * one table, verdict.c's. */
enum verdict {
	VERDICT_EXEMPT,
	VERDICT_NOT_MX,
	VERDICT_PRIMARY,
	VERDICT_BACKUP,
	VERDICT_BYPASS,
	VERDICT_ERROR,
	VERDICT_COUNT
};

/* Why: one word each, in the same table. The evidence that spared a
 * bypass candidate comes first: each of those is counted (statistics and
 * the Prometheus file), the others are only logged. */
enum reason {
	REASON_TRIED_BETTER,		/* its network connected to a better MX lately */
	REASON_RECENTLY_DOWN,		/* the better MX that answers now was down lately */
	REASON_WENT_DOWN,		/* up at the last probe, down at the confirmation */
	REASON_EVIDENCE_COUNT,
	REASON_DOMAIN_NOT_LISTED = REASON_EVIDENCE_COUNT,
	REASON_TRUSTED,
	REASON_AUTHENTICATED,
	REASON_NO_LOOKUP,
	REASON_LOOKUP,			/* the MX lookup's own status word */
	REASON_CLIENT_IS_MX,
	REASON_NOT_LISTED,
	REASON_LOWEST_PREFERENCE,
	REASON_REACHABLE,
	REASON_PROBE_UNFINISHED,
	REASON_UNREACHABLE,
	REASON_COUNT
};

/* What the probes of one better MX entry found. */
enum probe_state {
	PROBE_NONE,		/* nothing to probe: the host has no address */
	PROBE_DOWN,		/* every address refused, stayed silent or greeted 4xx/5xx */
	PROBE_UP,		/* an address greeted 220 (or accepted, without ProbeBanner) */
	PROBE_UNKNOWN,		/* the recipient's deadline cut the probe short, or
				 * the address lookup failed (a probe's own
				 * ProbeTimeout is PROBE_DOWN) */
	PROBE_WENT_DOWN,	/* down, found so when an "up" older than
				 * ProbeConfirm was probed again */
};

struct verdict_facts {
	bool domain_listed;		/* in Domains (or Domains unset) */
	bool client_trusted;		/* in TrustedNetworks */
	bool client_authenticated;	/* SASL-authenticated and SkipAuthenticated */
	struct netaddr client;		/* family 0: unknown */
	const struct mxset *mx;		/* NULL: not looked up */
	const struct mx_rank *rank;
	const enum probe_state *probes;	/* one per entry of mx; better ones are read */
	/* evidence that a sender had a reason to come here (asked only for a
	 * bypass candidate) */
	bool tried_better;		/* its network connected to a better MX lately */
	bool better_recently_down;	/* the better MX that answers now was down lately */
};

struct verdict_result {
	enum verdict verdict;
	enum reason reason;
	enum mx_status lookup;		/* for REASON_LOOKUP */
	int via;			/* the self entry at the rank, else -1 */
	int reachable;			/* the reachable better entry, else -1 */
};

const char *verdict_name(enum verdict v);
const char *verdict_reason_name(const struct verdict_result *r);
const char *verdict_reason_word(enum reason r);
const char *verdict_evidence_counter(enum reason r);
void verdict_decide(const struct verdict_facts *f, struct verdict_result *out);
bool verdict_client_is_mx(const struct mxset *mx, const struct netaddr *client);

#endif
