/*
 * test_mxset - MX set lookup, caching and rank.
 *
 * DNS answers are real wire data built here and parsed by the real c-ares;
 * only the calls that would go to the network are replaced, at link time
 * (ld --wrap=ares_query,ares_getaddrinfo,ares_freeaddrinfo). The wrappers
 * answer at once, from the zone the test sets, and count every query;
 * the ares_addrinfo answers and their free are tests/common/ares_fake.c.
 * The channels are real; ares_init_options and ares_destroy are wrapped
 * to count them (the pool of resolvers) and to make one fail.
 */

#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>

#include <ares.h>
#include <cmocka.h>

#include "cache.h"
#include "clock.h"
#include "config.h"
#include "mxset.h"
#include "resolver.h"

#include "../common/ares_fake.h"

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/*
 * A DNS message builder: header, one question, answer records. Names are
 * written uncompressed, except "^q" (a pointer to the question name) and
 * "^bad" (a pointer past any message); "\." is a dot inside a label.
 */

struct msg {
	unsigned char b[16384];
	size_t len;
	size_t last_owner, last_fixed, last_rdlen;	/* of the last record */
};

/* Ways to spoil a message after it is built. */
enum garble {
	G_NONE,
	G_SHORT_HEADER,		/* 11 octets: no room for the header */
	G_CUT_IN_RR,		/* ends inside the last record's type/class/TTL */
	G_RDLEN_PAST_END,	/* the last record's rdlength overruns the message */
	G_POINTER_CUT,		/* ends with the first octet of a compression pointer */
	G_LABEL_PAST_END,	/* ends with a 63-octet label that has 3 octets */
	G_ANCOUNT_HIGH,		/* the header counts two more records than there are */
};

enum rr_kind { RR_NONE, RR_MX, RR_CNAME, RR_A };

struct rr {
	enum rr_kind kind;
	const char *owner;	/* NULL: the name asked for */
	unsigned pref;
	const char *target;	/* MX, CNAME: a name; A: an address */
	uint32_t ttl;
};

#define MX(pref, target, ttl) { RR_MX, NULL, pref, target, ttl }

/* No octet is written past the buffer; it is big enough for every test. */
static void put8(struct msg *m, unsigned v)
{
	if (m->len < sizeof(m->b))
		m->b[m->len++] = (unsigned char)v;
}

static void put16(struct msg *m, unsigned v)
{
	put8(m, v >> 8 & 0xff);
	put8(m, v & 0xff);
}

