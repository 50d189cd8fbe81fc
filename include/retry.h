/*
 * retry.h - retry memory for retry-then-accept.
 */
#ifndef MXB_RETRY_H
#define MXB_RETRY_H

#include <stdint.h>

#include "netaddr.h"

enum retry_state {
	RETRY_NOT_ASKED,	/* the memory was not asked (check mode without -C) */
	RETRY_FIRST,		/* first tempfail: remembered from now */
	RETRY_TOO_SOON,		/* tempfailed before, RetryAfter not over yet */
	RETRY_ACCEPT,		/* a retry after RetryAfter, within RetryExpire */
};

struct store;

enum retry_state retry_check(struct store *s, const struct netaddr *client, unsigned prefix4,
			     unsigned prefix6, const char *domain, unsigned after_s,
			     unsigned expire_s);
enum retry_state retry_peek(struct store *s, const struct netaddr *client, unsigned prefix4,
			    unsigned prefix6, const char *domain, unsigned after_s,
			    uint64_t *first_ms);
const char *retry_network(const struct netaddr *client, unsigned prefix4, unsigned prefix6,
			  char *buf, size_t len);

#endif
