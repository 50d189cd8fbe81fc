/*
 * NAME
 *	resolver - a domain's MX set from c-ares, cached, over a pool of
 *	channels
 * SYNOPSIS
 *	#include "resolver.h"
 * DESCRIPTION
 *	mxset_lookup() asks for the MX records of a domain, then for the A and
 *	AAAA records of every target at once (one ares_getaddrinfo each, all in
 *	flight together), and returns the set sorted by preference. Every
 *	outcome is its own status: found, null MX, NXDOMAIN, no MX set,
 *	server failure, timeout, bad answer. No MX records but an address
 *	makes an implicit MX: the domain itself at preference 0.
 *
 *	A resolver wraps one c-ares channel, made from the DNS keys of a
 *	configuration (DnsServers, DnsTimeout, DnsTries) and tagged with
 *	them. c-ares 1.18 has no locking inside a channel, so a resolver
 *	belongs to one thread at a time. The resolvers live in a pool shared
 *	by every connection (struct services): a thread that misses the cache
 *	takes an idle resolver (or makes one when none is idle), runs its
 *	lookup and gives it back. So the pool never holds more resolvers than
 *	there were lookups at once, and it keeps at most RESOLVER_POOL_IDLE of
 *	them idle; the others are destroyed as they come back. A cache hit
 *	never touches the pool: a connection whose domains are all cached
 *	makes no channel.
 *
 *	resolver_pool_configure() applies a reload: idle resolvers made from
 *	other DNS keys are destroyed, and so are those given back later. A
 *	connection still on the old configuration gets a resolver of its own
 *	settings, made for its lookup and destroyed after it. Without
 *	DnsServers (the system's resolv.conf), every reload empties the pool,
 *	so that SIGHUP reads resolv.conf again.
 *
 *	Each phase (MX, then addresses) may take DnsTimeout x DnsTries, and
 *	never past the caller's deadline: c-ares doubles its timeout on each
 *	retry, so its own schedule would run longer than the administrator
 *	asked for.
 *
 *	mxset_get() puts the shared cache in front: answers live for their DNS
 *	TTL clamped to MinTTL..MaxTTL, failures for NegativeTTL, and threads
 *	asking for a domain being looked up wait for that answer. Only the
 *	thread that leads a lookup takes a resolver.
 *
 *	mxset_refresh() looks a domain in use up again before its answer
 *	expires (refresh.c's worker, with its own resolver) and writes the
 *	new answer over the old one; a failure never replaces an answer.
 */

#include "autoconfig.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/nameser.h>

#include <ares.h>

#include "cache.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "resolver.h"

/* What a channel is made from: the DNS keys of a configuration. */
struct dns_settings {
	char *servers;			/* DnsServers; NULL: the system's */
	unsigned timeout_ms;		/* DnsTimeout */
	unsigned tries;			/* DnsTries */
	bool known;			/* false: not copied (no memory), matches nothing */
};

struct resolver {
	ares_channel channel;
	struct dns_settings made_from;	/* its tag */
	struct resolver *next;		/* in the pool's idle list */
};

/* The resolvers not in use, all made from the configuration in force. */
struct resolver_pool {
	pthread_mutex_t lock;
	struct resolver *idle;		/* the last given back first */
	size_t nidle;
	size_t max_idle;
	struct dns_settings current;	/* of the configuration in force */
};

/* One lookup in flight: the set being built and the queries outstanding. */
struct lookup {
	struct resolver *r;
	const struct config *cfg;	/* the caller's: timeouts and TTLs */
	struct mxset *set;
	int pending;			/* queries without an answer yet */
	unsigned ttl;			/* lowest TTL seen */
	enum mx_status status;
	enum mx_status host_failure;	/* why an address lookup failed */
	uint64_t deadline;		/* of the current phase */
	uint64_t final_deadline;	/* the caller's */
};

struct host_query {
	struct lookup *lk;
	size_t index;
};

