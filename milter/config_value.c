/*
 * NAME
 *	config_value - parse and check the value of one configuration key
 * SYNOPSIS
 *	#include "config_table.h"
 *
 *	bool config_value_TYPE(struct origin *o, struct config *c,
 *			       const struct config_key *k, const char *v)
 * DESCRIPTION
 *	One function per kind of value in the key table: yes/no, numbers
 *	with their units, octal modes, words of an enumeration, text, header
 *	names, paths, milter sockets, users, CIDR lists, host names, domain
 *	lists and the files of domains they name (Domains file:, ActionMap),
 *	DNS servers and the Redis server.
 *
 *	Each parses v into the field of c that k names and returns true, or
 *	reports at o what is wrong with v ("Key: ..." for the origin's FILE:LINE)
 *	and returns false. A file named by a value is read at once; its lines
 *	report their own FILE:LINE. Users and groups are resolved here, so
 *	that -n shows a mistake.
 */

#include "autoconfig.h"

/* System. */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

/* This program. */
#include "config.h"
#include "config_table.h"
#include "domainmap.h"
#include "netaddr.h"

/* list_next - next item of a list separated by commas and/or white space */
static const char *list_next(const char *p, char *buf, size_t len, bool *toolong)
{
	size_t n = 0;

	*toolong = false;
	while (*p == ',' || isspace((unsigned char)*p))
		p++;
	if (*p == '\0')
		return NULL;
	while (*p != '\0' && *p != ',' && !isspace((unsigned char)*p)) {
		if (n + 1 < len)
			buf[n++] = *p;
		else
			*toolong = true;
		p++;
	}
	buf[n] = '\0';
	return p;
}

/* parse_unsigned - digits with an optional unit suffix from the table */
static bool parse_unsigned(const char *v, const char *const *units,
			   const unsigned long *scale, unsigned long *out)
{
	char *end;
	unsigned long n;

	if (!isdigit((unsigned char)*v))
		return false;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0)
		return false;
	if (*end != '\0') {
		size_t i;
		for (i = 0; units != NULL && units[i] != NULL; i++)
			if (strcasecmp(end, units[i]) == 0)
				break;
		if (units == NULL || units[i] == NULL)
			return false;
		if (n > ULONG_MAX / scale[i])
			return false;
		n *= scale[i];
	}
	*out = n;
	return true;
}

static const char *const second_units[] = { "s", "m", "h", "d", "w", NULL };
static const unsigned long second_scale[] = { 1, 60, 3600, DAY, 7 * DAY };
static const char *const ms_units[] = { "ms", "s", NULL };
static const unsigned long ms_scale[] = { 1, 1000 };

/* set_string - replace a string field */
static bool set_string(struct config *c, const struct config_key *k, const char *v)
{
	char *copy = strdup(v);

	if (copy == NULL)
		return false;
	free(FIELD(c, k, char *));
	FIELD(c, k, char *) = copy;
	return true;
}

/* printable - only printable ASCII, optionally no spaces */
static bool printable(const char *v, bool spaces)
{
	for (; *v != '\0'; v++)
		if (*v < (spaces ? 0x20 : 0x21) || *v > 0x7e)
			return false;
	return true;
}

/* lookup_enum - a name of an enumeration, case-insensitive */
static const struct enum_name *lookup_enum(const struct enum_name *names, const char *v)
{
	for (; names->name != NULL; names++)
		if (strcasecmp(names->name, v) == 0)
			return names;
	return NULL;
}

/* enum_list - "a, b or c" for messages */
static const char *enum_list(const struct enum_name *names, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; names[i].name != NULL && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i == 0 ? "" :
				      names[i + 1].name == NULL ? " or " : ", ", names[i].name);
	return buf;
}

/* config_value_bool - yes, true, on, 1 or no, false, off, 0 */
bool config_value_bool(struct origin *o, struct config *c, const struct config_key *k,
		       const char *v)
{
	if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0
	    || strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0)
		FIELD(c, k, bool) = true;
	else if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0
		 || strcasecmp(v, "off") == 0 || strcmp(v, "0") == 0)
		FIELD(c, k, bool) = false;
	else {
		config_error(o, "%s: \"%s\" is not yes or no", k->name, v);
		return false;
	}
	return true;
}