static void put32(struct msg *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

static void set16(struct msg *m, size_t at, unsigned v)
{
	m->b[at] = (unsigned char)(v >> 8 & 0xff);
	m->b[at + 1] = (unsigned char)(v & 0xff);
}

static void put_name(struct msg *m, const char *name)
{
	if (strcmp(name, "^q") == 0) {
		put16(m, 0xc000 | NS_HFIXEDSZ);
		return;
	}
	if (strcmp(name, "^bad") == 0) {
		put16(m, 0xffff);
		return;
	}
	while (*name != '\0') {
		size_t at = m->len;
		unsigned n = 0;

		put8(m, 0);
		for (; *name != '\0' && *name != '.'; name++, n++) {
			if (name[0] == '\\' && name[1] != '\0')
				name++;
			put8(m, (unsigned char)*name);
		}
		m->b[at] = (unsigned char)n;
		if (*name == '.')
			name++;
	}
	put8(m, 0);
}

static void put_rr(struct msg *m, const char *qname, const struct rr *rr)
{
	unsigned char a[4];

	m->last_owner = m->len;
	put_name(m, rr->owner != NULL ? rr->owner : qname);
	m->last_fixed = m->len;
	put16(m, rr->kind == RR_MX ? ns_t_mx : rr->kind == RR_CNAME ? ns_t_cname : ns_t_a);
	put16(m, ns_c_in);
	put32(m, rr->ttl);
	m->last_rdlen = m->len;
	put16(m, 0);
	switch (rr->kind) {
	case RR_MX:
		put16(m, rr->pref);
		put_name(m, rr->target);
		break;
	case RR_CNAME:
		put_name(m, rr->target);
		break;
	default:
		inet_pton(AF_INET, rr->target, a);
		for (int i = 0; i < 4; i++)
			put8(m, a[i]);
		break;
	}
	set16(m, m->last_rdlen, (unsigned)(m->len - m->last_rdlen - 2));
}

static void put_header(struct msg *m, const char *qname, unsigned ancount)
{
	m->len = 0;
	put16(m, 0x4d58);		/* id */
	put16(m, 0x8180);		/* response, RD, RA, NOERROR */
	put16(m, 1);
	put16(m, ancount);
	put16(m, 0);
	put16(m, 0);
	put_name(m, qname);
	put16(m, ns_t_mx);
	put16(m, ns_c_in);
}

static void spoil(struct msg *m, enum garble g)
{
	switch (g) {
	case G_NONE:
		break;
	case G_SHORT_HEADER:
		m->len = NS_HFIXEDSZ - 1;
		break;
	case G_CUT_IN_RR:
		m->len = m->last_fixed + 5;
		break;
	case G_RDLEN_PAST_END:
		set16(m, m->last_rdlen, (unsigned)(m->len - m->last_rdlen - 2) + 16);
		break;
	case G_POINTER_CUT:
		m->len = m->last_owner;
		put8(m, 0xc0);
		break;
	case G_LABEL_PAST_END:
		m->len = m->last_owner;
		put8(m, 63);
		put8(m, 'a');
		put8(m, 'b');
		put8(m, 'c');
		break;
	case G_ANCOUNT_HIGH:
		set16(m, 6, (unsigned)(m->b[6] << 8 | m->b[7]) + 2);
		break;
	}
}

/* build_answer - the answer to "qname MX?", records up to the first RR_NONE */
static void build_answer(struct msg *m, const char *qname, const struct rr *rrs, size_t max,
			 enum garble g)
{
	size_t n = 0;

	while (n < max && rrs[n].kind != RR_NONE)
		n++;
	put_header(m, qname, (unsigned)n);
	for (size_t i = 0; i < n; i++)
		put_rr(m, qname, &rrs[i]);
	spoil(m, g);
}

/* build_generated - n MX records mx1 .. mxN, preference 10 x number, in a
 * scrambled order (37 is prime to every n used) */
static void build_generated(struct msg *m, const char *qname, unsigned n)
{
	put_header(m, qname, n);
	for (unsigned i = 0; i < n; i++) {
		char target[64];
		unsigned num = (i * 37) % n + 1;
		struct rr rr = MX(num * 10, target, 3600);

		snprintf(target, sizeof(target), "mx%u.example.org", num);
		put_rr(m, qname, &rr);
	}
}

/* copy_exact - the message in a buffer of exactly its size, so ASan sees
 * any read past its end */
static unsigned char *copy_exact(const struct msg *m)
{
	unsigned char *p = malloc(m->len > 0 ? m->len : 1);

	if (p != NULL)
		memcpy(p, m->b, m->len);
	return p;
}

/*
 * The zone the wrappers answer from.
 */

struct host_answer {
	const char *name;	/* "*": any name not listed */
	int status;		/* ARES_SUCCESS: the addresses below */
	int ttl;
	const char *addrs[4];
	const char *cname;	/* the canonical name: the host is an alias */
};

#define HOST(name, ttl, ...) { name, ARES_SUCCESS, ttl, { __VA_ARGS__ }, NULL }
#define ALIAS(name, canon, ttl, ...) { name, ARES_SUCCESS, ttl, { __VA_ARGS__ }, canon }
#define HOST_FAILS(name, status) { name, status, 0, { NULL }, NULL }

struct zone {
	const char *domain;		/* NULL: example.org */
	int mx_status;			/* what the MX query reports */
	struct rr mx[6];		/* the answer, when ARES_SUCCESS */
	enum garble garble;
	unsigned gen_mx;		/* > 0: that many generated records instead */
	unsigned delay_ms;		/* before the MX answer */
	struct host_answer hosts[4];
};

static const char *zone_domain(const struct zone *z)
{
	return z->domain != NULL ? z->domain : "example.org";
}

static const struct zone *zone;
static pthread_mutex_t mock_lock = PTHREAD_MUTEX_INITIALIZER;
static struct query_count {
	char name[DOMAIN_MAXLEN + 2];
	int mx, addr;
} counts[256];
static size_t ncounts;
static int bad_calls;		/* queries not made the way mxset should */

/* count_query - note a query; ok false marks a call with wrong arguments */
static void count_query(const char *name, bool mx, bool ok)
{
	size_t i;

	pthread_mutex_lock(&mock_lock);
	for (i = 0; i < ncounts && strcmp(counts[i].name, name) != 0; i++)
		;
	if (i == ncounts && ncounts < sizeof(counts) / sizeof(counts[0]))
		snprintf(counts[ncounts++].name, sizeof(counts[0].name), "%s", name);
	if (i < ncounts) {
		if (mx)
			counts[i].mx++;
		else
			counts[i].addr++;
	}
	bad_calls += !ok;
	pthread_mutex_unlock(&mock_lock);
}

static int queries(const char *name, bool mx)
{
	int n = 0;

	pthread_mutex_lock(&mock_lock);
	for (size_t i = 0; i < ncounts; i++)
		if (strcmp(counts[i].name, name) == 0)
			n = mx ? counts[i].mx : counts[i].addr;
	pthread_mutex_unlock(&mock_lock);
	return n;
}

static int all_addr_queries(void)
{
	int n = 0;

	pthread_mutex_lock(&mock_lock);
	for (size_t i = 0; i < ncounts; i++)
		n += counts[i].addr;
	pthread_mutex_unlock(&mock_lock);
	return n;
}

/* channels made and destroyed; init_fails: the next ones cannot be made */
static atomic_int channels_made, channels_destroyed;
static atomic_bool init_fails;

int __real_ares_init_options(ares_channel *channel, struct ares_options *options, int optmask);
int __wrap_ares_init_options(ares_channel *channel, struct ares_options *options, int optmask);
int __wrap_ares_init_options(ares_channel *channel, struct ares_options *options, int optmask)
{
	if (atomic_load(&init_fails))
		return ARES_ENOMEM;
	atomic_fetch_add(&channels_made, 1);
	return __real_ares_init_options(channel, options, optmask);
}

void __real_ares_destroy(ares_channel channel);
void __wrap_ares_destroy(ares_channel channel);
void __wrap_ares_destroy(ares_channel channel)
{
	atomic_fetch_add(&channels_destroyed, 1);
	__real_ares_destroy(channel);
}

/* channels_live - channels made and not yet destroyed */
static int channels_live(void)
{
	return atomic_load(&channels_made) - atomic_load(&channels_destroyed);
}

void __wrap_ares_query(ares_channel channel, const char *name, int dnsclass, int type,
		       ares_callback callback, void *arg)
{
	struct msg *m;
	unsigned char *abuf;

	(void)channel;
	count_query(name, true, dnsclass == ns_c_in && type == ns_t_mx);
	if (zone->delay_ms > 0)
		sleep_ms(zone->delay_ms);
	if (strcmp(name, zone_domain(zone)) != 0) {
		callback(arg, ARES_ENOTFOUND, 0, NULL, 0);
		return;
	}
	if (zone->mx_status != ARES_SUCCESS) {
		callback(arg, zone->mx_status, 0, NULL, 0);
		return;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		callback(arg, ARES_ENOMEM, 0, NULL, 0);
		return;
	}
	if (zone->gen_mx > 0)
		build_generated(m, name, zone->gen_mx);
	else
		build_answer(m, name, zone->mx, sizeof(zone->mx) / sizeof(zone->mx[0]),
			     zone->garble);
	abuf = copy_exact(m);
	callback(arg, abuf != NULL ? ARES_SUCCESS : ARES_ENOMEM, 0, abuf, (int)m->len);
	free(abuf);
	free(m);
}

/* addrinfo_new - what ares_getaddrinfo would return for the host */
static struct ares_addrinfo *addrinfo_new(const char *node, const struct host_answer *h)
{
	struct ares_addrinfo *ai = ares_fake_addrinfo(node, h->cname, h->ttl);
	struct ares_addrinfo_node **tail;

	if (ai == NULL)
		return NULL;
	tail = &ai->nodes;
	for (size_t i = 0; i < 4 && h->addrs[i] != NULL; i++) {
		int family = strchr(h->addrs[i], ':') != NULL ? AF_INET6 : AF_INET;
		unsigned char a[16] = { 0 };

		inet_pton(family, h->addrs[i], a);
		if (ares_fake_add_node(&tail, family, a, h->ttl) == NULL)
			break;
	}
	return ai;
}

void __wrap_ares_getaddrinfo(ares_channel channel, const char *node, const char *service,
			     const struct ares_addrinfo_hints *hints,
			     ares_addrinfo_callback callback, void *arg)
{
	const struct host_answer *h = NULL, *any = NULL;
	struct ares_addrinfo *ai;

	(void)channel;
	count_query(node, false, service == NULL && hints != NULL
		    && hints->ai_family == AF_UNSPEC);
	for (size_t i = 0; i < 4 && zone->hosts[i].name != NULL; i++) {
		if (strcmp(zone->hosts[i].name, node) == 0)
			h = &zone->hosts[i];
		else if (strcmp(zone->hosts[i].name, "*") == 0)
			any = &zone->hosts[i];
	}
	if (h == NULL)
		h = any;
	if (h == NULL || h->status != ARES_SUCCESS) {
		callback(arg, h != NULL ? h->status : ARES_ENOTFOUND, 0, NULL);
		return;
	}
	ai = addrinfo_new(node, h);
	callback(arg, ai != NULL ? ARES_SUCCESS : ARES_ENOMEM, 0, ai);
}

/*
 * Fixtures: one configuration (built-in defaults), a resolver and a pool
 * of resolvers per test.
 */

static struct config *cfg;
static struct resolver *resolver;
static struct resolver_pool *pool;

struct ttls {
	unsigned min, max, negative;	/* 0: the default */
};

static void set_ttls(const struct ttls *t)
{
	cfg->min_ttl = t->min != 0 ? t->min : 60;
	cfg->max_ttl = t->max != 0 ? t->max : 3600;
	cfg->negative_ttl = t->negative != 0 ? t->negative : 300;
}

static int setup_library(void **state)
{
	struct config_diag d = { 0 };

	(void)state;
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
		return -1;
	cfg = config_load("/nonexistent/mxbypass-milter.conf", false, &d);
	config_diag_free(&d);
	return cfg != NULL ? 0 : -1;
}

static int teardown_library(void **state)
{
	(void)state;
	config_free(cfg);
	ares_library_cleanup();
	return 0;
}

static int setup_resolver(void **state)
{
	static const struct ttls defaults;
	char err[256];

	(void)state;
	pthread_mutex_lock(&mock_lock);
	memset(counts, 0, sizeof(counts));
	ncounts = 0;
	bad_calls = 0;
	pthread_mutex_unlock(&mock_lock);
	ares_fake_reset();
	zone = NULL;
	set_ttls(&defaults);
	atomic_store(&init_fails, false);
	if ((resolver = resolver_new(cfg, err, sizeof(err))) == NULL) {
		print_error("resolver_new: %s\n", err);
		return -1;
	}
	if ((pool = resolver_pool_new(cfg, RESOLVER_POOL_IDLE)) == NULL) {
		print_error("resolver_pool_new: out of memory\n");
		return -1;
	}
	return 0;
}

/* every query was an MX or AF_UNSPEC query, every addrinfo freed, every
 * channel destroyed */
static int teardown_resolver(void **state)
{
	(void)state;
	resolver_free(resolver);
	resolver_pool_free(pool);
	assert_int_equal(bad_calls, 0);
	assert_int_equal(ares_fake_live(), 0);
	assert_int_equal(channels_live(), 0);
	return 0;
}

/* addrs_text - an entry's addresses, comma-separated */
static const char *addrs_text(const struct mx_entry *e, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < e->naddrs && at < len; i++) {
		char a[NETADDR_STRLEN];
		at += (size_t)snprintf(buf + at, len - at, "%s%s", i > 0 ? "," : "",
				       netaddr_format(&e->addrs[i], a, sizeof(a)));
	}
	return buf;
}

