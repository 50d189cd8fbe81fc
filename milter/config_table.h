/*
 * config_table.h - the key table and what its parts share (private to
 * config.c, config_value.c, config_snapshot.c and config_write.c).
 */
#ifndef MXB_CONFIG_TABLE_H
#define MXB_CONFIG_TABLE_H

#include <stddef.h>

#include "config.h"
#include "log.h"

enum key_type {
	KT_SECTION,		/* not a key: a heading of the example file */
	KT_BOOL,
	KT_UINT,
	KT_SECONDS,		/* unsigned, with optional s/m/h/d/w suffix */
	KT_MS,			/* unsigned milliseconds, optional ms/s suffix */
	KT_OCTAL,
	KT_ENUM,
	KT_ACTION,		/* a configurable word of action.c's table */
	KT_TEXT,		/* printable ASCII, spaces allowed */
	KT_TOKEN,		/* printable ASCII, no spaces */
	KT_HEADER,		/* a header field name */
	KT_PATH,		/* absolute path */
	KT_SOCKET,
	KT_USER,
	KT_CIDRS,
	KT_NAMES,		/* host names */
	KT_DOMAINS,		/* domain patterns, or file:PATH */
	KT_ACTIONMAP,
	KT_DNSSERVERS,
	KT_REDIS,
};

#define KF_RESTART 1		/* read at start-up only */

#define DAY 86400UL

struct enum_name {
	const char *name;
	int value;
};

struct config_key {
	const char *name;
	enum key_type type;
	const char *def;		/* as it would be written; NULL: none */
	unsigned long min, max;
	size_t offset;
	const struct enum_name *names;	/* KT_ENUM */
	int flags;
	const char *doc;
	const char *example;		/* for keys without a default */
};

/* The table (config.c), sections included, in the order of the example. */
extern const struct config_key config_keys[];
extern const size_t config_nkeys;

#define FIELD(c, k, type) (*(type *)((char *)(c) + (k)->offset))

/* Where a value came from, for messages. */
struct origin {
	const char *file;
	unsigned line;		/* 0: no line (command line, defaults) */
	struct config_diag *diag;
	unsigned errors;
};

/* Diagnostics (config.c). */
void config_diag_add(struct config_diag *d, const char *file, unsigned line,
		     const char *fmt, ...) LOG_FMT(4, 5);
void config_error(struct origin *o, const char *fmt, ...) LOG_FMT(2, 3);

/*
 * Values (config_value.c): each parses v into the field of c that k names,
 * or reports at o why not and returns false.
 */
bool config_value_bool(struct origin *o, struct config *c, const struct config_key *k,
		       const char *v);
bool config_value_number(struct origin *o, struct config *c, const struct config_key *k,
			 const char *v);
bool config_value_octal(struct origin *o, struct config *c, const struct config_key *k,
			const char *v);
bool config_value_enum(struct origin *o, struct config *c, const struct config_key *k,
		       const char *v);
bool config_value_text(struct origin *o, struct config *c, const struct config_key *k,
		       const char *v);
bool config_value_header(struct origin *o, struct config *c, const struct config_key *k,
			 const char *v);
bool config_value_path(struct origin *o, struct config *c, const struct config_key *k,
		       const char *v);
bool config_value_socket(struct origin *o, struct config *c, const struct config_key *k,
			 const char *v);
bool config_value_user(struct origin *o, struct config *c, const struct config_key *k,
		       const char *v);
bool config_value_cidrs(struct origin *o, struct config *c, const struct config_key *k,
			const char *v);
bool config_value_names(struct origin *o, struct config *c, const struct config_key *k,
			const char *v);
bool config_value_domains(struct origin *o, struct config *c, const struct config_key *k,
			  const char *v);
bool config_value_action(struct origin *o, struct config *c, const struct config_key *k,
			 const char *v);
bool config_value_actionmap(struct origin *o, struct config *c, const struct config_key *k,
			    const char *v);
bool config_value_dns_servers(struct origin *o, struct config *c, const struct config_key *k,
			      const char *v);
bool config_value_redis(struct origin *o, struct config *c, const struct config_key *k,
			const char *v);

#endif
