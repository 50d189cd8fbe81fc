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

bool domain_normalize(const char *in, size_t len, char *out, size_t outlen);

bool domain_map_add(struct domain_map *m, const char *name, int value, unsigned line);
const struct domain_entry *domain_map_sort(struct domain_map *m);
const struct domain_entry *domain_map_find(const struct domain_map *m, const char *domain);
void domain_map_free(struct domain_map *m);

#endif