static const struct mx_entry *entry_named(const struct mxset *m, const char *host)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->v[i].host, host) == 0)
			return &m->v[i];
	return NULL;
}

static void assert_sorted(const struct mxset *m)
{
	for (size_t i = 1; i < m->n; i++)
		assert_true(m->v[i - 1].pref <= m->v[i].pref);
}

/*
 * mxset_lookup: one zone, one expected set per case.
 */

struct want {
	unsigned pref;
	const char *host;
	enum mx_host_status status;
	bool cname;
	const char *addrs;
};

/* Whether the set is the domain itself, for want of MX records. */
enum implicit_want {
	NOT_IMPLICIT,
	IMPLICIT,		/* one entry: the domain, pref 0 */
	IMPLICIT_UNRESOLVED,	/* the domain's address was asked for, in vain: no set */
};

struct lookup_case {
	const char *name;
	struct zone z;
	struct ttls ttls;
	enum mx_status status;
	enum implicit_want implicit;
	unsigned ttl;
	size_t n;
	struct want want[4];
};

#define MX1 "mx1.example.org"
#define MX2 "mx2.example.org"
#define A1 "192.0.2.1"
#define A2 "192.0.2.2"

static const struct lookup_case lookup_cases[] = {
	{ "two MX records sorted by preference, with addresses",
	  { .mx = { MX(20, MX2, 3600), MX(10, MX1, 3600) },
	    .hosts = { HOST(MX1, 3600, A1, "2001:db8::1"), HOST(MX2, 3600, A2) } },
	  { 0 }, MX_FOUND, NOT_IMPLICIT, 3600, 2,
	  { { 10, MX1, HOST_OK, false, A1 ",2001:db8::1" },
	    { 20, MX2, HOST_OK, false, A2 } } },
	{ "equal preferences: both kept",
	  { .mx = { MX(10, MX1, 3600), MX(10, MX2, 3600) },
	    .hosts = { HOST(MX1, 3600, A1), HOST(MX2, 3600, A2) } },
	  { 0 }, MX_FOUND, NOT_IMPLICIT, 3600, 2,
	  { { 10, MX1, HOST_OK, false, A1 }, { 10, MX2, HOST_OK, false, A2 } } },
	{ "upper-case target lowered, and asked for in lower case",
	  { .mx = { MX(10, "MX1.Example.ORG", 3600) }, .hosts = { HOST(MX1, 3600, A1) } },
	  { 0 }, MX_FOUND, NOT_IMPLICIT, 3600, 1, { { 10, MX1, HOST_OK, false, A1 } } },
	{ "a dot inside a label (escaped by c-ares) is no host name, not asked for",
	  { .mx = { MX(10, "mx1.example.org\\.", 3600), MX(20, MX2, 3600) },
	    .hosts = { HOST("mx1.example.org.", 3600, A1), HOST(MX2, 3600, A2) } },
	  { 0 }, MX_FOUND, NOT_IMPLICIT, 3600, 2,
	  { { 10, "mx1.example.org\\.", HOST_BADNAME, false, "" },
	    { 20, MX2, HOST_OK, false, A2 } } },
	{ "a target with a space is no host name",
	  { .mx = { MX(10, "mx 1.example.org", 3600), MX(20, MX2, 3600) },
	    .hosts = { HOST(MX2, 3600, A2) } },
	  { 0 }, MX_FOUND, NOT_IMPLICIT, 3600, 2,
	  { { 10, "mx 1.example.org", HOST_BADNAME, false, "" },
	    { 20, MX2, HOST_OK, false, A2 } } },
	{ "implicit MX: no MX records, the domain has an address",
	  { .mx_status = ARES_ENODATA, .hosts = { HOST("example.org", 600, "192.0.2.9") } },
	  { 0 }, MX_FOUND, IMPLICIT, 600, 1,
	  { { 0, "example.org", HOST_OK, false, "192.0.2.9" } } },
	{ "implicit MX: an answer with only a CNAME has no MX records",
	  { .mx = { { RR_CNAME, NULL, 0, "mail.example.net", 600 } },
	    .hosts = { HOST("example.org", 600, "192.0.2.9") } },
	  { 0 }, MX_FOUND, IMPLICIT, 600, 1,
	  { { 0, "example.org", HOST_OK, false, "192.0.2.9" } } },
	{ "implicit MX without an address: no MX set",
	  { .mx_status = ARES_ENODATA, .hosts = { HOST_FAILS("example.org", ARES_ENODATA) } },
	  { 0 }, MX_NONE, IMPLICIT_UNRESOLVED, 300, 0, { { 0 } } },
	{ "implicit MX whose address lookup times out: timeout, not 'no MX set'",
	  { .mx_status = ARES_ENODATA, .hosts = { HOST_FAILS("example.org", ARES_ETIMEOUT) } },
	  { 0 }, MX_TIMEOUT, IMPLICIT_UNRESOLVED, 300, 0, { { 0 } } },
	{ "null MX: MX 0 . alone means no mail, nothing else asked",
	  { .mx = { MX(0, "", 86400) } },
	  { 0 }, MX_NULL, NOT_IMPLICIT, 3600, 0, { { 0 } } },
	{ "a . among real MX records is skipped",
	  { .mx = { MX(0, "", 3600), MX(10, MX1, 3600) }, .hosts = { HOST(MX1, 3600, A1) } },
	  { 0 }, MX_FOUND, NOT_IMPLICIT, 3600, 1, { { 10, MX1, HOST_OK, false, A1 } } },
	{ "NXDOMAIN: kept for NegativeTTL",
	  { .mx_status = ARES_ENOTFOUND },
	  { 0 }, MX_NXDOMAIN, NOT_IMPLICIT, 300, 0, { { 0 } } },
	{ "SERVFAIL (ECONNREFUSED): kept for NegativeTTL",
	  { .mx_status = ARES_ECONNREFUSED },
	  { .negative = 120 }, MX_SERVFAIL, NOT_IMPLICIT, 120, 0, { { 0 } } },
	{ "timeout: kept for NegativeTTL",
	  { .mx_status = ARES_ETIMEOUT },
	  { .negative = 120 }, MX_TIMEOUT, NOT_IMPLICIT, 120, 0, { { 0 } } },
	{ "garbled: header cut short",
	  { .mx = { MX(10, MX1, 3600) }, .garble = G_SHORT_HEADER },
	  { 0 }, MX_BADANSWER, NOT_IMPLICIT, 300, 0, { { 0 } } },
	{ "garbled: message ends inside a record",
	  { .mx = { MX(10, MX1, 3600) }, .garble = G_CUT_IN_RR },
	  { 0 }, MX_BADANSWER, NOT_IMPLICIT, 300, 0, { { 0 } } },
	{ "garbled: rdlength past the end",
	  { .mx = { MX(10, MX1, 3600), MX(20, MX2, 3600) }, .garble = G_RDLEN_PAST_END },
	  { 0 }, MX_BADANSWER, NOT_IMPLICIT, 300, 0, { { 0 } } },
	{ "garbled: compression pointer cut by the end",
	  { .mx = { MX(10, MX1, 3600) }, .garble = G_POINTER_CUT },
	  { 0 }, MX_BADANSWER, NOT_IMPLICIT, 300, 0, { { 0 } } },
	{ "garbled: compression pointer to past the end",
	  { .mx = { { RR_MX, "^bad", 10, MX1, 3600 } } },
	  { 0 }, MX_BADANSWER, NOT_IMPLICIT, 300, 0, { { 0 } } },
	{ "garbled: label longer than the rest of the message",
	  { .mx = { MX(10, MX1, 3600) }, .garble = G_LABEL_PAST_END },
	  { 0 }, MX_BADANSWER, NOT_IMPLICIT, 300, 0, { { 0 } } },
	{ "garbled: more records counted than present",
	  { .mx = { MX(10, MX1, 3600) }, .garble = G_ANCOUNT_HIGH },
	  { 0 }, MX_BADANSWER, NOT_IMPLICIT, 300, 0, { { 0 } } },
	{ "a target that does not exist, the other resolves",
	  { .mx = { MX(10, MX1, 3600), MX(20, MX2, 3600) },
	    .hosts = { HOST_FAILS(MX1, ARES_ENOTFOUND), HOST(MX2, 3600, A2) } },
	  { 0 }, MX_FOUND, NOT_IMPLICIT, 3600, 2,
	  { { 10, MX1, HOST_NXDOMAIN, false, "" }, { 20, MX2, HOST_OK, false, A2 } } },
	{ "a target without addresses (NODATA)",
	  { .mx = { MX(10, MX1, 3600), MX(20, MX2, 3600) },
	    .hosts = { HOST_FAILS(MX1, ARES_ENODATA), HOST(MX2, 3600, A2) } },
	  { 0 }, MX_FOUND, NOT_IMPLICIT, 3600, 2,
	  { { 10, MX1, HOST_NODATA, false, "" }, { 20, MX2, HOST_OK, false, A2 } } },
	{ "a target lookup that times out: HOST_ERROR, TTL capped at NegativeTTL",
	  { .mx = { MX(10, MX1, 3600), MX(20, MX2, 3600) },
	    .hosts = { HOST(MX1, 3600, A1), HOST_FAILS(MX2, ARES_ETIMEOUT) } },
	  { .negative = 120 }, MX_FOUND, NOT_IMPLICIT, 120, 2,
	  { { 10, MX1, HOST_OK, false, A1 }, { 20, MX2, HOST_ERROR, false, "" } } },
	{ "a target lookup refused: HOST_ERROR",
	  { .mx = { MX(10, MX1, 3600) }, .hosts = { HOST_FAILS(MX1, ARES_ECONNREFUSED) } },
	  { 0 }, MX_FOUND, NOT_IMPLICIT, 300, 1, { { 10, MX1, HOST_ERROR, false, "" } } },
	{ "a CNAME target is followed and marked",
	  { .mx = { MX(10, MX1, 3600) },
	    .hosts = { ALIAS(MX1, "relay.example.net", 3600, A1) } },
	  { 0 }, MX_FOUND, NOT_IMPLICIT, 3600, 1, { { 10, MX1, HOST_OK, true, A1 } } },
	{ "an IPv6-only target",
	  { .mx = { MX(10, MX1, 3600) }, .hosts = { HOST(MX1, 3600, "2001:db8::25") } },
	  { 0 }, MX_FOUND, NOT_IMPLICIT, 3600, 1, { { 10, MX1, HOST_OK, false, "2001:db8::25" } } },
	{ "the same address twice is kept once",
	  { .mx = { MX(10, MX1, 3600) }, .hosts = { HOST(MX1, 3600, A1, A2, A1) } },
	  { 0 }, MX_FOUND, NOT_IMPLICIT, 3600, 1, { { 10, MX1, HOST_OK, false, A1 "," A2 } } },
	{ "TTL below MinTTL raised to it",
	  { .mx = { MX(10, MX1, 5) }, .hosts = { HOST(MX1, 3600, A1) } },
	  { .min = 60 }, MX_FOUND, NOT_IMPLICIT, 60, 1, { { 10, MX1, HOST_OK, false, A1 } } },
	{ "TTL above MaxTTL lowered to it",
	  { .mx = { MX(10, MX1, 999999) }, .hosts = { HOST(MX1, 999999, A1) } },
	  { .max = 3600 }, MX_FOUND, NOT_IMPLICIT, 3600, 1, { { 10, MX1, HOST_OK, false, A1 } } },
	{ "the lowest of MX and address TTLs wins: an address",
	  { .mx = { MX(10, MX1, 3000), MX(20, MX2, 3000) },
	    .hosts = { HOST(MX1, 800, A1), HOST(MX2, 500, A2) } },
	  { 0 }, MX_FOUND, NOT_IMPLICIT, 500, 2,
	  { { 10, MX1, HOST_OK, false, A1 }, { 20, MX2, HOST_OK, false, A2 } } },
	{ "the lowest of MX and address TTLs wins: an MX record",
	  { .mx = { MX(10, MX1, 3000), MX(20, MX2, 400) },
	    .hosts = { HOST(MX1, 3600, A1), HOST(MX2, 3600, A2) } },
	  { 0 }, MX_FOUND, NOT_IMPLICIT, 400, 2,
	  { { 10, MX1, HOST_OK, false, A1 }, { 20, MX2, HOST_OK, false, A2 } } },
	{ "a CNAME on the way to the MX records counts for the TTL",
	  { .mx = { { RR_CNAME, NULL, 0, "mail.example.net", 100 },
		    { RR_MX, "mail.example.net", 10, MX1, 3000 } },
	    .hosts = { HOST(MX1, 3600, A1) } },
	  { 0 }, MX_FOUND, NOT_IMPLICIT, 100, 1, { { 10, MX1, HOST_OK, false, A1 } } },
	{ "a TTL with the top bit set counts as zero: MinTTL",
	  { .mx = { MX(10, MX1, 0x80000000u) }, .hosts = { HOST(MX1, 3600, A1) } },
	  { 0 }, MX_FOUND, NOT_IMPLICIT, 60, 1, { { 10, MX1, HOST_OK, false, A1 } } },
	{ "null MX TTL is clamped too",
	  { .mx = { MX(0, "", 10) } },
	  { 0 }, MX_NULL, NOT_IMPLICIT, 60, 0, { { 0 } } },
};

