/*
 * evidence.h - what says a sender had a reason to come to a backup MX.
 */
#ifndef MXB_EVIDENCE_H
#define MXB_EVIDENCE_H

#include <stdbool.h>
#include <stdint.h>

#include "netaddr.h"
#include "verdict.h"

struct config;
struct mxset;
struct mx_rank;
struct store;

/* What the store said for one bypass candidate. */
struct evidence {
	bool asked;			/* gathered (a bypass candidate, some evidence on) */
	char network[NETADDR_STRLEN + 8];	/* the client's, as witnesses name it */
	uint64_t witness_ms;		/* its network reached a better MX then; 0: not */
	char witness_addr[NETADDR_STRLEN];
	uint64_t down_ms;		/* a better MX answering now was down then; 0: not */
	char down_addr[NETADDR_STRLEN + 8];
};

void evidence_record(struct store *s, const struct config *cfg, const struct netaddr *client,
		     const struct netaddr *local);
void evidence_gather(struct store *s, const struct config *cfg, const struct mxset *m,
		     const struct mx_rank *rank, const enum probe_state *probes,
		     const struct netaddr *client, struct evidence *out);

#endif
