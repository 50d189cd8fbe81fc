/*
 * NAME
 *	domainmap - domain names and sets of domain patterns
 * SYNOPSIS
 *	#include "domainmap.h"
 * DESCRIPTION
 *	domain_normalize() turns a domain as written by a peer or an
 *	administrator into the one form the milter compares: lower case, no
 *	trailing dot, letters, digits, '-' and '_' in labels of 1..63 octets,
 *	at most 253 octets in all. Anything else is refused, so a malformed
 *	name never reaches DNS, a log line or a header.
 *
 *	domain_of_address() finds the domain of an envelope address as MTAs
 *	pass it (<user@example.org>, with source routes and quoted local
 *	parts), and says whether it is a name, an address literal, missing or
 *	malformed: only names are ever looked up.
 *
 *	A domain map holds patterns with a value each: "example.org" matches
 *	that domain only, ".example.org" matches its subdomains. Lookups try
 *	the exact name first, then ever shorter parents, so the most specific
 *	pattern wins. The map is a sorted array: one allocation, binary search.
 */

#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "domainmap.h"

/* domain_normalize - validate and lower-case a domain name */
bool domain_normalize(const char *in, size_t len, char *out, size_t outlen)
{
	size_t label = 0;

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > DOMAIN_MAXLEN || len >= outlen)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
			   || c == '-' || c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
		out[i] = c;
	}
	out[len] = '\0';
	return label > 0;	/* "example.org.." left an empty last label */
}

/* domain_classify - a domain as written: name, literal or malformed */
enum domain_kind domain_classify(const char *domain, size_t len, char *out, size_t outlen)
{
	if (len == 0)
		return DOMAIN_MISSING;
	if (domain[0] == '[')
		return domain[len - 1] == ']' ? DOMAIN_LITERAL : DOMAIN_MALFORMED;
	return domain_normalize(domain, len, out, outlen) ? DOMAIN_NAME : DOMAIN_MALFORMED;
}

/* domain_of_address - the domain of an envelope address */
enum domain_kind domain_of_address(const char *addr, char *out, size_t outlen)
{
	const char *start = addr, *end = addr + strlen(addr), *at = NULL;

	while (start < end && (*start == ' ' || *start == '\t'))
		start++;
	while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (start < end && *start == '<') {
		if (end[-1] != '>')
			return DOMAIN_MALFORMED;
		start++;
		end--;
	}
	/* the domain follows the last '@': a name never holds one, a quoted
	 * local part or a source route (<@a,@b:user@c>) may; but a general
	 * address literal may too (<user@[tag:a@b]>), so one that ends the
	 * address starts at the '@' before its '[' */
	for (const char *p = start; p < end; p++)
		if (*p == '@')
			at = p;
	if (at != NULL && end[-1] == ']') {
		const char *open = memrchr(start, '[', (size_t)(end - start));
		if (open != NULL && open > start && open[-1] == '@')
			at = open - 1;
	}
	if (at == NULL)
		return DOMAIN_MISSING;
	return domain_classify(at + 1, (size_t)(end - at - 1), out, outlen);
}

/* domain_map_add - append a normalised pattern; false when out of memory */
bool domain_map_add(struct domain_map *m, const char *name, int value, unsigned line)
{
	struct domain_entry *v;
	char *copy = strdup(name);

	if (copy == NULL)
		return false;
	v = realloc(m->v, (m->n + 1) * sizeof(*v));
	if (v == NULL) {
		free(copy);
		return false;
	}
	v[m->n++] = (struct domain_entry){ copy, value, line };
	m->v = v;
	return true;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct domain_entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

/* domain_map_sort - make the map searchable; returns a duplicate, if any */
const struct domain_entry *domain_map_sort(struct domain_map *m)
{
	if (m->n > 1)
		qsort(m->v, m->n, sizeof(*m->v), entry_cmp);
	for (size_t i = 1; i < m->n; i++)
		if (strcmp(m->v[i - 1].name, m->v[i].name) == 0)
			return &m->v[i];
	return NULL;
}

static int key_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct domain_entry *)elem)->name);
}

/* domain_map_find - the most specific pattern matching a normalised domain */
const struct domain_entry *domain_map_find(const struct domain_map *m, const char *domain)
{
	const struct domain_entry *e;

	if (m->n == 0)
		return NULL;
	e = bsearch(domain, m->v, m->n, sizeof(*m->v), key_cmp);
	for (const char *dot = strchr(domain, '.'); e == NULL && dot != NULL;
	     dot = strchr(dot + 1, '.'))
		e = bsearch(dot, m->v, m->n, sizeof(*m->v), key_cmp);
	return e;
}

/* domain_map_free - release the map, leaving it empty */
void domain_map_free(struct domain_map *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].name);
	free(m->v);
	m->v = NULL;
	m->n = 0;
}