/* settings_copy - the DNS keys of a configuration, in s (a copy of
 * DnsServers); false when out of memory (then s matches nothing) */
static bool settings_copy(struct dns_settings *s, const struct config *cfg)
{
	*s = (struct dns_settings){ .timeout_ms = cfg->dns_timeout_ms, .tries = cfg->dns_tries };
	if (cfg->dns_servers != NULL && (s->servers = strdup(cfg->dns_servers)) == NULL)
		return false;
	return s->known = true;
}

/* settings_clear - free the copy */
static void settings_clear(struct dns_settings *s)
{
	free(s->servers);
	*s = (struct dns_settings){ 0 };
}

/* settings_equal - two sets of the same DNS keys */
static bool settings_equal(const struct dns_settings *a, const struct dns_settings *b)
{
	if (!a->known || !b->known || a->timeout_ms != b->timeout_ms || a->tries != b->tries)
		return false;
	if (a->servers == NULL || b->servers == NULL)
		return a->servers == b->servers;
	return strcmp(a->servers, b->servers) == 0;
}

/* settings_match - s holds the DNS keys of cfg */
static bool settings_match(const struct dns_settings *s, const struct config *cfg)
{
	const struct dns_settings of_cfg = { .servers = cfg->dns_servers,
		.timeout_ms = cfg->dns_timeout_ms, .tries = cfg->dns_tries, .known = true };

	return settings_equal(s, &of_cfg);
}

/* channel_open - the c-ares channel, set up from the configuration */
static bool channel_open(struct resolver *r, const struct config *cfg, char *err, size_t errlen)
{
	struct ares_options o = { 0 };
	int rc;

	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	o.timeout = (int)cfg->dns_timeout_ms;
	o.tries = (int)cfg->dns_tries;
	o.lookups = (char *)"b";	/* DNS only, never /etc/hosts */
	rc = ares_init_options(&r->channel, &o, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS
			       | ARES_OPT_TRIES | ARES_OPT_LOOKUPS);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares initialisation failed: %s", ares_strerror(rc));
		return false;
	}
	if (cfg->dns_servers != NULL
	    && (rc = ares_set_servers_ports_csv(r->channel, cfg->dns_servers)) != ARES_SUCCESS) {
		snprintf(err, errlen, "DnsServers %s: %s", cfg->dns_servers, ares_strerror(rc));
		ares_destroy(r->channel);
		return false;
	}
	return true;
}

/* resolver_new - a resolver for the DNS keys of the configuration, its
 * channel made now (the pool makes one only for a cache miss) */
struct resolver *resolver_new(const struct config *cfg, char *err, size_t errlen)
{
	struct resolver *r = calloc(1, sizeof(*r));

	if (r == NULL || !settings_copy(&r->made_from, cfg)) {
		snprintf(err, errlen, "out of memory");
		if (r != NULL)
			settings_clear(&r->made_from);
		free(r);
		return NULL;
	}
	if (!channel_open(r, cfg, err, errlen)) {
		settings_clear(&r->made_from);
		free(r);
		return NULL;
	}
	return r;
}

/* resolver_free - close the channel */
void resolver_free(struct resolver *r)
{
	if (r == NULL)
		return;
	ares_destroy(r->channel);
	settings_clear(&r->made_from);
	free(r);
}

/* free_list - free a list of resolvers taken out of the pool */
static void free_list(struct resolver *r)
{
	while (r != NULL) {
		struct resolver *next = r->next;
		resolver_free(r);
		r = next;
	}
}

/* resolver_pool_new - an empty pool for the configuration, keeping at
 * most max_idle resolvers idle; NULL when out of memory */
struct resolver_pool *resolver_pool_new(const struct config *cfg, size_t max_idle)
{
	struct resolver_pool *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	if (!settings_copy(&p->current, cfg) || pthread_mutex_init(&p->lock, NULL) != 0) {
		settings_clear(&p->current);
		free(p);
		return NULL;
	}
	p->max_idle = max_idle;
	return p;
}

