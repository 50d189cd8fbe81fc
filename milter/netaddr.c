/*
 * NAME
 *	netaddr - IPv4/IPv6 addresses and CIDR lists
 * SYNOPSIS
 *	#include "netaddr.h"
 * DESCRIPTION
 *	Addresses are kept in one fixed-size form, whatever their family, so
 *	they can be compared and matched without allocation. IPv4-mapped IPv6
 *	addresses (::ffff:192.0.2.1) are taken as the IPv4 address they carry:
 *	a dual-stack socket reports IPv4 clients that way.
 *
 *	netaddr_parse() accepts what MTAs put in macros: a bare address, an
 *	address in brackets, and Sendmail's "IPv6:" prefix.
 *
 *	cidr_parse() refuses a network with host bits set (192.0.2.1/24): that
 *	is almost always a typo, and silently masking it would hide one.
 */

#include "autoconfig.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "netaddr.h"

static const unsigned char v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* netaddr_set - fill from raw bytes, unmapping IPv4-mapped IPv6 */
static void netaddr_set(struct netaddr *out, int family, const void *raw)
{
	memset(out, 0, sizeof(*out));
	if (family == AF_INET6 && memcmp(raw, v4mapped, 12) == 0) {
		out->family = AF_INET;
		memcpy(out->bytes, (const unsigned char *)raw + 12, 4);
	} else {
		out->family = family;
		memcpy(out->bytes, raw, family == AF_INET ? 4 : 16);
	}
}

/* netaddr_parse - parse an address as MTAs and administrators write it */
bool netaddr_parse(const char *s, struct netaddr *out)
{
	char buf[NETADDR_STRLEN + 2];
	unsigned char raw[16];
	size_t len;

	if (s == NULL)
		return false;
	if (strncasecmp(s, "IPv6:", 5) == 0)
		s += 5;
	len = strlen(s);
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, raw) == 1) {
		netaddr_set(out, AF_INET, raw);
		return true;
	}
	if (inet_pton(AF_INET6, buf, raw) == 1) {
		netaddr_set(out, AF_INET6, raw);
		return true;
	}
	return false;
}

/* netaddr_from_sockaddr - take the address of a socket address */
bool netaddr_from_sockaddr(const struct sockaddr *sa, struct netaddr *out)
{
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		netaddr_set(out, AF_INET, &in->sin_addr);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		netaddr_set(out, AF_INET6, &in6->sin6_addr);
		return true;
	}
	return false;
}

/* netaddr_to_sockaddr - a socket address for connect() */
socklen_t netaddr_to_sockaddr(const struct netaddr *a, unsigned port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		memcpy(&in->sin_addr, a->bytes, 4);
		return sizeof(*in);
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons((uint16_t)port);
	memcpy(&in6->sin6_addr, a->bytes, 16);
	return sizeof(*in6);
}

