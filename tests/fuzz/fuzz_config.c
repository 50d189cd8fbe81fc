/*
 * NAME
 *	fuzz_config - the configuration parser: config_load on any text
 * DESCRIPTION
 *	config_load() reads a path, so the files it opens come from memory:
 *	fopen is replaced at link time (ld --wrap=fopen) and, while a load
 *	runs, serves fmemopen streams for a few names under /fuzz and says
 *	ENOENT for every other path. Nothing touches the disk, nothing is
 *	left behind, and a configuration cannot make the harness read
 *	/dev/zero or a terminal.
 *
 *	Input: the configuration file /fuzz/main.conf; after a NUL, the file
 *	/fuzz/a; after a second NUL, the file /fuzz/b (to the end, NULs and
 *	all). A configuration names them, e.g. "ActionMap /fuzz/a" or
 *	"Domains file:/fuzz/b".
 *
 *	What must hold, or the harness aborts:
 *	- a load gives a configuration with no diagnostic, or NULL with at
 *	  least one; each is one line, "FILE:..." naming a file it read;
 *	- loading the same files again gives the same configuration, field
 *	  for field;
 *	- a configuration that loads keeps every value inside the bounds of
 *	  the key table (milter/config.c): numbers in range, MinTTL <= MaxTTL,
 *	  RetryAfter below RetryExpire, texts printable, header names without
 *	  colon or space, paths absolute, domain patterns normalised, sorted
 *	  and without duplicates, networks with a prefix that fits;
 *	- writing the effective values back as "Key value" lines (the key
 *	  names in the order of the example file) loads again, without a
 *	  diagnostic, to the same configuration;
 *	- nothing leaks (LeakSanitizer, under libFuzzer and the ASan build).
 */

#include "autoconfig.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/socket.h>

#include "config.h"
#include "domainmap.h"
#include "netaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);
FILE *__wrap_fopen(const char *path, const char *mode);
FILE *__real_fopen(const char *path, const char *mode);

#define CHECK(cond) ((cond) ? (void)0 : fail(#cond, __LINE__))
#define MAIN_PATH "/fuzz/main.conf"
#define AGAIN_PATH "/fuzz/again.conf"
#define DAY 86400u

static void fail(const char *what, int line)
{
	fprintf(stderr, "fuzz_config:%d: invariant broken: %s\n", line, what);
	abort();
}

/*
 * The files config_load may open, while it runs.
 */

struct vfile {
	const char *path;
	const char *data;
	size_t len;
	bool exists;
};

static struct vfile vfiles[] = {
	{ MAIN_PATH, NULL, 0, false },
	{ "/fuzz/a", NULL, 0, false },
	{ "/fuzz/b", NULL, 0, false },
	{ AGAIN_PATH, NULL, 0, false },
};

#define NVFILES (sizeof(vfiles) / sizeof(vfiles[0]))

static bool loading;		/* fopen serves the virtual files only */

FILE *__wrap_fopen(const char *path, const char *mode)
{
	if (!loading)
		return __real_fopen(path, mode);
	CHECK(strcmp(mode, "r") == 0);
	for (size_t i = 0; i < NVFILES; i++) {
		if (!vfiles[i].exists || strcmp(path, vfiles[i].path) != 0)
			continue;
		/* fmemopen refuses a size of 0; an empty file is /dev/null */
		if (vfiles[i].len == 0)
			return __real_fopen("/dev/null", "r");
		return fmemopen((void *)vfiles[i].data, vfiles[i].len, "r");
	}
	errno = ENOENT;
	return NULL;
}

/* load - config_load of a virtual file; the diagnostics in *d */
static struct config *load(const char *path, struct config_diag *d)
{
	struct config *c;

	loading = true;
	c = config_load(path, true, d);
	loading = false;
	return c;
}

/*
 * The key names, in the order of the table (config->raw is indexed by
 * it), read from the example file config_write_example makes: "## Title"
 * is a section row, "#Key value" a key row.
 */

