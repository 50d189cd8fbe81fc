/*
 * NAME
 *	redis - StateBackend redis: the shared store in Redis
 * SYNOPSIS
 *	#include "store_backend.h"
 *
 *	extern const struct store_backend redis_backend;
 * DESCRIPTION
 *	The operations store.c needs, each one round trip (commands
 *	pipelined) on a connection taken from a small pool, each bounded by
 *	RedisTimeout (a socket timeout on every read and write). A
 *	connection that fails, times out or reads a reply of the wrong shape
 *	(redis_reply.c) is closed, and the whole store counts as down: from
 *	then on every operation says "no answer" at once, and store.c
 *	answers from memory.
 *
 *	One thread of our own owns the way back: it reconnects with a
 *	backoff (250 ms doubling to 10 s), so a mail thread never waits for a
 *	server that is away; each change of state is logged once. The same
 *	thread writes the witnesses the connect steps queue, at once and
 *	pipelined, so that recording a connection costs the mail nothing. While
 *	Redis is up the same thread writes this milter's counts of the
 *	current minute to the pool once a second (kept a day): the counters,
 *	the heaviest bypassing clients and domains, and this milter into the
 *	set of milters seen. Values, not increments: a write that timed out
 *	but was carried out later is simply written again. -S adds up every
 *	milter's minutes.
 *
 *	Keys: RedisPrefix, then "retry:NETWORK:DOMAIN", "probe:ADDRESS PORT",
 *	"down:ADDRESS PORT" (when it was last probed down), "witness:NETWORK:
 *	ADDRESS" (when a client of that network connected to that address of
 *	a milter of the pool), all escaped by store_key, and per milter (ID: host/pid/start) and
 *	minute "stats:MINUTE:ID", "stats:clients:MINUTE:ID",
 *	"stats:domains:MINUTE:ID", and "milters", the set of milters by the
 *	time they last reported.
 */

#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "redis_reply.h"
#include "stats.h"
#include "store.h"
#include "store_backend.h"

#define POOL_MAX 32		/* idle connections kept */
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 10000
#define STEADY_MS 30000	/* up this long: a failure starts the backoff again */
#define PUSH_MS 1000		/* counters to the pool, this often */
#define MINUTE_KEEP_S 86400	/* per-minute counters kept this long */
#define REPORT_MAX_S 86400	/* -S looks back this far at most */
#define REPORT_MILTERS 128	/* milters -S adds up, at most */
#define WHY_MAX 160
#define WRITE_QUEUE 1024	/* time records waiting for the thread, at most */

/* A time record to write (a witness), queued for the store's thread. */
struct pending {
	char key[STORE_TIME_KEY_MAX];
	uint64_t ms;
	unsigned expire_s;
};

struct redis {
	char *server;			/* as configured, for the logs */
	char *host, *path;		/* host and port, or a unix socket path */
	int port;
	char *password;
	unsigned database;
	char *prefix;
	char id[300];			/* this milter in the set of milters */
	atomic_uint timeout_ms;

	pthread_mutex_t lock;
	pthread_cond_t wake;
	redisContext *idle[POOL_MAX];
	size_t nidle;
	atomic_bool up;
	bool stopping;
	unsigned backoff_ms;
	uint64_t retry_at, down_since, up_since;
	pthread_t thread;
	bool running;			/* the thread was started */
	struct pending *queue;		/* ring of WRITE_QUEUE records to write */
	size_t qhead, qlen;
	bool push;			/* share the counters (the daemon, not -t) */
	/* the thread's: what the pool has of this milter's counts */
	uint64_t minute;		/* the minute being written */
	uint64_t base[STAT_COUNT];	/* the totals when it began */
	uint64_t written[STAT_COUNT];	/* the totals last written */
};

static void redis_free(void *state);

