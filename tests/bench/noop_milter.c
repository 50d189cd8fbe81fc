/*
 * noop_milter - the baselines of the benchmarks
 *
 *	noop_milter SOCKET [DNS-ADDR PORT]
 *
 * A libmilter filter that negotiates the least a filter of this kind
 * would (the steps, no-reply steps, actions and macros written out below,
 * not taken from mxbypass-milter's own, so that the yardstick does not
 * move with it) and accepts everything: what the milter protocol itself
 * costs. With a DNS server it
 * also does, at each RCPT, what a naive milter would: a blocking MX query
 * for the recipient's domain (res_nquery), then blocking A and AAAA
 * queries for every target, one after another: the blocking baseline of
 * the cold path.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <pthread.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h>

/* The yardstick's conversation: no HELO, body, EOH, unknown or DATA
 * steps, no reply to connect, MAIL or headers; headers may be added and
 * changed; the macros a backup MX check reads. */
#define NOOP_STEPS_SKIPPED \
	(SMFIP_NOHELO | SMFIP_NOBODY | SMFIP_NOEOH | SMFIP_NOUNKNOWN | SMFIP_NODATA)
#define NOOP_STEPS_NOREPLY (SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_HDR)
#define NOOP_ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_SETSYMLIST)
#define NOOP_MACROS_CONNECT "{daemon_addr} {if_addr} {client_addr} j"
#define NOOP_MACROS_ENVFROM "i {auth_authen}"
#define NOOP_MACROS_ENVRCPT "i {rcpt_addr}"

static struct sockaddr_in dns;
static int lookups;

static sfsistat nr(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_NOREPLY;
}

static sfsistat on_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	(void)host;
	(void)addr;
	return nr(ctx);
}

static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
	(void)argv;
	return nr(ctx);
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
	(void)name;
	(void)value;
	return nr(ctx);
}

/* resolve - the MX set of a domain, blocking, query after query */
static void resolve(const char *domain)
{
	struct __res_state rs;
	unsigned char answer[4096], addr[4096];
	char target[NS_MAXDNAME];
	ns_msg msg;
	ns_rr rr;
	int len;

	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) != 0)
		return;
	rs.nscount = 1;
	rs.nsaddr_list[0] = dns;
	rs.retrans = 2;
	rs.retry = 2;
	len = res_nquery(&rs, domain, ns_c_in, ns_t_mx, answer, sizeof(answer));
	if (len > 0 && ns_initparse(answer, len, &msg) == 0)
		for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
			if (ns_parserr(&msg, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_mx)
				continue;
			if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr) + 2, target,
				      sizeof(target)) < 0)
				continue;
			res_nquery(&rs, target, ns_c_in, ns_t_a, addr, sizeof(addr));
			res_nquery(&rs, target, ns_c_in, ns_t_aaaa, addr, sizeof(addr));
		}
	res_nclose(&rs);
}

static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
	const char *at;
	char domain[256];

	(void)ctx;
	if (lookups && argv[0] != NULL && (at = strrchr(argv[0], '@')) != NULL) {
		snprintf(domain, sizeof(domain), "%s", at + 1);
		domain[strcspn(domain, ">")] = '\0';
		resolve(domain);
	}
	return SMFIS_CONTINUE;
}

static sfsistat on_eom(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

/* the yardstick's negotiation */
static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
			     unsigned long f2, unsigned long f3, unsigned long *pf0,
			     unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void)f2;
	(void)f3;
	*pf0 = f0 & NOOP_ACTIONS;
	*pf1 = f1 & (NOOP_STEPS_SKIPPED | NOOP_STEPS_NOREPLY);
	*pf2 = *pf3 = 0;
	if (f0 & SMFIF_SETSYMLIST) {
		smfi_setsymlist(ctx, SMFIM_CONNECT, NOOP_MACROS_CONNECT);
		smfi_setsymlist(ctx, SMFIM_ENVFROM, NOOP_MACROS_ENVFROM);
		smfi_setsymlist(ctx, SMFIM_ENVRCPT, NOOP_MACROS_ENVRCPT);
	}
	return SMFIS_CONTINUE;
}

int main(int argc, char **argv)
{
	struct smfiDesc desc = {
		.xxfi_name = "noop-milter",
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = NOOP_ACTIONS,
		.xxfi_connect = on_connect,
		.xxfi_envfrom = on_envfrom,
		.xxfi_envrcpt = on_envrcpt,
		.xxfi_header = on_header,
		.xxfi_eom = on_eom,
		.xxfi_negotiate = on_negotiate,
	};

	if (argc != 2 && argc != 4) {
		fprintf(stderr, "usage: noop_milter SOCKET [DNS-ADDR PORT]\n");
		return 2;
	}
	if (argc == 4) {
		lookups = 1;
		dns.sin_family = AF_INET;
		dns.sin_port = htons((unsigned short)atoi(argv[3]));
		if (inet_pton(AF_INET, argv[2], &dns.sin_addr) != 1) {
			fprintf(stderr, "noop_milter: bad DNS address %s\n", argv[2]);
			return 2;
		}
	}
	if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS
	    || smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "noop_milter: cannot listen on %s\n", argv[1]);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