static void test_lookup(void **state)
{
	const struct lookup_case *lc = *state;
	const char *domain = zone_domain(&lc->z);
	struct mxset *m;
	int asked = lc->implicit == IMPLICIT_UNRESOLVED;

	set_ttls(&lc->ttls);
	zone = &lc->z;
	m = mxset_lookup(resolver, cfg, domain, clock_ms() + 5000);
	assert_non_null(m);
	assert_string_equal(mx_status_name(m->status), mx_status_name(lc->status));
	assert_string_equal(m->domain, domain);
	assert_int_equal(m->implicit, lc->implicit == IMPLICIT);
	assert_false(m->truncated);
	assert_int_equal(m->ttl, lc->ttl);
	assert_int_equal(m->n, lc->n);
	assert_sorted(m);
	for (size_t i = 0; i < lc->n; i++) {
		const struct want *w = &lc->want[i];
		const struct mx_entry *e = entry_named(m, w->host);
		char buf[256];

		if (e == NULL)
			fail_msg("no entry for %s", w->host);
		assert_int_equal(e->pref, w->pref);
		assert_string_equal(mx_host_status_name(e->status), mx_host_status_name(w->status));
		assert_int_equal(e->cname, w->cname);
		assert_string_equal(addrs_text(e, buf, sizeof(buf)), w->addrs);
		if (w->status != HOST_BADNAME) {
			assert_int_equal(queries(w->host, false), 1);
			asked++;
		}
	}
	if (lc->implicit == IMPLICIT_UNRESOLVED)
		assert_int_equal(queries(domain, false), 1);
	assert_int_equal(queries(domain, true), 1);
	assert_int_equal(all_addr_queries(), asked);
	mxset_release(m);
}

