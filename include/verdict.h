/*
 * verdict.h - facts in, verdict out: pure, no I/O, no clock.
 */
#ifndef MXB_VERDICT_H
#define MXB_VERDICT_H

#include <stdbool.h>

#include "mxset.h"
#include "netaddr.h"

/* The verdict words are a contract (logs, statistics, check mode). */
enum verdict {
	VERDICT_EXEMPT,
	VERDICT_ERROR,
	VERDICT_NOT_MX,
	VERDICT_PRIMARY,
	VERDICT_BACKUP,
	VERDICT_BYPASS,
};
#define VERDICT_COUNT 6

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
	const char *reason;		/* a word that says why */
	int via;			/* the self entry at the rank, else -1 */
	int reachable;			/* the reachable better entry, else -1 */
};

const char *verdict_name(enum verdict v);
void verdict_decide(const struct verdict_facts *f, struct verdict_result *out);
bool verdict_client_is_mx(const struct mxset *mx, const struct netaddr *client);

#endif