/* config_value_number - a whole number, seconds or milliseconds, in bounds */
bool config_value_number(struct origin *o, struct config *c, const struct config_key *k,
			 const char *v)
{
	unsigned long n;

	if (!parse_unsigned(v, k->type == KT_SECONDS ? second_units :
			    k->type == KT_MS ? ms_units : NULL,
			    k->type == KT_SECONDS ? second_scale : ms_scale, &n)) {
		config_error(o, "%s: \"%s\" is not a %s", k->name, v,
			     k->type == KT_SECONDS ? "duration in seconds (or with s, m, h, d, w)" :
			     k->type == KT_MS ? "duration in milliseconds" : "whole number");
		return false;
	}
	if (n < k->min || n > k->max) {
		config_error(o, "%s: %s is out of range (%lu..%lu%s)", k->name, v, k->min, k->max,
			     k->type == KT_SECONDS ? " seconds" : k->type == KT_MS ? " ms" : "");
		return false;
	}
	FIELD(c, k, unsigned) = (unsigned)n;
	return true;
}

/* config_value_octal - a file mode */
bool config_value_octal(struct origin *o, struct config *c, const struct config_key *k,
			const char *v)
{
	unsigned long n;
	char *end;

	if (strspn(v, "01234567") != strlen(v)
	    || (n = strtoul(v, &end, 8)) > k->max) {
		config_error(o, "%s: \"%s\" is not an octal mode (000..777)", k->name, v);
		return false;
	}
	FIELD(c, k, unsigned) = (unsigned)n;
	return true;
}

/* config_value_enum - one of the key's words */
bool config_value_enum(struct origin *o, struct config *c, const struct config_key *k,
		       const char *v)
{
	const struct enum_name *e = lookup_enum(k->names, v);
	char names[160];

	if (e == NULL) {
		config_error(o, "%s: \"%s\" is not %s", k->name, v,
			     enum_list(k->names, names, sizeof(names)));
		return false;
	}
	/* enums and ints share a representation in struct config */
	FIELD(c, k, int) = e->value;
	return true;
}

/* config_value_action - a configurable action word (action.c) */
bool config_value_action(struct origin *o, struct config *c, const struct config_key *k,
			 const char *v)
{
	enum action a;
	char names[64];

	if (!action_parse(v, &a)) {
		config_error(o, "%s: \"%s\" is not %s", k->name, v, action_choices(names, sizeof(names)));
		return false;
	}
	FIELD(c, k, enum action) = a;
	return true;
}

/* config_value_text - printable ASCII, with spaces or (KT_TOKEN) without */
bool config_value_text(struct origin *o, struct config *c, const struct config_key *k,
		       const char *v)
{
	if (!printable(v, k->type == KT_TEXT) || strlen(v) > (k->max ? k->max : 400)) {
		config_error(o, "%s: only printable ASCII%s, at most %lu characters", k->name,
			     k->type == KT_TOKEN ? " without spaces" : "", k->max ? k->max : 400);
		return false;
	}
	return set_string(c, k, v);
}

/* config_value_header - a header field name */
bool config_value_header(struct origin *o, struct config *c, const struct config_key *k,
			 const char *v)
{
	if (!printable(v, false) || strchr(v, ':') != NULL || strlen(v) > 64) {
		config_error(o, "%s: \"%s\" is not a header field name (printable ASCII, no "
			     "colon or space, at most 64 characters)", k->name, v);
		return false;
	}
	return set_string(c, k, v);
}

/* config_value_path - an absolute path */
bool config_value_path(struct origin *o, struct config *c, const struct config_key *k,
		       const char *v)
{
	if (v[0] != '/') {
		config_error(o, "%s: \"%s\" must be an absolute path", k->name, v);
		return false;
	}
	return set_string(c, k, v);
}

/* parse_port - "1".."65535" */
static bool parse_port(const char *p, size_t len)
{
	unsigned long n = 0;

	if (len == 0 || len > 5)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)p[i]))
			return false;
		n = n * 10 + (unsigned long)(p[i] - '0');
	}
	return n >= 1 && n <= 65535;
}