/* Generated answers: the bound of MX_MAX_ENTRIES. */
struct many_case {
	const char *name;
	unsigned records;
	size_t kept;
	bool truncated;
};

static const struct many_case many_cases[] = {
	{ "64 MX records: all kept", 64, 64, false },
	{ "65 MX records: 64 kept, truncated", 65, 64, true },
	{ "100 MX records: the 64 lowest preferences kept, truncated", 100, 64, true },
};

static void test_many_records(void **state)
{
	const struct many_case *mc = *state;
	struct zone z = { .gen_mx = mc->records, .hosts = { HOST("*", 3600, A1) } };
	struct mxset *m;

	zone = &z;
	m = mxset_lookup(resolver, cfg, "example.org", clock_ms() + 5000);
	assert_non_null(m);
	assert_int_equal(m->status, MX_FOUND);
	assert_int_equal(m->n, mc->kept);
	assert_int_equal(m->truncated, mc->truncated);
	for (size_t i = 0; i < m->n; i++) {
		char host[64];

		snprintf(host, sizeof(host), "mx%zu.example.org", i + 1);
		assert_int_equal(m->v[i].pref, (i + 1) * 10);
		assert_string_equal(m->v[i].host, host);
		assert_int_equal(m->v[i].status, HOST_OK);
	}
	assert_int_equal(all_addr_queries(), (int)mc->kept);
	mxset_release(m);
}

/*
 * dns_answer_ttl on its own: the lowest TTL, or 0, never a read past the
 * message (the buffer is exactly the message, ASan watches).
 */

struct ttl_case {
	const char *name;
	struct rr rr[4];
	enum garble garble;
	int alen_override;		/* != 0: this length instead (negative) */
	unsigned want;
};

static const struct ttl_case ttl_cases[] = {
	{ "lowest MX TTL", { MX(10, MX1, 900), MX(20, MX2, 300) }, G_NONE, 0, 300 },
	{ "compressed owner names are skipped right",
	  { { RR_MX, "^q", 10, MX1, 900 }, { RR_MX, "^q", 20, MX2, 700 } }, G_NONE, 0, 700 },
	{ "a CNAME on the way counts",
	  { { RR_CNAME, NULL, 0, "mail.example.net", 50 },
	    { RR_MX, "mail.example.net", 10, MX1, 900 } }, G_NONE, 0, 50 },
	{ "records of another type do not count",
	  { MX(10, MX1, 900), { RR_A, MX1, 0, A1, 5 } }, G_NONE, 0, 900 },
	{ "TTL with the top bit set is zero", { MX(10, MX1, 0xffffffffu) }, G_NONE, 0, 0 },
	{ "no answer records: 0", { { 0 } }, G_NONE, 0, 0 },
	{ "short header: 0", { MX(10, MX1, 900) }, G_SHORT_HEADER, 0, 0 },
	{ "negative length: 0", { MX(10, MX1, 900) }, G_NONE, -1, 0 },
	{ "ends inside a record: 0", { MX(10, MX1, 900) }, G_CUT_IN_RR, 0, 0 },
	{ "compression pointer cut by the end: 0", { MX(10, MX1, 900) }, G_POINTER_CUT, 0, 0 },
	{ "label past the end: 0", { MX(10, MX1, 900) }, G_LABEL_PAST_END, 0, 0 },
	{ "rdlength past the end: 0", { MX(10, MX1, 900) }, G_RDLEN_PAST_END, 0, 0 },
	{ "more records counted than present: 0",
	  { MX(10, MX1, 900) }, G_ANCOUNT_HIGH, 0, 0 },
};

static void test_answer_ttl(void **state)
{
	const struct ttl_case *tc = *state;
	struct msg *m = calloc(1, sizeof(*m));
	unsigned char *abuf;

	assert_non_null(m);
	build_answer(m, "example.org", tc->rr, sizeof(tc->rr) / sizeof(tc->rr[0]), tc->garble);
	abuf = copy_exact(m);
	assert_non_null(abuf);
	assert_int_equal(dns_answer_ttl(abuf, tc->alen_override != 0 ? tc->alen_override
					: (int)m->len, ns_t_mx), tc->want);
	free(abuf);
	free(m);
}

/*
 * mxset_get: the cache in front.
 */

static const struct zone two_mx = {
	.mx = { MX(10, MX1, 600), MX(20, MX2, 600) },
	.hosts = { HOST(MX1, 600, A1), HOST(MX2, 600, A2) },
};

static void test_get_second_call_hits(void **state)
{
	struct cache *c = mxset_cache_new(100);
	struct mxset *m1, *m2;
	struct cache_stats st;
	bool hit = true;

	(void)state;
	zone = &two_mx;
	m1 = mxset_get(pool, c, cfg, "example.org", clock_ms() + 5000, &hit);
	assert_non_null(m1);
	assert_false(hit);
	m2 = mxset_get(pool, c, cfg, "example.org", clock_ms() + 5000, &hit);
	assert_true(hit);
	assert_ptr_equal(m1, m2);
	assert_int_equal(m2->status, MX_FOUND);
	assert_int_equal(queries("example.org", true), 1);
	assert_int_equal(all_addr_queries(), 2);
	cache_stats(c, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 1);
	mxset_release(m1);
	mxset_release(m2);
	cache_free(c);
}

/* A connection whose domains are all cached never sets up c-ares: a hit
 * does not touch the pool (here one that keeps nothing, so that taking a
 * resolver would make a channel) */
static void test_channel_only_on_a_miss(void **state)
{
	struct resolver_pool *none_idle = resolver_pool_new(cfg, 0);
	struct cache *c = mxset_cache_new(100);
	struct mxset *m;
	int before = atomic_load(&channels_made);
	bool hit;

	(void)state;
	assert_non_null(none_idle);
	zone = &two_mx;
	assert_int_equal(atomic_load(&channels_made), before);	/* nothing yet */
	m = mxset_get(none_idle, c, cfg, "example.org", clock_ms() + 5000, &hit);
	assert_false(hit);				/* a miss */
	mxset_release(m);
	assert_int_equal(atomic_load(&channels_made), before + 1);
	assert_int_equal(channels_live(), 1);		/* the fixture's resolver */
	for (int i = 0; i < 10; i++) {			/* next connections, all hits */
		m = mxset_get(none_idle, c, cfg, "example.org", clock_ms() + 5000, &hit);
		assert_true(hit);
		mxset_release(m);
	}
	assert_int_equal(atomic_load(&channels_made), before + 1);
	resolver_pool_free(none_idle);
	cache_free(c);
}

/* N cold lookups one after another (N connections) make one channel */
static void test_pool_sequential_one_channel(void **state)
{
	struct cache *c = mxset_cache_new(100);
	int before = atomic_load(&channels_made);

	(void)state;
	zone = &two_mx;
	for (int i = 0; i < 20; i++) {
		char domain[32];
		struct mxset *m;
		bool hit;

		snprintf(domain, sizeof(domain), "d%d.example.net", i);
		m = mxset_get(pool, c, cfg, domain, clock_ms() + 5000, &hit);
		assert_non_null(m);
		assert_false(hit);
		assert_int_equal(m->status, MX_NXDOMAIN);
		mxset_release(m);
	}
	assert_int_equal(queries("d19.example.net", true), 1);
	assert_int_equal(atomic_load(&channels_made), before + 1);
	assert_int_equal(channels_live(), 2);		/* the fixture's, the idle one */
	cache_free(c);
}

