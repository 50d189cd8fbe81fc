/*
 * NAME
 *	decide - one recipient domain: gather the facts, reach the verdict
 * SYNOPSIS
 *	#include "decide.h"
 * DESCRIPTION
 *	decide() does the I/O that verdict_decide() needs, in the order that
 *	spends the least: exemptions that need no DNS first (Domains, trusted
 *	networks, authentication), then the MX set (cache, else DNS), the
 *	rank, only for a backup the probes of the better MX hosts, and only
 *	for a bypass candidate the evidence that it tried them (evidence.c). The
 *	mail path (callbacks.c) and check mode (check.c) both come here, so
 *	they cannot disagree.
 *
 *	The services are shared by every connection: the MX set cache and,
 *	beside it, the pool of resolvers (c-ares channels) that a cache miss
 *	takes one from and gives it back to (resolver.c), the prober and the
 *	store. A cache hit never touches the pool. services_configure()
 *	applies a reload: the sizes, and the pool drops the channels made from
 *	other DNS keys.
 *	The daemon's services refresh MX sets and probe results in use ahead
 *	of their expiry (refresh.c); check mode's and the benchmark's do not.
 */

#include "autoconfig.h"

#include <string.h>

#include "cache.h"
#include "config.h"
#include "decide.h"
#include "evidence.h"
#include "log.h"
#include "probe.h"
#include "refresh.h"
#include "retry.h"
#include "resolver.h"
#include "stats.h"
#include "store.h"

/* refresh_start - the daemon's refresh ahead: a worker, and the hooks of
 * the MX cache and the probe results; without it answers only expire */
static void refresh_start(struct services *s)
{
	if ((s->refresher = refresher_for(s->mxsets, s->prober)) == NULL) {
		log_warning("refresh: no background refresh: cached answers will only expire");
		return;
	}
	cache_set_refresh(s->mxsets, refresh_dns_due, s->refresher);
	store_probe_refresh(s->store, refresh_probe_due, s->refresher);
}

/* refresh_stop - unhook the caches, stop and join the worker */
static void refresh_stop(struct services *s)
{
	if (s->refresher == NULL)
		return;
	cache_set_refresh(s->mxsets, NULL, NULL);
	store_probe_refresh(s->store, NULL, NULL);
	refresher_free(s->refresher);
	s->refresher = NULL;
}

/* services_init - the caches, the resolvers, the store and the prober;
 * in the daemon refresh ahead too */
bool services_init(struct services *s, const struct config *cfg, enum services_mode mode,
		   const char *password)
{
	memset(s, 0, sizeof(*s));
	s->mxsets = mxset_cache_new(cfg->cache_size);
	s->resolvers = resolver_pool_new(cfg, RESOLVER_POOL_IDLE);
	s->store = mode != SERVICES_MEMORY ? store_new(cfg, password, mode == SERVICES_DAEMON)
		: store_new_memory(STORE_RETRY_CAPACITY, cfg->cache_size, NULL);
	if (s->store != NULL)
		s->prober = prober_new(s->store, cfg->probe_concurrency);
	if (s->mxsets == NULL || s->resolvers == NULL || s->prober == NULL || s->store == NULL) {
		services_free(s);
		return false;
	}
	if (mode == SERVICES_DAEMON)
		refresh_start(s);
	return true;
}

/* services_configure - apply the sizes and the DNS keys of a reloaded
 * configuration */
void services_configure(struct services *s, const struct config *cfg)
{
	cache_set_capacity(s->mxsets, cfg->cache_size);
	resolver_pool_configure(s->resolvers, cfg);
	prober_set_concurrency(s->prober, cfg->probe_concurrency);
	store_configure(s->store, cfg);
}

/* services_free - stop refreshing, then release the caches and the
 * resolvers */
void services_free(struct services *s)
{
	refresh_stop(s);
	cache_free(s->mxsets);
	resolver_pool_free(s->resolvers);
	prober_free(s->prober);
	store_free(s->store);
	memset(s, 0, sizeof(*s));
}

/* services_caches - what the caches say of themselves, for the statistics */
void services_caches(struct services *s, struct stats_caches *out)
{
	struct cache_stats dns;
	struct store_status st;

	cache_stats(s->mxsets, &dns);
	store_status(s->store, &st);
	*out = (struct stats_caches){
		.dns_joins = dns.joins, .dns_evictions = dns.evictions, .dns_entries = dns.entries,
		.probe_joins = st.probe_joins, .probe_evictions = st.probe_evictions,
		.probe_entries = st.probe_entries,
		.store = !st.shared ? STORE_NONE : st.up ? STORE_UP : STORE_DOWN,
	};
}