/* timeval_ms - a timeval of ms milliseconds */
static struct timeval timeval_ms(unsigned ms)
{
	return (struct timeval){ .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
}

/* server_parse - "host:port", "[v6]:port" or "unix:PATH" (checked by config.c) */
static bool server_parse(struct redis *r, const char *spec)
{
	const char *colon;

	if (strncmp(spec, "unix:", 5) == 0)
		return (r->path = strdup(spec + 5)) != NULL;
	if ((colon = strrchr(spec, ':')) == NULL)
		return false;
	r->port = atoi(colon + 1);
	if (spec[0] == '[' && colon > spec + 1 && colon[-1] == ']')
		r->host = strndup(spec + 1, (size_t)(colon - spec - 2));
	else
		r->host = strndup(spec, (size_t)(colon - spec));
	return r->host != NULL;
}

/* reply_why - a reply or a connection error, fit for a log line */
static void reply_why(char *why, const char *what, const redisContext *c, const redisReply *rep)
{
	char text[WHY_MAX / 2];

	if (c->err == REDIS_ERR_IO && strstr(c->errstr, strerror(EAGAIN)) != NULL)
		snprintf(text, sizeof(text), "no answer within RedisTimeout");
	else if (c->err != 0)
		log_sanitize(text, sizeof(text), c->errstr);
	else if (rep != NULL && rep->type == REDIS_REPLY_ERROR && rep->str != NULL)
		log_sanitize(text, sizeof(text), rep->str);
	else
		snprintf(text, sizeof(text), "unexpected reply");
	snprintf(why, WHY_MAX, "%s: %s", what, text);
}

/* time_left - the socket timeout that ends at deadline (1 ms at least) */
static struct timeval time_left(uint64_t deadline_ms)
{
	uint64_t now = clock_ms();

	return timeval_ms(deadline_ms > now ? (unsigned)(deadline_ms - now) : 1);
}

/* command_ok - a command whose reply must be the status word, answered
 * by the deadline */
static bool command_ok(redisContext *c, uint64_t deadline_ms, const char *what,
		       const char *word, char *why, const char *fmt, ...)
{
	redisReply *rep;
	va_list ap;
	bool ok;

	if (redisSetTimeout(c, time_left(deadline_ms)) != REDIS_OK) {
		reply_why(why, what, c, NULL);
		return false;
	}
	va_start(ap, fmt);
	rep = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (!(ok = reply_status(rep, word)))
		reply_why(why, what, c, rep);
	if (rep != NULL)
		freeReplyObject(rep);
	return ok;
}

/* connect_one - a connection ready for commands (AUTH, SELECT, PING),
 * all of it by the deadline */
static redisContext *connect_one(const struct redis *r, uint64_t deadline_ms, char *why)
{
	struct timeval tv = time_left(deadline_ms);
	redisContext *c = r->path != NULL ? redisConnectUnixWithTimeout(r->path, tv)
		: redisConnectWithTimeout(r->host, r->port, tv);

	if (c == NULL) {
		snprintf(why, WHY_MAX, "out of memory");
		return NULL;
	}
	if (c->err != 0) {
		reply_why(why, "connect", c, NULL);
	} else if ((r->password == NULL
		    || command_ok(c, deadline_ms, "AUTH refused", "OK", why, "AUTH %s", r->password))
		   && (r->database == 0
		       || command_ok(c, deadline_ms, "SELECT", "OK", why, "SELECT %u", r->database))
		   && command_ok(c, deadline_ms, "PING", "PONG", why, "PING")) {
		return c;
	}
	redisFree(c);
	return NULL;
}

/* went_down - the first failure since Redis was last up: say so once */
static void went_down(struct redis *r, const char *why)
{
	redisContext *drop[POOL_MAX];
	size_t n = 0;
	bool was_up;

	pthread_mutex_lock(&r->lock);
	if ((was_up = atomic_exchange(&r->up, false))) {
		memcpy(drop, r->idle, r->nidle * sizeof(drop[0]));
		n = r->nidle;
		r->nidle = 0;
		r->down_since = clock_ms();
		/* up only briefly: the backoff goes on growing, else it starts again */
		if (r->down_since - r->up_since >= STEADY_MS || r->backoff_ms == 0)
			r->backoff_ms = BACKOFF_MIN_MS;
		r->retry_at = r->down_since + r->backoff_ms;
		pthread_cond_signal(&r->wake);
	}
	pthread_mutex_unlock(&r->lock);
	if (!was_up)
		return;
	while (n > 0)
		redisFree(drop[--n]);
	stats_add(STAT_STORE_DOWN);
	log_warning("store: redis %s is away (%s): deciding with the in-memory store",
		    r->server, why);
}

/* closed - an idle connection that the server closed (its idle timeout,
 * a restart) or that holds bytes nobody asked for: not worth a try */
static bool closed(const redisContext *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };

