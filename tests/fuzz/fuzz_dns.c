/*
 * NAME
 *	fuzz_dns - DNS answers as mxset.c reads them: MX and address replies
 * DESCRIPTION
 *	The answers are wire data from the input, parsed by the real c-ares
 *	and read by the real mxset_lookup(). As in tests/unit/test_mxset.c
 *	only the calls that would reach the network are replaced, at link
 *	time (ld --wrap): ares_query and ares_getaddrinfo answer from the
 *	input, at once, later (on the next ares_process_fd) or never (until
 *	ares_cancel); ares_timeout and clock_gettime run a fake clock, so a
 *	query that is never answered costs no real time and every run is
 *	the same. The ares_addrinfo answers, and ares_freeaddrinfo, are
 *	tests/common/ares_fake.c, shared with test_mxset.
 *
 *	Input, every field optional (missing octets read as 0):
 *	    u8 flags    bits 0-1 TTL bounds, 2-3 deadline, 4-7 what is "self"
 *	    u8 mode     of the MX query: bits 0-3 status, 4-5 timing
 *	    u16 n, n octets: the MX answer (wire format, big-endian length)
 *	    then, for each address query in the order mxset makes them:
 *	    u8 mode, u16 n, n octets of A answer, u16 m, m octets of AAAA answer
 *	A status other than success ignores the answer (the last status of
 *	an address query is success without any address); timing 0-1 at
 *	once, 2 later, 3 never.
 *
 *	What must hold, or the harness aborts:
 *	- the outcome is the one the contract gives for what the mock said:
 *	  NXDOMAIN, SERVFAIL, timeout, bad answer, null MX (every record "."),
 *	  no MX set, implicit MX (no MX records, the domain's own address);
 *	- a found set holds the lowest preferences of the first 256 records,
 *	  at most 64, best first, "." dropped, truncated when there were more
 *	  than 64; each host is the record's name normalised, or a bad-name
 *	  entry with a printable name; every other entry was looked up once,
 *	  in order, and holds the distinct addresses given, at most 16;
 *	- the TTL is the lowest TTL seen (dns_answer_ttl is checked against
 *	  a reading with ares_expand_name), clamped to MinTTL..MaxTTL, at most
 *	  NegativeTTL when a host failed; failures keep NegativeTTL;
 *	- nothing is pending when mxset_lookup returns (no callback can come
 *	  back to a finished lookup) and every ares_addrinfo was freed;
 *	- mxset_rank marks exactly the self entries and ranks by them.
 */

#include "autoconfig.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/time.h>

#include <ares.h>

#include "config.h"
#include "domainmap.h"
#include "log.h"
#include "mxset.h"
#include "netaddr.h"
#include "resolver.h"

#include "../common/ares_fake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

void __wrap_ares_cancel(ares_channel channel);
struct timeval *__wrap_ares_timeout(ares_channel channel, struct timeval *maxtv,
				    struct timeval *tv);
void __wrap_ares_process_fd(ares_channel channel, ares_socket_t read_fd, ares_socket_t write_fd);
int __wrap_clock_gettime(clockid_t id, struct timespec *ts);
int __real_clock_gettime(clockid_t id, struct timespec *ts);

#define CHECK(cond) ((cond) ? (void)0 : fail(#cond, __LINE__))
#define DOMAIN "example.org"
#define MAX_CALLS (MX_MAX_ENTRIES + 2)	/* address queries of one lookup */
#define MAX_NODES 128			/* addresses one mock answer gives */

static void fail(const char *what, int line)
{
	fprintf(stderr, "fuzz_dns:%d: invariant broken: %s\n", line, what);
	abort();
}

/*
 * The input.
 */

struct reader {
	const uint8_t *p;
	size_t n;
};