/* resolver_pool_configure - a reload: the resolvers made from other DNS
 * keys go (without DnsServers, all of them: resolv.conf is read again) */
void resolver_pool_configure(struct resolver_pool *p, const struct config *cfg)
{
	struct dns_settings next;
	struct resolver *stale = NULL;

	if (!settings_copy(&next, cfg))
		log_error("resolver: out of memory: no resolver is kept idle");
	pthread_mutex_lock(&p->lock);
	if (cfg->dns_servers == NULL || !settings_equal(&p->current, &next)) {
		struct dns_settings old = p->current;

		stale = p->idle;
		p->idle = NULL;
		p->nidle = 0;
		p->current = next;
		next = old;
	}
	pthread_mutex_unlock(&p->lock);
	settings_clear(&next);
	free_list(stale);
}

/* resolver_pool_free - destroy the pool and its idle resolvers (every
 * resolver taken must have been given back) */
void resolver_pool_free(struct resolver_pool *p)
{
	if (p == NULL)
		return;
	free_list(p->idle);
	settings_clear(&p->current);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* resolver_take - an idle resolver for cfg, else a new one; NULL (with
 * err) when none could be made */
struct resolver *resolver_take(struct resolver_pool *p, const struct config *cfg,
			       char *err, size_t errlen)
{
	struct resolver *r = NULL;

	pthread_mutex_lock(&p->lock);
	if (p->idle != NULL && settings_match(&p->current, cfg)) {
		r = p->idle;
		p->idle = r->next;
		p->nidle--;
	}
	pthread_mutex_unlock(&p->lock);
	if (r != NULL) {
		r->next = NULL;
		return r;
	}
	return resolver_new(cfg, err, errlen);
}

/* resolver_give - back to the pool after a lookup: kept idle while the
 * pool has room and it was made from the configuration in force, else
 * destroyed */
void resolver_give(struct resolver_pool *p, struct resolver *r)
{
	bool keep;

	pthread_mutex_lock(&p->lock);
	keep = p->nidle < p->max_idle && settings_equal(&r->made_from, &p->current);
	if (keep) {
		r->next = p->idle;
		p->idle = r;
		p->nidle++;
	}
	pthread_mutex_unlock(&p->lock);
	if (!keep)
		resolver_free(r);
}

/* skip_name - length of a (possibly compressed) name at p, or -1 */
static int skip_name(const unsigned char *p, const unsigned char *end)
{
	const unsigned char *start = p;

	while (p < end) {
		unsigned len = *p;
		if ((len & 0xc0) == 0xc0)
			return p + 2 <= end ? (int)(p + 2 - start) : -1;
		if (len & 0xc0)
			return -1;
		if (len == 0)
			return (int)(p + 1 - start);
		p += len + 1;
	}
	return -1;
}

/* dns_answer_ttl - lowest TTL of the answer records of a type (or CNAMEs
 * on the way), 0 if there is none or the message is malformed */
unsigned dns_answer_ttl(const unsigned char *abuf, int alen, int type)
{
	const unsigned char *p = abuf, *end = abuf + (alen > 0 ? alen : 0);
	unsigned qd, an, best = UINT32_MAX;
	int n;

	if (alen < NS_HFIXEDSZ)
		return 0;
	qd = (unsigned)(abuf[4] << 8 | abuf[5]);
	an = (unsigned)(abuf[6] << 8 | abuf[7]);
	p += NS_HFIXEDSZ;
	for (; qd > 0; qd--) {
		if ((n = skip_name(p, end)) < 0 || p + n + 4 > end)
			return 0;
		p += n + 4;
	}
	for (; an > 0; an--) {
		unsigned rtype, ttl, rdlen;
		if ((n = skip_name(p, end)) < 0 || p + n + 10 > end)
			return 0;
		p += n;
		rtype = (unsigned)(p[0] << 8 | p[1]);
		ttl = (unsigned)p[4] << 24 | (unsigned)p[5] << 16 | (unsigned)p[6] << 8 | p[7];
		rdlen = (unsigned)(p[8] << 8 | p[9]);
		p += 10;
		if (p + rdlen > end)
			return 0;
		p += rdlen;
		/* RFC 2181 8: a TTL with the top bit set counts as zero */
		if (ttl > INT32_MAX)
			ttl = 0;
		if ((rtype == (unsigned)type || rtype == ns_t_cname) && ttl < best)
			best = ttl;
	}
	return best == UINT32_MAX ? 0 : best;
}

/* status_of - the outcome an ares status means for the domain */
static enum mx_status status_of(int status)
{
	switch (status) {
	case ARES_ENOTFOUND: return MX_NXDOMAIN;
	case ARES_ENODATA: return MX_NONE;
	case ARES_ECONNREFUSED: case ARES_ESERVFAIL: case ARES_EREFUSED: return MX_SERVFAIL;
	case ARES_ETIMEOUT: case ARES_ECANCELLED: case ARES_EDESTRUCTION: return MX_TIMEOUT;
	case ARES_EBADRESP: case ARES_EFORMERR: case ARES_EBADNAME: return MX_BADANSWER;
	default: return MX_ERROR;
	}
}

/* host_status_of - the same for one MX host's addresses */
static enum mx_host_status host_status_of(int status)
{
	switch (status) {
	case ARES_SUCCESS: return HOST_OK;
	case ARES_ENOTFOUND: return HOST_NXDOMAIN;
	case ARES_ENODATA: return HOST_NODATA;
	case ARES_EBADNAME: return HOST_BADNAME;
	default: return HOST_ERROR;
	}
}

/* lookup_ttl - note a TTL; the set lives as long as its shortest */
static void lookup_ttl(struct lookup *lk, unsigned ttl)
{
	if (ttl < lk->ttl)
		lk->ttl = ttl;
}

/* on_addrinfo - the addresses of one MX host (or of the implicit MX) */
static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct host_query *hq = arg;
	struct lookup *lk = hq->lk;
	struct mx_entry *e = &lk->set->v[hq->index];

	(void)timeouts;
	e->status = host_status_of(status);
	if (e->status == HOST_ERROR)
		lk->host_failure = status_of(status);
	if (status == ARES_SUCCESS && res != NULL) {
		e->cname = res->cnames != NULL;
		for (struct ares_addrinfo_node *ai = res->nodes; ai != NULL; ai = ai->ai_next) {
			struct netaddr a;
			bool dup = false;
			if (!netaddr_from_sockaddr(ai->ai_addr, &a))
				continue;
			lookup_ttl(lk, ai->ai_ttl > 0 ? (unsigned)ai->ai_ttl : 0);
			for (size_t i = 0; i < e->naddrs && !dup; i++)
				dup = netaddr_equal(&e->addrs[i], &a);
			if (!dup && e->naddrs < MX_MAX_ADDRS)
				e->addrs[e->naddrs++] = a;
		}
		if (e->naddrs == 0)
			e->status = HOST_NODATA;
	}
	if (res != NULL)
		ares_freeaddrinfo(res);
	free(hq);
	lk->pending--;
}

