/*
 * NAME
 *	config - the configuration: one table of keys, and the file read by it
 * SYNOPSIS
 *	#include "config.h"
 *
 *	struct config *config_load(const char *path, bool must_exist,
 *				   struct config_diag *d)
 *	bool config_override(const char *key, const char *value, const char *origin)
 *	void config_free(struct config *c)
 *	void config_diag_free(struct config_diag *d)
 * DESCRIPTION
 *	Every key lives in one row of config_keys[]: name, type, default,
 *	bounds, where it goes in struct config, and one line of documentation.
 *	The parser, the defaults, the checks of -n, the example file and the
 *	man page (config_write.c) all come from that table, so they cannot
 *	drift. This module holds the table, reads the file and hands each
 *	value to the parser of its key's type (config_value.c); the snapshot
 *	in force and its reload are in config_snapshot.c.
 *
 *	config_load() reads "Key value" lines ('#' starts a comment at the
 *	start of a line or after white space; keys are case-insensitive) and
 *	returns a new snapshot, or NULL with every problem in the diagnostics,
 *	each as "FILE:LINE: message"; an unknown key gets a suggestion. Files
 *	named by keys (ActionMap, Domains file:) are read at the same time and
 *	report their own FILE:LINE. Values given on the command line
 *	(config_override) are applied after the file, on every load.
 */

#include "autoconfig.h"

/* System. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

/* This program. */
#include "config.h"
#include "config_table.h"
#include "domainmap.h"
#include "log.h"
#include "netaddr.h"

static const struct enum_name level_names[] = {
	{ "error", LOG_ERR }, { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
	{ "info", LOG_INFO }, { "debug", LOG_DEBUG }, { NULL, 0 }
};

static const struct enum_name facility_names[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 }, { NULL, 0 }
};

static const struct enum_name backend_names[] = {
	{ "memory", BACKEND_MEMORY }, { "redis", BACKEND_REDIS }, { NULL, 0 }
};

#define OFF(field) offsetof(struct config, field)
#define SECTION(title) { title, KT_SECTION, NULL, 0, 0, 0, NULL, 0, NULL, NULL }