/* A cache on a clock the test moves, holding sets the way mxset's does. */
static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

static void set_hold(void *v)
{
	mxset_hold(v);
}

static void set_release(void *v)
{
	mxset_release(v);
}

static const struct cache_ops set_ops = { set_hold, set_release };

struct keep_case {
	const char *name;
	struct zone z;
	unsigned negative_ttl;
	enum mx_status status;
	uint64_t later_ms;
	bool hit;
};

static const struct keep_case keep_cases[] = {
	{ "an answer is kept for its TTL", { .mx = { MX(10, MX1, 600) },
	  .hosts = { HOST(MX1, 600, A1) } }, 300, MX_FOUND, 599999, true },
	{ "an answer is asked for again after its TTL", { .mx = { MX(10, MX1, 600) },
	  .hosts = { HOST(MX1, 600, A1) } }, 300, MX_FOUND, 600000, false },
	{ "NXDOMAIN is kept for NegativeTTL", { .mx_status = ARES_ENOTFOUND },
	  300, MX_NXDOMAIN, 299999, true },
	{ "NXDOMAIN is asked for again after NegativeTTL", { .mx_status = ARES_ENOTFOUND },
	  300, MX_NXDOMAIN, 300000, false },
	{ "SERVFAIL is kept for NegativeTTL", { .mx_status = ARES_ECONNREFUSED },
	  45, MX_SERVFAIL, 44999, true },
	{ "SERVFAIL is asked for again after NegativeTTL", { .mx_status = ARES_ECONNREFUSED },
	  45, MX_SERVFAIL, 45000, false },
	{ "a timeout is asked for again after NegativeTTL", { .mx_status = ARES_ETIMEOUT },
	  45, MX_TIMEOUT, 45000, false },
};

static void test_get_kept(void **state)
{
	const struct keep_case *kc = *state;
	const struct ttls ttls = { .negative = kc->negative_ttl };
	struct cache *c = cache_new(100, &set_ops, fake_clock);
	struct mxset *m1, *m2;
	bool hit;

	set_ttls(&ttls);
	zone = &kc->z;
	fake_now = 5000000;
	m1 = mxset_get(pool, c, cfg, "example.org", clock_ms() + 5000, &hit);
	assert_non_null(m1);
	assert_false(hit);
	assert_int_equal(m1->status, kc->status);
	fake_now += kc->later_ms;
	m2 = mxset_get(pool, c, cfg, "example.org", clock_ms() + 5000, &hit);
	assert_non_null(m2);
	assert_int_equal(hit, kc->hit);
	assert_int_equal(m1 == m2, kc->hit);
	assert_int_equal(queries("example.org", true), kc->hit ? 1 : 2);
	mxset_release(m1);
	mxset_release(m2);
	cache_free(c);
}

/* Threads asking for a cold domain, sharing the cache and a pool. */
struct getter {
	pthread_t tid;
	pthread_barrier_t *start;
	struct resolver_pool *pool;	/* NULL: the fixture's */
	const char *domain;		/* NULL: example.org */
	struct cache *c;
	uint64_t deadline;
	struct mxset *m;
	bool hit;
};

static void *getter_run(void *arg)
{
	struct getter *g = arg;

	if (g->start != NULL)
		pthread_barrier_wait(g->start);
	g->m = mxset_get(g->pool != NULL ? g->pool : pool, g->c, cfg,
			 g->domain != NULL ? g->domain : "example.org",
			 g->deadline != 0 ? g->deadline : clock_ms() + 5000, &g->hit);
	return NULL;
}

/* two_at_once - two threads lead a lookup of their own at the same time
 * (each answer 100 ms away), on the pool p */
static void two_at_once(struct resolver_pool *p, struct cache *c, int round)
{
	static const char *const domains[2] = { "one.example.net", "two.example.net" };
	struct getter g[2];
	pthread_barrier_t start;

	pthread_barrier_init(&start, NULL, 2);
	for (size_t i = 0; i < 2; i++) {
		g[i] = (struct getter){ .start = &start, .pool = p, .domain = domains[i], .c = c };
		assert_int_equal(pthread_create(&g[i].tid, NULL, getter_run, &g[i]), 0);
	}
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(g[i].tid, NULL), 0);
		assert_non_null(g[i].m);
		assert_false(g[i].hit);
		mxset_release(g[i].m);
		cache_forget(c, domains[i]);	/* cold again for the next round */
	}
	pthread_barrier_destroy(&start);
	assert_int_equal(queries(domains[0], true), round);
}

static const struct zone slow_two_mx = {
	.mx = { MX(10, MX1, 600), MX(20, MX2, 600) }, .delay_ms = 100,
	.hosts = { HOST(MX1, 600, A1), HOST(MX2, 600, A2) },
};

/* Two threads at once make at most two channels, round after round. */
static void test_pool_two_at_once(void **state)
{
	struct cache *c = mxset_cache_new(100);
	int before = atomic_load(&channels_made);

	(void)state;
	zone = &slow_two_mx;
	for (int round = 1; round <= 4; round++)
		two_at_once(pool, c, round);
	assert_in_range(atomic_load(&channels_made) - before, 1, 2);
	assert_int_equal(channels_live(), 1 + atomic_load(&channels_made) - before);
	cache_free(c);
}

/* A pool that keeps one idle destroys the other when both come back. */
static void test_pool_keeps_its_bound(void **state)
{
	struct resolver_pool *one_idle = resolver_pool_new(cfg, 1);
	struct cache *c = mxset_cache_new(100);

	(void)state;
	assert_non_null(one_idle);
	zone = &slow_two_mx;
	for (int round = 1; round <= 3; round++) {
		two_at_once(one_idle, c, round);
		assert_int_equal(channels_live(), 2);	/* the fixture's, one idle */
	}
	resolver_pool_free(one_idle);
	assert_int_equal(channels_live(), 1);
	cache_free(c);
}

/* No channel can be made: no set (the decision is error), and the domain
 * is not left pending: the next thread leads its lookup again. */
static void test_pool_no_channel(void **state)
{
	struct cache *c = mxset_cache_new(100);
	struct mxset *m;
	bool hit;

	(void)state;
	zone = &two_mx;
	atomic_store(&init_fails, true);
	assert_null(mxset_get(pool, c, cfg, "example.org", clock_ms() + 5000, &hit));
	assert_false(hit);
	assert_int_equal(queries("example.org", true), 0);
	atomic_store(&init_fails, false);
	m = mxset_get(pool, c, cfg, "example.org", clock_ms() + 5000, &hit);
	assert_non_null(m);
	assert_false(hit);
	assert_int_equal(m->status, MX_FOUND);
	mxset_release(m);
	cache_free(c);
}

/* A reload: the idle channel stays only when DnsServers, DnsTimeout and
 * DnsTries are what it was made from, and DnsServers is set. */
struct reload_case {
	const char *name;
	const char *servers, *servers_after;	/* NULL: the system's */
	unsigned timeout_after, tries_after;	/* 0: unchanged */
	bool kept;
	bool old_own;		/* a connection on the old configuration makes its own */
};

static const struct reload_case reload_cases[] = {
	{ "reload, same DNS keys: the idle channel is kept",
	  "127.0.0.1:5353", "127.0.0.1:5353", 0, 0, true, false },
	{ "reload, DnsServers changed: the idle channel is destroyed",
	  "127.0.0.1:5353", "127.0.0.1:5354", 0, 0, false, true },
	{ "reload, DnsServers set: the idle channel is destroyed",
	  NULL, "127.0.0.1:5353", 0, 0, false, true },
	{ "reload, DnsTimeout changed: the idle channel is destroyed",
	  "127.0.0.1:5353", "127.0.0.1:5353", 7000, 0, false, true },
	{ "reload, DnsTries changed: the idle channel is destroyed",
	  "127.0.0.1:5353", "127.0.0.1:5353", 0, 5, false, true },
	{ "reload without DnsServers: resolv.conf is read again",
	  NULL, NULL, 0, 0, false, false },
};