/* new_phase - DnsTimeout x DnsTries from now, within the caller's deadline */
static void new_phase(struct lookup *lk)
{
	const struct config *cfg = lk->cfg;
	uint64_t d = clock_ms() + (uint64_t)cfg->dns_timeout_ms * cfg->dns_tries;

	lk->deadline = d < lk->final_deadline ? d : lk->final_deadline;
}

/* resolve_host - send the address lookup of entry i */
static void resolve_host(struct lookup *lk, size_t i)
{
	struct ares_addrinfo_hints hints = { .ai_family = AF_UNSPEC, .ai_flags = ARES_AI_NOSORT };
	struct host_query *hq = malloc(sizeof(*hq));

	if (hq == NULL) {
		lk->set->v[i].status = HOST_ERROR;
		return;
	}
	*hq = (struct host_query){ lk, i };
	lk->pending++;
	ares_getaddrinfo(lk->r->channel, lk->set->v[i].host, NULL, &hints, on_addrinfo, hq);
}

static int pref_cmp(const void *a, const void *b)
{
	const struct ares_mx_reply *x = *(const struct ares_mx_reply *const *)a;
	const struct ares_mx_reply *y = *(const struct ares_mx_reply *const *)b;

	return (x->priority > y->priority) - (x->priority < y->priority);
}