const struct config_key config_keys[] = {
	SECTION("Daemon"),
	{ "Socket", KT_SOCKET, "unix:/run/mxbypass-milter/mxbypass-milter.sock", 0, 0,
	  OFF(socket), NULL, KF_RESTART,
	  "libmilter socket: unix:PATH, inet:PORT@HOST or inet6:PORT@HOST", NULL },
	{ "UserID", KT_USER, NULL, 0, 0, OFF(user), NULL, KF_RESTART,
	  "drop privileges to user[:group] after opening the socket", "mxbypass:mxbypass" },
	{ "UMask", KT_OCTAL, "007", 0, 0777, OFF(umask), NULL, KF_RESTART,
	  "umask (octal) in force while the unix socket is created", NULL },
	{ "PidFile", KT_PATH, NULL, 0, 0, OFF(pidfile), NULL, KF_RESTART,
	  "file to write the process id to", "/run/mxbypass-milter/mxbypass-milter.pid" },
	{ "Syslog", KT_BOOL, "yes", 0, 0, OFF(syslog), NULL, 0,
	  "log to syslog", NULL },
	{ "SyslogFacility", KT_ENUM, "mail", 0, 0, OFF(syslog_facility), facility_names, 0,
	  "syslog facility: mail, daemon, user, local0 .. local7", NULL },
	{ "LogLevel", KT_ENUM, "info", 0, 0, OFF(log_level), level_names, 0,
	  "lowest level logged: error, warning, notice, info (one line per recipient), debug", NULL },

	SECTION("Policy"),
	{ "Action", KT_ACTION, "tag", 0, 0, OFF(action), NULL, 0,
	  "what to do with a bypass: tag, tempfail, reject or log", NULL },
	{ "ActionMap", KT_ACTIONMAP, NULL, 0, 0, OFF(action_map_file), NULL, 0,
	  "file of \"domain action\" lines overriding Action; .example.org matches subdomains",
	  "/etc/mxbypass-milter/actions" },
	{ "Domains", KT_DOMAINS, NULL, 0, 0, OFF(domains_spec), NULL, 0,
	  "check only these recipient domains (list, or file:PATH); unset: all", "example.org, .example.org" },
	{ "HeaderName", KT_HEADER, "X-MX-Bypass", 0, 0, OFF(header_name), NULL, 0,
	  "header added to tagged messages (incoming copies are removed)", NULL },
	{ "ReplyText", KT_TEXT, "Please deliver to the primary MX host of this domain", 0, 0,
	  OFF(reply_text), NULL, 0, "text of the 451 and 550 replies", NULL },
	{ "RetryAfter", KT_SECONDS, "900", 0, 7 * DAY, OFF(retry_after), NULL, 0,
	  "seconds after a tempfail from which a retry is accepted and tagged; 0: off", NULL },
	{ "RetryExpire", KT_SECONDS, "86400", 1, 30 * DAY, OFF(retry_expire), NULL, 0,
	  "seconds a tempfailed sender is remembered", NULL },
	{ "RetryPrefix4", KT_UINT, "24", 1, 32, OFF(retry_prefix4), NULL, 0,
	  "IPv4 client network size for retry memory and statistics", NULL },
	{ "RetryPrefix6", KT_UINT, "64", 1, 128, OFF(retry_prefix6), NULL, 0,
	  "IPv6 client network size for retry memory and statistics", NULL },
	{ "LocalAddresses", KT_CIDRS, NULL, 0, 0, OFF(local_addresses), NULL, 0,
	  "addresses that are this host too (public addresses behind NAT)", "192.0.2.25, 2001:db8::25" },
	{ "LocalNames", KT_NAMES, NULL, 0, 0, OFF(local_names), NULL, 0,
	  "MX host names that are this host", "mx2.example.org" },
	{ "TrustedNetworks", KT_CIDRS, "127.0.0.0/8, ::1/128", 0, 0, OFF(trusted_networks), NULL, 0,
	  "clients that are never checked (CIDR list, or none)", NULL },
	{ "SkipAuthenticated", KT_BOOL, "yes", 0, 0, OFF(skip_authenticated), NULL, 0,
	  "never check SASL-authenticated clients", NULL },

	SECTION("DNS and cache"),
	{ "DnsServers", KT_DNSSERVERS, NULL, 0, 0, OFF(dns_servers), NULL, 0,
	  "resolvers to ask (addr, addr:port, [v6]:port); unset: /etc/resolv.conf", "127.0.0.1:53, [::1]:53" },
	{ "DnsTimeout", KT_MS, "2000", 10, 60000, OFF(dns_timeout_ms), NULL, 0,
	  "milliseconds per DNS try", NULL },
	{ "DnsTries", KT_UINT, "2", 1, 10, OFF(dns_tries), NULL, 0,
	  "DNS tries per query", NULL },
	{ "CacheSize", KT_UINT, "10000", 1, 10000000, OFF(cache_size), NULL, 0,
	  "domains kept in the cache; least recently used go first", NULL },
	{ "MinTTL", KT_SECONDS, "60", 0, DAY, OFF(min_ttl), NULL, 0,
	  "shortest time an answer is kept, whatever its TTL", NULL },
	{ "MaxTTL", KT_SECONDS, "3600", 1, 7 * DAY, OFF(max_ttl), NULL, 0,
	  "longest time an answer is kept, whatever its TTL", NULL },
	{ "NegativeTTL", KT_SECONDS, "300", 0, DAY, OFF(negative_ttl), NULL, 0,
	  "how long a failed lookup is kept", NULL },

	SECTION("Probes"),
	{ "ProbePort", KT_UINT, "25", 1, 65535, OFF(probe_port), NULL, 0,
	  "TCP port probed on better MX hosts", NULL },
	{ "ProbeTimeout", KT_MS, "3000", 10, 60000, OFF(probe_timeout_ms), NULL, 0,
	  "milliseconds a probe may take", NULL },
	{ "ProbeBanner", KT_BOOL, "yes", 0, 0, OFF(probe_banner), NULL, 0,
	  "reachable only after a 220 greeting (no: a TCP connect suffices)", NULL },
	{ "ProbeTTLUp", KT_SECONDS, "300", 1, DAY, OFF(probe_ttl_up), NULL, 0,
	  "seconds a reachable result is kept", NULL },
	{ "ProbeTTLDown", KT_SECONDS, "60", 1, DAY, OFF(probe_ttl_down), NULL, 0,
	  "seconds an unreachable result is kept", NULL },
	{ "ProbeConcurrency", KT_UINT, "64", 1, 4096, OFF(probe_concurrency), NULL, 0,
	  "probes in flight at once, whole process", NULL },
	{ "DecisionTimeout", KT_MS, "10000", 100, 600000, OFF(decision_timeout_ms), NULL, 0,
	  "milliseconds for one recipient's decision (RCPT unanswered: for all of a "
	  "message's), then verdict error (accept)", NULL },

	SECTION("Evidence before accusing"),
	{ "WitnessWindow", KT_SECONDS, "600", 0, DAY, OFF(witness_window), NULL, 0,
	  "seconds a client network's connection to a milter of the pool counts as having tried that MX; 0: off", NULL },
	{ "RecentDownWindow", KT_SECONDS, "1800", 0, 7 * DAY, OFF(recent_down_window), NULL, 0,
	  "seconds a better MX probed down still excuses a sender coming to the backup; 0: off", NULL },
	{ "ProbeConfirm", KT_SECONDS, "30", 0, DAY, OFF(probe_confirm), NULL, 0,
	  "seconds a reachable result may be old before a bypass rests on it, else probe again; 0: off", NULL },

	SECTION("Statistics"),
	{ "StatsInterval", KT_SECONDS, "300", 0, DAY, OFF(stats_interval), NULL, 0,
	  "seconds between statistics lines (SIGUSR1: one now); 0: only on SIGUSR1", NULL },
	{ "StatsFile", KT_PATH, NULL, 0, 0, OFF(stats_file), NULL, 0,
	  "Prometheus text file, replaced with each statistics line (writable by UserID)", "/var/lib/prometheus/node-exporter/mxbypass.prom" },

	SECTION("Shared state"),
	{ "StateBackend", KT_ENUM, "memory", 0, 0, OFF(state_backend), backend_names, KF_RESTART,
	  "where retry memory, probe results and pool statistics live: memory or redis", NULL },
	{ "RedisServer", KT_REDIS, "127.0.0.1:6379", 0, 0, OFF(redis_server), NULL, KF_RESTART,
	  "Redis server: host:port, [v6]:port or unix:PATH", NULL },
	{ "RedisPasswordFile", KT_PATH, NULL, 0, 0, OFF(redis_password_file), NULL, KF_RESTART,
	  "file holding the Redis AUTH password", "/etc/mxbypass-milter/redis.pass" },
	{ "RedisDatabase", KT_UINT, "0", 0, 65535, OFF(redis_database), NULL, KF_RESTART,
	  "Redis database number", NULL },
	{ "RedisPrefix", KT_TOKEN, "mxbypass:", 0, 64, OFF(redis_prefix), NULL, KF_RESTART,
	  "namespace of every Redis key", NULL },
	{ "RedisTimeout", KT_MS, "200", 1, 10000, OFF(redis_timeout_ms), NULL, 0,
	  "milliseconds per Redis operation; past it the local store answers", NULL },
};

