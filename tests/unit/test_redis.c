/*
 * test_redis - the store in front of Redis (store.c, redis.c) when Redis
 * is away, slow, or talks nonsense.
 *
 * hiredis is replaced at the library boundary, at link time (ld --wrap):
 * the connect, timeout, command and reply calls redis.c makes reach a
 * fake server here, which formats each command with hiredis' own
 * formatter, answers it from a small key/value table in RESP, and turns
 * the answer into a reply with hiredis' own reader. The test decides
 * whether the server can be reached, which password it wants, and which
 * command fails, and how (timeout, reset, EOF, a reply of the wrong type,
 * an error reply). Connects are counted per thread, so "a mail thread
 * never connects while Redis is away" is checked apart from redis.c's
 * own reconnect thread.
 *
 * Waits for that thread poll for up to WAIT_MS and never assert on speed.
 */

#include "autoconfig.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "config.h"
#include "log.h"
#include "stats.h"
#include "store.h"

#define WAIT_MS 5000		/* longest wait for the reconnect thread */
#define RING 2048		/* commands remembered */
#define LINE_MAX 200
#define KV_MAX 64
#define PASSWORD "pw-Sekr1t-n0t-for-logs"

redisContext *__wrap_redisConnectWithTimeout(const char *ip, int port, const struct timeval tv);
redisContext *__wrap_redisConnectUnixWithTimeout(const char *path, const struct timeval tv);
int __wrap_redisSetTimeout(redisContext *c, const struct timeval tv);
void *__wrap_redisvCommand(redisContext *c, const char *format, va_list ap);
void *__wrap_redisCommand(redisContext *c, const char *format, ...);
int __wrap_redisAppendCommand(redisContext *c, const char *format, ...);
int __wrap_redisGetReply(redisContext *c, void **reply);
void __wrap_redisFree(redisContext *c);

/* ------------------------------------------------------ the fake server */

enum fault {
	F_NONE,
	F_TIMEOUT,		/* the read times out (EAGAIN, as hiredis says it) */
	F_RESET,		/* the connection is reset */
	F_EOF,			/* the server closes the connection */
	F_WRONG_TYPE,		/* an integer where a string or status belongs */
	F_ERROR_REPLY,		/* -LOADING ... */
};

struct pending {
	char *resp;		/* the reply, RESP; NULL: the fault */
	enum fault fault;
	bool meet;		/* a fault waits for the other faults to be read */
};

/* A connection: hiredis' context first, so a redisContext * is one. */
struct fake {
	redisContext c;
	bool authed;
	bool faulted;		/* one fault per connection: it is dead after it */
	struct pending *q;
	size_t nq, head, cap;
};

static struct {
	pthread_mutex_t lock;
	bool reachable;
	const char *password;		/* AUTH wanted; NULL: none */
	unsigned connects, unix_connects, set_timeouts, frees, open;
	char unix_path[108];
	/* the next command naming fault_key fails so, then the server is away */
	char fault_key[64];
	enum fault fault;
	unsigned fault_left;		/* commands still to fail */
	unsigned faults;
	/* faulty replies are read together: each waits for the others */
	pthread_cond_t met;
	unsigned meeting, arrived;
	/* what was asked, one line per command: argv joined by ' ' */
	char ring[RING][LINE_MAX];
	size_t nring;
	struct { char key[LINE_MAX], val[64]; long long ttl_ms; bool used; } kv[KV_MAX];
} srv = { .lock = PTHREAD_MUTEX_INITIALIZER, .met = PTHREAD_COND_INITIALIZER };

static _Thread_local unsigned my_connects;	/* connects made by this thread */

static void server_reset(void)
{
	pthread_mutex_lock(&srv.lock);
	srv.reachable = true;
	srv.password = NULL;
	srv.connects = srv.unix_connects = srv.set_timeouts = srv.frees = 0;
	srv.unix_path[0] = '\0';
	srv.fault_key[0] = '\0';
	srv.fault = F_NONE;
	srv.fault_left = 0;
	srv.faults = 0;
	srv.meeting = srv.arrived = 0;
	srv.nring = 0;
	memset(srv.kv, 0, sizeof(srv.kv));
	pthread_mutex_unlock(&srv.lock);
	my_connects = 0;
}

static void server_reachable(bool yes)
{
	pthread_mutex_lock(&srv.lock);
	srv.reachable = yes;
	pthread_mutex_unlock(&srv.lock);
}

static void server_password(const char *pw)
{
	pthread_mutex_lock(&srv.lock);
	srv.password = pw;
	pthread_mutex_unlock(&srv.lock);
}

/* server_faults - the next n commands naming key fail so, their replies
 * read together; then the server cannot be reached (a server that
 * stopped answering stays away) */
static void server_faults(const char *key, enum fault f, unsigned n)
{
	pthread_mutex_lock(&srv.lock);
	snprintf(srv.fault_key, sizeof(srv.fault_key), "%s", key);
	srv.fault = f;
	srv.fault_left = n;
	srv.meeting = n > 1 ? n : 0;
	srv.arrived = 0;
	pthread_mutex_unlock(&srv.lock);
}

static void server_fault(const char *key, enum fault f)
{
	server_faults(key, f, 1);
}

/* server_saw_both - how many commands asked so far contain text and
 * also (unless NULL) more */
static unsigned server_saw_both(const char *text, const char *more)
{
	unsigned n = 0;

	pthread_mutex_lock(&srv.lock);
	for (size_t i = 0; i < srv.nring && i < RING; i++)
		n += strstr(srv.ring[i], text) != NULL
			&& (more == NULL || strstr(srv.ring[i], more) != NULL);
	pthread_mutex_unlock(&srv.lock);
	return n;
}

