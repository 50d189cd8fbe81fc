/*
 * domainmap.h - domain names and sets of domain patterns.
 */
#ifndef MXB_DOMAINMAP_H
#define MXB_DOMAINMAP_H

#include <stdbool.h>
#include <stddef.h>

#define DOMAIN_MAXLEN 253

struct domain_entry {
	char *name;		/* "example.org" or ".example.org" */
	int value;
	unsigned line;		/* where it was written, for messages */
};

struct domain_map {
	size_t n;
	struct domain_entry *v;
};

/* What the domain part of a recipient is. */
enum domain_kind {
	DOMAIN_NAME,		/* a valid domain name, normalised */
	DOMAIN_LITERAL,		/* an address literal: [192.0.2.1] */
	DOMAIN_MISSING,		/* no domain: <postmaster>, <> */
	DOMAIN_MALFORMED,	/* anything else */
};

bool domain_normalize(const char *in, size_t len, char *out, size_t outlen);
enum domain_kind domain_classify(const char *domain, size_t len, char *out, size_t outlen);
enum domain_kind domain_of_address(const char *addr, char *out, size_t outlen);

bool domain_map_add(struct domain_map *m, const char *name, int value, unsigned line);
const struct domain_entry *domain_map_sort(struct domain_map *m);
const struct domain_entry *domain_map_find(const struct domain_map *m, const char *domain);
void domain_map_free(struct domain_map *m);

#endif