/* lookup_cold - one cold lookup of example.org through p with c */
static void lookup_cold(struct resolver_pool *p, const struct config *c)
{
	struct cache *cache = mxset_cache_new(10);
	struct mxset *m;
	bool hit;

	m = mxset_get(p, cache, c, "example.org", clock_ms() + 5000, &hit);
	assert_non_null(m);
	assert_false(hit);
	mxset_release(m);
	cache_free(cache);
}

static void test_pool_reload(void **state)
{
	const struct reload_case *rc = *state;
	static struct config before, after;
	char servers[64], servers_after[64];
	struct resolver_pool *p;
	int made;

	zone = &two_mx;
	before = *cfg;
	before.dns_servers = rc->servers != NULL
		? strcpy(servers, rc->servers) : NULL;
	after = before;
	after.dns_servers = rc->servers_after != NULL
		? strcpy(servers_after, rc->servers_after) : NULL;
	if (rc->timeout_after != 0)
		after.dns_timeout_ms = rc->timeout_after;
	if (rc->tries_after != 0)
		after.dns_tries = rc->tries_after;
	assert_non_null(p = resolver_pool_new(&before, 4));
	lookup_cold(p, &before);
	assert_int_equal(channels_live(), 2);		/* the fixture's, the idle one */
	made = atomic_load(&channels_made);
	resolver_pool_configure(p, &after);
	assert_int_equal(channels_live(), rc->kept ? 2 : 1);
	lookup_cold(p, &after);				/* a connection after the reload */
	assert_int_equal(atomic_load(&channels_made), made + !rc->kept);
	assert_int_equal(channels_live(), 2);
	if (rc->old_own) {
		/* a connection still on the old configuration: a channel of
		 * its own settings, destroyed after its lookup */
		made = atomic_load(&channels_made);
		lookup_cold(p, &before);
		assert_int_equal(atomic_load(&channels_made), made + 1);
		assert_int_equal(channels_live(), 2);
	}
	resolver_pool_free(p);
	assert_int_equal(channels_live(), 1);
}

static void test_get_single_flight(void **state)
{
	enum { N = 50 };
	static struct getter g[N];
	static const struct zone slow = {
		.mx = { MX(10, MX1, 600), MX(20, MX2, 600) }, .delay_ms = 100,
		.hosts = { HOST(MX1, 600, A1), HOST(MX2, 600, A2) },
	};
	struct cache *c = mxset_cache_new(100);
	pthread_barrier_t start;
	int before = atomic_load(&channels_made);
	int hits = 0;

	(void)state;
	zone = &slow;
	pthread_barrier_init(&start, NULL, N);
	for (size_t i = 0; i < N; i++) {
		g[i] = (struct getter){ .start = &start, .c = c };
	}
	for (size_t i = 0; i < N; i++)
		assert_int_equal(pthread_create(&g[i].tid, NULL, getter_run, &g[i]), 0);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(pthread_join(g[i].tid, NULL), 0);
	pthread_barrier_destroy(&start);
	assert_int_equal(queries("example.org", true), 1);
	assert_int_equal(all_addr_queries(), 2);
	for (size_t i = 0; i < N; i++) {
		assert_non_null(g[i].m);
		assert_ptr_equal(g[i].m, g[0].m);
		hits += g[i].hit;
	}
	assert_int_equal(g[0].m->status, MX_FOUND);
	assert_int_equal(g[0].m->n, 2);
	assert_int_equal(hits, N - 1);
	assert_int_equal(atomic_load(&channels_made), before + 1);	/* the leader's only */
	for (size_t i = 0; i < N; i++)
		mxset_release(g[i].m);
	cache_free(c);
}

static void test_get_waiter_deadline(void **state)
{
	static const struct zone slow = {
		.mx = { MX(10, MX1, 600) }, .delay_ms = 600, .hosts = { HOST(MX1, 600, A1) },
	};
	struct cache *c = mxset_cache_new(100);
	struct getter leader = { .c = c };
	struct mxset *m;
	bool hit = true;
	uint64_t t0;

	(void)state;
	zone = &slow;
	assert_int_equal(pthread_create(&leader.tid, NULL, getter_run, &leader), 0);
	while (queries("example.org", true) == 0)	/* the leader is asking */
		sleep_ms(1);
	t0 = clock_ms();
	m = mxset_get(pool, c, cfg, "example.org", t0 + 50, &hit);
	assert_true(clock_ms() - t0 >= 45);
	assert_non_null(m);
	assert_false(hit);
	assert_int_equal(m->status, MX_TIMEOUT);
	mxset_release(m);
	assert_int_equal(pthread_join(leader.tid, NULL), 0);
	assert_int_equal(leader.m->status, MX_FOUND);
	m = mxset_get(pool, c, cfg, "example.org", clock_ms() + 5000, &hit);
	assert_true(hit);
	assert_ptr_equal(m, leader.m);
	assert_int_equal(queries("example.org", true), 1);
	mxset_release(m);
	mxset_release(leader.m);
	cache_free(c);
}

/*
 * mxset_rank: sets built by hand, no DNS.
 */

struct rank_entry {
	unsigned pref;
	const char *host;
	const char *addrs[2];
};

struct rank_case {
	const char *name;
	enum mx_status status;
	struct rank_entry e[4];
	const char *local;		/* NULL: unknown */
	const char *local_addresses;	/* one CIDR or NULL */
	const char *local_name;		/* one LocalNames pattern or NULL */
	const char *interface;		/* one CIDR or NULL */
	bool has_self;
	unsigned rank, lowest;
	bool self[4];
};

#define THREE_MX { { 10, MX1, { A1 } }, { 20, MX2, { A2, "2001:db8::2" } }, \
		   { 30, "mx3.example.net", { "203.0.113.3" } } }

static const struct rank_case rank_cases[] = {
	{ "self by the local address: rank is its preference", MX_FOUND, THREE_MX,
	  A2, NULL, NULL, NULL, true, 20, 10, { false, true, false } },
	{ "self by the local IPv6 address", MX_FOUND, THREE_MX,
	  "2001:db8::2", NULL, NULL, NULL, true, 20, 10, { false, true, false } },
	{ "self by an IPv4-mapped local address", MX_FOUND, THREE_MX,
	  "::ffff:192.0.2.2", NULL, NULL, NULL, true, 20, 10, { false, true, false } },
	{ "self by LocalAddresses CIDR", MX_FOUND, THREE_MX,
	  "198.51.100.9", "203.0.113.0/24", NULL, NULL, true, 30, 10, { false, false, true } },
	{ "self by LocalNames, exact name", MX_FOUND, THREE_MX,
	  "198.51.100.9", NULL, MX2, NULL, true, 20, 10, { false, true, false } },
	{ "self by LocalNames, subdomain pattern", MX_FOUND, THREE_MX,
	  "198.51.100.9", NULL, ".example.net", NULL, true, 30, 10, { false, false, true } },
	{ "no local address: the interface list is used", MX_FOUND, THREE_MX,
	  NULL, NULL, NULL, "192.0.2.2/32", true, 20, 10, { false, true, false } },
	{ "local address known: the interface list is ignored", MX_FOUND, THREE_MX,
	  "198.51.100.9", NULL, NULL, "192.0.2.2/32", false, 0, 10, { false } },
	{ "not self at all", MX_FOUND, THREE_MX,
	  "198.51.100.9", NULL, NULL, NULL, false, 0, 10, { false } },
	{ "self at the lowest preference: rank == lowest", MX_FOUND, THREE_MX,
	  A1, NULL, NULL, NULL, true, 10, 10, { true, false, false } },
	{ "self at two preferences: the lowest of them", MX_FOUND,
	  { { 10, MX1, { A1 } }, { 20, MX2, { A2 } }, { 30, "mx3.example.org", { A2 } } },
	  A2, NULL, NULL, NULL, true, 20, 10, { false, true, true } },
	{ "self by address and by name: both marked, the lowest counts", MX_FOUND, THREE_MX,
	  "203.0.113.3", NULL, MX2, NULL, true, 20, 10, { false, true, true } },
	{ "status not MX_FOUND: nobody is self", MX_SERVFAIL, THREE_MX,
	  A1, NULL, NULL, NULL, false, 0, 0, { false } },
	{ "null MX: nobody is self", MX_NULL, { { 0 } },
	  A1, NULL, NULL, NULL, false, 0, 0, { false } },
};

