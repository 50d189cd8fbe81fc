/*
 * NAME
 *	probe - is a better MX reachable
 * SYNOPSIS
 *	#include "probe.h"
 * DESCRIPTION
 *	probe_better() finds out, for each MX entry better than this host's
 *	rank, whether it takes mail: a TCP connect to ProbePort and, with
 *	ProbeBanner, a 220 greeting. All addresses of all better entries are
 *	tried at once with non-blocking sockets, and it stops at the first
 *	that answers: one reachable better MX is enough for the verdict. A
 *	probe that got a greeting says QUIT before it closes.
 *
 *	Refused, silent (tarpit) and 4xx/5xx-greeting peers are unreachable.
 *	A probe lasts at most ProbeTimeout; the recipient's deadline cuts it
 *	shorter, and then the answer is "unknown", not "down".
 *
 *	Results are kept per address and port by the store (store.c:
 *	ProbeTTLUp, ProbeTTLDown); an "up" older than ProbeConfirm is probed
 *	again before anyone is accused on it, and a "down" is also kept as
 *	outage history (RecentDownWindow). They are shared by all threads
 *	and, with Redis, by the pool; a thread that finds another probing
 *	the same address waits for that result instead of probing again. At
 *	most ProbeConcurrency probes are in flight in the process.
 *	Probes go only to the MX hosts of a domain that lists this host as a
 *	backup: probe_better is called for nothing else.
 *
 *	probe_renew() probes one address again, the same way, ahead of its
 *	result's expiry (refresh.c's worker): its result replaces the old
 *	one (store_probe_renew), and a probe cut short writes nothing.
 */

#include "autoconfig.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "mxset.h"
#include "probe.h"
#include "stats.h"
#include "store.h"

#define GREETING_MAX 1024	/* a greeting longer than this is not SMTP */

struct prober {
	struct store *results;		/* kept and shared by the store */
	pthread_mutex_t lock;
	pthread_cond_t freed;
	unsigned in_flight;
	unsigned limit;
};

/* One probe of one address. */
struct attempt {
	int fd;
	size_t entry;
	bool connected;
	bool done;
	bool up;			/* the result, once done */
	bool dropped;			/* done without a result */
	bool renew;			/* a renewal: writes over the old result */
	size_t len;
	char key[NETADDR_STRLEN + 8];
	char buf[GREETING_MAX];
};

/* probe_parse_greeting - read an SMTP greeting as far as it has come */
enum greeting probe_parse_greeting(const char *buf, size_t len)
{
	size_t start = 0;

	for (;;) {
		const char *line = buf + start, *nl;
		size_t rest = len - start;

		/* the code decides as soon as it is there: "220" then ' '
		 * (last line), '-' (more lines follow) or the line end */
		for (size_t i = 0; i < 3 && i < rest; i++)
			if (line[i] != "220"[i])
				return GREETING_REFUSED;
		if (rest > 3 && memchr(" -\r\n", line[3], 4) == NULL)
			return GREETING_REFUSED;
		if ((nl = memchr(line, '\n', rest)) == NULL)
			return GREETING_PARTIAL;
		if (nl - line < 3)
			return GREETING_REFUSED;
		if (line[3] != '-')
			return GREETING_READY;
		start = (size_t)(nl - buf) + 1;
	}
}

/* prober_new - the process-wide prober, keeping its results in store */
struct prober *prober_new(struct store *store, unsigned concurrency)
{
	struct prober *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->results = store;
	pthread_mutex_init(&p->lock, NULL);
	clock_cond_init(&p->freed);
	p->limit = concurrency > 0 ? concurrency : 1;
	return p;
}

