/*
 * test_verdict - the policy: facts in, verdict out (docs/design.md "Verdicts").
 *
 * Each case is a scenario: an MX set built in memory, this host's self facts
 * (ranked by the real mxset_rank()), the client, and what the probes of each
 * entry found. No DNS, no c-ares call, no libmilter.
 *
 * MX spec: entries separated by ';', lowest preference first, each
 *	PREF HOST [ADDR,ADDR...|!STATUS]
 * A HOST without a dot is in example.org ("mx1" is mx1.example.org). No
 * address means HOST_NODATA; "!nxdomain", "!error" etc. set another host
 * status; the address "empty" is a zeroed slot (family 0).
 *
 * Self spec: words, each local=ADDR (where the client connected),
 * addr=CIDR (LocalAddresses), name=HOST (LocalNames), if=CIDR (this host's
 * interfaces, used when local is unknown). Nothing: this host is not known
 * by any of them.
 *
 * Probes: one letter per entry, u(p) d(own) -(none) ?(unknown), w(ent down:
 * up at the last probe, down at the confirmation), '.' for an
 * entry that is not better (self or worse). Only better entries may be read:
 * '.' is stored as up, so a verdict that read one would show it.
 * NULL: the probes pointer itself is NULL.
 */

#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "domainmap.h"
#include "mxset.h"
#include "netaddr.h"
#include "verdict.h"

#define DOMAIN "example.org"

/* Case flags. */
#define LISTED		(1u << 0)	/* the domain is in Domains */
#define TRUSTED		(1u << 1)	/* the client is in TrustedNetworks */
#define AUTH		(1u << 2)	/* SASL-authenticated, SkipAuthenticated yes */
#define IMPLICIT	(1u << 3)	/* no MX records: the domain itself at pref 0 */
#define NO_LOOKUP	(1u << 4)	/* mx == NULL: the lookup was never made */
#define WITNESS		(1u << 5)	/* its network connected to a better MX lately */
#define RECENT_DOWN	(1u << 6)	/* the better MX answering now was down lately */

#define NONE (-1)

struct verdict_case {
	const char *name;
	const char *mx;			/* MX spec, see above */
	enum mx_status status;
	const char *self;		/* self spec, see above */
	const char *client;		/* NULL: unknown (family 0) */
	unsigned flags;
	const char *probes;		/* one letter per entry, or NULL */
	enum verdict verdict;
	const char *reason;
	int via;
	int reachable;
};