	return poll(&p, 1, 0) != 0;
}

/* take - a connection to use, or NULL while Redis is away; connecting
 * (when every connection is busy) and the operation share one RedisTimeout */
static redisContext *take(struct redis *r)
{
	uint64_t deadline = clock_ms() + atomic_load(&r->timeout_ms);
	redisContext *c = NULL;
	char why[WHY_MAX];

	if (!atomic_load(&r->up))
		return NULL;
	for (;;) {
		pthread_mutex_lock(&r->lock);
		c = r->nidle > 0 ? r->idle[--r->nidle] : NULL;
		pthread_mutex_unlock(&r->lock);
		if (c == NULL || !closed(c))
			break;
		redisFree(c);
	}
	if (c == NULL && (c = connect_one(r, deadline, why)) == NULL) {
		went_down(r, why);
		return NULL;
	}
	if (redisSetTimeout(c, time_left(deadline)) != REDIS_OK) {
		reply_why(why, "timeout", c, NULL);
		redisFree(c);
		went_down(r, why);
		return NULL;
	}
	return c;
}

/* give - a connection back to the pool after a good exchange */
static void give(struct redis *r, redisContext *c)
{
	pthread_mutex_lock(&r->lock);
	if (atomic_load(&r->up) && r->nidle < POOL_MAX) {
		r->idle[r->nidle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&r->lock);
	if (c != NULL)
		redisFree(c);
}

/* replies - the n replies of the commands appended; false (and every
 * reply freed) when one failed to come */
static bool replies(redisContext *c, size_t n, redisReply **rep)
{
	for (size_t i = 0; i < n; i++) {
		void *v = NULL;
		if (redisGetReply(c, &v) != REDIS_OK || v == NULL) {
			while (i > 0) {
				freeReplyObject(rep[--i]);
				rep[i] = NULL;
			}
			return false;
		}
		rep[i] = v;
	}
	return true;
}

/* finish - after an exchange: the connection back, or Redis counted down */
static bool finish(struct redis *r, redisContext *c, bool ok, size_t n, redisReply **rep,
		   const char *what)
{
	char why[WHY_MAX];

	if (ok) {
		give(r, c);
	} else {
		reply_why(why, what, c, n > 0 ? rep[0] : NULL);
		for (size_t i = 1; i < n && c->err == 0; i++)	/* the reply that was wrong */
			if (rep[i]->type == REDIS_REPLY_ERROR)
				reply_why(why, what, c, rep[i]);
		redisFree(c);
		went_down(r, why);
	}
	for (size_t i = 0; i < n; i++)
		freeReplyObject(rep[i]);
	return ok;
}

/* redis_retry_first - SET NX the time we propose, GET the one that holds */
static bool redis_retry_first(void *state, const char *key, uint64_t proposed_ms,
			      unsigned expire_s, uint64_t *first_ms, bool *ours)
{
	struct redis *r = state;
	redisContext *c = take(r);
	redisReply *rep[2];
	bool ok;

	if (c == NULL)
		return false;
	redisAppendCommand(c, "SET %s%s %" PRIu64 " NX EX %u", r->prefix, key, proposed_ms,
			   expire_s > 0 ? expire_s : 1);
	redisAppendCommand(c, "GET %s%s", r->prefix, key);
	if (!replies(c, 2, rep))
		return finish(r, c, false, 0, rep, "retry");
	ok = reply_retry_first(rep[0], rep[1], proposed_ms, first_ms, ours);
	return finish(r, c, ok, 2, rep, "retry");
}

/* redis_probe_get - the pool's result for an address, and its time left */
static bool redis_probe_get(void *state, const char *key, bool *found, bool *up,
			    uint64_t *ttl_ms)
{
	struct redis *r = state;
	redisContext *c = take(r);
	redisReply *rep[2];
	bool ok;

	if (c == NULL)
		return false;
	redisAppendCommand(c, "GET %s%s", r->prefix, key);
	redisAppendCommand(c, "PTTL %s%s", r->prefix, key);
	if (!replies(c, 2, rep))
		return finish(r, c, false, 0, rep, "probe");
	ok = reply_probe(rep[0], rep[1], found, up, ttl_ms);
	return finish(r, c, ok, 2, rep, "probe");
}

/* redis_probe_put - a result for the pool, kept as long as ours; a down
 * result with a history key also marks when the address was last down */
static bool redis_probe_put(void *state, const char *key, bool up, uint64_t ttl_ms,
			    const char *down_key, uint64_t now_ms, uint64_t history_ms)
{
	struct redis *r = state;
	redisContext *c = take(r);
	redisReply *rep[2];
	size_t n = 1;
	bool ok;

	if (c == NULL)
		return false;
	redisAppendCommand(c, "SET %s%s %s PX %" PRIu64, r->prefix, key, up ? "up" : "down",
			   ttl_ms > 0 ? ttl_ms : 1);
	if (down_key != NULL && history_ms > 0) {
		redisAppendCommand(c, "SET %s%s %" PRIu64 " PX %" PRIu64, r->prefix, down_key,
				   now_ms, history_ms);
		n++;
	}
	if (!replies(c, n, rep))
		return finish(r, c, false, 0, rep, "probe");
	ok = reply_status(rep[0], "OK") && (n == 1 || reply_status(rep[1], "OK"));
	return finish(r, c, ok, n, rep, "probe");
}

/* redis_times_put - time records (witnesses), kept expire_s: queued for
 * the store's thread, which writes them at once, so that the mail thread
 * (a connect step) never waits for Redis; false when they cannot go
 * (Redis away, the queue full) */
static bool redis_times_put(void *state, const char *const *keys, size_t n, uint64_t now_ms,
			    unsigned expire_s)
{
	struct redis *r = state;
	bool ok = true;

	pthread_mutex_lock(&r->lock);
	if (!atomic_load(&r->up) || !r->running || r->qlen + n > WRITE_QUEUE) {
		ok = false;
	} else {
		for (size_t i = 0; i < n; i++) {
			struct pending *p = &r->queue[(r->qhead + r->qlen++) % WRITE_QUEUE];
			snprintf(p->key, sizeof(p->key), "%s", keys[i]);
			p->ms = now_ms;
			p->expire_s = expire_s;
		}
		pthread_cond_signal(&r->wake);
	}
	pthread_mutex_unlock(&r->lock);
	return ok;
}

/* write_queued - the thread's: the queued records, one round trip for as
 * many as STORE_TIMES_MAX (called and returning with r->lock held) */
static void write_queued(struct redis *r)
{
	struct pending batch[STORE_TIMES_MAX];
	size_t n = 0;
	redisContext *c;
	redisReply *rep[STORE_TIMES_MAX];
	bool ok = true;

	while (r->qlen > 0 && n < STORE_TIMES_MAX) {
		batch[n++] = r->queue[r->qhead];
		r->qhead = (r->qhead + 1) % WRITE_QUEUE;
		r->qlen--;
	}
	pthread_mutex_unlock(&r->lock);
	if ((c = take(r)) == NULL) {
		stats_add(STAT_STORE_LOCAL);
		pthread_mutex_lock(&r->lock);
		return;
	}
	for (size_t i = 0; i < n; i++)
		redisAppendCommand(c, "SET %s%s %" PRIu64 " EX %u", r->prefix, batch[i].key,
				   batch[i].ms, batch[i].expire_s > 0 ? batch[i].expire_s : 1);
	if (!replies(c, n, rep)) {
		finish(r, c, false, 0, rep, "witness");
	} else {
		for (size_t i = 0; i < n; i++)
			ok = ok && reply_status(rep[i], "OK");
		finish(r, c, ok, n, rep, "witness");
	}
	pthread_mutex_lock(&r->lock);
}

/* redis_times_get - time records (the evidence), 0 where there is none,
 * in one round trip */
static bool redis_times_get(void *state, const char *const *keys, size_t n, uint64_t *ms)
{
	struct redis *r = state;
	redisContext *c;
	redisReply *rep[STORE_TIMES_MAX];
	bool ok = true, found;

	if (n == 0)
		return true;
	if (n > STORE_TIMES_MAX || (c = take(r)) == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		redisAppendCommand(c, "GET %s%s", r->prefix, keys[i]);
	if (!replies(c, n, rep))
		return finish(r, c, false, 0, rep, "evidence");
	for (size_t i = 0; i < n && ok; i++)
		if ((ok = reply_time(rep[i], &found, &ms[i])) && !found)
			ms[i] = 0;
	return finish(r, c, ok, n, rep, "evidence");
}

/* append_top - the heaviest clients or domains of this milter in the
 * minute, written whole (DEL, ZADD): a push repeated changes nothing */
static size_t append_top(struct redis *r, redisContext *c, const char *kind, uint64_t minute,
			 int clients, bool restart)
{
	struct topk_slot top[STATS_TOP];
	size_t n = stats_pool_top(clients, restart, top);

	redisAppendCommand(c, "DEL %sstats:%s:%" PRIu64 ":%s", r->prefix, kind, minute, r->id);
	for (size_t i = 0; i < n; i++)
		redisAppendCommand(c, "ZADD %sstats:%s:%" PRIu64 ":%s %" PRIu64 " %s", r->prefix,
				   kind, minute, r->id, top[i].count, top[i].key);
	if (n > 0)
		redisAppendCommand(c, "EXPIRE %sstats:%s:%" PRIu64 ":%s %u", r->prefix, kind,
				   minute, r->id, MINUTE_KEEP_S);
	return n > 0 ? n + 2 : 1;
}

/* push - this milter's counts of the current minute, into the pool's.
 * Written as values, not increments, so that a push that timed out and
 * was carried out later anyway is not counted twice: the next push
 * writes the same keys again. Counts no push could write go into the
 * minute of the next push that can. */
static void push(struct redis *r)
{
	uint64_t now_s = (uint64_t)time(NULL), minute = now_s / 60, now[STAT_COUNT];
	redisReply *rep[STAT_COUNT + 2 * (STATS_TOP + 2) + 3];
	bool ok, rolled = minute != r->minute;
	redisContext *c;
	size_t n = 0;

	if ((c = take(r)) == NULL)
		return;
	/* a new minute: the top lists end the previous one and start anew, the
	 * counts too; after a longer silence they go on into this minute */
	uint64_t top_minute = minute - r->minute > 1 ? minute : r->minute;
	bool restart = rolled && top_minute != minute;
	n += append_top(r, c, "clients", top_minute, 1, restart);
	n += append_top(r, c, "domains", top_minute, 0, restart);
	if (rolled) {
		memcpy(r->base, r->written, sizeof(r->base));
		r->minute = minute;
	}
	for (int i = 0; i < STAT_COUNT; i++) {
		uint64_t v = (now[i] = stats_get(i)) - r->base[i];
		if (v == 0)
			continue;
		redisAppendCommand(c, "HSET %sstats:%" PRIu64 ":%s %s %" PRIu64, r->prefix, minute,
				   r->id, stats_counter_name(i), v);
		n++;
	}
	redisAppendCommand(c, "EXPIRE %sstats:%" PRIu64 ":%s %u", r->prefix, minute, r->id,
			   MINUTE_KEEP_S);
	redisAppendCommand(c, "ZADD %smilters %" PRIu64 " %s", r->prefix, now_s, r->id);
	redisAppendCommand(c, "ZREMRANGEBYSCORE %smilters -inf %" PRIu64, r->prefix,
			   now_s > MINUTE_KEEP_S ? now_s - MINUTE_KEEP_S : 0);
	n += 3;
	if (!(ok = replies(c, n, rep))) {
		finish(r, c, false, 0, rep, "counters");
		return;
	}
	for (size_t i = 0; i < n && ok; i++)
		ok = rep[i]->type != REDIS_REPLY_ERROR;
	if (finish(r, c, ok, n, rep, "counters"))
		memcpy(r->written, now, sizeof(now));
}

/* reconnect - one try to get back; true when Redis answers again. It
 * must take a write (ZADD this milter to the set of milters): a replica
 * or a full Redis answers PING and refuses the rest. */
static bool reconnect(struct redis *r)
{
	char why[WHY_MAX];
	redisContext *c = connect_one(r, clock_ms() + atomic_load(&r->timeout_ms), why);
	redisReply *rep = NULL;
	uint64_t away;

	if (c != NULL) {
		redisSetTimeout(c, timeval_ms(atomic_load(&r->timeout_ms)));
		rep = redisCommand(c, "ZADD %smilters %" PRIu64 " %s", r->prefix,
				   (uint64_t)time(NULL), r->id);
		if (rep == NULL || rep->type != REDIS_REPLY_INTEGER) {
			reply_why(why, "write", c, rep);
			redisFree(c);
			c = NULL;
		}
		if (rep != NULL)
			freeReplyObject(rep);
	}
	pthread_mutex_lock(&r->lock);
	if (c == NULL) {
		r->backoff_ms = r->backoff_ms * 2 < BACKOFF_MAX_MS ? r->backoff_ms * 2 : BACKOFF_MAX_MS;
		r->retry_at = clock_ms() + r->backoff_ms;
		pthread_mutex_unlock(&r->lock);
		log_debug("store: redis %s: %s; next try in %u ms", r->server, why, r->backoff_ms);
		return false;
	}
	r->idle[r->nidle++] = c;
	atomic_store(&r->up, true);
	r->up_since = clock_ms();
	away = r->up_since - r->down_since;
	pthread_mutex_unlock(&r->lock);
	log_notice("store: redis %s answers again after %" PRIu64 ".%01" PRIu64 " s: sharing "
		   "resumes", r->server, away / 1000, away % 1000 / 100);
	return true;
}

/* run - the store's thread: the way back, the witnesses and the counters
 * to the pool */
static void *run(void *arg)
{
	struct redis *r = arg;
	uint64_t next_push = clock_ms() + PUSH_MS;

	pthread_mutex_lock(&r->lock);
	while (!r->stopping) {
		uint64_t now = clock_ms(), until;

		if (!atomic_load(&r->up) && now >= r->retry_at) {
			pthread_mutex_unlock(&r->lock);
			reconnect(r);
			pthread_mutex_lock(&r->lock);
			continue;
		}
		if (r->qlen > 0) {
			if (atomic_load(&r->up))
				write_queued(r);
			else
				r->qlen = 0;	/* the local copy has them */
			continue;
		}
		if (now >= next_push) {
			next_push = now + PUSH_MS;
			if (r->push && atomic_load(&r->up)) {
				pthread_mutex_unlock(&r->lock);
				push(r);
				pthread_mutex_lock(&r->lock);
			}
			continue;
		}
		until = atomic_load(&r->up) || r->retry_at > next_push ? next_push : r->retry_at;
		clock_cond_wait(&r->wake, &r->lock, until);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* redis_settings - the settings, no connection yet */
static struct redis *redis_settings(const struct config *cfg, const char *password)
{
	struct redis *r = calloc(1, sizeof(*r));
	char host[256];

	if (r == NULL)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	clock_cond_init(&r->wake);
	atomic_init(&r->up, false);
	atomic_init(&r->timeout_ms, cfg->redis_timeout_ms);
	r->database = cfg->redis_database;
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	/* host/pid/start: a restarted milter is another member of the pool */
	store_key(r->id, sizeof(r->id), "", host, NULL, NULL);
	snprintf(r->id + strlen(r->id), sizeof(r->id) - strlen(r->id), "/%ld/%lld",
		 (long)getpid(), (long long)time(NULL));
	if ((r->server = strdup(cfg->redis_server)) == NULL
	    || (r->prefix = strdup(cfg->redis_prefix)) == NULL
	    || (password != NULL && (r->password = strdup(password)) == NULL)
	    || !server_parse(r, cfg->redis_server)) {
		redis_free(r);
		return NULL;
	}
	return r;
}

/* redis_open - connect (Redis away is no error) and start the thread;
 * counters: push this milter's counts to the pool */
static bool redis_open(void **state, const struct config *cfg, const char *password,
		       bool counters)
{
	struct redis *r = redis_settings(cfg, password);
	char why[WHY_MAX];
	redisContext *c;

	if (r == NULL)
		return false;
	if ((r->queue = calloc(WRITE_QUEUE, sizeof(*r->queue))) == NULL) {
		redis_free(r);
		return false;
	}
	r->push = counters;
	r->minute = (uint64_t)time(NULL) / 60;
	for (int i = 0; i < STAT_COUNT; i++)
		r->base[i] = r->written[i] = stats_get(i);
	if ((c = connect_one(r, clock_ms() + atomic_load(&r->timeout_ms), why)) != NULL) {
		r->idle[r->nidle++] = c;
		atomic_store(&r->up, true);
		r->up_since = clock_ms();
		log_info("store: redis %s: sharing retry memory, probe results and counters",
			 r->server);
	} else {
		r->down_since = clock_ms();
		r->backoff_ms = BACKOFF_MIN_MS;
		r->retry_at = r->down_since + r->backoff_ms;
		stats_add(STAT_STORE_DOWN);
		log_warning("store: redis %s is away (%s): deciding with the in-memory store",
			    r->server, why);
	}
	if (pthread_create(&r->thread, NULL, run, r) != 0) {
		log_error("store: cannot start the Redis thread");
		redis_free(r);
		return false;
	}
	r->running = true;
	*state = r;
	return true;
}

/* redis_free - the last counters to the pool, then close everything */
static void redis_free(void *state)
{
	struct redis *r = state;

	if (r == NULL)
		return;
	if (r->running) {
		pthread_mutex_lock(&r->lock);
		r->stopping = true;
		pthread_cond_signal(&r->wake);
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->thread, NULL);
		if (r->push && atomic_load(&r->up))
			push(r);
	}
	while (r->nidle > 0)
		redisFree(r->idle[--r->nidle]);
	if (r->password != NULL)
		explicit_bzero(r->password, strlen(r->password));
	free(r->password);
	free(r->server);
	free(r->host);
	free(r->path);
	free(r->prefix);
	free(r->queue);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* redis_configure - RedisTimeout may change on a reload */
static void redis_configure(void *state, const struct config *cfg)
{
	struct redis *r = state;

	atomic_store(&r->timeout_ms, cfg->redis_timeout_ms);
}

/* redis_up - answering now? */
static bool redis_up(void *state)
{
	struct redis *r = state;

	return atomic_load(&r->up);
}

/* merge_top - the sorted sets of several milters and minutes (every
 * stride-th reply) as one top list */
static size_t merge_top(redisReply **rep, size_t n, size_t stride, struct topk_slot *out)
{
	static struct topk sum;		/* -S is single-threaded */
	const struct topk *parts[] = { &sum };

	topk_clear(&sum);
	for (size_t i = 0; i < n; i += stride) {
		struct topk_slot v[REPLY_TOP_MAX];
		size_t nv;
		if (reply_top(rep[i], v, REPLY_TOP_MAX, &nv))
			for (size_t k = 0; k < nv; k++)
				topk_add(&sum, v[k].key, v[k].count);
	}
	return topk_merge(parts, 1, out, STATS_TOP);
}

/* pool_line - the replies of -S (counts, clients, domains per milter and
 * minute) as one statistics line */
static bool pool_line(redisReply **rep, size_t n, uint64_t milters, uint64_t window,
		      char *line, size_t len)
{
	struct stats_span span = { .pool = true, .seconds = window };
	const char *names[STAT_COUNT];
	char head[96];

	for (int i = 0; i < STAT_COUNT; i++)
		names[i] = stats_counter_name(i);
	for (size_t i = 0; i < n; i += 3)
		if (!reply_counters(rep[i], names, STAT_COUNT, span.c))
			return false;
	span.nclients = merge_top(rep + 1, n - 1, 3, span.clients);
	span.ndomains = merge_top(rep + 2, n - 2, 3, span.domains);
	snprintf(head, sizeof(head), "pool interval=%" PRIu64 " milters=%" PRIu64, window, milters);
	stats_format(line, len, head, &span);
	return true;
}

/* redis_pool_report - -S: the pool's counts over the last StatsInterval
 * (whole minutes, the current one included), every milter's added up */
static int redis_pool_report(const struct config *cfg, const char *password, FILE *out)
{
	struct redis *r = redis_settings(cfg, password);
	uint64_t now_s = (uint64_t)time(NULL), window, minutes, first, milters = 0;
	struct topk_slot *ids = NULL;
	redisReply **rep = NULL, *seen = NULL;
	redisContext *c = NULL;
	char why[WHY_MAX], line[2048];
	size_t nids = 0, n = 0;
	int status = 1;

	if (r == NULL) {
		fprintf(stderr, "mxbypass-milter: -S: out of memory\n");
		return 1;
	}
	window = cfg->stats_interval > 0 ? cfg->stats_interval : 300;
	window = window < REPORT_MAX_S ? window : REPORT_MAX_S;
	minutes = (window + 59) / 60;
	first = now_s / 60 - minutes + 1;
	if ((c = connect_one(r, clock_ms() + atomic_load(&r->timeout_ms), why)) == NULL) {
		fprintf(stderr, "mxbypass-milter: -S: redis %s: %s\n", cfg->redis_server, why);
		goto done;
	}
	redisSetTimeout(c, timeval_ms(atomic_load(&r->timeout_ms)));	/* per read, from now */
	/* the milters that reported in the window (and just before it) */
	seen = redisCommand(c, "ZRANGEBYSCORE %smilters %" PRIu64 " +inf WITHSCORES LIMIT 0 %d",
			    r->prefix, first * 60 - 60, REPORT_MILTERS);
	if ((ids = calloc(REPORT_MILTERS, sizeof(*ids))) == NULL
	    || !reply_top(seen, ids, REPORT_MILTERS, &nids)) {
		reply_why(why, "milters", c, seen);
		fprintf(stderr, "mxbypass-milter: -S: redis %s: %s\n", cfg->redis_server, why);
		goto done;
	}
	for (size_t i = 0; i < nids; i++)
		milters += ids[i].count >= now_s - window;
	if ((rep = calloc(3 * minutes * nids + 1, sizeof(*rep))) == NULL)
		goto done;
	for (uint64_t m = first; m < first + minutes; m++)
		for (size_t i = 0; i < nids; i++) {
			redisAppendCommand(c, "HGETALL %sstats:%" PRIu64 ":%s", r->prefix, m,
					   ids[i].key);
			redisAppendCommand(c, "ZREVRANGE %sstats:clients:%" PRIu64 ":%s 0 %d "
					   "WITHSCORES", r->prefix, m, ids[i].key, REPLY_TOP_MAX - 1);
			redisAppendCommand(c, "ZREVRANGE %sstats:domains:%" PRIu64 ":%s 0 %d "
					   "WITHSCORES", r->prefix, m, ids[i].key, REPLY_TOP_MAX - 1);
			n += 3;
		}
	if (!replies(c, n, rep)) {
		reply_why(why, "read", c, NULL);
		fprintf(stderr, "mxbypass-milter: -S: redis %s: %s\n", cfg->redis_server, why);
	} else if (!pool_line(rep, n, milters, window, line, sizeof(line))) {
		fprintf(stderr, "mxbypass-milter: -S: redis %s: the pool's counters are "
			"unreadable\n", cfg->redis_server);
	} else {
		fprintf(out, "%s\n", line);
		status = 0;
	}
done:
	for (size_t i = 0; rep != NULL && i < n; i++)
		if (rep[i] != NULL)
			freeReplyObject(rep[i]);
	free(rep);
	free(ids);
	if (seen != NULL)
		freeReplyObject(seen);
	if (c != NULL)
		redisFree(c);
	redis_free(r);
	return status;
}

const struct store_backend redis_backend = {
	.shared = true,
	.open = redis_open,
	.close = redis_free,
	.configure = redis_configure,
	.up = redis_up,
	.retry_first = redis_retry_first,
	.probe_get = redis_probe_get,
	.probe_put = redis_probe_put,
	.times_put = redis_times_put,
	.times_get = redis_times_get,
	.pool_report = redis_pool_report,
};