static struct mxset *set_of(const struct rank_case *rc)
{
	size_t n = 0;
	struct mxset *m;

	while (n < 4 && rc->e[n].host != NULL)
		n++;
	m = calloc(1, sizeof(*m) + n * sizeof(m->v[0]));
	assert_non_null(m);
	atomic_init(&m->refs, 1);
	m->status = rc->status;
	snprintf(m->domain, sizeof(m->domain), "example.org");
	for (size_t i = 0; i < n; i++) {
		struct mx_entry *e = &m->v[i];

		e->pref = rc->e[i].pref;
		e->host = strdup(rc->e[i].host);
		assert_non_null(e->host);
		for (size_t j = 0; j < 2 && rc->e[i].addrs[j] != NULL; j++)
			assert_true(netaddr_parse(rc->e[i].addrs[j], &e->addrs[e->naddrs++]));
	}
	m->n = n;
	return m;
}

static void cidrs_of(const char *text, struct cidr_list *l)
{
	struct cidr c;
	char err[128];

	if (text == NULL)
		return;
	assert_true(cidr_parse(text, &c, err, sizeof(err)));
	assert_true(cidr_list_add(l, &c));
}

static void test_rank(void **state)
{
	const struct rank_case *rc = *state;
	struct mxset *m = set_of(rc);
	struct cidr_list local_addresses = { 0 }, interfaces = { 0 };
	struct domain_map names = { 0 };
	struct self_facts f = { .local_addresses = &local_addresses, .local_names = &names };
	struct mx_rank out;

	if (rc->local != NULL)
		assert_true(netaddr_parse(rc->local, &f.local));
	cidrs_of(rc->local_addresses, &local_addresses);
	cidrs_of(rc->interface, &interfaces);
	if (rc->interface != NULL)
		f.interfaces = &interfaces;
	if (rc->local_name != NULL) {
		assert_true(domain_map_add(&names, rc->local_name, 1, 1));
		assert_null(domain_map_sort(&names));
	}
	memset(&out, 0xa5, sizeof(out));	/* every field must be set */
	mxset_rank(m, &f, &out);
	assert_int_equal(out.has_self, rc->has_self);
	assert_int_equal(out.rank, rc->rank);
	assert_int_equal(out.lowest, rc->lowest);
	for (size_t i = 0; i < MX_MAX_ENTRIES; i++)
		assert_int_equal(out.self[i], i < 4 ? rc->self[i] : false);
	mxset_release(m);
	cidr_list_free(&local_addresses);
	cidr_list_free(&interfaces);
	domain_map_free(&names);
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(mx_status_name(MX_NULL), "null-mx");
	assert_string_equal(mx_host_status_name(HOST_BADNAME), "bad-name");
	assert_true(mx_status_is_error(MX_TIMEOUT));
	assert_true(mx_status_is_error(MX_BADANSWER));
	assert_false(mx_status_is_error(MX_NXDOMAIN));
	assert_false(mx_status_is_error(MX_NONE));
}

/* A refresh ahead of expiry: what it finds replaces the cached set, unless
 * it is a failure (or misses a host's addresses): then the good set stays
 * until it expires. */
struct refresh_case {
	const char *name;
	struct zone z;			/* what DNS says at the refresh */
	bool written;
};

static const struct refresh_case refresh_cases[] = {
	{ "refresh: a new answer replaces the cached one",
	  { .mx = { MX(10, MX2, 600) }, .hosts = { HOST(MX2, 600, A2) } }, true },
	{ "refresh: NXDOMAIN (the domain is gone) replaces it", { .mx_status = ARES_ENOTFOUND },
	  true },
	{ "refresh: SERVFAIL leaves the good answer", { .mx_status = ARES_ESERVFAIL }, false },
	{ "refresh: a refused query leaves it", { .mx_status = ARES_ECONNREFUSED }, false },
	{ "refresh: a timeout leaves it", { .mx_status = ARES_ETIMEOUT }, false },
	{ "refresh: a host that timed out leaves it",
	  { .mx = { MX(10, MX1, 600), MX(20, MX2, 600) },
	    .hosts = { HOST_FAILS(MX1, ARES_ETIMEOUT), HOST(MX2, 600, A2) } }, false },
};

static void test_refresh(void **state)
{
	const struct refresh_case *rc = *state;
	struct cache *c = cache_new(100, &set_ops, fake_clock);
	struct mxset *old, *now;
	bool hit;
	void *v;

	fake_now = 5000000;
	zone = &two_mx;
	old = mxset_get(pool, c, cfg, "example.org", clock_ms() + 5000, &hit);
	assert_non_null(old);
	fake_now += 599000;		/* one second left */
	zone = &rc->z;
	assert_int_equal(mxset_refresh(resolver, cfg, c, "example.org", clock_ms() + 5000),
			 rc->written);
	assert_true(cache_peek(c, "example.org", &v));
	now = v;
	assert_int_equal(now != old, rc->written);
	mxset_release(now);
	/* written: it lives from now on; not written: the old one expires */
	fake_now += 1000;
	assert_int_equal(cache_peek(c, "example.org", &v), rc->written);
	if (rc->written)
		mxset_release(v);
	mxset_release(old);
	cache_free(c);
}

/* A refresh of a domain pushed out of the cache meanwhile adds it. */
static void test_refresh_evicted(void **state)
{
	struct cache *c = cache_new(100, &set_ops, fake_clock);
	void *v;

	(void)state;
	fake_now = 5000000;
	zone = &two_mx;
	assert_true(mxset_refresh(resolver, cfg, c, "example.org", clock_ms() + 5000));
	assert_true(cache_peek(c, "example.org", &v));
	assert_int_equal(((struct mxset *)v)->n, 2);
	mxset_release(v);
	cache_free(c);
}

#define CASES(fn, table) \
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) \
		tests[n++] = (struct CMUnitTest){ table[i].name, fn, setup_resolver, \
						  teardown_resolver, (void *)&table[i] }
#define TEST(fn) \
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(fn, setup_resolver, \
									teardown_resolver)

int main(void)
{
	struct CMUnitTest tests[128];
	size_t n = 0;

	CASES(test_lookup, lookup_cases);
	CASES(test_many_records, many_cases);
	CASES(test_answer_ttl, ttl_cases);
	TEST(test_get_second_call_hits);
	TEST(test_channel_only_on_a_miss);
	TEST(test_pool_sequential_one_channel);
	TEST(test_pool_two_at_once);
	TEST(test_pool_keeps_its_bound);
	TEST(test_pool_no_channel);
	CASES(test_pool_reload, reload_cases);
	CASES(test_get_kept, keep_cases);
	TEST(test_get_single_flight);
	TEST(test_get_waiter_deadline);
	CASES(test_rank, rank_cases);
	TEST(test_status_names);
	CASES(test_refresh, refresh_cases);
	TEST(test_refresh_evicted);
	return _cmocka_run_group_tests("mxset", tests, n, setup_library, teardown_library);
}