static unsigned get8(struct reader *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

static unsigned get16(struct reader *r)
{
	unsigned hi = get8(r);

	return hi << 8 | get8(r);
}

static const uint8_t *get_bytes(struct reader *r, size_t *len)
{
	size_t want = get16(r);
	const uint8_t *p = r->p;

	if (want > r->n)
		want = r->n;
	r->p += want;
	r->n -= want;
	*len = want;
	return p;
}

enum timing { AT_ONCE, LATER, NEVER };

static const int mx_statuses[16] = {
	ARES_SUCCESS, ARES_SUCCESS, ARES_SUCCESS, ARES_SUCCESS,
	ARES_SUCCESS, ARES_SUCCESS, ARES_SUCCESS, ARES_SUCCESS,
	ARES_ENODATA, ARES_ENOTFOUND, ARES_ESERVFAIL, ARES_EREFUSED,
	ARES_ETIMEOUT, ARES_EBADRESP, ARES_ECONNREFUSED, ARES_ENOMEM,
};

#define EMPTY_SUCCESS 1000	/* success, with an ares_addrinfo of no address */

static const int host_statuses[16] = {
	ARES_SUCCESS, ARES_SUCCESS, ARES_SUCCESS, ARES_SUCCESS,
	ARES_ENOTFOUND, ARES_ENODATA, ARES_ESERVFAIL, ARES_ETIMEOUT,
	ARES_SUCCESS, ARES_SUCCESS, ARES_EBADNAME, ARES_ECONNREFUSED,
	ARES_EBADRESP, ARES_ENOMEM, ARES_ECANCELLED, EMPTY_SUCCESS,
};

/* What the mock answers to one query. */
struct answer {
	int status;
	enum timing timing;
	const uint8_t *a, *aaaa;	/* MX: the answer is in a */
	size_t alen, aaaalen;
};

static enum timing timing_of(unsigned mode)
{
	unsigned t = mode >> 4 & 3;

	return t <= 1 ? AT_ONCE : t == 2 ? LATER : NEVER;
}

/*
 * What the mock said, for the checks afterwards.
 */

struct host_call {
	char name[DOMAIN_MAXLEN + 8];
	bool answered;
	int status;			/* what the callback was given */
	bool cname;
	size_t naddrs;			/* every address given, duplicates too */
	struct netaddr addrs[MAX_NODES];
	int ttls[MAX_NODES];
};

static struct reader in;		/* the rest of the input */
static struct host_call calls[MAX_CALLS];
static size_t ncalls;
static int mx_queries;
static int mx_status_given;		/* -1: not answered */
static uint64_t fake_ms;
static bool fake_clock;

/* Queries not answered yet, oldest first. */
struct outstanding {
	bool mx;
	ares_callback mx_cb;
	ares_addrinfo_callback ai_cb;
	void *arg;
	struct answer ans;
	struct host_call *hc;
};

static struct outstanding queue[MAX_CALLS + 1];
static size_t nqueue;

static const uint8_t *mx_answer;
static size_t mx_answer_len;

static void enqueue(const struct outstanding *o)
{
	CHECK(nqueue < sizeof(queue) / sizeof(queue[0]));
	queue[nqueue++] = *o;
}

/* deliver_mx - the MX callback, with the answer in a buffer of its size */
static void deliver_mx(ares_callback cb, void *arg, int status)
{
	mx_status_given = status;
	if (status == ARES_SUCCESS) {
		unsigned char *abuf = malloc(mx_answer_len > 0 ? mx_answer_len : 1);
		if (abuf == NULL)
			abort();
		if (mx_answer_len > 0)
			memcpy(abuf, mx_answer, mx_answer_len);
		cb(arg, ARES_SUCCESS, 0, abuf, (int)mx_answer_len);
		free(abuf);
	} else {
		cb(arg, status, 0, NULL, 0);
	}
}

/* add_node - one address of a mock ares_addrinfo, noted as given */
static bool add_node(struct ares_addrinfo_node ***tail, struct host_call *hc, int family,
		     const void *addr, int ttl)
{
	const struct ares_addrinfo_node *n = ares_fake_add_node(tail, family, addr, ttl);

	if (n == NULL)
		return false;
	CHECK(netaddr_from_sockaddr(n->ai_addr, &hc->addrs[hc->naddrs]));
	hc->ttls[hc->naddrs++] = ttl;
	return true;
}

static bool aliased(const struct hostent *h)
{
	return h != NULL && h->h_aliases != NULL && h->h_aliases[0] != NULL;
}

/* make_addrinfo - the A and AAAA answers, parsed by c-ares, as
 * ares_getaddrinfo would give them; a status when there is no address */
static int make_addrinfo(const char *node, const struct answer *ans, struct host_call *hc,
			 struct ares_addrinfo **out)
{
	struct ares_addrttl a4[MAX_NODES / 2];
	struct ares_addr6ttl a6[MAX_NODES / 2];
	struct hostent *h4 = NULL, *h6 = NULL;
	int n4 = MAX_NODES / 2, n6 = MAX_NODES / 2, r4, r6;
	struct ares_addrinfo *ai;
	struct ares_addrinfo_node **tail;
	const struct hostent *canon;

	r4 = ans->alen > 0 ? ares_parse_a_reply(ans->a, (int)ans->alen, &h4, a4, &n4)
		: ARES_ENODATA;
	r6 = ans->aaaalen > 0 ? ares_parse_aaaa_reply(ans->aaaa, (int)ans->aaaalen, &h6, a6, &n6)
		: ARES_ENODATA;
	if (r4 != ARES_SUCCESS)
		n4 = 0;
	if (r6 != ARES_SUCCESS)
		n6 = 0;
	canon = aliased(h4) ? h4 : aliased(h6) ? h6 : NULL;
	*out = NULL;
	if (n4 + n6 == 0
	    || (ai = ares_fake_addrinfo(node, canon != NULL ? canon->h_name : NULL, 0)) == NULL) {
		if (h4 != NULL)
			ares_free_hostent(h4);
		if (h6 != NULL)
			ares_free_hostent(h6);
		if (n4 + n6 != 0)
			return ARES_ENOMEM;
		return r4 == ARES_EBADRESP || r6 == ARES_EBADRESP ? ARES_EBADRESP : ARES_ENODATA;
	}
	hc->cname = ai->cnames != NULL;
	tail = &ai->nodes;
	for (int i = 0; i < n4; i++)
		if (!add_node(&tail, hc, AF_INET, &a4[i].ipaddr, a4[i].ttl))
			break;
	for (int i = 0; i < n6; i++)
		if (!add_node(&tail, hc, AF_INET6, &a6[i].ip6addr, a6[i].ttl))
			break;
	if (h4 != NULL)
		ares_free_hostent(h4);
	if (h6 != NULL)
		ares_free_hostent(h6);
	*out = ai;
	return ARES_SUCCESS;
}

/* deliver_host - the address callback; cancelled: ARES_ECANCELLED */
static void deliver_host(const struct outstanding *o, bool cancelled)
{
	struct host_call *hc = o->hc;
	struct ares_addrinfo *ai = NULL;
	int status = cancelled ? ARES_ECANCELLED : o->ans.status;

	if (status == ARES_SUCCESS) {
		status = make_addrinfo(hc->name, &o->ans, hc, &ai);
	} else if (status == EMPTY_SUCCESS) {
		status = ARES_SUCCESS;
		if ((ai = ares_fake_addrinfo(hc->name, NULL, 0)) == NULL || ai->name == NULL)
			abort();
	}
	hc->answered = true;
	hc->status = status;
	o->ai_cb(o->arg, status, 0, status == ARES_SUCCESS ? ai : NULL);
}

void __wrap_ares_query(ares_channel channel, const char *name, int dnsclass, int type,
		       ares_callback callback, void *arg)
{
	unsigned mode = get8(&in);
	struct outstanding o = { .mx = true, .mx_cb = callback, .arg = arg };

	(void)channel;
	mx_queries++;
	CHECK(mx_queries == 1);
	CHECK(dnsclass == ns_c_in && type == ns_t_mx && strcmp(name, DOMAIN) == 0);
	o.ans.status = mx_statuses[mode & 15];
	o.ans.timing = timing_of(mode);
	mx_answer = get_bytes(&in, &mx_answer_len);
	if (o.ans.timing == AT_ONCE)
		deliver_mx(callback, arg, o.ans.status);
	else
		enqueue(&o);
}

void __wrap_ares_getaddrinfo(ares_channel channel, const char *node, const char *service,
			     const struct ares_addrinfo_hints *hints,
			     ares_addrinfo_callback callback, void *arg)
{
	unsigned mode = get8(&in);
	struct outstanding o = { .mx = false, .ai_cb = callback, .arg = arg };

	(void)channel;
	CHECK(ncalls < MAX_CALLS);
	CHECK(service == NULL && hints != NULL && hints->ai_family == AF_UNSPEC);
	o.hc = &calls[ncalls++];
	memset(o.hc, 0, sizeof(*o.hc));
	CHECK(strlen(node) < sizeof(o.hc->name));
	snprintf(o.hc->name, sizeof(o.hc->name), "%s", node);
	o.ans.status = host_statuses[mode & 15];
	o.ans.timing = timing_of(mode);
	o.ans.a = get_bytes(&in, &o.ans.alen);
	o.ans.aaaa = get_bytes(&in, &o.ans.aaaalen);
	if (o.ans.timing == AT_ONCE)
		deliver_host(&o, false);
	else
		enqueue(&o);
}

/* ares_cancel: every query outstanding now ends with ARES_ECANCELLED */
void __wrap_ares_cancel(ares_channel channel)
{
	struct outstanding now[sizeof(queue) / sizeof(queue[0])];
	size_t n = nqueue;

	(void)channel;
	memcpy(now, queue, n * sizeof(now[0]));
	nqueue = 0;
	for (size_t i = 0; i < n; i++) {
		if (now[i].mx)
			deliver_mx(now[i].mx_cb, now[i].arg, ARES_ECANCELLED);
		else
			deliver_host(&now[i], true);
	}
}

/* ares_timeout: no wait while an answer is due; else the whole wait
 * passes at once on the fake clock */
struct timeval *__wrap_ares_timeout(ares_channel channel, struct timeval *maxtv,
				    struct timeval *tv)
{
	bool due = false;

	(void)channel;
	/* mxset waits only while a query of its own is outstanding */
	CHECK(nqueue > 0);
	for (size_t i = 0; i < nqueue; i++)
		due |= queue[i].ans.timing == LATER;
	if (!due && maxtv != NULL)
		fake_ms += (uint64_t)maxtv->tv_sec * 1000 + (uint64_t)maxtv->tv_usec / 1000;
	tv->tv_sec = 0;
	tv->tv_usec = 0;
	return tv;
}

/* ares_process_fd: the oldest answer that is due arrives */
void __wrap_ares_process_fd(ares_channel channel, ares_socket_t read_fd, ares_socket_t write_fd)
{
	(void)channel;
	CHECK(read_fd == ARES_SOCKET_BAD && write_fd == ARES_SOCKET_BAD);
	for (size_t i = 0; i < nqueue; i++) {
		struct outstanding o;

		if (queue[i].ans.timing != LATER)
			continue;
		o = queue[i];
		memmove(&queue[i], &queue[i + 1], (nqueue - i - 1) * sizeof(queue[0]));
		nqueue--;
		if (o.mx)
			deliver_mx(o.mx_cb, o.arg, o.ans.status);
		else
			deliver_host(&o, false);
		return;
	}
}

int __wrap_clock_gettime(clockid_t id, struct timespec *ts)
{
	if (!fake_clock || id != CLOCK_MONOTONIC)
		return __real_clock_gettime(id, ts);
	ts->tv_sec = (time_t)(fake_ms / 1000);
	ts->tv_nsec = (long)(fake_ms % 1000) * 1000000L;
	return 0;
}

/*
 * The expectations.
 */

static struct config *cfg;
static struct resolver *resolver;
static bool show;		/* FUZZ_SHOW set: print each set, for writing seeds */

struct ttl_bounds {
	unsigned min, max, negative;
};

static const struct ttl_bounds ttl_choices[4] = {
	{ 60, 3600, 300 }, { 0, 1, 0 }, { 300, 300, 60 }, { 0, 604800, 86400 },
};

static const uint64_t deadline_choices[4] = { 0, 1000, 4000, 60000 };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct config_diag d = { 0 };
	char err[256];

	(void)argc;
	(void)argv;
	/* log lines are made and sanitised, but go nowhere */
	log_setup(false, LOG_MAIL, LOG_DEBUG, false);
	show = getenv("FUZZ_SHOW") != NULL;
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
		abort();
	cfg = config_load("/nonexistent/mxbypass-milter.conf", false, &d);
	config_diag_free(&d);
	if (cfg == NULL || (resolver = resolver_new(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_dns: set-up failed: %s\n", cfg == NULL ? "config" : err);
		abort();
	}
	return 0;
}

/* expect_status - the outcome a failed MX query means (docs/design.md "MX set outcomes") */
static enum mx_status expect_status(int status)
{
	switch (status) {
	case ARES_ENOTFOUND: return MX_NXDOMAIN;
	case ARES_ENODATA: return MX_NONE;
	case ARES_ESERVFAIL: case ARES_EREFUSED: case ARES_ECONNREFUSED: return MX_SERVFAIL;
	case ARES_ETIMEOUT: case ARES_ECANCELLED: return MX_TIMEOUT;
	case ARES_EBADRESP: case ARES_EFORMERR: case ARES_EBADNAME: return MX_BADANSWER;
	default: return MX_ERROR;
	}
}

static enum mx_host_status expect_host_status(int status)
{
	switch (status) {
	case ARES_SUCCESS: return HOST_OK;
	case ARES_ENOTFOUND: return HOST_NXDOMAIN;
	case ARES_ENODATA: return HOST_NODATA;
	case ARES_EBADNAME: return HOST_BADNAME;
	default: return HOST_ERROR;
	}
}

/* expect_call_status - what an entry's address lookup came to */
static enum mx_host_status expect_call_status(const struct host_call *hc)
{
	if (hc->status == ARES_SUCCESS && hc->naddrs == 0)
		return HOST_NODATA;	/* an answer without an address */
	return expect_host_status(hc->status);
}

/* ref_answer_ttl - dns_answer_ttl's job done with ares_expand_name; false
 * when a name does not expand (then there is no reference answer) */
static bool ref_answer_ttl(const unsigned char *b, int len, int type, unsigned *out)
{
	const unsigned char *p = b + NS_HFIXEDSZ, *end = b + len;
	unsigned qd, an, best = UINT32_MAX;

	*out = 0;
	if (len < NS_HFIXEDSZ)
		return true;
	qd = (unsigned)(b[4] << 8 | b[5]);
	an = (unsigned)(b[6] << 8 | b[7]);
	for (; qd > 0; qd--) {
		char *name;
		long enc;
		if (p >= end || ares_expand_name(p, b, len, &name, &enc) != ARES_SUCCESS)
			return false;
		ares_free_string(name);
		if (end - p < enc + 4)
			return true;
		p += enc + 4;
	}
	for (; an > 0; an--) {
		unsigned rtype, ttl, rdlen;
		char *name;
		long enc;
		if (p >= end || ares_expand_name(p, b, len, &name, &enc) != ARES_SUCCESS)
			return false;
		ares_free_string(name);
		if (end - p < enc + 10)
			return true;
		p += enc;
		rtype = (unsigned)(p[0] << 8 | p[1]);
		ttl = (unsigned)p[4] << 24 | (unsigned)p[5] << 16 | (unsigned)p[6] << 8 | p[7];
		rdlen = (unsigned)(p[8] << 8 | p[9]);
		p += 10;
		if ((size_t)(end - p) < rdlen)
			return true;
		p += rdlen;
		if (ttl > INT32_MAX)
			ttl = 0;
		if ((rtype == (unsigned)type || rtype == ns_t_cname) && ttl < best)
			best = ttl;
	}
	*out = best == UINT32_MAX ? 0 : best;
	return true;
}

/* check_answer_ttl - dns_answer_ttl on the raw answer, in an exact buffer */
static unsigned check_answer_ttl(const uint8_t *data, size_t len, int type, bool *known)
{
	unsigned char *b = calloc(1, len > 0 ? len : 1);
	unsigned got, want;

	if (b == NULL)
		abort();
	if (len > 0)
		memcpy(b, data, len);
	got = dns_answer_ttl(b, (int)len, type);
	CHECK(got <= INT32_MAX);
	*known = ref_answer_ttl(b, (int)len, type, &want);
	if (*known)
		CHECK(got == want);
	free(b);
	return got;
}

static bool printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

/* check_addresses - an entry holds the distinct addresses of its answer */
static void check_addresses(const struct mx_entry *e, const struct host_call *hc)
{
	size_t want = 0;

	CHECK(e->naddrs <= MX_MAX_ADDRS);
	for (size_t i = 0; i < hc->naddrs; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = netaddr_equal(&hc->addrs[i], &hc->addrs[j]);
		if (seen)
			continue;
		if (want < MX_MAX_ADDRS) {
			CHECK(want < e->naddrs && netaddr_equal(&e->addrs[want], &hc->addrs[i]));
			CHECK(e->addrs[want].family == AF_INET || e->addrs[want].family == AF_INET6);
		}
		want++;
	}
	CHECK(e->naddrs == (want < MX_MAX_ADDRS ? want : MX_MAX_ADDRS));
}

/* lowest_addr_ttl - the lowest TTL among the addresses given to a call */
static uint32_t lowest_addr_ttl(const struct host_call *hc, uint32_t ttl)
{
	if (hc->status != ARES_SUCCESS)
		return ttl;
	for (size_t i = 0; i < hc->naddrs; i++) {
		uint32_t t = hc->ttls[i] > 0 ? (uint32_t)hc->ttls[i] : 0;
		if (t < ttl)
			ttl = t;
	}
	return ttl;
}

/* entry_from - the entry is made from this MX record: its name
 * normalised (*valid), or shown sanitised as a bad name */
static bool entry_from(const struct mx_entry *e, const struct ares_mx_reply *r, bool *valid)
{
	char norm[DOMAIN_MAXLEN + 1], shown[64];

	if (e->pref != r->priority || r->host[0] == '\0')
		return false;
	if ((*valid = domain_normalize(r->host, strlen(r->host), norm, sizeof(norm))))
		return strcmp(e->host, norm) == 0;
	log_sanitize(shown, sizeof(shown), r->host);
	return e->status == HOST_BADNAME && strcmp(e->host, shown) == 0;
}

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return (x > y) - (x < y);
}

/* check_found - a set built from MX records: the records it must hold */
static void check_found(const struct mxset *m, const struct ares_mx_reply *mx)
{
	const struct ares_mx_reply *first[MX_MAX_ENTRIES * 4];
	unsigned prefs[MX_MAX_ENTRIES * 4];
	bool used[MX_MAX_ENTRIES * 4] = { false };
	size_t total = 0, n = 0, real = 0, call = 0;

	for (const struct ares_mx_reply *r = mx; r != NULL; r = r->next, total++)
		if (n < MX_MAX_ENTRIES * 4)
			first[n++] = r;
	for (size_t i = 0; i < n; i++)
		if (first[i]->host[0] != '\0')
			prefs[real++] = first[i]->priority;
	qsort(prefs, real, sizeof(prefs[0]), cmp_unsigned);
	CHECK(m->n == (real < MX_MAX_ENTRIES ? real : MX_MAX_ENTRIES));
	CHECK(m->truncated == (total > MX_MAX_ENTRIES));
	CHECK(!m->implicit);
	for (size_t i = 0; i < m->n; i++) {
		const struct mx_entry *e = &m->v[i];
		bool matched = false, valid = false;

		CHECK(e->pref == prefs[i]);
		CHECK(e->host != NULL && printable(e->host));
		for (size_t j = 0; j < n && !matched; j++)
			if (!used[j] && entry_from(e, first[j], &valid))
				used[j] = matched = true;
		CHECK(matched);
		if (!valid) {
			/* never looked up */
			CHECK(e->status == HOST_BADNAME && e->naddrs == 0);
			continue;
		}
		/* looked up once, in the order of the set */
		CHECK(call < ncalls);
		CHECK(strcmp(calls[call].name, e->host) == 0);
		CHECK(calls[call].answered);
		CHECK(e->status == expect_call_status(&calls[call]));
		CHECK(e->cname == (calls[call].status == ARES_SUCCESS && calls[call].cname));
		if (e->status == HOST_OK)
			check_addresses(e, &calls[call]);
		else
			CHECK(e->naddrs == 0);
		CHECK((e->status == HOST_OK) == (e->naddrs > 0));
		call++;
	}
	CHECK(call == ncalls);
}

/* settled - the TTL bounds applied to the lowest TTL seen */
static unsigned settled(uint32_t ttl, const struct ttl_bounds *b, bool unsure)
{
	if (ttl < b->min)
		ttl = b->min;
	if (ttl > b->max)
		ttl = b->max;
	if (unsure && ttl > b->negative)
		ttl = b->negative;
	return ttl;
}

/* check_rank - self entries and the rank, from the facts chosen */
static void check_rank(const struct mxset *m, unsigned choice)
{
	static const char *const locals[4] = { NULL, "192.0.2.1", "2001:db8::1", "198.51.100.7" };
	struct cidr_list local_addresses = { 0 }, interfaces = { 0 };
	struct domain_map names = { 0 };
	struct self_facts f = { 0 };
	struct mx_rank out;
	struct cidr c;
	char err[128];
	bool any = false;
	unsigned rank = 0, lowest = UINT32_MAX;

	if (locals[choice & 3] != NULL)
		CHECK(netaddr_parse(locals[choice & 3], &f.local));
	if (choice & 4) {
		CHECK(cidr_parse("192.0.2.0/28", &c, err, sizeof(err)) && cidr_list_add(&local_addresses, &c));
		f.local_addresses = &local_addresses;
	}
	if (choice & 8) {
		CHECK(domain_map_add(&names, "mx2.example.org", 1, 1));
		CHECK(domain_map_add(&names, ".example.net", 1, 1));
		CHECK(domain_map_sort(&names) == NULL);
		f.local_names = &names;
	}
	CHECK(cidr_parse("2001:db8::/64", &c, err, sizeof(err)) && cidr_list_add(&interfaces, &c));
	f.interfaces = &interfaces;

	memset(&out, 0xa5, sizeof(out));
	mxset_rank(m, &f, &out);
	for (size_t i = 0; i < MX_MAX_ENTRIES; i++) {
		bool self = false;
		if (m->status == MX_FOUND && i < m->n) {
			const struct mx_entry *e = &m->v[i];
			self = f.local_names != NULL && domain_map_find(&names, e->host) != NULL;
			for (size_t k = 0; k < e->naddrs; k++) {
				if (f.local.family != 0 ? netaddr_equal(&e->addrs[k], &f.local)
				    : cidr_list_match(&interfaces, &e->addrs[k]))
					self = true;
				if (f.local_addresses != NULL
				    && cidr_list_match(&local_addresses, &e->addrs[k]))
					self = true;
			}
			if (e->pref < lowest)
				lowest = e->pref;
			if (self && (!any || e->pref < rank))
				rank = e->pref;
			any |= self;
		}
		CHECK(out.self[i] == self);
	}
	CHECK(out.has_self == any);
	CHECK(out.rank == (any ? rank : 0));
	CHECK(out.lowest == (m->status == MX_FOUND && m->n > 0 ? lowest : 0));
	cidr_list_free(&local_addresses);
	cidr_list_free(&interfaces);
	domain_map_free(&names);
}

/* show_set - what the lookup came to, on stderr */
static void show_set(const struct mxset *m)
{
	fprintf(stderr, "fuzz_dns: %s %s%s%s ttl=%u, %zu entries, %zu address queries\n",
		m->domain, mx_status_name(m->status), m->implicit ? " implicit" : "",
		m->truncated ? " truncated" : "", m->ttl, m->n, ncalls);
	for (size_t i = 0; i < m->n; i++) {
		const struct mx_entry *e = &m->v[i];
		fprintf(stderr, "  %u %s %s%s", e->pref, e->host, mx_host_status_name(e->status),
			e->cname ? " cname" : "");
		for (size_t k = 0; k < e->naddrs; k++) {
			char a[NETADDR_STRLEN];
			fprintf(stderr, " %s", netaddr_format(&e->addrs[k], a, sizeof(a)));
		}
		fputc('\n', stderr);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct ttl_bounds *tb;
	struct ares_mx_reply *mx = NULL;
	struct mxset *m;
	unsigned flags, answer_ttl = 0;
	uint32_t lowest = UINT32_MAX;
	bool unsure = false, ttl_known = true;
	int parsed = ARES_ENODATA;

	in = (struct reader){ data, size };
	flags = get8(&in);
	tb = &ttl_choices[flags & 3];
	cfg->min_ttl = tb->min;
	cfg->max_ttl = tb->max;
	cfg->negative_ttl = tb->negative;
	ncalls = 0;
	nqueue = 0;
	mx_queries = 0;
	mx_status_given = -1;
	mx_answer = NULL;
	mx_answer_len = 0;
	ares_fake_reset();
	fake_ms = 1000000;

	fake_clock = true;
	m = mxset_lookup(resolver, cfg, DOMAIN, fake_ms + deadline_choices[flags >> 2 & 3]);
	fake_clock = false;

	/* nothing can call back into the finished lookup; nothing leaked */
	CHECK(nqueue == 0);
	CHECK(ares_fake_live() == 0);
	CHECK(m != NULL);
	CHECK(mx_queries == 1 && mx_status_given != -1);
	CHECK(strcmp(m->domain, DOMAIN) == 0);
	CHECK(m->n <= MX_MAX_ENTRIES);
	CHECK(m->status != MX_FOUND || m->n > 0);
	if (m->status != MX_FOUND)
		CHECK(m->n == 0 && !m->implicit);

	if (mx_status_given == ARES_SUCCESS) {
		parsed = ares_parse_mx_reply(mx_answer, (int)mx_answer_len, &mx);
		answer_ttl = check_answer_ttl(mx_answer, mx_answer_len, ns_t_mx, &ttl_known);
		if (parsed == ARES_SUCCESS && mx == NULL)
			parsed = ARES_ENODATA;	/* no MX records: as NODATA */
	} else {
		parsed = mx_status_given;
	}
	/* dns_answer_ttl reads any answer safely, whatever the type */
	{
		bool k;
		(void)check_answer_ttl(mx_answer, mx_answer_len, ns_t_a, &k);
	}

	if (parsed == ARES_ENODATA) {
		/* no MX records: the domain itself, if it has an address */
		CHECK(ncalls == 1 && strcmp(calls[0].name, DOMAIN) == 0 && calls[0].answered);
		if (expect_call_status(&calls[0]) == HOST_OK) {
			CHECK(m->status == MX_FOUND && m->implicit && m->n == 1);
			CHECK(m->v[0].pref == 0 && strcmp(m->v[0].host, DOMAIN) == 0);
			CHECK(m->v[0].status == HOST_OK && m->v[0].cname == calls[0].cname);
			check_addresses(&m->v[0], &calls[0]);
			lowest = lowest_addr_ttl(&calls[0], lowest);
		} else if (expect_call_status(&calls[0]) == HOST_ERROR) {
			CHECK(m->status == expect_status(calls[0].status));
		} else {
			CHECK(m->status == MX_NONE);
		}
	} else if (parsed != ARES_SUCCESS) {
		CHECK(ncalls == 0);
		CHECK(m->status == expect_status(parsed));
	} else {
		size_t total = 0, dots = 0, real_first = 0;
		for (const struct ares_mx_reply *r = mx; r != NULL; r = r->next, total++) {
			dots += r->host[0] == '\0';
			if (total < MX_MAX_ENTRIES * 4 && r->host[0] != '\0')
				real_first++;
		}
		lowest = answer_ttl;
		if (dots == total) {
			CHECK(m->status == MX_NULL);		/* RFC 7505 */
			CHECK(ncalls == 0);
		} else if (real_first == 0) {
			CHECK(m->status == MX_NONE);
		} else {
			CHECK(m->status == MX_FOUND);
			check_found(m, mx);
			for (size_t i = 0; i < ncalls; i++)
				lowest = lowest_addr_ttl(&calls[i], lowest);
		}
	}
	if (mx != NULL)
		ares_free_data(mx);

	/* how long it may be kept */
	for (size_t i = 0; i < m->n; i++)
		unsure |= m->v[i].status == HOST_ERROR;
	if (m->status == MX_FOUND || m->status == MX_NULL) {
		CHECK(m->ttl <= tb->max);
		CHECK(m->ttl >= (unsure && tb->negative < tb->min ? tb->negative : tb->min));
		if (unsure)
			CHECK(m->ttl <= tb->negative);
		if (ttl_known)
			CHECK(m->ttl == settled(lowest, tb, unsure));
	} else {
		CHECK(m->ttl == tb->negative);
	}
	CHECK(!mx_status_is_error(m->status) || m->n == 0);

	check_rank(m, flags >> 4);
	if (show)
		show_set(m);
	mxset_release(m);
	return 0;
}