static char *names_text;
static const char *key_names[128];
static size_t nrows;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t len = 0;
	FILE *fp = open_memstream(&names_text, &len);

	(void)argc;
	(void)argv;
	if (fp == NULL)
		abort();
	config_write_example(fp);
	fclose(fp);
	for (char *line = strtok(names_text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		if (strncmp(line, "## ", 3) == 0) {
			CHECK(nrows < sizeof(key_names) / sizeof(key_names[0]));
			key_names[nrows++] = NULL;
		} else if (line[0] == '#' && line[1] >= 'A' && line[1] <= 'Z') {
			char *sp = strchr(line, ' ');
			CHECK(nrows < sizeof(key_names) / sizeof(key_names[0]));
			if (sp != NULL)
				*sp = '\0';
			key_names[nrows++] = line + 1;
		}
	}
	CHECK(nrows > 40);
	return 0;
}

/*
 * Invariants of a configuration that loaded.
 */

static bool printable(const char *s, bool spaces)
{
	for (; *s != '\0'; s++)
		if (*s < (spaces ? 0x20 : 0x21) || *s > 0x7e)
			return false;
	return true;
}

static bool is_normal(const char *d)
{
	char out[DOMAIN_MAXLEN + 1];
	size_t len = strlen(d);

	return len > 0 && d[len - 1] != '.'
		&& domain_normalize(d, len, out, sizeof(out)) && strcmp(out, d) == 0;
}

/* configurable - one of the four values Action and ActionMap take */
static bool configurable(enum action a)
{
	return a == ACTION_TAG || a == ACTION_TEMPFAIL || a == ACTION_REJECT || a == ACTION_LOG;
}

/* check_map - sorted, no duplicates, every name normalised */
static void check_map(const struct domain_map *m, bool patterns, int max_value)
{
	for (size_t i = 0; i < m->n; i++) {
		const char *name = m->v[i].name;

		CHECK(name != NULL);
		if (patterns && name[0] == '.')
			name++;
		CHECK(is_normal(name));
		CHECK(m->v[i].value >= 0 && m->v[i].value <= max_value);
		if (i > 0)
			CHECK(strcmp(m->v[i - 1].name, m->v[i].name) < 0);
	}
}

static void check_cidrs(const struct cidr_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct cidr *c = &l->v[i];
		CHECK(c->addr.family == AF_INET || c->addr.family == AF_INET6);
		CHECK(c->prefix <= (c->addr.family == AF_INET ? 32u : 128u));
		CHECK(cidr_match(c, &c->addr));
	}
}

static bool absolute_or_null(const char *p)
{
	return p == NULL || p[0] == '/';
}