/* decision_better - the better MX entries that decide() probed: a
 * backup's, unless the client was exempt */
size_t decision_better(const struct decision *d)
{
	return d->result.verdict == VERDICT_EXEMPT ? 0 : mx_better(d->mx, &d->rank);
}

/* decision_went_down - a better MX was up at its last probe and down at
 * the confirmation before accusing */
bool decision_went_down(const struct decision *d)
{
	for (size_t i = 0, better = decision_better(d); i < better; i++)
		if (d->probes[i] == PROBE_WENT_DOWN)
			return true;
	return false;
}

/* decide - the verdict for one recipient domain */
void decide(const struct config *cfg, struct services *s, const struct decision_input *in,
	    struct decision *out)
{
	struct verdict_facts f = {
		.client = in->client,
		.client_trusted = cidr_list_match(&cfg->trusted_networks, &in->client),
		.client_authenticated = in->authenticated && cfg->skip_authenticated,
		.domain_listed = in->kind != DOMAIN_NAME || cfg->domains_spec == NULL
			|| domain_map_find(&cfg->domains, in->domain) != NULL,
		.rank = &out->rank,
		.probes = out->probes,
	};
	struct self_facts self = {
		.local = in->local,
		.local_addresses = &cfg->local_addresses,
		.local_names = &cfg->local_names,
		.interfaces = in->interfaces,
	};

	memset(out, 0, sizeof(*out));
	/* exemptions that need no lookup at all */
	if (!f.domain_listed || f.client_trusted || f.client_authenticated) {
		verdict_decide(&f, &out->result);
		return;
	}
	if (in->kind != DOMAIN_NAME) {
		out->mx = mxset_new_status(in->domain, MX_NOT_DOMAIN);
	} else {
		out->mx = mxset_get(s->resolvers, s->mxsets, cfg, in->domain, in->deadline_ms,
				    &out->cached);
		stats_add(out->cached ? STAT_DNS_HITS : STAT_DNS_MISSES);
	}
	f.mx = out->mx;
	if (out->mx != NULL) {
		mxset_rank(out->mx, &self, &out->rank);
		/* probe only for a backup, and never for an MX relaying to us */
		if (mx_better(out->mx, &out->rank) > 0 && !verdict_client_is_mx(out->mx, &in->client))
			probe_better(s->prober, cfg, out->mx, &out->rank, in->deadline_ms, out->probes);
	}
	verdict_decide(&f, &out->result);
	if (out->result.verdict == VERDICT_BYPASS) {
		/* before accusing: did the sender have a reason to come here */
		evidence_gather(s->store, cfg, out->mx, &out->rank, out->probes, &in->client,
				&out->evidence);
		f.tried_better = out->evidence.witness_ms != 0;
		f.better_recently_down = out->evidence.down_ms != 0;
		if (f.tried_better || f.better_recently_down)
			verdict_decide(&f, &out->result);
	}
	if (out->result.reason < REASON_EVIDENCE_COUNT)
		stats_add(STAT_EVIDENCE + out->result.reason);	/* the evidence spared the sender */
}

/* decide_action - what is done with the verdict (action.c), the retry
 * memory asked only when the choice depends on it; a dry run (check
 * mode) writes nothing to the memory and counts nothing */
void decide_action(const struct config *cfg, struct services *s, const struct decision_input *in,
		   bool dry_run, struct decision *d)
{
	struct action_facts *f = &d->action_facts;

	*f = (struct action_facts){
		.verdict = d->result.verdict,
		.configured = cfg->action,
		.retry_after = cfg->retry_after,
	};
	if (f->verdict == VERDICT_BYPASS) {
		const struct domain_entry *e = domain_map_find(&cfg->action_map, in->domain);
		if (e != NULL)
			f->configured = (enum action)e->value;
		if (in->log_only)
			f->configured = ACTION_LOG;
	}
	if (action_asks_retry(f)) {
		if (!dry_run)
			f->retry = retry_check(s->store, &in->client, cfg->retry_prefix4,
					       cfg->retry_prefix6, in->domain, cfg->retry_after,
					       cfg->retry_expire);
		else if (in->client.family != 0)	/* check mode: only look */
			f->retry = retry_peek(s->store, &in->client, cfg->retry_prefix4,
					      cfg->retry_prefix6, in->domain, cfg->retry_after,
					      &d->retry_first_ms);
	}
	action_decide(f, &d->action);
	if (dry_run || d->action.action == ACTION_ACCEPT)
		return;
	stats_bypass(d->evidence.network, in->domain);
	stats_add(STAT_ACTION + d->action.action);
}

/* decision_clear - release what a decision holds */
void decision_clear(struct decision *d)
{
	mxset_release(d->mx);
	d->mx = NULL;
}
