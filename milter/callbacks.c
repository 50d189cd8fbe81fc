/*
 * NAME
 *	callbacks - libmilter glue: connection and message contexts
 * SYNOPSIS
 *	#include "callbacks.h"
 *
 *	struct smfiDesc *callbacks_filter(void)
 * DESCRIPTION
 *	The thin layer between libmilter and the modules that decide. It asks
 *	the MTA for the least it needs (xxfi_negotiate): no HELO, DATA, EOH,
 *	body or unknown-command steps, no replies for connect, MAIL and
 *	headers, and only the macros the decision reads.
 *
 *	Per-connection state lives in a struct conn hung on smfi_setpriv(),
 *	never in globals: it is made at negotiation, holds a reference to the
 *	configuration the connection started with, and is freed in close,
 *	which libmilter calls once on every path. Per-message state (struct
 *	msg) is made at MAIL and freed at end of message, abort or close.
 *
 *	Any internal failure fails open: the callback accepts and logs.
 */

#include "autoconfig.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include <libmilter/mfapi.h>

#include "callbacks.h"
#include "config.h"
#include "log.h"
#include "netaddr.h"

struct msg {
	bool authenticated;
	unsigned rcpts;
	unsigned header_copies;		/* copies of HeaderName that arrived */
};

struct conn {
	struct config *cfg;		/* the configuration it started with */
	unsigned long id;
	char tag[32];			/* queue id, or "connN" until known */
	struct netaddr client;
	struct netaddr local;		/* family 0: not known */
	unsigned long steps;		/* negotiated protocol flags */
	struct msg *msg;
};

static atomic_ulong next_conn_id = 1;

/* reply - what a step with an optional no-reply flag returns */
static sfsistat reply(const struct conn *c, unsigned long nr_flag)
{
	return (c->steps & nr_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* conn_update_tag - log lines carry the queue id once the MTA sent it */
static void conn_update_tag(SMFICTX *ctx, struct conn *c)
{
	const char *qid = smfi_getsymval(ctx, "i");

	if (qid != NULL && *qid != '\0')
		log_sanitize(c->tag, sizeof(c->tag), qid);
}

/* msg_free - end of a message, whatever way it ended */
static void msg_free(struct conn *c)
{
	free(c->msg);
	c->msg = NULL;
	snprintf(c->tag, sizeof(c->tag), "conn%lu", c->id);
}

/* conn_free - end of a connection */
static void conn_free(struct conn *c)
{
	msg_free(c);
	config_release(c->cfg);
	free(c);
}

/* cb_negotiate - ask for the least: steps, replies and macros */
static sfsistat cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
			     unsigned long f2, unsigned long f3, unsigned long *pf0,
			     unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	const unsigned long skip = SMFIP_NOHELO | SMFIP_NOBODY | SMFIP_NOEOH
		| SMFIP_NOUNKNOWN | SMFIP_NODATA;
	const unsigned long noreply = SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_HDR;
	struct conn *c = calloc(1, sizeof(*c));

	(void)f2;
	(void)f3;
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_SETSYMLIST);
	*pf1 = f1 & skip;
	*pf2 = 0;
	*pf3 = 0;
	if (c == NULL || (c->cfg = config_current()) == NULL) {
		log_error("milter: out of memory at connect: accepting the connection");
		free(c);
		return SMFIS_CONTINUE;
	}
	*pf1 |= f1 & noreply;
	c->steps = *pf1;
	c->id = atomic_fetch_add(&next_conn_id, 1);
	snprintf(c->tag, sizeof(c->tag), "conn%lu", c->id);
	smfi_setpriv(ctx, c);
	if (f0 & SMFIF_SETSYMLIST) {
		/* replaces the MTA's lists: ask for everything read later */
		smfi_setsymlist(ctx, SMFIM_CONNECT, "{daemon_addr} {if_addr} {client_addr} j");
		smfi_setsymlist(ctx, SMFIM_ENVFROM, "i {auth_authen}");
		smfi_setsymlist(ctx, SMFIM_ENVRCPT, "i {rcpt_addr}");
	}
	return SMFIS_CONTINUE;
}

/* local_address - where the client connected to: Sendmail's {if_addr},
 * then {daemon_addr}; a wildcard listen address names no host */
static void local_address(SMFICTX *ctx, struct netaddr *out)
{
	static const char *const macros[] = { "{if_addr}", "{daemon_addr}" };

	out->family = 0;
	for (size_t i = 0; i < 2; i++) {
		struct netaddr a;
		if (netaddr_parse(smfi_getsymval(ctx, (char *)macros[i]), &a)
		    && !netaddr_is_wildcard(&a)) {
			*out = a;
			return;
		}
	}
}