/* build_set - the entries of an MX answer, best first, "." dropped; a
 * hostile answer is bounded: only its first 256 records are looked at */
static enum mx_status build_set(struct lookup *lk, struct ares_mx_reply *mx)
{
	struct ares_mx_reply *sorted[MX_MAX_ENTRIES * 4];
	size_t n = 0, total = 0, dots = 0;
	struct mxset *set;

	for (struct ares_mx_reply *r = mx; r != NULL; r = r->next, total++) {
		if (n < sizeof(sorted) / sizeof(sorted[0]))
			sorted[n++] = r;
		dots += r->host[0] == '\0';
	}
	/* RFC 7505: "MX 0 ." (alone) says the domain takes no mail */
	if (dots == total)
		return MX_NULL;
	qsort(sorted, n, sizeof(sorted[0]), pref_cmp);
	if ((set = mxset_new(lk->set->domain, n < MX_MAX_ENTRIES ? n : MX_MAX_ENTRIES)) == NULL)
		return MX_ERROR;
	set->truncated = total > MX_MAX_ENTRIES;
	for (size_t i = 0; i < n && set->n < MX_MAX_ENTRIES; i++) {
		char host[DOMAIN_MAXLEN + 1];
		struct mx_entry *e = &set->v[set->n];

		if (sorted[i]->host[0] == '\0')
			continue;	/* "." among real MX records: unusable, skipped */
		e->pref = sorted[i]->priority;
		if (domain_normalize(sorted[i]->host, strlen(sorted[i]->host), host, sizeof(host))) {
			e->host = strdup(host);
		} else {
			char shown[64];
			log_sanitize(shown, sizeof(shown), sorted[i]->host);
			e->host = strdup(shown);
			e->status = HOST_BADNAME;
		}
		if (e->host == NULL) {
			mxset_release(set);
			return MX_ERROR;
		}
		set->n++;
	}
	mxset_release(lk->set);
	lk->set = set;
	return set->n > 0 ? MX_FOUND : MX_NONE;
}

/* implicit_mx - no MX records: the domain itself, if it has an address */
static void implicit_mx(struct lookup *lk)
{
	struct mxset *set = mxset_new(lk->set->domain, 1);

	if (set == NULL || (set->v[0].host = strdup(lk->set->domain)) == NULL) {
		mxset_release(set);
		lk->status = MX_ERROR;
		return;
	}
	set->n = 1;
	set->implicit = true;
	mxset_release(lk->set);
	lk->set = set;
	lk->status = MX_FOUND;
	new_phase(lk);
	resolve_host(lk, 0);
}

/* on_mx - the MX answer: build the set, then ask for every address */
static void on_mx(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct lookup *lk = arg;
	struct ares_mx_reply *mx = NULL;

	(void)timeouts;
	lk->pending--;
	/* an answer without MX records (only a CNAME, say) is NODATA too;
	 * c-ares 1.18 parses it as success with no records */
	if (status == ARES_SUCCESS
	    && (status = ares_parse_mx_reply(abuf, alen, &mx)) == ARES_SUCCESS && mx == NULL)
		status = ARES_ENODATA;
	if (status == ARES_ENODATA) {
		implicit_mx(lk);
		return;
	}
	if (status != ARES_SUCCESS) {
		lk->status = status_of(status);
		return;
	}
	lookup_ttl(lk, dns_answer_ttl(abuf, alen, ns_t_mx));
	lk->status = build_set(lk, mx);
	ares_free_data(mx);
	if (lk->status != MX_FOUND)
		return;
	new_phase(lk);
	for (size_t i = 0; i < lk->set->n; i++)
		if (lk->set->v[i].status == HOST_OK)
			resolve_host(lk, i);
}

