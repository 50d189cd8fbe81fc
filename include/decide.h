/*
 * decide.h - one recipient domain: gather the facts, reach the verdict.
 */
#ifndef MXB_DECIDE_H
#define MXB_DECIDE_H

#include <stdbool.h>
#include <stdint.h>

#include "action.h"
#include "domainmap.h"
#include "evidence.h"
#include "mxset.h"
#include "verdict.h"

struct cache;
struct config;
struct prober;
struct refresher;
struct resolver_pool;
struct store;
struct stats_caches;

/* What every connection shares: made once, kept across reloads. */
struct services {
	struct cache *mxsets;
	struct resolver_pool *resolvers;	/* for a cache miss (resolver.c) */
	struct prober *prober;
	struct store *store;		/* retry memory and probe results */
	struct refresher *refresher;	/* refresh ahead (the daemon's only) */
};

struct decision_input {
	const char *domain;		/* normalised, when kind is DOMAIN_NAME */
	enum domain_kind kind;
	struct netaddr client;
	struct netaddr local;		/* family 0: unknown */
	const struct cidr_list *interfaces;	/* when local is unknown */
	bool authenticated;
	bool log_only;			/* the MTA withheld {auth_authen}: a bypass
					 * is only logged, whatever the action */
	uint64_t deadline_ms;
};

struct decision {
	struct verdict_result result;
	struct mxset *mx;		/* held; NULL when not looked up */
	bool cached;			/* the MX set came from the cache */
	struct mx_rank rank;
	enum probe_state probes[MX_MAX_ENTRIES];
	struct evidence evidence;	/* asked for a bypass candidate only */
	struct action_facts action_facts;	/* decide_action(): what it chose from */
	struct action_result action;	/* ... and what it chose */
	uint64_t retry_first_ms;	/* ... the first tempfail (check mode) */
};

/* Which store the services use. */
enum services_mode {
	SERVICES_MEMORY,		/* memory only, whatever the configuration says */
	SERVICES_CHECK,			/* the configured store; counters stay here (-t) */
	SERVICES_DAEMON,		/* the configured store, counters shared */
};

bool services_init(struct services *s, const struct config *cfg, enum services_mode mode,
		   const char *password);
void services_configure(struct services *s, const struct config *cfg);
void services_free(struct services *s);
void services_caches(struct services *s, struct stats_caches *out);

void decide(const struct config *cfg, struct services *s, const struct decision_input *in,
	    struct decision *out);
void decide_action(const struct config *cfg, struct services *s, const struct decision_input *in,
		   bool dry_run, struct decision *d);
void decision_clear(struct decision *d);
size_t decision_better(const struct decision *d);
bool decision_went_down(const struct decision *d);

#endif
