/*
 * netaddr.h - IPv4/IPv6 addresses and CIDR lists.
 */
#ifndef MXB_NETADDR_H
#define MXB_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define NETADDR_STRLEN 46	/* INET6_ADDRSTRLEN */

struct netaddr {
	int family;			/* AF_INET or AF_INET6; 0: none */
	unsigned char bytes[16];	/* IPv4 in the first four */
};

struct cidr {
	struct netaddr addr;
	unsigned prefix;
};

struct cidr_list {
	size_t n;
	struct cidr *v;
};

bool netaddr_parse(const char *s, struct netaddr *out);
bool netaddr_from_sockaddr(const struct sockaddr *sa, struct netaddr *out);
socklen_t netaddr_to_sockaddr(const struct netaddr *a, unsigned port, struct sockaddr_storage *ss);
const char *netaddr_format(const struct netaddr *a, char *buf, size_t len);
const char *netaddr_format_cut(const struct netaddr *a, char *buf, size_t len);
const char *netaddr_append_uint(char *buf, size_t len, char sep, unsigned n);
bool netaddr_equal(const struct netaddr *a, const struct netaddr *b);
bool netaddr_is_wildcard(const struct netaddr *a);

bool cidr_parse(const char *s, struct cidr *out, char *err, size_t errlen);
bool cidr_match(const struct cidr *c, const struct netaddr *a);
const char *cidr_format(const struct cidr *c, char *buf, size_t len);

bool cidr_list_add(struct cidr_list *l, const struct cidr *c);
bool cidr_list_match(const struct cidr_list *l, const struct netaddr *a);
void cidr_list_free(struct cidr_list *l);

bool netaddr_interfaces(struct cidr_list *out);

#endif
