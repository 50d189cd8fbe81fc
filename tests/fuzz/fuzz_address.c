/*
 * NAME
 *	fuzz_address - recipient addresses and domains: domain_of_address,
 *	domain_classify, domain_normalize, domain_map_find
 * DESCRIPTION
 *	Input: one octet choosing a small output size, then the address as
 *	an MTA would pass it ("<user@example.org>"), cut at its first NUL.
 *
 *	What must hold, or the harness aborts:
 *	- a NAME is a normalised domain: 1..253 octets of [a-z0-9_-] labels
 *	  of 1..63 octets joined by single dots, no dot at either end, and
 *	  normalising it again gives it back;
 *	- it is the text after the last '@' (or, for an address literal
 *	  holding an '@', after the '@' before its '['), lower-cased, less
 *	  one trailing dot; domain_classify of that text agrees;
 *	- the answer does not change with white space around the address,
 *	  with angle brackets around a bare one, or with the case of letters;
 *	- an address that is a valid RFC 5321 Path or Mailbox (a reference
 *	  parser below) gets its domain, its address literal, or "missing"
 *	  for <> and <postmaster>;
 *	- a smaller output buffer gives the same answer or MALFORMED when
 *	  the name does not fit, and is never overrun (buffers are exactly
 *	  their size; AddressSanitizer watches);
 *	- a domain map {example.org, .example.net} finds a NAME exactly when
 *	  it is example.org or ends in .example.net, the most specific first.
 */

#include "autoconfig.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domainmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define CHECK(cond) ((cond) ? (void)0 : fail(#cond, __LINE__))
#define OUTLEN (DOMAIN_MAXLEN + 1)

static void fail(const char *what, int line)
{
	fprintf(stderr, "fuzz_address:%d: invariant broken: %s\n", line, what);
	abort();
}

static struct domain_map map;	/* built once, read only afterwards */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!domain_map_add(&map, "example.org", 1, 1) || !domain_map_add(&map, ".example.net", 2, 2)
	    || !domain_map_add(&map, ".sub.example.net", 3, 3) || domain_map_sort(&map) != NULL)
		abort();
	return 0;
}