#define NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))
const size_t config_nkeys = NKEYS;

/* config_diag_free - release the diagnostics, leaving them empty */
void config_diag_free(struct config_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->lines[i]);
	free(d->lines);
	d->lines = NULL;
	d->n = 0;
}

/* diag_vadd - append one "FILE:LINE: message" */
static void diag_vadd(struct config_diag *d, const char *file, unsigned line,
		      const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
static void diag_vadd(struct config_diag *d, const char *file, unsigned line,
		      const char *fmt, va_list ap)
{
	char msg[1024], full[1400];
	char **v;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line > 0)
		snprintf(full, sizeof(full), "%s:%u: %s", file, line, msg);
	else
		snprintf(full, sizeof(full), "%s: %s", file, msg);
	if (d == NULL)
		return;
	v = realloc(d->lines, (d->n + 1) * sizeof(*v));
	if (v == NULL)
		return;
	d->lines = v;
	if ((d->lines[d->n] = strdup(full)) != NULL)
		d->n++;
}

/* config_diag_add - append one "FILE:LINE: message" (no line when 0) */
void config_diag_add(struct config_diag *d, const char *file, unsigned line,
		     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, file, line, fmt, ap);
	va_end(ap);
}

/* config_error - report a problem at the origin of the value */
void config_error(struct origin *o, const char *fmt, ...)
{
	va_list ap;

	o->errors++;
	va_start(ap, fmt);
	diag_vadd(o->diag, o->file, o->line, fmt, ap);
	va_end(ap);
}