/* Addresses: mxN is 192.0.2.N0 and 2001:db8::N0; clients are in 203.0.113/24. */
static const struct verdict_case cases[] = {
	/* exempt, and the order of the exempt reasons */
	{ "domain not listed: exempt without a lookup",
	  NULL, MX_FOUND, "", "203.0.113.5", NO_LOOKUP,
	  NULL, VERDICT_EXEMPT, "domain-not-listed", NONE, NONE },
	{ "domain not listed: exempt even when DNS failed",
	  "", MX_SERVFAIL, "local=192.0.2.20", "203.0.113.5", 0,
	  NULL, VERDICT_EXEMPT, "domain-not-listed", NONE, NONE },
	{ "domain not listed: exempt even on a backup with the primary up",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", "203.0.113.5", 0,
	  "u.", VERDICT_EXEMPT, "domain-not-listed", NONE, NONE },
	{ "trusted client: exempt on a backup with the primary up",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", "203.0.113.5",
	  LISTED | TRUSTED,
	  "u.", VERDICT_EXEMPT, "trusted-network", NONE, NONE },
	{ "trusted client: exempt even when DNS timed out",
	  "", MX_TIMEOUT, "local=192.0.2.20", "203.0.113.5", LISTED | TRUSTED,
	  NULL, VERDICT_EXEMPT, "trusted-network", NONE, NONE },
	{ "authenticated client: exempt on a backup with the primary up",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", "203.0.113.5",
	  LISTED | AUTH,
	  "u.", VERDICT_EXEMPT, "authenticated", NONE, NONE },
	{ "exempt order: not listed beats trusted and authenticated",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", "192.0.2.10",
	  TRUSTED | AUTH,
	  "u.", VERDICT_EXEMPT, "domain-not-listed", NONE, NONE },
	{ "exempt order: trusted beats authenticated and client-is-mx",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", "192.0.2.10",
	  LISTED | TRUSTED | AUTH,
	  "u.", VERDICT_EXEMPT, "trusted-network", NONE, NONE },
	{ "exempt order: authenticated beats client-is-mx",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", "192.0.2.10",
	  LISTED | AUTH,
	  "u.", VERDICT_EXEMPT, "authenticated", NONE, NONE },
	{ "client is the primary relaying to us: exempt",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", "192.0.2.10", LISTED,
	  "u.", VERDICT_EXEMPT, "client-is-mx", NONE, NONE },
	{ "client is a sibling backup (worse preference): exempt",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20; 30 mx3 192.0.2.30", MX_FOUND, "local=192.0.2.20",
	  "192.0.2.30", LISTED,
	  "u..", VERDICT_EXEMPT, "client-is-mx", NONE, NONE },
	{ "client is the second address of an MX host: exempt",
	  "10 mx1 192.0.2.10,192.0.2.11; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20",
	  "192.0.2.11", LISTED,
	  "u.", VERDICT_EXEMPT, "client-is-mx", NONE, NONE },
	{ "client is an MX host although this host is not in the set: exempt first",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=198.51.100.1", "192.0.2.20",
	  LISTED,
	  "u.", VERDICT_EXEMPT, "client-is-mx", NONE, NONE },
	{ "IPv4-mapped client equal to an MX IPv4 address: exempt",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20",
	  "::ffff:192.0.2.10", LISTED,
	  "u.", VERDICT_EXEMPT, "client-is-mx", NONE, NONE },
	{ "IPv6 client equal to an MX IPv6 address: exempt",
	  "10 mx1 192.0.2.10,2001:db8::10; 20 mx2 2001:db8::20", MX_FOUND, "local=2001:db8::20",
	  "2001:db8::10", LISTED,
	  "u.", VERDICT_EXEMPT, "client-is-mx", NONE, NONE },
	{ "client is the implicit MX's own address: exempt",
	  "0 example.org 192.0.2.1", MX_FOUND, "local=192.0.2.1", "192.0.2.1", LISTED | IMPLICIT,
	  ".", VERDICT_EXEMPT, "client-is-mx", NONE, NONE },

	/* error */
	{ "no lookup made (mx NULL): error",
	  NULL, MX_FOUND, "local=192.0.2.20", "203.0.113.5", LISTED | NO_LOOKUP,
	  NULL, VERDICT_ERROR, "no-lookup", NONE, NONE },
	{ "DNS server failure: error servfail",
	  "", MX_SERVFAIL, "local=192.0.2.20", "203.0.113.5", LISTED,
	  NULL, VERDICT_ERROR, "servfail", NONE, NONE },
	{ "DNS timeout: error timeout",
	  "", MX_TIMEOUT, "local=192.0.2.20", "203.0.113.5", LISTED,
	  NULL, VERDICT_ERROR, "timeout", NONE, NONE },
	{ "unparsable DNS answer: error bad-answer",
	  "", MX_BADANSWER, "local=192.0.2.20", "203.0.113.5", LISTED,
	  NULL, VERDICT_ERROR, "bad-answer", NONE, NONE },
	{ "other lookup failure: error error",
	  "", MX_ERROR, "local=192.0.2.20", "203.0.113.5", LISTED,
	  NULL, VERDICT_ERROR, "error", NONE, NONE },
	{ "DNS failure with a client at an MX address: error, the set is unknown",
	  "", MX_SERVFAIL, "local=192.0.2.20", "192.0.2.10", LISTED,
	  NULL, VERDICT_ERROR, "servfail", NONE, NONE },

	/* not-mx */
	{ "null MX: not-mx",
	  "", MX_NULL, "local=192.0.2.20", "203.0.113.5", LISTED,
	  NULL, VERDICT_NOT_MX, "null-mx", NONE, NONE },
	{ "NXDOMAIN: not-mx",
	  "", MX_NXDOMAIN, "local=192.0.2.20", "203.0.113.5", LISTED,
	  NULL, VERDICT_NOT_MX, "nxdomain", NONE, NONE },
	{ "no MX and no address: not-mx",
	  "", MX_NONE, "local=192.0.2.20", "203.0.113.5", LISTED,
	  NULL, VERDICT_NOT_MX, "no-mx", NONE, NONE },
	{ "malformed domain or literal: not-mx",
	  "", MX_NOT_DOMAIN, "local=192.0.2.20", "203.0.113.5", LISTED,
	  NULL, VERDICT_NOT_MX, "not-a-domain", NONE, NONE },
	{ "this host not in the set: not-mx, even with a better MX up",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=198.51.100.1", "203.0.113.5",
	  LISTED,
	  "uu", VERDICT_NOT_MX, "not-listed", NONE, NONE },
	{ "implicit MX that is not this host: not-mx",
	  "0 example.org 192.0.2.1", MX_FOUND, "local=198.51.100.1", "203.0.113.5",
	  LISTED | IMPLICIT,
	  "u", VERDICT_NOT_MX, "not-listed", NONE, NONE },
	{ "connection address known: interfaces are not asked, not-mx",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND,
	  "local=198.51.100.1 if=192.0.2.20/32", "203.0.113.5", LISTED,
	  "u.", VERDICT_NOT_MX, "not-listed", NONE, NONE },
	{ "LocalNames of another host does not make this one self: not-mx",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND,
	  "local=198.51.100.1 name=mx9.example.org", "203.0.113.5", LISTED,
	  "u.", VERDICT_NOT_MX, "not-listed", NONE, NONE },

	/* primary */
	{ "rank is the lowest preference: primary",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.10", "203.0.113.5",
	  LISTED,
	  ".u", VERDICT_PRIMARY, "lowest-preference", 0, NONE },
	{ "equal preference with another MX counts as primary",
	  "10 mx1 192.0.2.10; 10 mx2 192.0.2.20; 20 mx3 192.0.2.30", MX_FOUND, "local=192.0.2.20",
	  "203.0.113.5", LISTED,
	  "u.u", VERDICT_PRIMARY, "lowest-preference", 1, NONE },
	{ "implicit MX (the domain at pref 0) that is this host: primary",
	  "0 example.org 192.0.2.1", MX_FOUND, "local=192.0.2.1", "203.0.113.5",
	  LISTED | IMPLICIT,
	  ".", VERDICT_PRIMARY, "lowest-preference", 0, NONE },
	{ "single MX record that is this host: primary",
	  "10 mx1 192.0.2.10", MX_FOUND, "local=192.0.2.10", "203.0.113.5", LISTED,
	  ".", VERDICT_PRIMARY, "lowest-preference", 0, NONE },
	{ "self as primary and as backup: rank is the primary, primary",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20 name=mx1",
	  "203.0.113.5", LISTED,
	  "..", VERDICT_PRIMARY, "lowest-preference", 0, NONE },

	/* backup */
	{ "backup with the one better MX down: backup",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", "203.0.113.5",
	  LISTED,
	  "d.", VERDICT_BACKUP, "better-mx-unreachable", 1, NONE },
	{ "several better MX all down: backup",
	  "10 mx1 192.0.2.10; 15 mx2 192.0.2.20; 20 mx3 192.0.2.30; 30 mx4 192.0.2.40",
	  MX_FOUND, "local=192.0.2.40", "203.0.113.5", LISTED,
	  "ddd.", VERDICT_BACKUP, "better-mx-unreachable", 3, NONE },
	{ "better MX with no address (probe none): backup",
	  "10 mx1; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", "203.0.113.5", LISTED,
	  "-.", VERDICT_BACKUP, "better-mx-unreachable", 1, NONE },
	{ "better MX NXDOMAIN and another down: backup",
	  "10 mx1 !nxdomain; 15 mx2 192.0.2.20; 20 mx3 192.0.2.30", MX_FOUND, "local=192.0.2.30",
	  "203.0.113.5", LISTED,
	  "-d.", VERDICT_BACKUP, "better-mx-unreachable", 2, NONE },
	{ "in the middle: the worse MX below us is up but does not count, backup",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20; 30 mx3 192.0.2.30", MX_FOUND, "local=192.0.2.20",
	  "203.0.113.5", LISTED,
	  "d.u", VERDICT_BACKUP, "better-mx-unreachable", 1, NONE },
	{ "an equal-preference sibling that is up is not better: backup",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20; 20 mx3 192.0.2.30", MX_FOUND, "local=192.0.2.20",
	  "203.0.113.5", LISTED,
	  "d.u", VERDICT_BACKUP, "better-mx-unreachable", 1, NONE },
	{ "self read as up is not a better MX: backup",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", "203.0.113.5",
	  LISTED,
	  "du", VERDICT_BACKUP, "better-mx-unreachable", 1, NONE },

	/* bypass */
	{ "backup with the better MX up: bypass",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", "203.0.113.5",
	  LISTED,
	  "u.", VERDICT_BYPASS, "better-mx-reachable", 1, 0 },
	{ "several better MX, some down, one up: bypass with the up one",
	  "10 mx1 192.0.2.10; 15 mx2 192.0.2.20; 20 mx3 192.0.2.30; 30 mx4 192.0.2.40",
	  MX_FOUND, "local=192.0.2.40", "203.0.113.5", LISTED,
	  "dud.", VERDICT_BYPASS, "better-mx-reachable", 3, 1 },
	{ "better MX of equal preference, first down, second up: bypass",
	  "10 mx1 192.0.2.10; 10 mx1b 192.0.2.11; 20 mx2 192.0.2.20", MX_FOUND,
	  "local=192.0.2.20", "203.0.113.5", LISTED,
	  "du.", VERDICT_BYPASS, "better-mx-reachable", 2, 1 },
	{ "one better MX unknown and another up: bypass",
	  "10 mx1 192.0.2.10; 15 mx2 192.0.2.20; 20 mx3 192.0.2.30", MX_FOUND, "local=192.0.2.30",
	  "203.0.113.5", LISTED,
	  "?u.", VERDICT_BYPASS, "better-mx-reachable", 2, 1 },
	{ "self at two preferences: rank is the lower, via points at it",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20; 30 mx3 192.0.2.20", MX_FOUND,
	  "local=192.0.2.20", "203.0.113.5", LISTED,
	  "u..", VERDICT_BYPASS, "better-mx-reachable", 1, 0 },
	{ "self at two preferences by address and by name: via is the lower",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20; 30 mx3 192.0.2.30", MX_FOUND,
	  "local=192.0.2.30 name=mx2", "203.0.113.5", LISTED,
	  "u..", VERDICT_BYPASS, "better-mx-reachable", 1, 0 },
	{ "two self entries at the rank: via is the first of them",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20; 20 mx2b 192.0.2.20", MX_FOUND,
	  "local=192.0.2.20", "203.0.113.5", LISTED,
	  "u..", VERDICT_BYPASS, "better-mx-reachable", 1, 0 },
	{ "self by LocalAddresses behind NAT: bypass",
	  "10 mx1 192.0.2.10; 20 mx2 198.51.100.20", MX_FOUND,
	  "local=10.0.0.5 addr=198.51.100.0/24", "203.0.113.5", LISTED,
	  "u.", VERDICT_BYPASS, "better-mx-reachable", 1, 0 },
	{ "self by LocalNames, the address unknown to us: bypass",
	  "10 mx1 192.0.2.10; 20 mx2 198.51.100.20", MX_FOUND,
	  "local=10.0.0.5 name=mx2.example.org", "203.0.113.5", LISTED,
	  "u.", VERDICT_BYPASS, "better-mx-reachable", 1, 0 },
	{ "self by LocalNames although the host has no address: backup",
	  "10 mx1 192.0.2.10; 20 mx2", MX_FOUND, "local=10.0.0.5 name=mx2", "203.0.113.5", LISTED,
	  "d.", VERDICT_BACKUP, "better-mx-unreachable", 1, NONE },
	{ "check mode without a local address: interfaces are self, bypass",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "if=192.0.2.16/28", "203.0.113.5",
	  LISTED,
	  "u.", VERDICT_BYPASS, "better-mx-reachable", 1, 0 },
	{ "IPv4-mapped local address matches the MX IPv4 address: bypass",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=::ffff:192.0.2.20",
	  "203.0.113.5", LISTED,
	  "u.", VERDICT_BYPASS, "better-mx-reachable", 1, 0 },
	{ "IPv6 client and IPv6-only MX hosts: bypass",
	  "10 mx1 2001:db8::10; 20 mx2 2001:db8::20", MX_FOUND, "local=2001:db8::20",
	  "2001:db8:ffff::7", LISTED,
	  "u.", VERDICT_BYPASS, "better-mx-reachable", 1, 0 },
	{ "dual-stack MX hosts, IPv4 client: bypass",
	  "10 mx1 192.0.2.10,2001:db8::10; 20 mx2 192.0.2.20,2001:db8::20", MX_FOUND,
	  "local=2001:db8::20", "203.0.113.5", LISTED,
	  "u.", VERDICT_BYPASS, "better-mx-reachable", 1, 0 },
	{ "client address unknown never counts as an MX: bypass",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", NULL, LISTED,
	  "u.", VERDICT_BYPASS, "better-mx-reachable", 1, 0 },
	{ "client address unknown does not match an empty address slot: bypass",
	  "10 mx1 empty,192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", NULL, LISTED,
	  "u.", VERDICT_BYPASS, "better-mx-reachable", 1, 0 },
	{ "client near but not at an MX address is no MX: bypass",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", "192.0.2.12",
	  LISTED,
	  "u.", VERDICT_BYPASS, "better-mx-reachable", 1, 0 },

	/* evidence: a reason to come to the backup with a better MX up */
	{ "better MX up, the client's network connected to it lately: backup tried-better-mx",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", "203.0.113.5",
	  LISTED | WITNESS,
	  "u.", VERDICT_BACKUP, "tried-better-mx", 1, 0 },
	{ "better MX up but down lately (an MTA that remembers): backup better-mx-recently-down",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", "203.0.113.5",
	  LISTED | RECENT_DOWN,
	  "u.", VERDICT_BACKUP, "better-mx-recently-down", 1, 0 },
	{ "both kinds of evidence: the witness is named",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", "203.0.113.5",
	  LISTED | WITNESS | RECENT_DOWN,
	  "u.", VERDICT_BACKUP, "tried-better-mx", 1, 0 },
	{ "evidence with two better MX, the second up: backup, reachable is the second",
	  "10 mx1 192.0.2.10; 15 mx2 192.0.2.20; 20 mx3 192.0.2.30", MX_FOUND,
	  "local=192.0.2.30", "203.0.113.5", LISTED | WITNESS,
	  "du.", VERDICT_BACKUP, "tried-better-mx", 2, 1 },
	{ "evidence but every better MX down: the plain backup reason",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", "203.0.113.5",
	  LISTED | WITNESS | RECENT_DOWN,
	  "d.", VERDICT_BACKUP, "better-mx-unreachable", 1, NONE },
	{ "evidence with the probe unfinished: still error",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", "203.0.113.5",
	  LISTED | WITNESS,
	  "?.", VERDICT_ERROR, "probe-unfinished", 1, NONE },
	{ "evidence on the primary changes nothing: primary",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.10", "203.0.113.5",
	  LISTED | WITNESS | RECENT_DOWN,
	  NULL, VERDICT_PRIMARY, "lowest-preference", 0, NONE },
	{ "evidence for a trusted client: exempt comes first",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", "203.0.113.5",
	  LISTED | TRUSTED | WITNESS,
	  "u.", VERDICT_EXEMPT, "trusted-network", NONE, NONE },
	{ "evidence where this host is no MX: not-mx",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.99", "203.0.113.5",
	  LISTED | WITNESS,
	  "..", VERDICT_NOT_MX, "not-listed", NONE, NONE },

	/* the confirmation before accusing */
	{ "better MX up at the last probe, down at the confirmation: backup better-mx-went-down",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", "203.0.113.5",
	  LISTED,
	  "w.", VERDICT_BACKUP, "better-mx-went-down", 1, NONE },
	{ "one better MX went down, another down all along: better-mx-went-down",
	  "10 mx1 192.0.2.10; 15 mx2 192.0.2.20; 20 mx3 192.0.2.30", MX_FOUND,
	  "local=192.0.2.30", "203.0.113.5", LISTED,
	  "dw.", VERDICT_BACKUP, "better-mx-went-down", 2, NONE },
	{ "one better MX went down, another up: bypass with the up one",
	  "10 mx1 192.0.2.10; 15 mx2 192.0.2.20; 20 mx3 192.0.2.30", MX_FOUND,
	  "local=192.0.2.30", "203.0.113.5", LISTED,
	  "wu.", VERDICT_BYPASS, "better-mx-reachable", 2, 1 },
	{ "one better MX went down, another unknown: error",
	  "10 mx1 192.0.2.10; 15 mx2 192.0.2.20; 20 mx3 192.0.2.30", MX_FOUND,
	  "local=192.0.2.30", "203.0.113.5", LISTED,
	  "w?.", VERDICT_ERROR, "probe-unfinished", 2, NONE },

	/* probes not finished */
	{ "better MX unknown, none up: error probe-unfinished",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", "203.0.113.5",
	  LISTED,
	  "?.", VERDICT_ERROR, "probe-unfinished", 1, NONE },
	{ "one better MX unknown, the others down or without address: error",
	  "10 mx1 192.0.2.10; 15 mx2; 17 mx3 192.0.2.30; 20 mx4 192.0.2.40", MX_FOUND,
	  "local=192.0.2.40", "203.0.113.5", LISTED,
	  "d-?.", VERDICT_ERROR, "probe-unfinished", 3, NONE },
	{ "better MX whose address lookup failed (unknown): error",
	  "10 mx1 !error; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", "203.0.113.5", LISTED,
	  "?.", VERDICT_ERROR, "probe-unfinished", 1, NONE },
	{ "probes pointer NULL: every better MX unknown, error",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.20", "203.0.113.5",
	  LISTED,
	  NULL, VERDICT_ERROR, "probe-unfinished", 1, NONE },
	{ "probes pointer NULL on the primary: probes not needed, primary",
	  "10 mx1 192.0.2.10; 20 mx2 192.0.2.20", MX_FOUND, "local=192.0.2.10", "203.0.113.5",
	  LISTED,
	  NULL, VERDICT_PRIMARY, "lowest-preference", 0, NONE },
};