/* is_normal - a domain as domain_normalize promises to leave it */
static bool is_normal(const char *d)
{
	size_t len = strlen(d), label = 0;

	if (len == 0 || len > DOMAIN_MAXLEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = d[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* The address and its answer, from domain_of_address into an exact buffer. */
struct answer {
	enum domain_kind kind;
	char out[OUTLEN];
};

static struct answer of_address(const char *addr, size_t outlen)
{
	struct answer a = { .kind = DOMAIN_MALFORMED };
	char *out = malloc(outlen);

	if (out == NULL)
		abort();
	a.kind = domain_of_address(addr, out, outlen);
	CHECK(a.kind == DOMAIN_NAME || a.kind == DOMAIN_LITERAL || a.kind == DOMAIN_MISSING
	      || a.kind == DOMAIN_MALFORMED);
	if (a.kind == DOMAIN_NAME) {
		CHECK(memchr(out, '\0', outlen) != NULL);
		snprintf(a.out, sizeof(a.out), "%s", out);
	}
	free(out);
	return a;
}

static bool same(const struct answer *a, const struct answer *b)
{
	return a->kind == b->kind && (a->kind != DOMAIN_NAME || strcmp(a->out, b->out) == 0);
}

/* with - the address with text around it, in a new string */
static char *with(const char *pre, const char *s, const char *post)
{
	size_t n = strlen(pre) + strlen(s) + strlen(post) + 1;
	char *p = malloc(n);

	if (p == NULL)
		abort();
	snprintf(p, n, "%s%s%s", pre, s, post);
	return p;
}

/*
 * A reference reading of RFC 5321 4.1.2, strict and ASCII only:
 *	Path = "<" [ A-d-l ":" ] Mailbox ">"
 *	Mailbox = Local-part "@" ( Domain / address-literal )
 * It answers only for what it accepts.
 */

struct ref {
	const char *p;
	enum domain_kind kind;
	const char *dom;	/* the domain as written */
	size_t domlen;
};

static bool atext(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		|| (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static bool letdig(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ref_domain - sub-domain *("." sub-domain), each Let-dig [Ldh-str] */
static bool ref_domain(struct ref *r)
{
	const char *p = r->p;

	for (;;) {
		const char *start = p;
		if (!letdig(*p))
			return false;
		while (letdig(*p) || *p == '-')
			p++;
		if (p[-1] == '-' || p - start > 63)
			return false;
		if (*p != '.')
			break;
		p++;
	}
	r->domlen = (size_t)(p - r->p);
	r->dom = r->p;
	r->p = p;
	return r->domlen <= DOMAIN_MAXLEN;
}

/* ref_literal - "[" 1*dcontent "]" (General-address-literal covers the rest) */
static bool ref_literal(struct ref *r)
{
	const char *p = r->p;

	if (*p++ != '[')
		return false;
	if (*p == ']')
		return false;
	while (*p != ']') {
		if (!((*p >= 33 && *p <= 90) || (*p >= 94 && *p <= 126)))
			return false;
		p++;
	}
	r->p = p + 1;
	return true;
}

static bool ref_local(struct ref *r)
{
	const char *p = r->p;

	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (*p == '\\') {
				p++;
				if (*p < 32 || *p > 126)
					return false;
			} else if (*p < 32 || *p > 126) {
				return false;
			}
		}
		r->p = p + 1;
		return true;
	}
	for (;;) {
		if (!atext(*p))
			return false;
		while (atext(*p))
			p++;
		if (*p != '.')
			break;
		p++;
	}
	r->p = p;
	return true;
}

static bool ref_mailbox(struct ref *r)
{
	if (!ref_local(r) || *r->p++ != '@')
		return false;
	if (*r->p == '[') {
		r->kind = DOMAIN_LITERAL;
		return ref_literal(r);
	}
	r->kind = DOMAIN_NAME;
	return ref_domain(r);
}

/* ref_parse - true when s is a Path or a bare Mailbox, nothing more */
static bool ref_parse(const char *s, struct ref *r)
{
	r->p = s;
	if (strcmp(s, "<>") == 0 || strcasecmp(s, "<postmaster>") == 0) {
		r->kind = DOMAIN_MISSING;
		return true;
	}
	if (*r->p != '<')
		return ref_mailbox(r) && *r->p == '\0';
	r->p++;
	if (*r->p == '@') {
		for (;;) {
			r->p++;
			if (!ref_domain(r))
				return false;
			if (*r->p != ',')
				break;
			if (*++r->p != '@')
				return false;
		}
		if (*r->p++ != ':')
			return false;
	}
	return ref_mailbox(r) && *r->p++ == '>' && *r->p == '\0';
}

/* check_normalize - domain_normalize on its own, on the raw text */
static void check_normalize(const char *s, size_t len)
{
	char out[OUTLEN], again[OUTLEN];
	size_t n;

	if (!domain_normalize(s, len, out, sizeof(out)))
		return;
	CHECK(is_normal(out));
	n = strlen(out);
	CHECK(domain_normalize(out, n, again, sizeof(again)) && strcmp(out, again) == 0);
	for (size_t i = 0; i < n; i++)
		CHECK(out[i] == lower(s[i]));
	CHECK(n == len || (n + 1 == len && s[n] == '.'));
	/* it fits in n + 1 octets exactly, and refuses n */
	{
		char *tight = malloc(n + 1);
		if (tight == NULL)
			abort();
		CHECK(domain_normalize(s, len, tight, n + 1) && strcmp(tight, out) == 0);
		CHECK(!domain_normalize(s, len, tight, n));
		free(tight);
	}
}

/* check_map - the map finds what its patterns say, most specific first */
static void check_map(const char *d)
{
	const struct domain_entry *e = domain_map_find(&map, d);
	size_t n = strlen(d);
	bool exact = strcmp(d, "example.org") == 0;
	bool sub2 = n > 16 && strcmp(d + n - 16, ".sub.example.net") == 0;
	bool sub1 = n > 12 && strcmp(d + n - 12, ".example.net") == 0;

	if (exact)
		CHECK(e != NULL && e->value == 1);
	else if (sub2)
		CHECK(e != NULL && e->value == 3);
	else if (sub1)
		CHECK(e != NULL && e->value == 2);
	else
		CHECK(e == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct answer a, b;
	struct ref r;
	char *s, *t;
	const char *start, *end, *at = NULL;
	size_t small;

	if (size == 0)
		return 0;
	small = data[0] % 64;
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';

	a = of_address(s, OUTLEN);

	/* where the domain is, as documented: trimmed, unbracketed, after
	 * the last '@' */
	start = s;
	end = s + strlen(s);
	while (start < end && (*start == ' ' || *start == '\t'))
		start++;
	while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (start < end && *start == '<' && end[-1] == '>' && end - start >= 2) {
		start++;
		end--;
	}
	for (const char *p = start; p < end; p++)
		if (*p == '@')
			at = p;
	/* an address literal that ends the address may hold an '@' itself
	 * (<u@[tag:a@b]>): the domain starts at the '@' before its '[' */
	if (at != NULL && end[-1] == ']') {
		const char *open = NULL;
		for (const char *p = start; p < end; p++)
			if (*p == '[')
				open = p;
		if (open != NULL && open > start && open[-1] == '@')
			at = open - 1;
	}

	if (a.kind == DOMAIN_NAME) {
		size_t n = strlen(a.out), dlen;
		char *c;

		CHECK(is_normal(a.out));
		CHECK(at != NULL);
		dlen = (size_t)(end - at - 1);
		CHECK(n == dlen || (n + 1 == dlen && at[dlen] == '.'));
		for (size_t i = 0; i < n; i++)
			CHECK(a.out[i] == lower(at[1 + i]));
		c = malloc(OUTLEN);
		if (c == NULL)
			abort();
		CHECK(domain_classify(at + 1, dlen, c, OUTLEN) == DOMAIN_NAME && strcmp(c, a.out) == 0);
		free(c);
		check_map(a.out);
	}
	if (a.kind == DOMAIN_LITERAL)
		CHECK(at != NULL && at[1] == '[' && end[-1] == ']');
	if (a.kind == DOMAIN_MISSING)
		CHECK(at == NULL || at + 1 == end);

	/* white space around it */
	t = with(" \t ", s, "\t  ");
	b = of_address(t, OUTLEN);
	CHECK(same(&a, &b));
	free(t);

	/* brackets around a bare address (trimmed, not bracketed already) */
	if (start == s + strspn(s, " \t") && *start != '<') {
		size_t n = (size_t)(end - start);
		char *bare = malloc(n + 1);
		if (bare == NULL)
			abort();
		memcpy(bare, start, n);
		bare[n] = '\0';
		t = with("<", bare, ">");
		b = of_address(t, OUTLEN);
		CHECK(same(&a, &b));
		free(t);
		free(bare);
	}

	/* upper case */
	t = with("", s, "");
	for (char *p = t; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	b = of_address(t, OUTLEN);
	CHECK(same(&a, &b));
	free(t);

	/* a small output buffer */
	b = of_address(s, small > 0 ? small : 1);
	if (a.kind == DOMAIN_NAME && strlen(a.out) >= (small > 0 ? small : 1))
		CHECK(b.kind == DOMAIN_MALFORMED);
	else
		CHECK(same(&a, &b));

	/* the reference parser, where it has an opinion */
	if (ref_parse(s, &r)) {
		CHECK(a.kind == r.kind);
		if (r.kind == DOMAIN_NAME) {
			CHECK(strlen(a.out) == r.domlen);
			for (size_t i = 0; i < r.domlen; i++)
				CHECK(a.out[i] == lower(r.dom[i]));
		}
	}

	check_normalize(s, strlen(s));
	free(s);
	return 0;
}
