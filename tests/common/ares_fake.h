/*
 * ares_fake.h - the fake c-ares answers the DNS tests give mxset.c.
 */
#ifndef MXB_ARES_FAKE_H
#define MXB_ARES_FAKE_H

#include <ares.h>

/*
 * The calls a test replaces at link time (ld --wrap). Each test answers
 * ares_query and ares_getaddrinfo its own way; ares_freeaddrinfo frees
 * what ares_fake_addrinfo made, and is defined in ares_fake.c.
 */
void __wrap_ares_query(ares_channel channel, const char *name, int dnsclass, int type,
		       ares_callback callback, void *arg);
void __wrap_ares_getaddrinfo(ares_channel channel, const char *node, const char *service,
			     const struct ares_addrinfo_hints *hints,
			     ares_addrinfo_callback callback, void *arg);
void __wrap_ares_freeaddrinfo(struct ares_addrinfo *ai);

struct ares_addrinfo *ares_fake_addrinfo(const char *node, const char *canon, int cname_ttl);
struct ares_addrinfo_node *ares_fake_add_node(struct ares_addrinfo_node ***tail, int family,
					      const void *addr, int ttl);
int ares_fake_live(void);
void ares_fake_reset(void);

#endif