/* run - drive the channel until nothing is pending or the phase deadline */
static void run(struct lookup *lk)
{
	ares_channel ch = lk->r->channel;

	while (lk->pending > 0) {
		uint64_t deadline_ms = lk->deadline;
		ares_socket_t socks[ARES_GETSOCK_MAXNUM];
		struct pollfd pfd[ARES_GETSOCK_MAXNUM];
		struct timeval max, tv, *tvp;
		uint64_t now = clock_ms();
		nfds_t n = 0;
		unsigned bits;
		int wait_ms, rc;

		if (now >= deadline_ms) {
			ares_cancel(ch);	/* callbacks run with ARES_ECANCELLED */
			break;
		}
		bits = (unsigned)ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
		for (unsigned i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			/* ARES_GETSOCK_WRITABLE shifts a signed 1 into the sign bit */
			short ev = (short)((bits & 1u << i ? POLLIN : 0)
					   | (bits & 1u << (i + ARES_GETSOCK_MAXNUM) ? POLLOUT : 0));
			if (ev != 0)
				pfd[n++] = (struct pollfd){ .fd = socks[i], .events = ev };
		}
		max.tv_sec = (time_t)((deadline_ms - now) / 1000);
		max.tv_usec = (suseconds_t)((deadline_ms - now) % 1000) * 1000;
		tvp = ares_timeout(ch, &max, &tv);
		wait_ms = (int)(tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000);
		rc = poll(pfd, n, wait_ms);
		if (rc < 0 && errno != EINTR)
			break;
		if (rc <= 0) {
			ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
			continue;
		}
		for (nfds_t i = 0; i < n; i++)
			if (pfd[i].revents != 0)
				ares_process_fd(ch, pfd[i].revents & (POLLIN | POLLERR | POLLHUP)
						? pfd[i].fd : ARES_SOCKET_BAD,
						pfd[i].revents & POLLOUT ? pfd[i].fd : ARES_SOCKET_BAD);
	}
}


/* settle_ttl - how long the finished set may be kept */
static void settle_ttl(struct lookup *lk)
{
	const struct config *cfg = lk->cfg;
	struct mxset *m = lk->set;
	bool unsure = false;

	for (size_t i = 0; i < m->n; i++)
		unsure |= m->v[i].status == HOST_ERROR;
	if (m->status == MX_FOUND || m->status == MX_NULL) {
		unsigned ttl = lk->ttl;
		if (ttl < cfg->min_ttl)
			ttl = cfg->min_ttl;
		if (ttl > cfg->max_ttl)
			ttl = cfg->max_ttl;
		/* a host we could not resolve is worth asking about again soon */
		if (unsure && ttl > cfg->negative_ttl)
			ttl = cfg->negative_ttl;
		m->ttl = ttl;
	} else {
		m->ttl = cfg->negative_ttl;
	}
}

/* mxset_lookup - ask DNS through r, with the timeouts and TTLs of cfg;
 * always returns a set (or NULL when out of memory) */