/* Everything one case builds; freed before any assertion runs. */
struct scenario {
	struct mxset *mx;
	struct mx_rank rank;
	struct cidr_list local_addresses;
	struct cidr_list interfaces;
	struct domain_map local_names;
	struct self_facts self;
	enum probe_state probes[MX_MAX_ENTRIES];
	struct verdict_facts facts;
	char err[256];
};

static bool bad(struct scenario *s, const char *what, const char *text)
{
	snprintf(s->err, sizeof(s->err), "bad %s in the case table: \"%s\"", what, text);
	return false;
}

/* host_status_parse - "!nxdomain" and friends */
static bool host_status_parse(const char *word, enum mx_host_status *out)
{
	static const enum mx_host_status all[] = {
		HOST_OK, HOST_NXDOMAIN, HOST_NODATA, HOST_BADNAME, HOST_ERROR,
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(word, mx_host_status_name(all[i])) == 0) {
			*out = all[i];
			return true;
		}
	return false;
}

/* entry_parse - "PREF HOST [ADDR,ADDR...|!STATUS]" */
static bool entry_parse(struct scenario *s, char *text, struct mx_entry *e)
{
	char *save = NULL, *end;
	char *pref = strtok_r(text, " ", &save);
	char *host = strtok_r(NULL, " ", &save);
	char *addrs = strtok_r(NULL, " ", &save);
	char name[DOMAIN_MAXLEN + 1];

	if (pref == NULL || host == NULL || strtok_r(NULL, " ", &save) != NULL)
		return bad(s, "MX entry", text);
	e->pref = (unsigned)strtoul(pref, &end, 10);
	if (*end != '\0')
		return bad(s, "preference", pref);
	snprintf(name, sizeof(name), strchr(host, '.') ? "%s" : "%s." DOMAIN, host);
	if ((e->host = strdup(name)) == NULL)
		return bad(s, "memory for", host);
	e->status = HOST_NODATA;
	if (addrs == NULL)
		return true;
	if (addrs[0] == '!')
		return host_status_parse(addrs + 1, &e->status) || bad(s, "host status", addrs);
	e->status = HOST_OK;
	for (char *a = strtok_r(addrs, ",", &save); a != NULL; a = strtok_r(NULL, ",", &save)) {
		if (e->naddrs == MX_MAX_ADDRS)
			return bad(s, "address count", a);
		if (strcmp(a, "empty") == 0)
			e->naddrs++;		/* already zeroed by calloc */
		else if (!netaddr_parse(a, &e->addrs[e->naddrs++]))
			return bad(s, "address", a);
	}
	return true;
}