/* key_set - parse one value into its field; false after reporting */
static bool key_set(struct config *c, const struct config_key *k, const char *v,
		    struct origin *o)
{
	switch (k->type) {
	case KT_SECTION:
		return false;
	case KT_BOOL:
		return config_value_bool(o, c, k, v);
	case KT_UINT:
	case KT_SECONDS:
	case KT_MS:
		return config_value_number(o, c, k, v);
	case KT_OCTAL:
		return config_value_octal(o, c, k, v);
	case KT_ENUM:
		return config_value_enum(o, c, k, v);
	case KT_ACTION:
		return config_value_action(o, c, k, v);
	case KT_TEXT:
	case KT_TOKEN:
		return config_value_text(o, c, k, v);
	case KT_HEADER:
		return config_value_header(o, c, k, v);
	case KT_PATH:
		return config_value_path(o, c, k, v);
	case KT_SOCKET:
		return config_value_socket(o, c, k, v);
	case KT_USER:
		return config_value_user(o, c, k, v);
	case KT_CIDRS:
		return config_value_cidrs(o, c, k, v);
	case KT_NAMES:
		return config_value_names(o, c, k, v);
	case KT_DOMAINS:
		return config_value_domains(o, c, k, v);
	case KT_ACTIONMAP:
		return config_value_actionmap(o, c, k, v);
	case KT_DNSSERVERS:
		return config_value_dns_servers(o, c, k, v);
	case KT_REDIS:
		return config_value_redis(o, c, k, v);
	}
	return false;
}

/* key_free - release what a field owns */
static void key_free(struct config *c, const struct config_key *k)
{
	switch (k->type) {
	case KT_TEXT: case KT_TOKEN: case KT_HEADER: case KT_PATH: case KT_SOCKET:
	case KT_USER: case KT_DNSSERVERS: case KT_REDIS:
		free(FIELD(c, k, char *));
		FIELD(c, k, char *) = NULL;
		break;
	case KT_CIDRS:
		cidr_list_free(&FIELD(c, k, struct cidr_list));
		break;
	case KT_NAMES:
		domain_map_free(&FIELD(c, k, struct domain_map));
		break;
	case KT_DOMAINS:
		free(c->domains_spec);
		c->domains_spec = NULL;
		domain_map_free(&c->domains);
		break;
	case KT_ACTIONMAP:
		free(c->action_map_file);
		c->action_map_file = NULL;
		domain_map_free(&c->action_map);
		break;
	default:
		break;
	}
}