/* prober_free - no thread may probe any more */
void prober_free(struct prober *p)
{
	if (p == NULL)
		return;
	pthread_cond_destroy(&p->freed);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* prober_set_concurrency - a new limit (configuration reload) */
void prober_set_concurrency(struct prober *p, unsigned concurrency)
{
	pthread_mutex_lock(&p->lock);
	p->limit = concurrency > 0 ? concurrency : 1;
	pthread_cond_broadcast(&p->freed);
	pthread_mutex_unlock(&p->lock);
}

/* slot_take - a place among the probes in flight; wait only if asked */
static bool slot_take(struct prober *p, bool wait, uint64_t deadline_ms)
{
	bool ok;

	pthread_mutex_lock(&p->lock);
	while (p->in_flight >= p->limit && wait && clock_ms() < deadline_ms)
		clock_cond_wait(&p->freed, &p->lock, deadline_ms);
	if ((ok = p->in_flight < p->limit))
		p->in_flight++;
	pthread_mutex_unlock(&p->lock);
	return ok;
}

/* slot_give - a probe ended */
static void slot_give(struct prober *p)
{
	pthread_mutex_lock(&p->lock);
	p->in_flight--;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
}

/* attempt_start - a non-blocking connect; false if it failed at once */
static bool attempt_start(struct attempt *a, const struct netaddr *addr, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t len = netaddr_to_sockaddr(addr, port, &ss);

	a->fd = socket(addr->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0)
		return false;
	if (connect(a->fd, (struct sockaddr *)&ss, len) == 0) {
		a->connected = true;
		return true;
	}
	return errno == EINPROGRESS;
}

/* attempt_end - record the result of a finished probe */
static void attempt_end(struct prober *p, const struct config *cfg, struct attempt *a,
			bool up, bool polite)
{
	static const char quit[] = "QUIT\r\n";
	unsigned ttl = up ? cfg->probe_ttl_up : cfg->probe_ttl_down;

	if (polite && send(a->fd, quit, sizeof(quit) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* the server went away first: nothing to be polite to */
	}
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	a->done = true;
	a->up = up;
	slot_give(p);
	if (a->renew) {
		store_probe_renew(p->results, a->key, up, ttl, cfg->recent_down_window);
		return;
	}
	stats_add(up ? STAT_PROBE_UP : STAT_PROBE_DOWN);
	store_probe_put(p->results, a->key, up, ttl, cfg->recent_down_window);
}

/* attempt_open - start an attempt, settled at once (a->done, a->up) when
 * the connect failed, or succeeded and no greeting is awaited */
static void attempt_open(struct prober *p, const struct config *cfg, struct attempt *a,
			 const struct netaddr *addr, unsigned port)
{
	if (!attempt_start(a, addr, port))
		attempt_end(p, cfg, a, false, false);
	else if (a->connected && !cfg->probe_banner)
		attempt_end(p, cfg, a, true, false);
}

/* attempt_drop - give up a probe without a result */
static void attempt_drop(struct prober *p, struct attempt *a)
{
	close(a->fd);
	a->fd = -1;
	a->done = a->dropped = true;
	slot_give(p);
	if (!a->renew)
		store_probe_abandon(p->results, a->key);
}

/* attempt_io - the socket is ready: connected, greeted, refused? */
static void attempt_io(struct prober *p, const struct config *cfg, struct attempt *a,
		       short revents)
{
	if (!a->connected) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
			attempt_end(p, cfg, a, false, false);
			return;
		}
		a->connected = true;
		if (!cfg->probe_banner) {
			attempt_end(p, cfg, a, true, false);
			return;
		}
		if (!(revents & POLLIN))
			return;
	}
	ssize_t n = recv(a->fd, a->buf + a->len, sizeof(a->buf) - a->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		attempt_end(p, cfg, a, false, false);
		return;
	}
	a->len += (size_t)n;
	switch (probe_parse_greeting(a->buf, a->len)) {
	case GREETING_READY:
		attempt_end(p, cfg, a, true, true);
		break;
	case GREETING_REFUSED:
		attempt_end(p, cfg, a, false, true);
		break;
	case GREETING_PARTIAL:
		if (a->len == sizeof(a->buf))
			attempt_end(p, cfg, a, false, true);
		break;
	}
}

/* run - drive the attempts until one is up, all are done, or time is out;
 * returns the entry found up, or -1 */