/* mx_build - the MX set of DOMAIN from an MX spec */
static bool mx_build(struct scenario *s, const struct verdict_case *vc)
{
	char spec[1024], *save = NULL;
	size_t n = 0;

	if (snprintf(spec, sizeof(spec), "%s", vc->mx) >= (int)sizeof(spec))
		return bad(s, "MX spec (too long)", vc->mx);
	for (const char *p = spec; *p != '\0'; p++)
		n += *p == ';';
	n += strspn(spec, " ") != strlen(spec);
	if (n > MX_MAX_ENTRIES)
		return bad(s, "MX spec (too many entries)", vc->mx);
	s->mx = calloc(1, sizeof(struct mxset) + n * sizeof(struct mx_entry));
	if (s->mx == NULL)
		return bad(s, "memory for", vc->mx);
	atomic_init(&s->mx->refs, 1);
	s->mx->status = vc->status;
	s->mx->implicit = (vc->flags & IMPLICIT) != 0;
	s->mx->ttl = 300;
	snprintf(s->mx->domain, sizeof(s->mx->domain), "%s", DOMAIN);
	for (char *e = strtok_r(spec, ";", &save); e != NULL; e = strtok_r(NULL, ";", &save)) {
		if (s->mx->n == n)
			return bad(s, "MX spec (empty entry)", vc->mx);
		if (!entry_parse(s, e, &s->mx->v[s->mx->n++]))
			return false;
	}
	if (s->mx->n != n)
		return bad(s, "MX spec (empty entry)", vc->mx);
	return true;
}

