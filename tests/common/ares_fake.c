/*
 * NAME
 *	ares_fake - ares_addrinfo answers made by a test, and their free
 * SYNOPSIS
 *	#include "../common/ares_fake.h"
 * DESCRIPTION
 *	test_mxset and fuzz_dns replace c-ares where it would reach the
 *	network (ld --wrap) and hand mxset.c the ares_addrinfo that
 *	ares_getaddrinfo would have given. This module builds that answer
 *	the way c-ares lays it out, and is the one __wrap_ares_freeaddrinfo,
 *	so the tests agree on what is allocated and what is freed.
 *
 *	ares_fake_addrinfo() makes an answer with no address yet: its name
 *	is the canonical name when there is one (canon not NULL: the node is
 *	an alias, recorded as the one CNAME), else the node.
 *	ares_fake_add_node() appends one address (4 or 16 octets by family)
 *	at *tail, moves *tail on, and returns the node; NULL, with nothing
 *	appended, when memory runs out.
 *
 *	Every answer made and not yet freed is counted, across threads:
 *	ares_fake_live() is the count, 0 when mxset.c freed all it was
 *	given; ares_fake_reset() starts it again at 0.
 */

#include "autoconfig.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <ares.h>

#include "ares_fake.h"

static atomic_int live;		/* answers made and not yet freed */

/* ares_fake_addrinfo - an answer for node, without addresses */
struct ares_addrinfo *ares_fake_addrinfo(const char *node, const char *canon, int cname_ttl)
{
	struct ares_addrinfo *ai = calloc(1, sizeof(*ai));

	if (ai == NULL)
		return NULL;
	ai->name = strdup(canon != NULL ? canon : node);
	if (canon != NULL && (ai->cnames = calloc(1, sizeof(*ai->cnames))) != NULL) {
		ai->cnames->ttl = cname_ttl;
		ai->cnames->alias = strdup(node);
		ai->cnames->name = strdup(canon);
	}
	atomic_fetch_add(&live, 1);
	return ai;
}

/* ares_fake_add_node - one more address of an answer */
struct ares_addrinfo_node *ares_fake_add_node(struct ares_addrinfo_node ***tail, int family,
					      const void *addr, int ttl)
{
	struct ares_addrinfo_node *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	if (family == AF_INET) {
		struct sockaddr_in *sin = calloc(1, sizeof(*sin));
		if (sin == NULL) {
			free(n);
			return NULL;
		}
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, 4);
		n->ai_addr = (struct sockaddr *)sin;
		n->ai_addrlen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = calloc(1, sizeof(*sin6));
		if (sin6 == NULL) {
			free(n);
			return NULL;
		}
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, 16);
		n->ai_addr = (struct sockaddr *)sin6;
		n->ai_addrlen = sizeof(*sin6);
	}
	n->ai_family = family;
	n->ai_ttl = ttl;
	**tail = n;
	*tail = &n->ai_next;
	return n;
}

/* __wrap_ares_freeaddrinfo - ares_freeaddrinfo for the answers made here */
void __wrap_ares_freeaddrinfo(struct ares_addrinfo *ai)
{
	struct ares_addrinfo_node *n, *next;

	if (ai == NULL)
		return;
	if (ai->cnames != NULL) {
		free(ai->cnames->alias);
		free(ai->cnames->name);
		free(ai->cnames);
	}
	for (n = ai->nodes; n != NULL; n = next) {
		next = n->ai_next;
		free(n->ai_addr);
		free(n);
	}
	free(ai->name);
	free(ai);
	atomic_fetch_sub(&live, 1);
}

/* ares_fake_live - answers made and not yet freed */
int ares_fake_live(void)
{
	return atomic_load(&live);
}

/* ares_fake_reset - count from 0 again */
void ares_fake_reset(void)
{
	atomic_store(&live, 0);
}