struct mxset *mxset_lookup(struct resolver *r, const struct config *cfg, const char *domain,
			   uint64_t deadline_ms)
{
	struct lookup lk = { .r = r, .cfg = cfg, .ttl = UINT32_MAX, .status = MX_ERROR,
			     .host_failure = MX_ERROR, .final_deadline = deadline_ms };

	if ((lk.set = mxset_new(domain, 0)) == NULL)
		return NULL;
	new_phase(&lk);
	lk.pending = 1;
	ares_query(r->channel, domain, ns_c_in, ns_t_mx, on_mx, &lk);
	run(&lk);
	if (lk.pending > 0) {
		/* poll failed: cancel runs every callback, nothing refers to lk */
		ares_cancel(r->channel);
	}
	if (lk.status == MX_FOUND) {
		bool any_error = false, any_addr = false;
		for (size_t i = 0; i < lk.set->n; i++) {
			any_addr |= lk.set->v[i].status == HOST_OK;
			any_error |= lk.set->v[i].status == HOST_ERROR;
			if (lk.set->v[i].cname)
				log_notice("mxset: %s: MX target %s is an alias (CNAME), followed; "
					   "RFC 2181 10.3 wants a host name", domain, lk.set->v[i].host);
		}
		/* an implicit MX that did not resolve means there is no MX set */
		if (lk.set->implicit && !any_addr) {
			lk.status = any_error ? lk.host_failure : MX_NONE;
			free(lk.set->v[0].host);
			lk.set->n = 0;
			lk.set->implicit = false;
		}
	}
	lk.set->status = lk.status;
	settle_ttl(&lk);
	return lk.set;
}

static void hold_value(void *v)
{
	mxset_hold(v);
}

static void release_value(void *v)
{
	mxset_release(v);
}

static const struct cache_ops mxset_cache_ops = { hold_value, release_value };

/* mxset_cache_new - the cache of MX sets, keyed by domain */
struct cache *mxset_cache_new(size_t capacity)
{
	return cache_new(capacity, &mxset_cache_ops, NULL);
}

/* lookup_pooled - mxset_lookup() with a resolver of the pool, given back
 * after it; NULL when no resolver could be had (or no memory) */
static struct mxset *lookup_pooled(struct resolver_pool *pool, const struct config *cfg,
				   const char *domain, uint64_t deadline_ms)
{
	char err[256];
	struct resolver *r = resolver_take(pool, cfg, err, sizeof(err));
	struct mxset *m;

	if (r == NULL) {
		log_error("mxset: %s: %s", domain, err);
		return NULL;
	}
	m = mxset_lookup(r, cfg, domain, deadline_ms);
	resolver_give(pool, r);
	return m;
}

/* mxset_get - the MX set of a domain from the cache, else from DNS with a
 * resolver of the pool; a thread that finds another looking the domain up
 * waits for its answer */
struct mxset *mxset_get(struct resolver_pool *pool, struct cache *cache,
			const struct config *cfg, const char *domain, uint64_t deadline_ms,
			bool *hit)
{
	void *v;
	struct mxset *m;

	*hit = false;
	switch (cache_get(cache, domain, deadline_ms, &v)) {
	case CACHE_HIT:
		*hit = true;
		return v;
	case CACHE_TIMEOUT:
		return mxset_new_status(domain, MX_TIMEOUT);
	case CACHE_LEAD:
		break;
	}
	if ((m = lookup_pooled(pool, cfg, domain, deadline_ms)) == NULL) {
		cache_abandon(cache, domain);
		return NULL;
	}
	cache_put(cache, domain, m, (uint64_t)m->ttl * 1000);
	return m;
}

/* mxset_unsure - a failed lookup, or a set naming a host whose addresses
 * could not be looked up (a server failure or timeout) */
static bool mxset_unsure(const struct mxset *m)
{
	if (mx_status_is_error(m->status))
		return true;
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].status == HOST_ERROR)
			return true;
	return false;
}

/* mxset_refresh - look a cached domain up again ahead of its expiry: the
 * new set replaces the cached one without the key ever being absent (or
 * is added, when it was pushed out meanwhile); a set that failed or is
 * missing a host's addresses is not written, so the answer there stays
 * until it expires. True when the new set was written. */
bool mxset_refresh(struct resolver *r, const struct config *cfg, struct cache *cache,
		   const char *domain, uint64_t deadline_ms)
{
	struct mxset *m = mxset_lookup(r, cfg, domain, deadline_ms);
	bool written = m != NULL && !mxset_unsure(m);

	if (written)
		cache_set(cache, domain, m, (uint64_t)m->ttl * 1000);
	mxset_release(m);
	return written;
}