/* server_saw - how many commands asked so far contain text */
static unsigned server_saw(const char *text)
{
	return server_saw_both(text, NULL);
}

static unsigned server_count(const unsigned *counter)
{
	unsigned n;

	pthread_mutex_lock(&srv.lock);
	n = *counter;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

/* kv_find - the slot of a key (lock held); NULL: none */
static int kv_find(const char *key)
{
	for (int i = 0; i < KV_MAX; i++)
		if (srv.kv[i].used && strcmp(srv.kv[i].key, key) == 0)
			return i;
	return -1;
}

/* server_set - a value in the fake's table, as another milter would leave it */
static void server_set(const char *key, const char *val, long long ttl_ms)
{
	int i;

	pthread_mutex_lock(&srv.lock);
	if ((i = kv_find(key)) < 0)
		for (i = 0; i < KV_MAX && srv.kv[i].used; i++)
			;
	assert_true(i < KV_MAX);
	srv.kv[i].used = true;
	snprintf(srv.kv[i].key, sizeof(srv.kv[i].key), "%s", key);
	snprintf(srv.kv[i].val, sizeof(srv.kv[i].val), "%s", val);
	srv.kv[i].ttl_ms = ttl_ms;
	pthread_mutex_unlock(&srv.lock);
}

/* server_get - a value of the fake's table, or false */
static bool server_get(const char *key, char *val, size_t len, long long *ttl_ms)
{
	int i;

	pthread_mutex_lock(&srv.lock);
	if ((i = kv_find(key)) >= 0) {
		snprintf(val, len, "%s", srv.kv[i].val);
		*ttl_ms = srv.kv[i].ttl_ms;
	}
	pthread_mutex_unlock(&srv.lock);
	return i >= 0;
}

static char *dup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	assert_non_null(s);
	return s;
}

static char *bulk(const char *s)
{
	return dup_printf("$%zu\r\n%s\r\n", strlen(s), s);
}

/* execute - one command, RESP in; the reply (RESP) or a fault out */
static struct pending execute(struct fake *f, const char *cmd, size_t cmdlen)
{
	redisReader *rd = redisReaderCreate();
	struct pending p = { NULL, F_NONE, false };
	redisReply *argv = NULL;
	const char *name, *key;
	char line[LINE_MAX];
	size_t n = 0;
	int i;

	/* a command is an array of bulk strings: hiredis' reader reads it */
	assert_non_null(rd);
	redisReaderFeed(rd, cmd, cmdlen);
	assert_int_equal(redisReaderGetReply(rd, (void **)&argv), REDIS_OK);
	redisReaderFree(rd);
	assert_non_null(argv);
	assert_int_equal(argv->type, REDIS_REPLY_ARRAY);
	assert_true(argv->elements >= 1);
	line[0] = '\0';
	for (size_t k = 0; k < argv->elements && n < sizeof(line); k++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", k > 0 ? " " : "",
				      argv->element[k]->str);
	name = argv->element[0]->str;
	key = argv->elements > 1 ? argv->element[1]->str : "";

	pthread_mutex_lock(&srv.lock);
	snprintf(srv.ring[srv.nring++ % RING], LINE_MAX, "%s", line);
	if (srv.fault != F_NONE && srv.fault_key[0] != '\0' && strstr(line, srv.fault_key)
	    && !f->faulted) {
		f->faulted = true;
		p.fault = srv.fault;
		p.meet = srv.meeting > 0;
		srv.faults++;
		if (--srv.fault_left == 0) {
			srv.fault = F_NONE;
			srv.reachable = false;
		}
		if (p.fault == F_WRONG_TYPE)
			p.resp = dup_printf(":42\r\n");
		else if (p.fault == F_ERROR_REPLY)
			p.resp = dup_printf("-LOADING Redis is loading the dataset in memory\r\n");
		if (p.resp != NULL)
			p.fault = F_NONE;
	} else if (strcasecmp(name, "AUTH") == 0) {
		if (srv.password == NULL)
			p.resp = dup_printf("-ERR AUTH <password> called without any password "
					    "configured for the default user\r\n");
		else if ((f->authed = argv->elements == 2 && strcmp(key, srv.password) == 0))
			p.resp = dup_printf("+OK\r\n");
		else
			p.resp = dup_printf("-WRONGPASS invalid username-password pair or user "
					    "is disabled.\r\n");
	} else if (srv.password != NULL && !f->authed) {
		p.resp = dup_printf("-NOAUTH Authentication required.\r\n");
	} else if (strcasecmp(name, "PING") == 0) {
		p.resp = dup_printf("+PONG\r\n");
	} else if (strcasecmp(name, "SELECT") == 0) {
		p.resp = dup_printf("+OK\r\n");
	} else if (strcasecmp(name, "SET") == 0 && argv->elements >= 3) {
		bool nx = false;
		long long ttl = -1;
		for (size_t k = 3; k < argv->elements; k++) {
			if (strcasecmp(argv->element[k]->str, "NX") == 0)
				nx = true;
			else if (strcasecmp(argv->element[k]->str, "EX") == 0 && k + 1 < argv->elements)
				ttl = atoll(argv->element[++k]->str) * 1000;
			else if (strcasecmp(argv->element[k]->str, "PX") == 0 && k + 1 < argv->elements)
				ttl = atoll(argv->element[++k]->str);
		}
		if (nx && kv_find(key) >= 0) {
			p.resp = dup_printf("$-1\r\n");
		} else {
			if ((i = kv_find(key)) < 0)
				for (i = 0; i < KV_MAX && srv.kv[i].used; i++)
					;
			assert_true(i < KV_MAX);
			srv.kv[i].used = true;
			snprintf(srv.kv[i].key, sizeof(srv.kv[i].key), "%s", key);
			snprintf(srv.kv[i].val, sizeof(srv.kv[i].val), "%s", argv->element[2]->str);
			srv.kv[i].ttl_ms = ttl;
			p.resp = dup_printf("+OK\r\n");
		}
	} else if (strcasecmp(name, "GET") == 0) {
		p.resp = (i = kv_find(key)) >= 0 ? bulk(srv.kv[i].val) : dup_printf("$-1\r\n");
	} else if (strcasecmp(name, "PTTL") == 0) {
		p.resp = dup_printf(":%lld\r\n", (i = kv_find(key)) >= 0 ? srv.kv[i].ttl_ms : -2);
	} else {
		/* HINCRBY, EXPIRE, ZINCRBY, ZADD, ZREMRANGEBYSCORE: counted only */
		p.resp = dup_printf(":1\r\n");
	}
	pthread_mutex_unlock(&srv.lock);
	freeReplyObject(argv);
	return p;
}