static void check_config(const struct config *c)
{
	static const int facilities[] = { LOG_MAIL, LOG_DAEMON, LOG_USER, LOG_LOCAL0, LOG_LOCAL1,
					   LOG_LOCAL2, LOG_LOCAL3, LOG_LOCAL4, LOG_LOCAL5, LOG_LOCAL6,
					   LOG_LOCAL7 };
	bool facility = false;

	CHECK(c->socket != NULL);
	CHECK(strncmp(c->socket, "unix:/", 6) == 0 || strncmp(c->socket, "local:/", 7) == 0
	      || c->socket[0] == '/' || strncmp(c->socket, "inet:", 5) == 0
	      || strncmp(c->socket, "inet6:", 6) == 0);
	CHECK(c->umask <= 0777);
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		facility |= c->syslog_facility == facilities[i];
	CHECK(facility);
	CHECK(c->log_level == LOG_ERR || c->log_level == LOG_WARNING || c->log_level == LOG_NOTICE
	      || c->log_level == LOG_INFO || c->log_level == LOG_DEBUG);
	CHECK(configurable(c->action));
	CHECK(c->header_name != NULL && printable(c->header_name, false));
	CHECK(strlen(c->header_name) >= 1 && strlen(c->header_name) <= 64);
	CHECK(strchr(c->header_name, ':') == NULL);
	CHECK(c->reply_text != NULL && printable(c->reply_text, true) && strlen(c->reply_text) <= 400);
	CHECK(c->retry_after <= 7 * DAY);
	CHECK(c->retry_expire >= 1 && c->retry_expire <= 30 * DAY);
	CHECK(c->retry_after == 0 || c->retry_after < c->retry_expire);
	CHECK(c->retry_prefix4 >= 1 && c->retry_prefix4 <= 32);
	CHECK(c->retry_prefix6 >= 1 && c->retry_prefix6 <= 128);
	CHECK(c->dns_timeout_ms >= 10 && c->dns_timeout_ms <= 60000);
	CHECK(c->dns_tries >= 1 && c->dns_tries <= 10);
	CHECK(c->cache_size >= 1 && c->cache_size <= 10000000);
	CHECK(c->min_ttl <= DAY);
	CHECK(c->max_ttl >= 1 && c->max_ttl <= 7 * DAY);
	CHECK(c->min_ttl <= c->max_ttl);
	CHECK(c->negative_ttl <= DAY);
	CHECK(c->probe_port >= 1 && c->probe_port <= 65535);
	CHECK(c->probe_timeout_ms >= 10 && c->probe_timeout_ms <= 60000);
	CHECK(c->probe_ttl_up >= 1 && c->probe_ttl_up <= DAY);
	CHECK(c->probe_ttl_down >= 1 && c->probe_ttl_down <= DAY);
	CHECK(c->probe_concurrency >= 1 && c->probe_concurrency <= 4096);
	CHECK(c->decision_timeout_ms >= 100 && c->decision_timeout_ms <= 600000);
	CHECK(c->stats_interval <= DAY);
	CHECK(c->state_backend == BACKEND_MEMORY || c->state_backend == BACKEND_REDIS);
	CHECK(c->redis_server != NULL);
	CHECK(c->redis_database <= 65535);
	CHECK(c->redis_prefix != NULL && printable(c->redis_prefix, false)
	      && strlen(c->redis_prefix) <= 64);
	CHECK(c->redis_timeout_ms >= 1 && c->redis_timeout_ms <= 10000);
	CHECK(absolute_or_null(c->pidfile));
	CHECK(absolute_or_null(c->stats_file));
	CHECK(absolute_or_null(c->redis_password_file));
	CHECK(absolute_or_null(c->action_map_file));
	CHECK(c->action_map_file != NULL || c->action_map.n == 0);
	CHECK(c->domains_spec != NULL || c->domains.n == 0);
	check_map(&c->action_map, true, ACTION_COUNT - 1);
	for (size_t i = 0; i < c->action_map.n; i++)
		CHECK(configurable((enum action)c->action_map.v[i].value));
	check_map(&c->domains, true, 1);
	check_map(&c->local_names, false, 1);
	check_cidrs(&c->local_addresses);
	check_cidrs(&c->trusted_networks);
	CHECK(c->path != NULL);
}

/*
 * Two configurations are the same.
 */

static bool same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void same_map(const struct domain_map *a, const struct domain_map *b)
{
	CHECK(a->n == b->n);
	for (size_t i = 0; i < a->n; i++) {
		CHECK(strcmp(a->v[i].name, b->v[i].name) == 0);
		CHECK(a->v[i].value == b->v[i].value);
	}
}

static void same_cidrs(const struct cidr_list *a, const struct cidr_list *b)
{
	CHECK(a->n == b->n);
	for (size_t i = 0; i < a->n; i++)
		CHECK(netaddr_equal(&a->v[i].addr, &b->v[i].addr) && a->v[i].prefix == b->v[i].prefix);
}

static void same_config(const struct config *a, const struct config *b)
{
	for (size_t i = 0; i < nrows; i++)
		CHECK(same_str(a->raw[i], b->raw[i]));
	CHECK(same_str(a->socket, b->socket));
	CHECK(same_str(a->user, b->user) && a->uid == b->uid && a->gid == b->gid);
	CHECK(a->umask == b->umask && same_str(a->pidfile, b->pidfile));
	CHECK(a->syslog == b->syslog && a->syslog_facility == b->syslog_facility);
	CHECK(a->log_level == b->log_level && a->action == b->action);
	CHECK(same_str(a->action_map_file, b->action_map_file));
	same_map(&a->action_map, &b->action_map);
	CHECK(same_str(a->domains_spec, b->domains_spec));
	same_map(&a->domains, &b->domains);
	CHECK(same_str(a->header_name, b->header_name) && same_str(a->reply_text, b->reply_text));
	CHECK(a->retry_after == b->retry_after && a->retry_expire == b->retry_expire);
	CHECK(a->retry_prefix4 == b->retry_prefix4 && a->retry_prefix6 == b->retry_prefix6);
	same_cidrs(&a->local_addresses, &b->local_addresses);
	same_map(&a->local_names, &b->local_names);
	same_cidrs(&a->trusted_networks, &b->trusted_networks);
	CHECK(a->skip_authenticated == b->skip_authenticated);
	CHECK(same_str(a->dns_servers, b->dns_servers));
	CHECK(a->dns_timeout_ms == b->dns_timeout_ms && a->dns_tries == b->dns_tries);
	CHECK(a->cache_size == b->cache_size && a->min_ttl == b->min_ttl);
	CHECK(a->max_ttl == b->max_ttl && a->negative_ttl == b->negative_ttl);
	CHECK(a->probe_port == b->probe_port && a->probe_timeout_ms == b->probe_timeout_ms);
	CHECK(a->probe_banner == b->probe_banner && a->probe_ttl_up == b->probe_ttl_up);
	CHECK(a->probe_ttl_down == b->probe_ttl_down);
	CHECK(a->probe_concurrency == b->probe_concurrency);
	CHECK(a->decision_timeout_ms == b->decision_timeout_ms);
	CHECK(a->stats_interval == b->stats_interval && same_str(a->stats_file, b->stats_file));
	CHECK(a->state_backend == b->state_backend && same_str(a->redis_server, b->redis_server));
	CHECK(same_str(a->redis_password_file, b->redis_password_file));
	CHECK(a->redis_database == b->redis_database && same_str(a->redis_prefix, b->redis_prefix));
	CHECK(a->redis_timeout_ms == b->redis_timeout_ms);
}