/* netaddr_format - text form of an address, "-" for none */
const char *netaddr_format(const struct netaddr *a, char *buf, size_t len)
{
	/* IPv4 by hand: glibc's inet_ntop formats it with sprintf, and this
	 * runs several times for every recipient */
	if (a->family == AF_INET && len >= sizeof("255.255.255.255")) {
		char *p = buf;
		for (size_t i = 0; i < 4; i++) {
			unsigned b = a->bytes[i];
			if (i > 0)
				*p++ = '.';
			if (b >= 100)
				*p++ = (char)('0' + b / 100);
			if (b >= 10)
				*p++ = (char)('0' + b / 10 % 10);
			*p++ = (char)('0' + b % 10);
		}
		*p = '\0';
		return buf;
	}
	if (a->family == 0 || inet_ntop(a->family, a->bytes, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "-");
	return buf;
}

/* netaddr_format_cut - netaddr_format into a buffer of any size, cut to fit */
const char *netaddr_format_cut(const struct netaddr *a, char *buf, size_t len)
{
	char text[NETADDR_STRLEN];
	size_t n;

	if (len >= NETADDR_STRLEN)
		return netaddr_format(a, buf, len);
	if (len == 0)
		return buf;
	n = strlen(netaddr_format(a, text, sizeof(text)));
	if (n >= len)
		n = len - 1;
	memcpy(buf, text, n);
	buf[n] = '\0';
	return buf;
}

/* netaddr_append_uint - SEP and n in decimal after the text in buf, cut
 * to len; returns buf (the probe keys, the networks, and the numbers of
 * the log line and the header, without printf) */
const char *netaddr_append_uint(char *buf, size_t len, char sep, unsigned n)
{
	char digits[12];
	size_t used = strlen(buf), k = 0;

	do
		digits[k++] = (char)('0' + n % 10);
	while ((n /= 10) > 0);
	if (used + 1 + k < len) {
		buf[used++] = sep;
		while (k > 0)
			buf[used++] = digits[--k];
		buf[used] = '\0';
	}
	return buf;
}

/* netaddr_equal - same family and same address */
bool netaddr_equal(const struct netaddr *a, const struct netaddr *b)
{
	return a->family == b->family && a->family != 0
		&& memcmp(a->bytes, b->bytes, a->family == AF_INET ? 4 : 16) == 0;
}

/* netaddr_is_wildcard - 0.0.0.0 or ::, which name no host */
bool netaddr_is_wildcard(const struct netaddr *a)
{
	static const unsigned char zero[16];

	return a->family != 0
		&& memcmp(a->bytes, zero, a->family == AF_INET ? 4 : 16) == 0;
}

/* prefix_match - do the first bits of two byte strings agree */
static bool prefix_match(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

/* cidr_parse - "addr" or "addr/prefix"; err says what is wrong */
bool cidr_parse(const char *s, struct cidr *out, char *err, size_t errlen)
{
	char buf[NETADDR_STRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max;

	if (alen == 0 || alen >= sizeof(buf)) {
		snprintf(err, errlen, "\"%s\" is not an address or network", s);
		return false;
	}
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (!netaddr_parse(buf, &out->addr)) {
		snprintf(err, errlen, "\"%s\" is not an IPv4 or IPv6 address", buf);
		return false;
	}
	/* ::ffff:a.b.c.d/104 is an IPv4 /8: count the prefix in IPv4 bits */
	int mapped = strchr(buf, ':') != NULL && out->addr.family == AF_INET;
	max = out->addr.family == AF_INET ? 32 : 128;
	out->prefix = max;
	if (slash != NULL) {
		char *end;
		const char *p = slash + 1;
		unsigned long v;

		if (*p < '0' || *p > '9') {
			snprintf(err, errlen, "\"%s\": prefix length missing or not a number", s);
			return false;
		}
		v = strtoul(p, &end, 10);
		if (mapped) {
			if (v < 96 || v > 128) {
				snprintf(err, errlen, "\"%s\": prefix length must be 96..128 for an IPv4-mapped address", s);
				return false;
			}
			v -= 96;
		}
		if (*end != '\0' || v > max) {
			snprintf(err, errlen, "\"%s\": prefix length must be 0..%u", s, max);
			return false;
		}
		out->prefix = (unsigned)v;
	}
	for (unsigned bit = out->prefix; bit < max; bit++) {
		if (out->addr.bytes[bit / 8] & (0x80 >> (bit % 8))) {
			char net_text[NETADDR_STRLEN];
			struct netaddr masked = out->addr;
			for (unsigned b = out->prefix; b < max; b++)
				masked.bytes[b / 8] &= (unsigned char)~(0x80 >> (b % 8));
			snprintf(err, errlen, "\"%s\" has host bits set (network %s/%u?)",
				 s, netaddr_format(&masked, net_text, sizeof(net_text)), out->prefix);
			return false;
		}
	}
	return true;
}

/* cidr_match - is the address inside the network */
bool cidr_match(const struct cidr *c, const struct netaddr *a)
{
	return a->family != 0 && a->family == c->addr.family
		&& prefix_match(c->addr.bytes, a->bytes, c->prefix);
}

/* cidr_format - "addr/prefix" */
const char *cidr_format(const struct cidr *c, char *buf, size_t len)
{
	netaddr_format_cut(&c->addr, buf, len);
	return netaddr_append_uint(buf, len, '/', c->prefix);
}

/* cidr_list_add - append one network; false when out of memory */
bool cidr_list_add(struct cidr_list *l, const struct cidr *c)
{
	struct cidr *v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (v == NULL)
		return false;
	v[l->n++] = *c;
	l->v = v;
	return true;
}

/* cidr_list_match - is the address inside any network of the list */
bool cidr_list_match(const struct cidr_list *l, const struct netaddr *a)
{
	for (size_t i = 0; i < l->n; i++)
		if (cidr_match(&l->v[i], a))
			return true;
	return false;
}

/* cidr_list_free - release the list, leaving it empty */
void cidr_list_free(struct cidr_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* netaddr_interfaces - every address of this host's interfaces, each as a
 * host network; false if they cannot be read */
bool netaddr_interfaces(struct cidr_list *out)
{
	struct ifaddrs *ifs;

	cidr_list_free(out);
	if (getifaddrs(&ifs) != 0)
		return false;
	for (struct ifaddrs *i = ifs; i != NULL; i = i->ifa_next) {
		struct cidr c;
		if (!netaddr_from_sockaddr(i->ifa_addr, &c.addr))
			continue;
		c.prefix = c.addr.family == AF_INET ? 32 : 128;
		if (!cidr_list_add(out, &c))
			break;
	}
	freeifaddrs(ifs);
	return true;
}
