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
 *	bits: an MTA may retry from another address of its pool. retry_peek()
 *	says the same without remembering anything, for check mode. The memory is
 *	the store's (store.c): bounded, entries expire RetryExpire after the
 *	first tempfail, and shared by a pool of milters when it is Redis.
 */

#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "retry.h"
#include "store.h"

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

/* state_of - too soon or a retry to accept, from the first tempfail */
static enum retry_state state_of(uint64_t now, uint64_t first, unsigned after_s)
{
	/* a wall clock that stepped back is too soon, not a retry */
	return now >= first && now - first >= (uint64_t)after_s * 1000 ? RETRY_ACCEPT
		: RETRY_TOO_SOON;
}

/* retry_check - first tempfail, too soon, or a retry to accept */
enum retry_state retry_check(struct store *s, const struct netaddr *client, unsigned prefix4,
			     unsigned prefix6, const char *domain, unsigned after_s,
			     unsigned expire_s)
{
	char net[NETADDR_STRLEN + 8];
	uint64_t now = store_now(s), first;
	bool fresh;

	retry_network(client, prefix4, prefix6, net, sizeof(net));
	first = store_retry_first(s, net, domain, expire_s, &fresh);
	return fresh ? RETRY_FIRST : state_of(now, first, after_s);
}

/* retry_peek - what retry_check would say, remembering nothing (check
 * mode); *first_ms: the first tempfail, when there was one */
enum retry_state retry_peek(struct store *s, const struct netaddr *client, unsigned prefix4,
			    unsigned prefix6, const char *domain, unsigned after_s,
			    uint64_t *first_ms)
{
	char net[NETADDR_STRLEN + 8];

	retry_network(client, prefix4, prefix6, net, sizeof(net));
	if (!store_retry_known(s, net, domain, first_ms))
		return RETRY_FIRST;
	return state_of(store_now(s), *first_ms, after_s);
}