/* split_host_port - "host:port" or "[v6]:port"; port optional if allowed */
static bool split_host_port(const char *v, char *host, size_t hostlen,
			    bool need_port, bool *v6)
{
	const char *port = NULL;
	size_t hlen;

	*v6 = false;
	if (*v == '[') {
		const char *close = strchr(v, ']');
		if (close == NULL)
			return false;
		hlen = (size_t)(close - v - 1);
		v++;
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return false;
		*v6 = true;
	} else if (strchr(v, ':') != strrchr(v, ':')) {
		hlen = strlen(v);		/* bare IPv6, no port */
		*v6 = true;
	} else {
		const char *colon = strchr(v, ':');
		hlen = colon ? (size_t)(colon - v) : strlen(v);
		if (colon != NULL)
			port = colon + 1;
	}
	if (hlen == 0 || hlen >= hostlen)
		return false;
	memcpy(host, v, hlen);
	host[hlen] = '\0';
	if (port != NULL)
		return parse_port(port, strlen(port));
	return !need_port;
}

/* host_ok - an IP address or a plausible host name */
static bool host_ok(const char *host)
{
	struct netaddr a;
	char norm[DOMAIN_MAXLEN + 1];

	return netaddr_parse(host, &a)
		|| domain_normalize(host, strlen(host), norm, sizeof(norm));
}

/* parse_socket - libmilter socket specification */
static bool parse_socket(struct origin *o, const struct config_key *k, const char *v)
{
	const char *rest;

	if (strncmp(v, "unix:", 5) == 0 || strncmp(v, "local:", 6) == 0 || v[0] == '/') {
		rest = v[0] == '/' ? v : strchr(v, ':') + 1;
		if (rest[0] != '/') {
			config_error(o, "%s: \"%s\": the socket path must be absolute", k->name, v);
			return false;
		}
		if (strlen(rest) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			config_error(o, "%s: \"%s\": the socket path is too long", k->name, v);
			return false;
		}
		return true;
	}
	if (strncmp(v, "inet:", 5) == 0 || strncmp(v, "inet6:", 6) == 0) {
		const char *port = strchr(v, ':') + 1;
		const char *at = strchr(port, '@');
		size_t plen = at ? (size_t)(at - port) : strlen(port);

		if (!parse_port(port, plen)) {
			config_error(o, "%s: \"%s\": the port must be 1..65535 (inet:PORT@HOST)",
				     k->name, v);
			return false;
		}
		if (at != NULL && !host_ok(at + 1)) {
			config_error(o, "%s: \"%s\": \"%s\" is not an address or host name",
				     k->name, v, at + 1);
			return false;
		}
		return true;
	}
	config_error(o, "%s: \"%s\": expected unix:PATH, inet:PORT@HOST or inet6:PORT@HOST",
		     k->name, v);
	return false;
}

/* config_value_socket - a libmilter socket specification */
bool config_value_socket(struct origin *o, struct config *c, const struct config_key *k,
			 const char *v)
{
	return parse_socket(o, k, v) && set_string(c, k, v);
}

/* parse_user - "user[:group]", resolved now so mistakes show at -n */
static bool parse_user(struct origin *o, struct config *c, const struct config_key *k,
		       const char *v)
{
	char name[256];
	const char *colon = strchr(v, ':');
	size_t len = colon ? (size_t)(colon - v) : strlen(v);
	struct passwd *pw;

	if (len == 0 || len >= sizeof(name) || (colon != NULL && colon[1] == '\0')) {
		config_error(o, "%s: \"%s\": expected user or user:group", k->name, v);
		return false;
	}
	memcpy(name, v, len);
	name[len] = '\0';
	if ((pw = getpwnam(name)) == NULL) {
		config_error(o, "%s: unknown user \"%s\"", k->name, name);
		return false;
	}
	c->uid = pw->pw_uid;
	c->gid = pw->pw_gid;
	if (colon != NULL) {
		struct group *gr = getgrnam(colon + 1);
		if (gr == NULL) {
			config_error(o, "%s: unknown group \"%s\"", k->name, colon + 1);
			return false;
		}
		c->gid = gr->gr_gid;
	}
	return true;
}

/* config_value_user - "user[:group]": the names, and their ids */
bool config_value_user(struct origin *o, struct config *c, const struct config_key *k,
		       const char *v)
{
	return parse_user(o, c, k, v) && set_string(c, k, v);
}

/* config_value_cidrs - list of addresses and networks, or "none" */
bool config_value_cidrs(struct origin *o, struct config *c, const struct config_key *k,
			const char *v)
{
	struct cidr_list *l = &FIELD(c, k, struct cidr_list);
	char item[128], err[256];
	bool toolong, ok = true;

	cidr_list_free(l);
	if (strcasecmp(v, "none") == 0)
		return true;
	for (const char *p = v; (p = list_next(p, item, sizeof(item), &toolong)) != NULL;) {
		struct cidr net;
		if (toolong) {
			config_error(o, "%s: \"%s...\" is not an address or network",
				     k->name, item);
			ok = false;
		} else if (!cidr_parse(item, &net, err, sizeof(err))) {
			config_error(o, "%s: %s", k->name, err);
			ok = false;
		} else if (!cidr_list_add(l, &net)) {
			config_error(o, "%s: out of memory", k->name);
			return false;
		}
	}
	return ok;
}

