/*
 * config.h - the configuration: one table of keys, one refcounted snapshot.
 */
#ifndef MXB_CONFIG_H
#define MXB_CONFIG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "action.h"
#include "domainmap.h"
#include "netaddr.h"

#define CONFIG_DEFAULT_PATH "/etc/mxbypass-milter.conf"

enum state_backend { BACKEND_MEMORY, BACKEND_REDIS };

struct config {
	char *path;			/* file read; NULL: built-in defaults */
	char **raw;			/* effective value text per key */

	/* daemon */
	char *socket;
	char *user;			/* "user[:group]" as written */
	uid_t uid;
	gid_t gid;
	unsigned umask;
	char *pidfile;
	bool syslog;
	int syslog_facility;
	int log_level;

	/* policy */
	enum action action;
	char *action_map_file;
	struct domain_map action_map;	/* value: enum action */
	bool rcpt_replies;		/* derived: Action or an ActionMap entry
					 * answers a RCPT (tempfail, reject) */
	char *domains_spec;		/* NULL: every domain is checked */
	struct domain_map domains;
	char *header_name;
	char *reply_text;
	unsigned retry_after;
	unsigned retry_expire;
	unsigned retry_prefix4;
	unsigned retry_prefix6;
	struct cidr_list local_addresses;
	struct domain_map local_names;
	struct cidr_list trusted_networks;
	bool skip_authenticated;

	/* DNS and cache */
	char *dns_servers;		/* c-ares csv; NULL: system resolver */
	unsigned dns_timeout_ms;
	unsigned dns_tries;
	unsigned cache_size;
	unsigned min_ttl;
	unsigned max_ttl;
	unsigned negative_ttl;

	/* probes */
	unsigned probe_port;
	unsigned probe_timeout_ms;
	bool probe_banner;
	unsigned probe_ttl_up;
	unsigned probe_ttl_down;
	unsigned probe_concurrency;
	unsigned decision_timeout_ms;

	/* evidence before accusing */
	unsigned witness_window;
	unsigned recent_down_window;
	unsigned probe_confirm;

	/* statistics */
	unsigned stats_interval;
	char *stats_file;

	/* shared state */
	enum state_backend state_backend;
	char *redis_server;
	char *redis_password_file;
	unsigned redis_database;
	char *redis_prefix;
	unsigned redis_timeout_ms;

	atomic_int refs;
};

/* Problems found while reading a configuration, one "FILE:LINE: ..." each. */
struct config_diag {
	size_t n;
	char **lines;
};

void config_diag_free(struct config_diag *d);

bool config_override(const char *key, const char *value, const char *origin);
struct config *config_load(const char *path, bool must_exist, struct config_diag *d);
void config_free(struct config *c);

struct config *config_current(void);
void config_release(struct config *c);
void config_install(struct config *c);
bool config_reload(const char *path, bool must_exist, struct config_diag *d);

void config_write_example(FILE *out);
void config_write_manpage(FILE *out, const char *version);

#endif
