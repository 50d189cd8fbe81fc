/*
 * mxset.h - a domain's MX set as a value; which entries are this host.
 *
 * Pure: no DNS, no c-ares or libmilter type. resolver.h makes the sets.
 */
#ifndef MXB_MXSET_H
#define MXB_MXSET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domainmap.h"
#include "netaddr.h"

#define MX_MAX_ENTRIES 64	/* the best 64 MX records are kept */
#define MX_MAX_ADDRS 16		/* addresses kept per MX host */

/* What the lookup of a domain's MX set came to: each outcome distinct. */
enum mx_status {
	MX_FOUND,		/* MX records (or an implicit MX): see entries */
	MX_NULL,		/* null MX (RFC 7505): the domain takes no mail */
	MX_NXDOMAIN,		/* the domain does not exist */
	MX_NONE,		/* no MX records and no address: no MX set */
	MX_NOT_DOMAIN,		/* malformed domain or address literal: not looked up */
	MX_SERVFAIL,		/* the server failed or refused */
	MX_TIMEOUT,		/* no answer within the deadline */
	MX_BADANSWER,		/* an answer that does not parse */
	MX_ERROR,		/* any other failure (out of memory, ...) */
};

/* What the address lookup of one MX host came to. */
enum mx_host_status {
	HOST_OK,		/* at least one address */
	HOST_NXDOMAIN,		/* the name does not exist */
	HOST_NODATA,		/* the name exists, without A or AAAA */
	HOST_BADNAME,		/* the target is not a valid host name */
	HOST_ERROR,		/* server failure or timeout: unknown */
};

struct mx_entry {
	unsigned pref;
	char *host;			/* lower case, no trailing dot */
	enum mx_host_status status;
	bool cname;			/* the target is an alias (followed) */
	size_t naddrs;
	struct netaddr addrs[MX_MAX_ADDRS];
};

/* An MX set: immutable once built, shared by reference counting. */
struct mxset {
	atomic_int refs;
	enum mx_status status;
	bool implicit;			/* no MX records: the domain itself, pref 0 */
	bool truncated;			/* more records than MX_MAX_ENTRIES */
	unsigned ttl;			/* seconds it may be kept */
	char domain[DOMAIN_MAXLEN + 1];
	size_t n;			/* entries, lowest preference first */
	struct mx_entry v[];
};

/* What decides which entries are this host. */
struct self_facts {
	struct netaddr local;			/* where the client connected; family 0: unknown */
	const struct cidr_list *local_addresses;	/* LocalAddresses */
	const struct domain_map *local_names;		/* LocalNames */
	const struct cidr_list *interfaces;		/* used when local is unknown */
};

struct mx_rank {
	bool has_self;
	unsigned rank;			/* lowest preference of a self entry */
	unsigned lowest;		/* lowest preference of the set */
	bool self[MX_MAX_ENTRIES];
};

const char *mx_status_name(enum mx_status s);
const char *mx_host_status_name(enum mx_host_status s);
bool mx_status_is_error(enum mx_status s);

struct mxset *mxset_hold(struct mxset *m);
void mxset_release(struct mxset *m);
struct mxset *mxset_new(const char *domain, size_t n);
struct mxset *mxset_new_status(const char *domain, enum mx_status status);

void mxset_rank(const struct mxset *m, const struct self_facts *f, struct mx_rank *out);
size_t mx_better(const struct mxset *m, const struct mx_rank *rank);

#endif