/* cb_connect - remember who connected, and to which of our addresses */
static sfsistat cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
	struct conn *c = smfi_getpriv(ctx);
	char client[NETADDR_STRLEN], local[NETADDR_STRLEN];

	if (c == NULL)
		return SMFIS_ACCEPT;
	if (!netaddr_from_sockaddr(hostaddr, &c->client))
		netaddr_parse(smfi_getsymval(ctx, "{client_addr}"), &c->client);
	local_address(ctx, &c->local);
	if (log_enabled(LOG_DEBUG))
		log_debug("%s: connect from %s [%s] to %s", c->tag, hostname ? hostname : "-",
			  netaddr_format(&c->client, client, sizeof(client)),
			  netaddr_format(&c->local, local, sizeof(local)));
	return reply(c, SMFIP_NR_CONN);
}

/* cb_envfrom - a new message */
static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = smfi_getpriv(ctx);
	const char *auth;

	(void)argv;
	if (c == NULL)
		return SMFIS_ACCEPT;
	msg_free(c);
	if ((c->msg = calloc(1, sizeof(*c->msg))) == NULL) {
		log_error("%s: out of memory at MAIL: accepting the message", c->tag);
		return (c->steps & SMFIP_NR_MAIL) ? SMFIS_NOREPLY : SMFIS_ACCEPT;
	}
	auth = smfi_getsymval(ctx, "{auth_authen}");
	c->msg->authenticated = auth != NULL && *auth != '\0';
	conn_update_tag(ctx, c);
	return reply(c, SMFIP_NR_MAIL);
}

/* cb_envrcpt - one recipient */
static sfsistat cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *c = smfi_getpriv(ctx);
	char rcpt[320];

	if (c == NULL || c->msg == NULL)
		return SMFIS_CONTINUE;
	conn_update_tag(ctx, c);
	c->msg->rcpts++;
	if (log_enabled(LOG_DEBUG)) {
		log_sanitize(rcpt, sizeof(rcpt), argv[0] ? argv[0] : "");
		log_debug("%s: rcpt %s%s", c->tag, rcpt,
			  c->msg->authenticated ? " (authenticated)" : "");
	}
	return SMFIS_CONTINUE;
}

/* cb_header - count the copies of our header a sender brought along */
static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *c = smfi_getpriv(ctx);

	(void)value;
	if (c == NULL)
		return SMFIS_ACCEPT;
	if (c->msg != NULL && strcasecmp(name, c->cfg->header_name) == 0)
		c->msg->header_copies++;
	return reply(c, SMFIP_NR_HDR);
}

/* cb_eom - remove forged copies of our header */
static sfsistat cb_eom(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL || c->msg == NULL)
		return SMFIS_CONTINUE;
	conn_update_tag(ctx, c);
	/* from the last copy down, so the indexes stay valid */
	for (unsigned i = c->msg->header_copies; i > 0; i--)
		if (smfi_chgheader(ctx, c->cfg->header_name, (int)i, NULL) != MI_SUCCESS)
			log_warning("%s: could not remove incoming %s header #%u", c->tag,
				    c->cfg->header_name, i);
	if (c->msg->header_copies > 0)
		log_info("%s: removed %u incoming %s header(s)", c->tag,
			 c->msg->header_copies, c->cfg->header_name);
	msg_free(c);
	return SMFIS_CONTINUE;
}

/* cb_abort - the message ended without end of message */
static sfsistat cb_abort(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c != NULL)
		msg_free(c);
	return SMFIS_CONTINUE;
}

/* cb_close - end of connection, called once on every path */
static sfsistat cb_close(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c != NULL) {
		smfi_setpriv(ctx, NULL);
		conn_free(c);
	}
	return SMFIS_CONTINUE;
}

static struct smfiDesc filter = {
	.xxfi_name = "mxbypass-milter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_SETSYMLIST,
	.xxfi_connect = cb_connect,
	.xxfi_envfrom = cb_envfrom,
	.xxfi_envrcpt = cb_envrcpt,
	.xxfi_header = cb_header,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_close = cb_close,
	.xxfi_negotiate = cb_negotiate,
};

/* callbacks_filter - the filter description for smfi_register */
struct smfiDesc *callbacks_filter(void)
{
	return &filter;
}