/* check_diag - each problem one line, naming a file the load read */
static void check_diag(const struct config_diag *d, const char *main_path)
{
	for (size_t i = 0; i < d->n; i++) {
		const char *l = d->lines[i];
		bool named = false;

		CHECK(l != NULL && strchr(l, '\n') == NULL);
		for (size_t k = 0; k < NVFILES; k++) {
			size_t n = strlen(vfiles[k].path);
			if ((strcmp(vfiles[k].path, main_path) == 0 || k == 1 || k == 2)
			    && strncmp(l, vfiles[k].path, n) == 0 && l[n] == ':')
				named = true;
		}
		CHECK(named);
	}
}

/* write_again - the effective values as a configuration file */
static char *write_again(const struct config *c, size_t *len)
{
	char *text = NULL;
	FILE *fp = open_memstream(&text, len);

	if (fp == NULL)
		abort();
	for (size_t i = 0; i < nrows; i++)
		if (key_names[i] != NULL && c->raw[i] != NULL)
			fprintf(fp, "%s %s\n", key_names[i], c->raw[i]);
	fclose(fp);
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct config_diag d1 = { 0 }, d2 = { 0 };
	struct config *c1, *c2;

	/* the files: main, then /fuzz/a and /fuzz/b after a NUL each */
	for (size_t i = 0; i < NVFILES; i++)
		vfiles[i].exists = false;
	for (size_t i = 0; i < 3; i++) {
		const char *nul = i < 2 ? memchr(p, '\0', (size_t)(end - p)) : NULL;
		vfiles[i] = (struct vfile){ vfiles[i].path, p, (size_t)((nul ? nul : end) - p), true };
		if (nul == NULL)
			break;
		p = nul + 1;
	}

	c1 = load(MAIN_PATH, &d1);
	check_diag(&d1, MAIN_PATH);
	CHECK((c1 != NULL) == (d1.n == 0));
	config_diag_free(&d1);
	if (c1 == NULL)
		return 0;

	/* the same files, the same configuration (most inputs do not load:
	 * this costs a second load only for those that do) */
	c2 = load(MAIN_PATH, &d2);
	CHECK(c2 != NULL && d2.n == 0);
	same_config(c1, c2);
	config_free(c2);

	check_config(c1);
	CHECK(strcmp(c1->path, MAIN_PATH) == 0);

	/* written back, it loads to the same */
	{
		size_t len = 0;
		char *text = write_again(c1, &len);

		vfiles[3] = (struct vfile){ AGAIN_PATH, text, len, true };
		c2 = load(AGAIN_PATH, &d2);
		if (c2 == NULL)
			for (size_t i = 0; i < d2.n; i++)
				fprintf(stderr, "fuzz_config: written back: %s\n", d2.lines[i]);
		check_diag(&d2, AGAIN_PATH);
		CHECK(c2 != NULL && d2.n == 0);
		same_config(c1, c2);
		config_free(c2);
		config_diag_free(&d2);
		vfiles[3].exists = false;
		free(text);
	}
	config_free(c1);
	return 0;
}