static int run(struct prober *p, const struct config *cfg, struct attempt *at, size_t n,
	       uint64_t deadline_ms)
{
	uint64_t probe_end = clock_ms() + cfg->probe_timeout_ms;
	uint64_t end = probe_end < deadline_ms ? probe_end : deadline_ms;
	int up = -1;

	for (;;) {
		struct pollfd pfd[PROBE_MAX_ADDRS];
		size_t map[PROBE_MAX_ADDRS], k = 0;
		uint64_t now = clock_ms();

		for (size_t i = 0; i < n; i++)
			if (!at[i].done) {
				pfd[k] = (struct pollfd){ at[i].fd, at[i].connected ? POLLIN : POLLOUT, 0 };
				map[k++] = i;
			}
		if (k == 0 || up >= 0 || now >= end)
			break;
		if (poll(pfd, k, (int)(end - now)) < 0 && errno != EINTR)
			break;
		for (size_t j = 0; j < k; j++) {
			struct attempt *a = &at[map[j]];
			if (pfd[j].revents == 0)
				continue;
			attempt_io(p, cfg, a, pfd[j].revents);
			if (a->done && a->up)
				up = (int)a->entry;
		}
	}
	/* what is left: silent past ProbeTimeout is down; cut short, unknown */
	for (size_t i = 0; i < n; i++)
		if (!at[i].done) {
			if (up < 0 && end == probe_end && clock_ms() >= probe_end)
				attempt_end(p, cfg, &at[i], false, false);
			else
				attempt_drop(p, &at[i]);
		}
	return up;
}

/* probe_key - the store's key of an address and port */
void probe_key(char *key, size_t len, const struct netaddr *a, unsigned port)
{
	netaddr_format_cut(a, key, len);
	netaddr_append_uint(key, len, ' ', port);
}

/* probe_key_parse - the address and port of a probe key */
bool probe_key_parse(const char *key, struct netaddr *a, unsigned *port)
{
	char addr[NETADDR_STRLEN];
	const char *sp = strrchr(key, ' ');
	char *end;
	unsigned long n;

	if (sp == NULL || (size_t)(sp - key) >= sizeof(addr))
		return false;
	memcpy(addr, key, (size_t)(sp - key));
	addr[sp - key] = '\0';
	n = strtoul(sp + 1, &end, 10);
	if (end == sp + 1 || *end != '\0' || n == 0 || n > 65535 || !netaddr_parse(addr, a))
		return false;
	*port = (unsigned)n;
	return true;
}

/* probe_renew - probe the address of a probe key again, in the
 * background: one attempt as probe_better makes them, its result written
 * over the old one (a probe cut short writes nothing). False when it was
 * not probed: a bad key, or no free slot (mail goes first). */
bool probe_renew(struct prober *p, const struct config *cfg, const char *key)
{
	struct attempt a = { .fd = -1, .renew = true };
	struct netaddr addr;
	unsigned port;

	if (strlen(key) >= sizeof(a.key) || !probe_key_parse(key, &addr, &port)
	    || !slot_take(p, false, 0))
		return false;
	memcpy(a.key, key, strlen(key) + 1);
	attempt_open(p, cfg, &a, &addr, port);
	if (!a.done)
		run(p, cfg, &a, 1, UINT64_MAX);
	return true;
}