/* self_build - the self facts from a self spec */
static bool self_build(struct scenario *s, const char *spec)
{
	char text[512], *save = NULL;
	struct cidr c;
	char err[128];

	snprintf(text, sizeof(text), "%s", spec);
	s->self.local_addresses = &s->local_addresses;
	s->self.local_names = &s->local_names;
	s->self.interfaces = &s->interfaces;	/* never this machine's real ones */
	for (char *w = strtok_r(text, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
		if (strncmp(w, "local=", 6) == 0) {
			if (!netaddr_parse(w + 6, &s->self.local))
				return bad(s, "local address", w);
		} else if (strncmp(w, "addr=", 5) == 0 || strncmp(w, "if=", 3) == 0) {
			bool iface = w[0] == 'i';
			const char *net = strchr(w, '=') + 1;
			if (!cidr_parse(net, &c, err, sizeof(err))
			    || !cidr_list_add(iface ? &s->interfaces : &s->local_addresses, &c))
				return bad(s, "network", w);
		} else if (strncmp(w, "name=", 5) == 0) {
			char name[DOMAIN_MAXLEN + 1];
			snprintf(name, sizeof(name), strchr(w + 5, '.') ? "%s" : "%s." DOMAIN, w + 5);
			if (!domain_map_add(&s->local_names, name, 1, 0))
				return bad(s, "local name", w);
		} else {
			return bad(s, "self word", w);
		}
	}
	if (domain_map_sort(&s->local_names) != NULL)
		return bad(s, "self spec (duplicate name)", spec);
	return true;
}

/* probes_build - one probe state per entry */
static bool probes_build(struct scenario *s, const char *letters)
{
	size_t n = s->mx != NULL ? s->mx->n : 0;

	if (strlen(letters) != n)
		return bad(s, "probe letters (one per entry)", letters);
	for (size_t i = 0; i < n; i++)
		switch (letters[i]) {
		case 'u': s->probes[i] = PROBE_UP; break;
		case 'd': s->probes[i] = PROBE_DOWN; break;
		case '-': s->probes[i] = PROBE_NONE; break;
		case '?': s->probes[i] = PROBE_UNKNOWN; break;
		case 'w': s->probes[i] = PROBE_WENT_DOWN; break;
		case '.': s->probes[i] = PROBE_UP; break;	/* not better: never read */
		default: return bad(s, "probe letter", letters);
		}
	return true;
}

/* scenario_build - the facts verdict_decide() gets for one case */
static bool scenario_build(struct scenario *s, const struct verdict_case *vc)
{
	struct verdict_facts *f = &s->facts;

	f->domain_listed = (vc->flags & LISTED) != 0;
	f->client_trusted = (vc->flags & TRUSTED) != 0;
	f->client_authenticated = (vc->flags & AUTH) != 0;
	f->tried_better = (vc->flags & WITNESS) != 0;
	f->better_recently_down = (vc->flags & RECENT_DOWN) != 0;
	if (vc->client != NULL && !netaddr_parse(vc->client, &f->client))
		return bad(s, "client address", vc->client);
	if (!self_build(s, vc->self))
		return false;
	if ((vc->flags & NO_LOOKUP) != 0) {
		if (vc->mx != NULL)
			return bad(s, "case: NO_LOOKUP with an MX spec", vc->mx);
		return vc->probes == NULL || bad(s, "case: probes without a lookup", vc->probes);
	}
	if (vc->mx == NULL)
		return bad(s, "case: no MX spec without NO_LOOKUP", vc->name);
	if (!mx_build(s, vc))
		return false;
	mxset_rank(s->mx, &s->self, &s->rank);
	f->mx = s->mx;
	f->rank = &s->rank;
	if (vc->probes == NULL)
		return true;
	f->probes = s->probes;
	return probes_build(s, vc->probes);
}

static void scenario_free(struct scenario *s)
{
	mxset_release(s->mx);
	cidr_list_free(&s->local_addresses);
	cidr_list_free(&s->interfaces);
	domain_map_free(&s->local_names);
}

static void test_decide(void **state)
{
	const struct verdict_case *vc = *state;
	struct scenario s = { 0 };
	struct verdict_result r = { .verdict = VERDICT_COUNT, .via = 99, .reachable = 99 };
	bool built = scenario_build(&s, vc);

	if (built)
		verdict_decide(&s.facts, &r);
	scenario_free(&s);
	if (!built)
		fail_msg("%s", s.err);
	assert_in_range(r.verdict, VERDICT_EXEMPT, VERDICT_COUNT - 1);
	assert_string_equal(verdict_name(r.verdict), verdict_name(vc->verdict));
	assert_non_null(verdict_reason_name(&r));
	assert_string_equal(verdict_reason_name(&r), vc->reason);
	assert_int_equal(r.via, vc->via);
	assert_int_equal(r.reachable, vc->reachable);
}

/* The rank the scenarios rely on is the real one: spot-check it. */
static void test_rank_of_scenarios(void **state)
{
	struct scenario s = { 0 };
	const struct verdict_case vc = {
		"two selves", "10 mx1 192.0.2.10; 20 mx2 192.0.2.20; 30 mx3 192.0.2.30", MX_FOUND,
		"local=192.0.2.30 name=mx2", NULL, LISTED, "u..", VERDICT_BYPASS, "", 1, 0,
	};
	bool built = scenario_build(&s, &vc);
	struct mx_rank rank = s.rank;

	(void)state;
	scenario_free(&s);
	if (!built)
		fail_msg("%s", s.err);
	assert_true(rank.has_self);
	assert_int_equal(rank.rank, 20);
	assert_int_equal(rank.lowest, 10);
	assert_false(rank.self[0]);
	assert_true(rank.self[1]);
	assert_true(rank.self[2]);
}

static void test_names(void **state)
{
	static const char *const words[VERDICT_COUNT] = {
		[VERDICT_EXEMPT] = "exempt", [VERDICT_ERROR] = "error",
		[VERDICT_NOT_MX] = "not-mx", [VERDICT_PRIMARY] = "primary",
		[VERDICT_BACKUP] = "backup", [VERDICT_BYPASS] = "bypass",
	};

	(void)state;
	for (int v = 0; v < VERDICT_COUNT; v++) {
		assert_non_null(verdict_name((enum verdict)v));
		assert_string_equal(verdict_name((enum verdict)v), words[v]);
	}
}

/* Every reason has its word; the evidence reasons have a counter word. */
static void test_reason_words(void **state)
{
	static const char *const words[REASON_COUNT][2] = {
		[REASON_TRIED_BETTER] = { "tried-better-mx", "tried-better-mx" },
		[REASON_RECENTLY_DOWN] = { "better-mx-recently-down", "recently-down" },
		[REASON_WENT_DOWN] = { "better-mx-went-down", "went-down" },
		[REASON_DOMAIN_NOT_LISTED] = { "domain-not-listed", NULL },
		[REASON_TRUSTED] = { "trusted-network", NULL },
		[REASON_AUTHENTICATED] = { "authenticated", NULL },
		[REASON_NO_LOOKUP] = { "no-lookup", NULL },
		[REASON_LOOKUP] = { NULL, NULL },
		[REASON_CLIENT_IS_MX] = { "client-is-mx", NULL },
		[REASON_NOT_LISTED] = { "not-listed", NULL },
		[REASON_LOWEST_PREFERENCE] = { "lowest-preference", NULL },
		[REASON_REACHABLE] = { "better-mx-reachable", NULL },
		[REASON_PROBE_UNFINISHED] = { "probe-unfinished", NULL },
		[REASON_UNREACHABLE] = { "better-mx-unreachable", NULL },
	};
	struct verdict_result r = { .reason = REASON_LOOKUP, .lookup = MX_SERVFAIL };

	(void)state;
	for (int i = 0; i < REASON_COUNT; i++) {
		if (words[i][0] == NULL)
			assert_null(verdict_reason_word((enum reason)i));
		else
			assert_string_equal(verdict_reason_word((enum reason)i), words[i][0]);
		if (i < REASON_EVIDENCE_COUNT)
			assert_string_equal(verdict_evidence_counter((enum reason)i), words[i][1]);
	}
	assert_string_equal(verdict_reason_name(&r), "servfail");
}

/* The better entries: only a backup's, the ones before its rank. */
static void test_better(void **state)
{
	struct scenario s = { 0 };
	const struct verdict_case vc = {
		"backup at 30", "10 mx1 192.0.2.10; 10 mx4 192.0.2.40; 20 mx2 192.0.2.20; 30 mx3 192.0.2.30",
		MX_FOUND, "local=192.0.2.30", NULL, LISTED, "uuu.", VERDICT_BYPASS, "", 3, 0,
	};
	bool built = scenario_build(&s, &vc);
	struct mx_rank rank = s.rank;

	(void)state;
	if (!built)
		fail_msg("%s", s.err);
	assert_int_equal(mx_better(s.mx, &rank), 3);
	assert_int_equal(mx_better(NULL, &rank), 0);
	rank.rank = 10;			/* a primary: none */
	assert_int_equal(mx_better(s.mx, &rank), 0);
	rank.rank = 20;
	assert_int_equal(mx_better(s.mx, &rank), 2);
	rank.has_self = false;		/* not in the set: none */
	assert_int_equal(mx_better(s.mx, &rank), 0);
	rank.has_self = true;
	s.mx->status = MX_SERVFAIL;	/* only an outcome: none */
	assert_int_equal(mx_better(s.mx, &rank), 0);
	s.mx->status = MX_FOUND;
	scenario_free(&s);
}

/* Outside a found set, no address is known to be an MX host's. */
static void test_client_is_mx_edges(void **state)
{
	struct mxset *m = calloc(1, sizeof(struct mxset) + sizeof(struct mx_entry));
	struct netaddr client, none = { 0 };

	(void)state;
	assert_non_null(m);
	assert_true(netaddr_parse("192.0.2.10", &client));
	m->n = 1;
	m->v[0].naddrs = 1;
	m->v[0].addrs[0] = client;
	m->status = MX_FOUND;
	assert_true(verdict_client_is_mx(m, &client));
	assert_false(verdict_client_is_mx(m, &none));
	m->status = MX_NULL;
	assert_false(verdict_client_is_mx(m, &client));
	m->status = MX_SERVFAIL;
	assert_false(verdict_client_is_mx(m, &client));
	free(m);
	assert_false(verdict_client_is_mx(NULL, &client));
}

#define CASES(fn, table) \
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) \
		tests[n++] = (struct CMUnitTest){ table[i].name, fn, NULL, NULL, (void *)&table[i] }

int main(void)
{
	struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0]) + 8];
	size_t n = 0;

	CASES(test_decide, cases);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_rank_of_scenarios);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_names);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_reason_words);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_better);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_client_is_mx_edges);
	return _cmocka_run_group_tests("verdict", tests, n, NULL, NULL);
}