/* fail_with - what hiredis leaves in a context after such a fault */
static void fail_with(redisContext *c, enum fault f)
{
	switch (f) {
	case F_TIMEOUT:
		c->err = REDIS_ERR_IO;
		snprintf(c->errstr, sizeof(c->errstr), "%s", strerror(EAGAIN));
		break;
	case F_RESET:
		c->err = REDIS_ERR_IO;
		snprintf(c->errstr, sizeof(c->errstr), "%s", strerror(ECONNRESET));
		break;
	default:
		c->err = REDIS_ERR_EOF;
		snprintf(c->errstr, sizeof(c->errstr), "Server closed the connection");
		break;
	}
}

/* reply_of - a reply object from RESP, made by hiredis' reader */
static redisReply *reply_of(const char *resp)
{
	redisReader *rd = redisReaderCreate();
	void *rep = NULL;

	assert_non_null(rd);
	redisReaderFeed(rd, resp, strlen(resp));
	assert_int_equal(redisReaderGetReply(rd, &rep), REDIS_OK);
	redisReaderFree(rd);
	assert_non_null(rep);
	return rep;
}

static redisContext *fake_connect(const char *unix_path)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	my_connects++;
	pthread_mutex_lock(&srv.lock);
	srv.connects++;
	srv.open++;
	if (unix_path != NULL) {
		srv.unix_connects++;
		snprintf(srv.unix_path, sizeof(srv.unix_path), "%s", unix_path);
	}
	if (!srv.reachable) {
		f->c.err = REDIS_ERR_IO;
		snprintf(f->c.errstr, sizeof(f->c.errstr), "%s", strerror(ECONNREFUSED));
	}
	pthread_mutex_unlock(&srv.lock);
	f->c.fd = -1;
	return &f->c;
}

redisContext *__wrap_redisConnectWithTimeout(const char *ip, int port, const struct timeval tv)
{
	(void)ip, (void)port, (void)tv;
	return fake_connect(NULL);
}

redisContext *__wrap_redisConnectUnixWithTimeout(const char *path, const struct timeval tv)
{
	(void)tv;
	return fake_connect(path);
}

int __wrap_redisSetTimeout(redisContext *c, const struct timeval tv)
{
	(void)c, (void)tv;
	pthread_mutex_lock(&srv.lock);
	srv.set_timeouts++;
	pthread_mutex_unlock(&srv.lock);
	return REDIS_OK;
}

/* append - format a command and queue the server's answer to it */
static int append(struct fake *f, const char *format, va_list ap)
{
	char *cmd = NULL;
	int len;

	if (f->c.err != 0)
		return REDIS_ERR;
	if ((len = redisvFormatCommand(&cmd, format, ap)) < 0)
		return REDIS_ERR;
	if (f->nq == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 16;
		assert_non_null(f->q = realloc(f->q, f->cap * sizeof(*f->q)));
	}
	f->q[f->nq++] = execute(f, cmd, (size_t)len);
	redisFreeCommand(cmd);
	return REDIS_OK;
}

int __wrap_redisAppendCommand(redisContext *c, const char *format, ...)
{
	va_list ap;
	int rc;

	va_start(ap, format);
	rc = append((struct fake *)c, format, ap);
	va_end(ap);
	return rc;
}

int __wrap_redisGetReply(redisContext *c, void **reply)
{
	struct fake *f = (struct fake *)c;
	struct pending p;

	*reply = NULL;
	if (c->err != 0)
		return REDIS_ERR;
	if (f->head == f->nq) {		/* nothing asked: hiredis would block */
		fail_with(c, F_TIMEOUT);
		return REDIS_ERR;
	}
	p = f->q[f->head++];
	if (p.meet) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += WAIT_MS / 1000;
		pthread_mutex_lock(&srv.lock);
		srv.arrived++;
		pthread_cond_broadcast(&srv.met);
		while (srv.arrived < srv.meeting
		       && pthread_cond_timedwait(&srv.met, &srv.lock, &until) == 0)
			;
		pthread_mutex_unlock(&srv.lock);
	}
	if (p.resp == NULL) {
		fail_with(c, p.fault);
		return REDIS_ERR;
	}
	*reply = reply_of(p.resp);
	free(p.resp);
	f->q[f->head - 1].resp = NULL;
	return REDIS_OK;
}

void *__wrap_redisvCommand(redisContext *c, const char *format, va_list ap)
{
	void *reply = NULL;

	if (append((struct fake *)c, format, ap) != REDIS_OK)
		return NULL;
	__wrap_redisGetReply(c, &reply);
	return reply;
}