/* probe_better - the probe state of each MX entry better than the rank */
void probe_better(struct prober *p, const struct config *cfg, const struct mxset *m,
		  const struct mx_rank *rank, uint64_t deadline_ms, enum probe_state *states)
{
	struct attempt *at = NULL;	/* made when a probe must be sent: a warm
					 * decision allocates nothing */
	struct { size_t entry; char key[NETADDR_STRLEN + 8]; } waits[PROBE_MAX_ADDRS];
	bool unknown[MX_MAX_ENTRIES] = { false }, went[MX_MAX_ENTRIES] = { false };
	size_t better = mx_better(m, rank), n = 0, nw = 0, budget = PROBE_MAX_ADDRS;
	int up = -1;
	/* a bypass must rest on a result no older than ProbeConfirm */
	uint64_t now = store_now(p->results), confirm_ms = (uint64_t)cfg->probe_confirm * 1000;
	uint64_t fresh = confirm_ms > 0 && now > confirm_ms ? now - confirm_ms : 0;

	for (size_t i = 0; i < better; i++) {
		enum mx_host_status hs = m->v[i].status;
		states[i] = hs == HOST_OK ? PROBE_DOWN : hs == HOST_ERROR ? PROBE_UNKNOWN : PROBE_NONE;
	}
	/* what the local copy knows settles it without a probe or a question
	 * to the pool: an address up, wherever it stands, or every address
	 * down (the states say so already) */
	bool all_known = true;
	for (size_t i = 0; i < better; i++)
		for (size_t j = 0; j < m->v[i].naddrs; j++, budget--) {
			char key[sizeof(at[0].key)];
			bool is_up;

			if (budget == 0) {
				all_known = false;	/* a hostile set: the loop below says which */
				break;
			}
			probe_key(key, sizeof(key), &m->v[i].addrs[j], cfg->probe_port);
			if (!store_probe_known(p->results, key, fresh, &is_up)) {
				all_known = false;
			} else if (is_up) {
				states[i] = PROBE_UP;
				return;
			}
		}
	if (all_known)
		return;
	budget = PROBE_MAX_ADDRS;
	/* cached answers first; lead the probes nobody else is making */
	for (size_t i = 0; i < better && up < 0; i++) {
		const struct mx_entry *e = &m->v[i];
		for (size_t j = 0; j < e->naddrs && up < 0; j++) {
			char key[sizeof(at[0].key)];
			bool is_up;

			if (budget == 0) {
				unknown[i] = true;	/* a hostile set: not every address probed */
				break;
			}
			budget--;
			probe_key(key, sizeof(key), &e->addrs[j], cfg->probe_port);
			if (fresh > 0 && store_probe_stale(p->results, key, fresh)) {
				stats_add(STAT_PROBE_CONFIRMS);	/* up, but too long ago */
				went[i] = true;
			}
			switch (store_probe_get(p->results, key, 0, fresh, &is_up)) {
			case STORE_PROBE_HIT:
				if (is_up)
					up = (int)i;
				break;
			case STORE_PROBE_TIMEOUT:
				waits[nw].entry = i;
				memcpy(waits[nw++].key, key, sizeof(key));
				break;
			case STORE_PROBE_LEAD: {
				struct attempt *a;
				if (at == NULL && (at = calloc(PROBE_MAX_ADDRS, sizeof(*at))) == NULL) {
					log_error("probe: out of memory");
					store_probe_abandon(p->results, key);
					unknown[i] = true;
					break;
				}
				a = &at[n];
				if (!slot_take(p, n == 0, deadline_ms)) {
					store_probe_abandon(p->results, key);
					unknown[i] = true;
					break;
				}
				a->entry = i;
				memcpy(a->key, key, sizeof(key));
				stats_add(STAT_PROBES);
				n++;
				attempt_open(p, cfg, a, &e->addrs[j], cfg->probe_port);
				if (a->done && a->up)
					up = (int)i;
				break;
			}
			}
		}
	}
	if (up < 0 && n > 0)
		up = run(p, cfg, at, n, deadline_ms);
	/* addresses another thread was probing: wait for its results */
	for (size_t w = 0; w < nw && up < 0; w++) {
		bool is_up;
		switch (store_probe_get(p->results, waits[w].key, deadline_ms, fresh, &is_up)) {
		case STORE_PROBE_HIT:
			if (is_up)
				up = (int)waits[w].entry;
			break;
		case STORE_PROBE_LEAD:		/* that thread gave up: so do we */
			store_probe_abandon(p->results, waits[w].key);
			/* fall through */
		case STORE_PROBE_TIMEOUT:
			unknown[waits[w].entry] = true;
			break;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!at[i].done)
			attempt_drop(p, &at[i]);
		if (at[i].dropped)
			unknown[at[i].entry] = true;
	}
	free(at);
	if (up >= 0) {
		states[up] = PROBE_UP;
		return;
	}
	for (size_t i = 0; i < better; i++)
		if (states[i] == PROBE_DOWN && unknown[i])
			states[i] = PROBE_UNKNOWN;
		else if (states[i] == PROBE_DOWN && went[i])
			states[i] = PROBE_WENT_DOWN;
}
