/*
 * NAME
 *	retry - retry memory for retry-then-accept
 * SYNOPSIS
 *	#include "retry.h"
 * DESCRIPTION
 *	A real MTA that finds the primary unreachable retries the backup
 *	later; ratware rarely does. retry_check() remembers when a (client
 *	network, recipient domain) pair was first tempfailed, and says whether
 *	this attempt is the first, too soon, or a retry to accept: at least
 *	RetryAfter seconds after the first tempfail and within RetryExpire.
 *
 *	The client network is the address cut to RetryPrefix4/RetryPrefix6
 *	bits: an MTA may retry from another address of its pool. The memory is
 *	the shared cache (cache.c): bounded, least recently used go first,
 *	entries expire RetryExpire after the first tempfail.
 */

#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "clock.h"
#include "retry.h"

struct retry {
	struct cache *seen;		/* key -> first tempfail, ms + 1 */
	uint64_t (*now)(void);
};

/* retry_new - an empty memory */
struct retry *retry_new(size_t capacity, uint64_t (*now_ms)(void))
{
	struct retry *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->now = now_ms != NULL ? now_ms : clock_ms;
	if ((r->seen = cache_new(capacity, NULL, r->now)) == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

/* retry_free - forget everything */
void retry_free(struct retry *r)
{
	if (r == NULL)
		return;
	cache_free(r->seen);
	free(r);
}

/* retry_network - the client's network as "addr/prefix" */
const char *retry_network(const struct netaddr *client, unsigned prefix4, unsigned prefix6,
			  char *buf, size_t len)
{
	struct cidr net = { *client, client->family == AF_INET ? prefix4 : prefix6 };
	unsigned max = client->family == AF_INET ? 32 : 128;

	if (client->family == 0) {
		snprintf(buf, len, "unknown");
		return buf;
	}
	for (unsigned bit = net.prefix; bit < max; bit++)
		net.addr.bytes[bit / 8] &= (unsigned char)~(0x80 >> (bit % 8));
	return cidr_format(&net, buf, len);
}

/* retry_check - first tempfail, too soon, or a retry to accept */
enum retry_state retry_check(struct retry *r, const struct netaddr *client, unsigned prefix4,
			     unsigned prefix6, const char *domain, unsigned after_s,
			     unsigned expire_s)
{
	char net[NETADDR_STRLEN + 8], key[NETADDR_STRLEN + 8 + 256];
	uint64_t now = r->now(), first;
	void *v;

	retry_network(client, prefix4, prefix6, net, sizeof(net));
	snprintf(key, sizeof(key), "%s %s", net, domain);
	switch (cache_get(r->seen, key, 0, &v)) {
	case CACHE_HIT:
		first = (uint64_t)(uintptr_t)v - 1;
		return now - first >= (uint64_t)after_s * 1000 ? RETRY_ACCEPT : RETRY_TOO_SOON;
	case CACHE_LEAD:
		/* stored + 1: a first tempfail at clock 0 is not a NULL */
		cache_put(r->seen, key, (void *)(uintptr_t)(now + 1), (uint64_t)expire_s * 1000);
		return RETRY_FIRST;
	case CACHE_TIMEOUT:
		break;		/* another thread is storing this very pair */
	}
	return RETRY_FIRST;
}