/* edit_distance - for "did you mean"; small strings only */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (la >= 63 || lb >= 63)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			size_t best = diag + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* find_key - the row of a key name, case-insensitive */
static const struct config_key *find_key(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (config_keys[i].type != KT_SECTION && strcasecmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

/* unknown_key - report a key not in the table, with a suggestion */
static void unknown_key(struct origin *o, const char *name)
{
	const struct config_key *best = NULL;
	size_t best_d = 3;

	if (strchr(name, '=') != NULL) {
		config_error(o, "\"%s\": write \"Key value\", not \"Key=value\"", name);
		return;
	}
	for (size_t i = 0; i < NKEYS; i++) {
		size_t d = config_keys[i].type == KT_SECTION ? SIZE_MAX
			: edit_distance(name, config_keys[i].name);
		if (d < best_d) {
			best_d = d;
			best = &config_keys[i];
		}
	}
	if (best != NULL)
		config_error(o, "unknown key \"%s\" (did you mean %s?)", name, best->name);
	else
		config_error(o, "unknown key \"%s\"", name);
}

/* Values from the command line, applied after the file on every load. */
static struct override {
	const struct config_key *key;
	const char *value;
	const char *origin;
} overrides[8];
static size_t n_overrides;

/* config_override - a command-line value for a key (start-up only) */
bool config_override(const char *key, const char *value, const char *origin)
{
	const struct config_key *k = find_key(key);

	if (k == NULL || n_overrides == sizeof(overrides) / sizeof(overrides[0]))
		return false;
	overrides[n_overrides++] = (struct override){ k, value, origin };
	return true;
}

/* apply - set a key and remember its text */
static bool apply(struct config *c, const struct config_key *k, const char *v,
		  struct origin *o)
{
	size_t i = (size_t)(k - config_keys);

	if (!key_set(c, k, v, o))
		return false;
	free(c->raw[i]);
	c->raw[i] = strdup(v);
	return true;
}

/* parse_line - split "Key value", strip comments; false for blank lines */
static bool parse_line(char *line, char **key, char **value)
{
	char *p = line, *e;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '#' || *p == '\0')
		return false;
	/* '#' after white space starts a comment; "a#b" keeps it */
	for (e = p; *e != '\0'; e++)
		if (*e == '#' && isspace((unsigned char)e[-1])) {
			*e = '\0';
			break;
		}
	for (e = p + strlen(p); e > p && isspace((unsigned char)e[-1]);)
		*--e = '\0';
	*key = p;
	while (*p != '\0' && !isspace((unsigned char)*p))
		p++;
	if (*p != '\0')
		*p++ = '\0';
	while (isspace((unsigned char)*p))
		p++;
	*value = p;
	return true;
}

/* cross_check - rules between keys */
static void cross_check(struct config *c, struct origin *o, const unsigned *lines)
{
	const struct config_key *maxttl = find_key("MaxTTL");
	const struct config_key *expire = find_key("RetryExpire");
	const struct config_key *backend = find_key("StateBackend");

	o->line = lines[maxttl - config_keys];
	if (c->min_ttl > c->max_ttl)
		config_error(o, "MaxTTL: %u is below MinTTL %u", c->max_ttl, c->min_ttl);
	o->line = lines[expire - config_keys];
	if (c->retry_after > 0 && c->retry_after >= c->retry_expire)
		config_error(o, "RetryExpire: %u must be above RetryAfter %u", c->retry_expire,
			     c->retry_after);
	o->line = lines[backend - config_keys];
#ifndef HAVE_HIREDIS
	if (c->state_backend == BACKEND_REDIS)
		config_error(o, "StateBackend: redis: this build has no Redis support "
			     "(rebuild with hiredis)");
#endif
}

/* derive - facts read per connection, worked out once per load */
static void derive(struct config *c)
{
	c->rcpt_replies = action_replies(c->action);
	for (size_t i = 0; i < c->action_map.n && !c->rcpt_replies; i++)
		c->rcpt_replies = action_replies((enum action)c->action_map.v[i].value);
}

/* config_new - a configuration with every default applied */
static struct config *config_new(void)
{
	struct config *c = calloc(1, sizeof(*c));
	struct origin o = { "(built-in default)", 0, NULL, 0 };

	if (c == NULL || (c->raw = calloc(NKEYS, sizeof(char *))) == NULL) {
		free(c);
		return NULL;
	}
	atomic_init(&c->refs, 1);
	for (size_t i = 0; i < NKEYS; i++)
		if (config_keys[i].def != NULL && !apply(c, &config_keys[i], config_keys[i].def, &o))
			log_error("config: built-in default of %s does not parse", config_keys[i].name);
	return c;
}

/* config_load - read a file (or only defaults); NULL with diagnostics on error */
struct config *config_load(const char *path, bool must_exist, struct config_diag *d)
{
	struct config *c = config_new();
	struct origin o = { path, 0, d, 0 };
	unsigned lines[NKEYS] = { 0 };
	char *line = NULL;
	size_t cap = 0;
	FILE *fp;

	if (c == NULL) {
		config_diag_add(d, path, 0, "out of memory");
		return NULL;
	}
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno != ENOENT || must_exist) {
			config_diag_add(d, path, 0, "cannot open: %s", strerror(errno));
			config_free(c);
			return NULL;
		}
	} else {
		c->path = strdup(path);
		while (getline(&line, &cap, fp) != -1) {
			const struct config_key *k;
			char *key, *value;

			o.line++;
			if (!parse_line(line, &key, &value))
				continue;
			if ((k = find_key(key)) == NULL) {
				unknown_key(&o, key);
				continue;
			}
			if (*value == '\0') {
				config_error(&o, "%s: missing value", k->name);
				continue;
			}
			if (lines[k - config_keys] != 0) {
				config_error(&o, "%s: duplicate key (first at line %u)", k->name,
					     lines[k - config_keys]);
				continue;
			}
			lines[k - config_keys] = o.line;
			apply(c, k, value, &o);
		}
		free(line);
		fclose(fp);
	}
	for (size_t i = 0; i < n_overrides; i++) {
		struct origin ov = { overrides[i].origin, 0, d, 0 };
		apply(c, overrides[i].key, overrides[i].value, &ov);
		o.errors += ov.errors;
	}
	cross_check(c, &o, lines);
	if (o.errors > 0) {
		config_free(c);
		return NULL;
	}
	derive(c);
	return c;
}

/* config_free - release a snapshot (use config_release for shared ones) */
void config_free(struct config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < NKEYS; i++) {
		key_free(c, &config_keys[i]);
		free(c->raw[i]);
	}
	free(c->raw);
	free(c->path);
	free(c);
}