/* add_domain - validate one domain pattern and add it to a map */
static bool add_domain(struct origin *o, const struct config_key *k, struct domain_map *m,
		       const char *item, bool patterns, int value)
{
	char norm[DOMAIN_MAXLEN + 2];
	bool dot = patterns && item[0] == '.';

	if (!domain_normalize(item + dot, strlen(item + dot), norm + dot, sizeof(norm) - 1)) {
		config_error(o, "%s: \"%s\" is not a valid %s", k->name, item,
			     patterns ? "domain or .domain pattern" : "host name");
		return false;
	}
	if (dot)
		norm[0] = '.';
	if (!domain_map_add(m, norm, value, o->line)) {
		config_error(o, "%s: out of memory", k->name);
		return false;
	}
	return true;
}

/* check_duplicates - sort a map and report a pattern listed twice */
static bool check_duplicates(struct origin *o, const struct config_key *k,
			     struct domain_map *m)
{
	const struct domain_entry *dup = domain_map_sort(m);

	if (dup == NULL)
		return true;
	if (dup->line > 0 && dup[-1].line != dup->line) {
		config_diag_add(o->diag, o->file, dup->line,
				"%s: \"%s\" listed twice (first at line %u)",
				k->name, dup->name, dup[-1].line);
		o->errors++;
	} else {
		config_error(o, "%s: \"%s\" listed twice", k->name, dup->name);
	}
	return false;
}

/* parse_names - list of host names or domain patterns ("none": empty) */
static bool parse_names(struct origin *o, const struct config_key *k, struct domain_map *m,
			const char *v, bool patterns)
{
	char item[DOMAIN_MAXLEN + 8];
	bool toolong, ok = true;

	domain_map_free(m);
	if (!patterns && strcasecmp(v, "none") == 0)
		return true;
	for (const char *p = v; (p = list_next(p, item, sizeof(item), &toolong)) != NULL;) {
		if (toolong) {
			config_error(o, "%s: \"%s...\" is too long for a domain", k->name, item);
			ok = false;
		} else {
			ok &= add_domain(o, k, m, item, patterns, 1);
		}
	}
	return ok && check_duplicates(o, k, m);
}

/* config_value_names - list of host names, or "none" */
bool config_value_names(struct origin *o, struct config *c, const struct config_key *k,
			const char *v)
{
	return parse_names(o, k, &FIELD(c, k, struct domain_map), v, false);
}

/* file_lines - a file of domains named by a key: fn for each line, then
 * the duplicate check, both reported with the file's own name and lines */
static bool file_lines(struct origin *o, const struct config_key *k, const char *path,
		       bool (*fn)(struct origin *, const struct config_key *, char *,
				  struct domain_map *),
		       struct domain_map *m)
{
	struct origin sub = { path, 0, o->diag, 0 };
	char *line = NULL;
	size_t cap = 0;
	FILE *fp;

	if (path[0] != '/') {
		config_error(o, "%s: \"%s\" must be an absolute path", k->name, path);
		return false;
	}
	if ((fp = fopen(path, "r")) == NULL) {
		config_error(o, "%s: cannot open \"%s\": %s", k->name, path, strerror(errno));
		return false;
	}
	while (getline(&line, &cap, fp) != -1) {
		char *p = line, *hash;
		sub.line++;
		while (isspace((unsigned char)*p))
			p++;
		if ((hash = strchr(p, '#')) != NULL)
			*hash = '\0';
		for (char *e = p + strlen(p); e > p && isspace((unsigned char)e[-1]);)
			*--e = '\0';
		if (*p != '\0')
			fn(&sub, k, p, m);
	}
	free(line);
	fclose(fp);
	sub.line = 0;
	if (sub.errors == 0)
		check_duplicates(&sub, k, m);
	o->errors += sub.errors;
	return sub.errors == 0;
}

/* domains_line - one line of a Domains file: domain patterns */
static bool domains_line(struct origin *o, const struct config_key *k, char *p,
			 struct domain_map *m)
{
	char item[DOMAIN_MAXLEN + 8];
	bool toolong, ok = true;