void *__wrap_redisCommand(redisContext *c, const char *format, ...)
{
	va_list ap;
	void *reply;

	va_start(ap, format);
	reply = __wrap_redisvCommand(c, format, ap);
	va_end(ap);
	return reply;
}

void __wrap_redisFree(redisContext *c)
{
	struct fake *f = (struct fake *)c;

	if (f == NULL)
		return;
	for (size_t i = f->head; i < f->nq; i++)
		free(f->q[i].resp);
	free(f->q);
	free(f);
	pthread_mutex_lock(&srv.lock);
	srv.frees++;
	srv.open--;
	pthread_mutex_unlock(&srv.lock);
}

/* ------------------------------------------------------------ helpers */

static char tmpdir[] = "/tmp/mxb-redis.XXXXXX";
static int saved_stderr = -1;
static char logpath[256];

/* capture_start - log lines (stderr) go to a file until capture_stop */
static void capture_start(void)
{
	FILE *f;

	snprintf(logpath, sizeof(logpath), "%s/log", tmpdir);
	assert_non_null(f = fopen(logpath, "w"));
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
	fclose(f);
}

/* capture_stop - stderr back; the captured text (static) */
static const char *capture_stop(void)
{
	static char text[65536];
	size_t n = 0;
	FILE *f;

	if (saved_stderr < 0)
		return "";
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	saved_stderr = -1;
	text[0] = '\0';
	if ((f = fopen(logpath, "r")) != NULL) {
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
	}
	text[n] = '\0';
	return text;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* wait_up - poll until the store says Redis is up (or down); false at WAIT_MS */
static bool wait_up(struct store *s, bool want)
{
	for (unsigned waited = 0; waited < WAIT_MS; waited += 10) {
		struct store_status st;
		store_status(s, &st);
		if (st.up == want)
			return true;
		sleep_ms(10);
	}
	return false;
}

/* wait_saw - poll until the server saw a command containing both texts */
static bool wait_saw(const char *text, const char *more)
{
	for (unsigned waited = 0; waited < WAIT_MS; waited += 10) {
		if (server_saw_both(text, more) > 0)
			return true;
		sleep_ms(10);
	}
	return false;
}

/* config_redis - a configuration with StateBackend redis */
static struct config *config_redis(const char *server)
{
	struct config_diag d = { 0 };
	char path[300], text[512];
	struct config *cfg;
	FILE *f;

	snprintf(path, sizeof(path), "%s/redis.conf", tmpdir);
	snprintf(text, sizeof(text), "StateBackend redis\nRedisServer %s\nRedisTimeout 200\n"
		 "RedisPrefix mxbypass:\nSyslog no\nLogLevel debug\n", server);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	cfg = config_load(path, true, &d);
	for (size_t i = 0; i < d.n; i++)
		print_message("  config: %s\n", d.lines[i]);
	assert_int_equal(d.n, 0);
	config_diag_free(&d);
	assert_non_null(cfg);
	assert_int_equal(cfg->state_backend, BACKEND_REDIS);
	return cfg;
}

struct fixture {
	const void *param;		/* the table row of the test, if any */
	struct config *cfg;
	struct store *store;
	uint64_t down0, local0, shared0;	/* counters at the start */
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	fx->param = *state;
	server_reset();
	log_setup(false, LOG_MAIL, LOG_DEBUG, true);
	fx->cfg = config_redis("127.0.0.1:6379");
	fx->down0 = stats_get(STAT_STORE_DOWN);
	fx->local0 = stats_get(STAT_STORE_LOCAL);
	fx->shared0 = stats_get(STAT_PROBE_SHARED);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	store_free(fx->store);
	config_free(fx->cfg);
	free(fx);
	capture_stop();
	/* every connection redis.c made was closed */
	assert_int_equal(server_count(&srv.open), 0);
	return 0;
}

static uint64_t downs(const struct fixture *fx)
{
	return stats_get(STAT_STORE_DOWN) - fx->down0;
}

static uint64_t locals(const struct fixture *fx)
{
	return stats_get(STAT_STORE_LOCAL) - fx->local0;
}

static bool store_up(struct store *s)
{
	struct store_status st;

	store_status(s, &st);
	assert_true(st.shared);
	return st.up;
}

/* wall_ms - the store's clock with Redis: wall time */
static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* -------------------------------------------------------------- tests */

/* Redis away at start: the store is made all the same and works from
 * memory; the change is counted once; a mail thread never connects
 * while Redis is away, and nothing reaches the server. */
static void test_unreachable_at_start(void **state)
{
	struct fixture *fx = *state;
	uint64_t t, t0;
	bool fresh, up;

	server_reachable(false);
	capture_start();
	assert_non_null(fx->store = store_new(fx->cfg, NULL, true));
	assert_int_equal(my_connects, 1);
	assert_false(store_up(fx->store));
	assert_int_equal(downs(fx), 1);

	t0 = store_retry_first(fx->store, "192.0.2.0/24", "start.example", 86400, &fresh);
	assert_true(fresh);
	for (int i = 0; i < 5; i++) {
		t = store_retry_first(fx->store, "192.0.2.0/24", "start.example", 86400, &fresh);
		assert_false(fresh);
		assert_true(t == t0);
	}
	assert_int_equal(store_probe_get(fx->store, "192.0.2.1 25", 0, 0, &up), STORE_PROBE_LEAD);
	store_probe_put(fx->store, "192.0.2.1 25", true, 300, 0);
	assert_int_equal(store_probe_get(fx->store, "192.0.2.1 25", 0, 0, &up), STORE_PROBE_HIT);
	assert_true(up);

	assert_int_equal(my_connects, 1);
	assert_int_equal(downs(fx), 1);
	assert_int_equal(locals(fx), 6 + 1 + 1);	/* 6 retry, 1 probe get, 1 put */
	assert_int_equal(server_saw("start.example"), 0);
	assert_int_equal(server_saw("192.0.2.1"), 0);
	assert_non_null(strstr(capture_stop(), "store: redis 127.0.0.1:6379 is away (connect: "));
}

/* The evidence is shared through Redis: witnesses and the last time an
 * address was down go to the pool at once, and what the local copy does
 * not know comes from it; a record past its window does not count. */
static void test_evidence_shared(void **state)
{
	struct fixture *fx = *state;
	const char *mine[] = { "198.51.100.10", "2001:db8::10" };
	const char *keys[] = { "192.0.2.3 25", "192.0.2.4 25" };
	uint64_t now = wall_ms(), t;
	struct store_evidence e;
	char val[64];
	long long ttl;
	bool up;

	assert_non_null(fx->store = store_new(fx->cfg, NULL, true));
	/* this milter's witness, for the pool: written by the store's thread,
	 * both in one round trip */
	store_witness_put(fx->store, "192.0.2.0/24", mine, 2, 600);
	assert_true(wait_saw("SET mxbypass:witness:192.0.2.0/24:2001%3adb8%3a%3a10", ""));
	assert_true(server_get("mxbypass:witness:192.0.2.0/24:198.51.100.10", val, sizeof(val),
			       &ttl));
	t = strtoull(val, NULL, 10);
	assert_true(t >= now && t < now + 5000);
	assert_true(ttl == 600 * 1000LL);
	assert_true(server_get("mxbypass:witness:192.0.2.0/24:2001%3adb8%3a%3a10", val, sizeof(val),
			       &ttl));
	/* the next connection a moment later: no second write */
	store_witness_put(fx->store, "192.0.2.0/24", mine, 2, 600);
	sleep_ms(50);
	assert_int_equal(server_saw("SET mxbypass:witness:192.0.2.0/24:198.51.100.10"), 1);
	/* another milter's witness */
	snprintf(val, sizeof(val), "%llu", (unsigned long long)(now - 5000));
	server_set("mxbypass:witness:203.0.113.0/24:2001%3adb8%3a%3a10", val, 600 * 1000LL);
	store_evidence(fx->store, "203.0.113.0/24", mine, 2, NULL, 0, 600, 1800, &e);
	assert_true(e.witness_ms == now - 5000);
	assert_int_equal(e.witness_addr, 1);
	assert_int_equal(server_saw("GET mxbypass:witness:203.0.113.0/24:198.51.100.10"), 1);
	/* one older than the window of the question */
	snprintf(val, sizeof(val), "%llu", (unsigned long long)(now - 700 * 1000));
	server_set("mxbypass:witness:203.0.114.0/24:198.51.100.10", val, 600 * 1000LL);
	store_evidence(fx->store, "203.0.114.0/24", mine, 2, NULL, 0, 600, 1800, &e);
	assert_true(e.witness_ms == 0);

	/* a down result leaves the time it was down, for RecentDownWindow */
	assert_int_equal(store_probe_get(fx->store, keys[0], 0, 0, &up), STORE_PROBE_LEAD);
	store_probe_put(fx->store, keys[0], false, 60, 1800);
	assert_true(server_get("mxbypass:down:192.0.2.3%2025", val, sizeof(val), &ttl));
	assert_true(strtoull(val, NULL, 10) >= now);
	assert_true(ttl == 1800 * 1000LL);
	/* another milter saw 192.0.2.4 down */
	snprintf(val, sizeof(val), "%llu", (unsigned long long)(now - 60000));
	server_set("mxbypass:down:192.0.2.4%2025", val, 1800 * 1000LL);
	store_evidence(fx->store, "203.0.115.0/24", NULL, 0, keys + 1, 1, 600, 1800, &e);
	assert_true(e.down_ms == now - 60000);
	assert_int_equal(e.down_key, 0);
	assert_int_equal(locals(fx), 0);
	assert_int_equal(downs(fx), 0);

	/* nonsense in a record: the store counts as away, the answer is local */
	server_set("mxbypass:witness:203.0.116.0/24:198.51.100.10", "soon", 600 * 1000LL);
	capture_start();
	store_evidence(fx->store, "203.0.116.0/24", mine, 1, NULL, 0, 600, 1800, &e);
	assert_true(e.witness_ms == 0);
	assert_int_equal(downs(fx), 1);
	assert_non_null(strstr(capture_stop(), "is away (evidence"));
}

/* Check mode reads the pool's retry memory and writes nothing to it. */
static void test_retry_known_shared(void **state)
{
	struct fixture *fx = *state;
	uint64_t now = wall_ms(), first = 0;
	char val[64];

	assert_non_null(fx->store = store_new(fx->cfg, NULL, true));
	assert_false(store_retry_known(fx->store, "192.0.2.0/24", "peek.example", &first));
	assert_int_equal(server_saw("GET mxbypass:retry:192.0.2.0/24:peek.example"), 1);
	assert_int_equal(server_saw("SET mxbypass:retry:"), 0);
	/* another milter tempfailed that network */
	snprintf(val, sizeof(val), "%llu", (unsigned long long)(now - 60000));
	server_set("mxbypass:retry:192.0.2.0/24:peek.example", val, 86400 * 1000LL);
	assert_true(store_retry_known(fx->store, "192.0.2.0/24", "peek.example", &first));
	assert_true(first == now - 60000);
	assert_int_equal(server_saw("SET mxbypass:retry:"), 0);
	assert_int_equal(locals(fx), 0);
}

/* Back after the backoff: redis.c's own thread reconnects (not a mail
 * thread), and from then on the operations go to Redis again. */
static void test_reconnect_after_backoff(void **state)
{
	struct fixture *fx = *state;
	uint64_t local;
	bool fresh;

	server_reachable(false);
	capture_start();
	assert_non_null(fx->store = store_new(fx->cfg, NULL, true));
	assert_false(store_up(fx->store));
	store_retry_first(fx->store, "192.0.2.0/24", "while-away.example", 86400, &fresh);
	assert_int_equal(server_saw("while-away.example"), 0);

	server_reachable(true);
	assert_true(wait_up(fx->store, true));
	assert_int_equal(my_connects, 1);		/* only the one at start */
	assert_true(server_count(&srv.connects) >= 2);	/* the thread's */

	local = locals(fx);
	store_retry_first(fx->store, "192.0.2.0/24", "back.example", 86400, &fresh);
	assert_true(fresh);
	assert_int_equal(server_saw("SET mxbypass:retry:192.0.2.0/24:back.example"), 1);
	assert_int_equal(server_saw("GET mxbypass:retry:192.0.2.0/24:back.example"), 1);
	assert_int_equal(locals(fx), local);
	assert_int_equal(downs(fx), 1);
	assert_non_null(strstr(capture_stop(), "answers again after"));
}

/* Retry memory and probe results are shared through Redis. */
static void test_shared_state(void **state)
{
	struct fixture *fx = *state;
	uint64_t earlier = wall_ms() - 600 * 1000, t, now;
	char val[64];
	long long ttl;
	bool fresh, up = false;

	assert_non_null(fx->store = store_new(fx->cfg, NULL, true));
	assert_true(store_up(fx->store));
	assert_int_equal(downs(fx), 0);

	/* another milter of the pool tempfailed this pair ten minutes ago */
	snprintf(val, sizeof(val), "%llu", (unsigned long long)earlier);
	server_set("mxbypass:retry:192.0.2.0/24:pool.example", val, 86400 * 1000LL);
	t = store_retry_first(fx->store, "192.0.2.0/24", "pool.example", 86400, &fresh);
	assert_false(fresh);
	assert_true(t == earlier);

	/* a pair the pool has not seen: ours goes in, with RetryExpire */
	now = wall_ms();
	t = store_retry_first(fx->store, "2001:db8:1:2::/64", "new.example", 86400, &fresh);
	assert_true(fresh);
	assert_true(t >= now);
	assert_true(server_get("mxbypass:retry:2001%3adb8%3a1%3a2%3a%3a/64:new.example", val,
			       sizeof(val), &ttl));
	assert_true(strtoull(val, NULL, 10) == t);
	assert_true(ttl == 86400 * 1000LL);

	/* another milter probed 192.0.2.1 port 25 */
	server_set("mxbypass:probe:192.0.2.1%2025", "up", 120000);
	assert_int_equal(store_probe_get(fx->store, "192.0.2.1 25", 0, 0, &up), STORE_PROBE_HIT);
	assert_true(up);
	assert_int_equal(stats_get(STAT_PROBE_SHARED) - fx->shared0, 1);
	/* ... and now the local copy answers without a round trip */
	assert_int_equal(store_probe_get(fx->store, "192.0.2.1 25", 0, 0, &up), STORE_PROBE_HIT);
	assert_int_equal(server_saw("GET mxbypass:probe:192.0.2.1%2025"), 1);

	/* none in the pool: lead, and the result goes to the pool too */
	assert_int_equal(store_probe_get(fx->store, "192.0.2.2 25", 0, 0, &up), STORE_PROBE_LEAD);
	store_probe_put(fx->store, "192.0.2.2 25", false, 60, 0);
	assert_true(server_get("mxbypass:probe:192.0.2.2%2025", val, sizeof(val), &ttl));
	assert_string_equal(val, "down");
	assert_true(ttl == 60000);
	assert_int_equal(locals(fx), 0);
	assert_int_equal(downs(fx), 0);
}

/* The counters reach the pool from redis.c's thread, once a second
 * (the layout of the stats keys is redis.c's; here: that they come). */
static void test_counters_pushed(void **state)
{
	struct fixture *fx = *state;

	assert_non_null(fx->store = store_new(fx->cfg, NULL, true));
	stats_add(STAT_RCPTS);
	stats_add(STAT_RCPTS);
	assert_true(wait_saw(" mxbypass:stats:", " rcpts "));
	assert_true(wait_saw("ZADD mxbypass:milters ", NULL));
}

/* A fault in the middle of an operation: that operation is answered
 * from memory, Redis counts as down once, the connection is closed, and
 * later operations do not go to Redis nor connect. */
struct fault_case {
	const char *name;
	enum fault fault;
	enum { OP_RETRY, OP_PROBE_GET, OP_PROBE_PUT } op;
	const char *logged;		/* in the "is away" line */
};

static const struct fault_case fault_cases[] = {
	{ "fault: timeout in retry", F_TIMEOUT, OP_RETRY,
	  "(retry: no answer within RedisTimeout)" },
	{ "fault: reset in retry", F_RESET, OP_RETRY, "(retry: Connection reset by peer)" },
	{ "fault: EOF in probe get", F_EOF, OP_PROBE_GET, "(probe: Server closed the connection)" },
	{ "fault: timeout in probe put", F_TIMEOUT, OP_PROBE_PUT,
	  "(probe: no answer within RedisTimeout)" },
	{ "fault: wrong type in retry", F_WRONG_TYPE, OP_RETRY, "(retry: unexpected reply)" },
	{ "fault: wrong type in probe get", F_WRONG_TYPE, OP_PROBE_GET,
	  "(probe: unexpected reply)" },
	{ "fault: wrong type in probe put", F_WRONG_TYPE, OP_PROBE_PUT,
	  "(probe: unexpected reply)" },
	{ "fault: error reply in retry", F_ERROR_REPLY, OP_RETRY,
	  "(retry: LOADING Redis is loading the dataset in memory)" },
	{ "fault: error reply in probe get", F_ERROR_REPLY, OP_PROBE_GET,
	  "(probe: LOADING Redis is loading the dataset in memory)" },
};

static void test_fault(void **state)
{
	struct fixture *fx = *state;
	const struct fault_case *c = fx->param;
	const char *log, *away;
	uint64_t before, t;
	unsigned connects;
	bool fresh, up;

	capture_start();
	assert_non_null(fx->store = store_new(fx->cfg, NULL, true));
	assert_true(store_up(fx->store));
	store_retry_first(fx->store, "192.0.2.0/24", "before.example", 86400, &fresh);
	assert_int_equal(server_saw("before.example"), 2);	/* SET and GET */

	before = wall_ms();
	switch (c->op) {
	case OP_RETRY:
		server_fault("fault.example", c->fault);
		t = store_retry_first(fx->store, "192.0.2.0/24", "fault.example", 86400, &fresh);
		assert_true(fresh);			/* from memory: ours */
		assert_true(t >= before);
		break;
	case OP_PROBE_GET:
		server_fault("fault.example", c->fault);
		assert_int_equal(store_probe_get(fx->store, "fault.example", 0, 0, &up), STORE_PROBE_LEAD);
		store_probe_abandon(fx->store, "fault.example");
		break;
	case OP_PROBE_PUT:
		assert_int_equal(store_probe_get(fx->store, "fault.example", 0, 0, &up), STORE_PROBE_LEAD);
		server_fault("fault.example", c->fault);	/* the GET passed, the SET fails */
		store_probe_put(fx->store, "fault.example", true, 300, 0);
		assert_int_equal(store_probe_get(fx->store, "fault.example", 0, 0, &up), STORE_PROBE_HIT);
		assert_true(up);			/* kept locally all the same */
		break;
	}
	assert_int_equal(server_count(&srv.faults), 1);
	assert_int_equal(downs(fx), 1);
	assert_int_equal(locals(fx), 1);
	assert_false(store_up(fx->store));

	/* later operations: memory only, no connect, nothing sent */
	connects = my_connects;
	t = store_retry_first(fx->store, "192.0.2.0/24", "later.example", 86400, &fresh);
	assert_true(fresh);
	assert_true(store_retry_first(fx->store, "192.0.2.0/24", "later.example", 86400,
				      &fresh) == t);
	assert_false(fresh);
	assert_int_equal(store_probe_get(fx->store, "later.example", 0, 0, &up), STORE_PROBE_LEAD);
	store_probe_put(fx->store, "later.example", false, 60, 0);
	assert_int_equal(server_saw("later.example"), 0);
	assert_int_equal(my_connects, connects);
	assert_int_equal(downs(fx), 1);
	assert_int_equal(locals(fx), 1 + 2 + 2);

	log = capture_stop();
	assert_non_null(strstr(log, c->logged));
	assert_non_null(away = strstr(log, "is away"));
	assert_null(strstr(away + 1, "is away"));	/* said once */
}

struct racer {
	struct store *store;
	const char *network;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	bool fresh;

	store_retry_first(r->store, r->network, "race.example", 86400, &fresh);
	return NULL;
}

/* Two operations fail at the same moment, on two connections: Redis is
 * counted and logged away once, not once per failure. */
static void test_two_failures_one_down(void **state)
{
	struct fixture *fx = *state;
	struct racer r[2];
	pthread_t t[2];
	const char *log, *away;

	capture_start();
	assert_non_null(fx->store = store_new(fx->cfg, NULL, true));
	assert_true(store_up(fx->store));
	server_faults("race.example", F_TIMEOUT, 2);
	for (int i = 0; i < 2; i++) {
		r[i] = (struct racer){ fx->store, i == 0 ? "192.0.2.0/24" : "198.51.100.0/24" };
		assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(server_count(&srv.faults), 2);
	assert_int_equal(server_count(&srv.arrived), 2);	/* both read a fault */
	assert_false(store_up(fx->store));
	assert_int_equal(downs(fx), 1);
	assert_int_equal(locals(fx), 2);
	log = capture_stop();
	assert_non_null(away = strstr(log, "is away"));
	assert_null(strstr(away + 1, "is away"));
}

/* A refused AUTH is Redis away; the password never reaches a log line,
 * not even at LogLevel debug, nor when the thread tries again. Once the
 * server takes the password, sharing resumes. */
static void test_auth_refused(void **state)
{
	struct fixture *fx = *state;
	const char *log;
	bool fresh;

	server_password("another-password");
	capture_start();
	assert_non_null(fx->store = store_new(fx->cfg, PASSWORD, true));
	assert_false(store_up(fx->store));
	assert_int_equal(downs(fx), 1);
	assert_true(server_saw("AUTH " PASSWORD) >= 1);	/* it was sent... */
	/* the thread tries again (and is refused again) */
	for (unsigned waited = 0; server_saw("AUTH ") < 2 && waited < WAIT_MS; waited += 10)
		sleep_ms(10);
	assert_true(server_saw("AUTH ") >= 2);
	store_retry_first(fx->store, "192.0.2.0/24", "noauth.example", 86400, &fresh);
	assert_int_equal(server_saw("noauth.example"), 0);

	server_password(PASSWORD);
	assert_true(wait_up(fx->store, true));
	store_retry_first(fx->store, "192.0.2.0/24", "authed.example", 86400, &fresh);
	assert_int_equal(server_saw("GET mxbypass:retry:192.0.2.0/24:authed.example"), 1);
	assert_int_equal(downs(fx), 1);

	log = capture_stop();
	assert_non_null(strstr(log, "AUTH refused: WRONGPASS"));
	assert_non_null(strstr(log, "next try in"));	/* the debug line was on */
	assert_null(strstr(log, PASSWORD));		/* ... but no password */
	assert_null(strstr(log, "Sekr1t"));
}

/* A server that wants no password refuses AUTH too: Redis is away. */
static void test_auth_not_configured(void **state)
{
	struct fixture *fx = *state;
	const char *log;

	capture_start();
	assert_non_null(fx->store = store_new(fx->cfg, PASSWORD, true));
	assert_false(store_up(fx->store));
	assert_int_equal(downs(fx), 1);
	log = capture_stop();
	assert_non_null(strstr(log, "AUTH refused: ERR AUTH <password> called"));
	assert_null(strstr(log, PASSWORD));
}

/* A server behind AUTH, without a password configured: NOAUTH on PING. */
static void test_noauth(void **state)
{
	struct fixture *fx = *state;

	server_password(PASSWORD);
	capture_start();
	assert_non_null(fx->store = store_new(fx->cfg, NULL, true));
	assert_false(store_up(fx->store));
	assert_non_null(strstr(capture_stop(), "(PING: NOAUTH Authentication required.)"));
}

/* RedisServer unix:PATH connects to the socket path given. */
static void test_unix_socket(void **state)
{
	struct fixture *fx = *state;
	bool fresh;

	config_free(fx->cfg);
	fx->cfg = config_redis("unix:/run/redis/redis-server.sock");
	assert_non_null(fx->store = store_new(fx->cfg, NULL, true));
	assert_true(store_up(fx->store));
	assert_int_equal(server_count(&srv.unix_connects), 1);
	pthread_mutex_lock(&srv.lock);
	assert_string_equal(srv.unix_path, "/run/redis/redis-server.sock");
	pthread_mutex_unlock(&srv.lock);
	store_retry_first(fx->store, "192.0.2.0/24", "unix.example", 86400, &fresh);
	assert_int_equal(server_saw("unix.example"), 2);
}

/* -S: the pool's line when Redis is away is an error, not a crash. */
static void test_pool_report_away(void **state)
{
	struct fixture *fx = *state;
	char path[300];
	FILE *out;

	server_reachable(false);
	snprintf(path, sizeof(path), "%s/report", tmpdir);
	assert_non_null(out = fopen(path, "w+"));
	capture_start();
	assert_int_equal(store_pool_report(fx->cfg, PASSWORD, out), 1);
	assert_int_equal(ftell(out), 0);
	fclose(out);
	assert_non_null(strstr(capture_stop(), "-S: redis 127.0.0.1:6379: connect: "));
	assert_int_equal(downs(fx), 0);		/* -S is not the milter */
}

/*
 * The local copy of the retry memory learns an earlier time from the
 * pool even when it has a time of its own (cache_update), so that while
 * Redis is away again a sender that was tempfailed by another backup of
 * the pool and retries here is not tempfailed once more.
 */
static void test_local_copy_learns_pool_time(void **state)
{
	struct fixture *fx = *state;
	uint64_t earlier, mine, t;
	char val[64];
	bool fresh;

	capture_start();
	/* 1. Redis away: this milter remembers its own first time */
	server_reachable(false);
	assert_non_null(fx->store = store_new(fx->cfg, NULL, true));
	mine = store_retry_first(fx->store, "192.0.2.0/24", "learn.example", 86400, &fresh);
	assert_true(fresh);
	/* 2. Redis back, with an earlier time from another milter */
	earlier = mine - 600 * 1000;
	snprintf(val, sizeof(val), "%llu", (unsigned long long)earlier);
	server_set("mxbypass:retry:192.0.2.0/24:learn.example", val, 86400 * 1000LL);
	server_reachable(true);
	assert_true(wait_up(fx->store, true));
	t = store_retry_first(fx->store, "192.0.2.0/24", "learn.example", 86400, &fresh);
	assert_true(t == earlier);
	/* 3. Redis away again: the local copy should answer the pool's time */
	server_fault("learn.example", F_TIMEOUT);
	store_retry_first(fx->store, "192.0.2.0/24", "learn.example", 86400, &fresh);
	assert_false(store_up(fx->store));
	t = store_retry_first(fx->store, "192.0.2.0/24", "learn.example", 86400, &fresh);
	assert_false(fresh);
	capture_stop();
	assert_true(t == earlier);	/* fails: t == mine */
}

static int setup_dir(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL;
}

static int remove_dir(void **state)
{
	static const char *const files[] = { "log", "redis.conf", "report" };
	char path[300];

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
		unlink(path);
	}
	return rmdir(tmpdir);
}

int main(void)
{
	struct CMUnitTest tests[32] = {
		cmocka_unit_test_setup_teardown(test_unreachable_at_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect_after_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evidence_shared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_known_shared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counters_pushed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_failures_one_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_not_configured, setup, teardown),
		cmocka_unit_test_setup_teardown(test_noauth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unix_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_report_away, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_copy_learns_pool_time, setup, teardown),
	};
	size_t n = 11;

	for (size_t i = 0; i < sizeof(fault_cases) / sizeof(fault_cases[0]); i++)
		tests[n++] = (struct CMUnitTest){ fault_cases[i].name, test_fault, setup, teardown,
						  (void *)&fault_cases[i] };
	return _cmocka_run_group_tests("redis", tests, n, setup_dir, remove_dir);
}