	for (; (p = (char *)list_next(p, item, sizeof(item), &toolong)) != NULL;) {
		if (toolong) {
			config_error(o, "%s: \"%s...\" is too long for a domain", k->name, item);
			ok = false;
		} else {
			ok &= add_domain(o, k, m, item, true, 1);
		}
	}
	return ok;
}

/* config_value_domains - "file:PATH" or a list of domain patterns */
bool config_value_domains(struct origin *o, struct config *c, const struct config_key *k,
			  const char *v)
{
	struct domain_map *m = &c->domains;

	if (!set_string(c, k, v))
		return false;
	domain_map_free(m);
	if (strncmp(v, "file:", 5) == 0)
		return file_lines(o, k, v + 5, domains_line, m);
	if (!parse_names(o, k, m, v, true))
		return false;
	if (m->n == 0) {	/* "Domains ," would check no recipient at all */
		config_error(o, "%s: an empty list (leave the key out to check every domain)",
			     k->name);
		return false;
	}
	return true;
}

/* actionmap_line - one "domain action" line */
static bool actionmap_line(struct origin *o, const struct config_key *k, char *p,
			   struct domain_map *m)
{
	char *dom = strtok(p, " \t"), *act = strtok(NULL, " \t"), *extra = strtok(NULL, " \t");
	enum action a;
	char names[64];

	if (act == NULL || extra != NULL) {
		config_error(o, "%s: expected \"domain action\"", k->name);
		return false;
	}
	if (!action_parse(act, &a)) {
		config_error(o, "%s: unknown action \"%s\" (expected %s)", k->name, act,
			     action_choices(names, sizeof(names)));
		return false;
	}
	return add_domain(o, k, m, dom, true, (int)a);
}

/* config_value_actionmap - read the per-domain action file */
bool config_value_actionmap(struct origin *o, struct config *c, const struct config_key *k,
			    const char *v)
{
	if (!set_string(c, k, v))
		return false;
	domain_map_free(&c->action_map);
	return file_lines(o, k, v, actionmap_line, &c->action_map);
}

/* config_value_dns_servers - "addr", "addr:port", "[v6]:port" list -> c-ares csv */
bool config_value_dns_servers(struct origin *o, struct config *c, const struct config_key *k,
			      const char *v)
{
	char item[128], host[NETADDR_STRLEN + 2], csv[2048] = "";
	size_t n = 0;
	bool toolong, ok = true, v6;

	for (const char *p = v; (p = list_next(p, item, sizeof(item), &toolong)) != NULL;) {
		struct netaddr a;
		if (toolong || !split_host_port(item, host, sizeof(host), false, &v6)
		    || !netaddr_parse(host, &a)) {
			config_error(o, "%s: \"%s\" is not addr, addr:port or [v6]:port",
				     k->name, item);
			ok = false;
			continue;
		}
		if (n + strlen(item) + 2 >= sizeof(csv)) {
			config_error(o, "%s: too many servers", k->name);
			return false;
		}
		n += (size_t)snprintf(csv + n, sizeof(csv) - n, "%s%s", n ? "," : "", item);
	}
	if (ok && n == 0) {	/* "DnsServers ," would quietly mean the system resolver */
		config_error(o, "%s: an empty list (leave the key out for the system resolver)",
			     k->name);
		return false;
	}
	return ok && set_string(c, k, csv);
}

/* parse_redis - "host:port", "[v6]:port" or "unix:PATH" */
static bool parse_redis(struct origin *o, const struct config_key *k, const char *v)
{
	char host[256];
	bool v6;

	if (strncmp(v, "unix:", 5) == 0) {
		if (v[5] == '/' && strlen(v + 5) < sizeof(((struct sockaddr_un *)0)->sun_path))
			return true;
		config_error(o, "%s: \"%s\": the socket path must be absolute and short",
			     k->name, v);
		return false;
	}
	if (!split_host_port(v, host, sizeof(host), true, &v6) || !host_ok(host)) {
		config_error(o, "%s: \"%s\": expected host:port, [v6]:port or unix:PATH",
			     k->name, v);
		return false;
	}
	return true;
}

/* config_value_redis - "host:port", "[v6]:port" or "unix:PATH" */
bool config_value_redis(struct origin *o, struct config *c, const struct config_key *k,
			const char *v)
{
	return parse_redis(o, k, v) && set_string(c, k, v);
}
