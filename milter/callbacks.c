/*
 * NAME
 *	callbacks - libmilter glue: connection and message contexts
 * SYNOPSIS
 *	#include "callbacks.h"
 *
 *	struct smfiDesc *callbacks_filter(void)
 * DESCRIPTION
 *	The thin layer between libmilter and the modules that decide. It asks
 *	the MTA for the least it needs (xxfi_negotiate, callbacks.h says why
 *	each step is kept): connect, RCPT, the headers and end of message;
 *	MAIL only from an MTA that cannot take macro lists; a reply owed
 *	only where the milter may have something to say: at end of message,
 *	and at RCPT when the configuration may tempfail or reject; and only
 *	the macros the decision reads. What an MTA wrote before it hung up
 *	is read all the same (hangup.c).
 *
 *	Per-connection state lives in a struct conn hung on smfi_setpriv(),
 *	never in globals: it is made at negotiation, holds a reference to the
 *	configuration the connection started with, and is freed in close,
 *	which libmilter calls once on every path. Per-message state (struct
 *	msg) is made at its first recipient (or at MAIL, when the MTA sends
 *	it) and freed at end of message, abort or close.
 *
 *	At RCPT each recipient domain gets its verdict and its action
 *	(decide.c, which asks verdict.c and action.c); this layer only
 *	carries the answer to libmilter: the reply of a tempfail or reject
 *	for that recipient, the domain remembered for the header (added at
 *	end of message, once, naming every bypassed domain), and one log
 *	line per recipient.
 *
 *	Any internal failure fails open: the callback accepts and logs.
 */

#include "autoconfig.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include <libmilter/mfapi.h>

#include "callbacks.h"
#include "clock.h"
#include "config.h"
#include "decide.h"
#include "evidence.h"
#include "log.h"
#include "netaddr.h"
#include "stats.h"

#define MAX_TAGS 8			/* bypassed domains named in one header */
#define HEADER_MAX 900			/* a header line stays under 998 octets */

/* One bypassed domain, for the header. */
struct tag {
	char domain[DOMAIN_MAXLEN + 1];
	char via[DOMAIN_MAXLEN + 1];
	unsigned via_pref;
	char reachable[DOMAIN_MAXLEN + 1];
	unsigned reachable_pref;
};

struct msg {
	bool authenticated;
	unsigned rcpts;
	unsigned header_copies;		/* copies of HeaderName that arrived */
	unsigned ntags;
	unsigned tags_dropped;		/* beyond MAX_TAGS */
	uint64_t deadline_ms;		/* RCPT unanswered: all its recipients' */
	struct tag tags[MAX_TAGS];	/* the first ntags are set (not zeroed:
					 * 6 KB a message) */
};

struct conn {
	struct config *cfg;		/* the configuration it started with */
	char tag[32];			/* queue id, or "connN" until known */
	char name[24];			/* "connN" */
	struct netaddr client;
	struct netaddr local;		/* family 0: not known */
	unsigned long steps;		/* negotiated protocol flags */
	bool lists_ignored;		/* took SMFIF_SETSYMLIST, sent its own lists */
	struct msg *msg;
};

static atomic_ulong next_conn_id = 1;
static atomic_bool warned_lists;	/* lists_ignored said once */
static atomic_uint open_conns;		/* contexts not yet closed */
static struct services *services;
static struct cidr_list interfaces;	/* read once, at start-up */

/* callbacks_init - the shared services, before the milter starts */
void callbacks_init(struct services *s)
{
	services = s;
	if (!netaddr_interfaces(&interfaces))
		log_warning("milter: cannot read the interface addresses");
}

/* callbacks_done - after the milter stopped: libmilter does not wait for
 * its connection threads, so wait up to timeout_ms for them to close before
 * the shared state goes; false if some are still open (then keep it) */
bool callbacks_done(unsigned timeout_ms)
{
	uint64_t end = clock_ms() + timeout_ms;

	while (atomic_load(&open_conns) > 0 && clock_ms() < end)
		nanosleep(&(struct timespec){ 0, 20 * 1000000L }, NULL);
	if (atomic_load(&open_conns) > 0) {
		log_warning("milter: %u connection(s) still open at stop", atomic_load(&open_conns));
		return false;
	}
	cidr_list_free(&interfaces);
	return true;
}

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

/* msg_new - a message begins: at MAIL, or at its first RCPT when the
 * MAIL step was negotiated away ({auth_authen} then comes with RCPT) */
static bool msg_new(SMFICTX *ctx, struct conn *c)
{
	const char *auth;

	if ((c->msg = malloc(sizeof(*c->msg))) == NULL)
		return false;
	memset(c->msg, 0, offsetof(struct msg, tags));
	auth = smfi_getsymval(ctx, "{auth_authen}");
	c->msg->authenticated = auth != NULL && *auth != '\0';
	return true;
}

/* msg_free - end of a message, whatever way it ended */
static void msg_free(struct conn *c)
{
	free(c->msg);
	c->msg = NULL;
	memcpy(c->tag, c->name, sizeof(c->name));
}

/* conn_free - end of a connection */
static void conn_free(struct conn *c)
{
	msg_free(c);
	config_release(c->cfg);
	free(c);
	atomic_fetch_sub(&open_conns, 1);
}

/* steps_noreply - the steps this connection leaves unanswered, given
 * the steps it skips */
static unsigned long steps_noreply(const struct config *cfg, unsigned long skipped)
{
	unsigned long nr = MXB_STEPS_NOREPLY;

	if (!(skipped & SMFIP_NOMAIL))
		nr |= SMFIP_NR_MAIL;
	if (!cfg->rcpt_replies)
		nr |= SMFIP_NR_RCPT;
	return nr;
}

/* cb_negotiate - ask for the least: steps, replies and macros */
static sfsistat cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
			     unsigned long f2, unsigned long f3, unsigned long *pf0,
			     unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct conn *c = calloc(1, sizeof(*c));

	(void)f2;
	(void)f3;
	*pf0 = f0 & MXB_ACTIONS;
	*pf1 = f1 & MXB_STEPS_SKIPPED;
	*pf2 = 0;
	*pf3 = 0;
	if (c == NULL || (c->cfg = config_current()) == NULL) {
		log_error("milter: out of memory at connect: accepting the connection");
		free(c);
		return SMFIS_CONTINUE;
	}
	atomic_fetch_add(&open_conns, 1);
	snprintf(c->name, sizeof(c->name), "conn%lu", atomic_fetch_add(&next_conn_id, 1));
	memcpy(c->tag, c->name, sizeof(c->name));
	smfi_setpriv(ctx, c);
	/* a list replaces the MTA's own for that step: ask for all read */
	if ((f0 & SMFIF_SETSYMLIST)
	    && smfi_setsymlist(ctx, SMFIM_CONNECT, MXB_MACROS_CONNECT) == MI_SUCCESS
	    && smfi_setsymlist(ctx, SMFIM_ENVRCPT, MXB_MACROS_ENVRCPT) == MI_SUCCESS)
		*pf1 |= f1 & MXB_STEPS_SKIPPED_WITH_LISTS;
	*pf1 |= f1 & steps_noreply(c->cfg, *pf1);
	c->steps = *pf1;
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

/* lists_check - an MTA that took our macro lists sends {client_addr} at
 * connect; one that ignored them would not send {auth_authen} at RCPT
 * either, and the MAIL step that brings it was negotiated away: then an
 * authenticated sender could not be told, and a bypass is only logged */
static void lists_check(SMFICTX *ctx, struct conn *c)
{
	if (!(c->steps & SMFIP_NOMAIL) || smfi_getsymval(ctx, "{client_addr}") != NULL)
		return;
	c->lists_ignored = true;
	if (!atomic_exchange(&warned_lists, true))
		log_warning("milter: the MTA took the macro lists but did not send {client_addr} "
			    "at connect: it would not send {auth_authen} at RCPT either, so its "
			    "bypasses are only logged (action=log); said once");
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
	lists_check(ctx, c);
	/* a witness for the pool: a backup may ask whether this network
	 * tried us first (the store's thread writes it; nothing waits) */
	evidence_record(services->store, c->cfg, &c->client, &c->local);
	if (log_enabled(LOG_DEBUG))
		log_debug("%s: connect from %s [%s] to %s", c->tag, hostname ? hostname : "-",
			  netaddr_format(&c->client, client, sizeof(client)),
			  netaddr_format(&c->local, local, sizeof(local)));
	return reply(c, SMFIP_NR_CONN);
}

/* cb_envfrom - a new message (from an MTA without macro lists) */
static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = smfi_getpriv(ctx);

	(void)argv;
	if (c == NULL)
		return SMFIS_ACCEPT;
	msg_free(c);
	if (!msg_new(ctx, c)) {
		log_error("%s: out of memory at MAIL: accepting the message", c->tag);
		return (c->steps & SMFIP_NR_MAIL) ? SMFIS_NOREPLY : SMFIS_ACCEPT;
	}
	conn_update_tag(ctx, c);
	return reply(c, SMFIP_NR_MAIL);
}

/* add_tag - remember a bypassed domain for the header, once */
static void add_tag(struct msg *m, const char *domain, const struct decision *d)
{
	const struct mx_entry *via = &d->mx->v[d->result.via];
	const struct mx_entry *up = &d->mx->v[d->result.reachable];
	struct tag *t;

	for (unsigned i = 0; i < m->ntags; i++)
		if (strcmp(m->tags[i].domain, domain) == 0)
			return;
	if (m->ntags == MAX_TAGS) {
		m->tags_dropped++;
		return;
	}
	t = &m->tags[m->ntags++];
	log_sanitize(t->domain, sizeof(t->domain), domain);
	log_sanitize(t->via, sizeof(t->via), via->host);
	t->via_pref = via->pref;
	log_sanitize(t->reachable, sizeof(t->reachable), up->host);
	t->reachable_pref = up->pref;
}

/* set_reply - an SMTP reply with ReplyText; '%' is special to libmilter */
static void set_reply(SMFICTX *ctx, const struct conn *c, const char *code, const char *xcode)
{
	char text[2 * 400 + 1];
	size_t n = 0;

	for (const char *p = c->cfg->reply_text; *p != '\0' && n + 2 < sizeof(text); p++) {
		if (*p == '%')
			text[n++] = '%';
		text[n++] = *p;
	}
	text[n] = '\0';
	if (smfi_setreply(ctx, (char *)code, (char *)xcode, text) != MI_SUCCESS)
		log_warning("%s: could not set the %s reply text", c->tag, code);
}

/* line_cat - append the strings up to NULL to a line of cap bytes (it
 * holds *n of them); cut at its end */
static void line_cat(char *line, size_t cap, size_t *n, ...)
{
	va_list ap;
	const char *s;

	va_start(ap, n);
	while ((s = va_arg(ap, const char *)) != NULL) {
		size_t len = strlen(s);
		if (len > cap - 1 - *n)
			len = cap - 1 - *n;
		memcpy(line + *n, s, len);
		*n += len;
	}
	va_end(ap);
	line[*n] = '\0';
}

/* log_decision - the one line per recipient (built without printf: it
 * is written for every recipient) */
static void log_decision(const struct conn *c, const char *domain, const struct decision *d)
{
	const struct verdict_result *r = &d->result;
	char client[NETADDR_STRLEN], rank[12] = "", line[1400];
	size_t n = 0;

	if (!log_enabled(LOG_INFO))
		return;
	line_cat(line, sizeof(line), &n, c->tag, ": rcpt-domain=", domain, " client=",
		 netaddr_format(&c->client, client, sizeof(client)), " verdict=",
		 verdict_name(r->verdict), " action=", action_name(d->action.action), NULL);
	if (d->mx != NULL && d->rank.has_self) {
		line_cat(line, sizeof(line), &n, " rank",
			 netaddr_append_uint(rank, sizeof(rank), '=', d->rank.rank), NULL);
		for (size_t i = 0, better = mx_better(d->mx, &d->rank); i < better; i++)
			line_cat(line, sizeof(line), &n, i == 0 ? " better=" : ",", d->mx->v[i].host,
				 NULL);
	}
	if (r->reachable >= 0)
		line_cat(line, sizeof(line), &n, " reachable=", d->mx->v[r->reachable].host, NULL);
	line_cat(line, sizeof(line), &n, " reason=", verdict_reason_name(r), NULL);
	log_info("%s", line);
}

/* cb_envrcpt - one recipient: verdict, action, log line */
static sfsistat cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *c = smfi_getpriv(ctx);
	const struct config *cfg;
	char domain[DOMAIN_MAXLEN + 1];
	struct decision d;
	struct decision_input in;
	sfsistat rc;

	if (c == NULL)
		return SMFIS_CONTINUE;
	if (argv[0] == NULL || (c->msg == NULL && !msg_new(ctx, c))) {
		log_error("%s: %s at RCPT: accepting the recipient", c->tag,
			  argv[0] == NULL ? "no address" : "out of memory");
		return reply(c, SMFIP_NR_RCPT);
	}
	cfg = c->cfg;
	conn_update_tag(ctx, c);
	c->msg->rcpts++;
	in = (struct decision_input){
		.domain = domain,
		.kind = domain_of_address(argv[0], domain, sizeof(domain)),
		.client = c->client,
		.local = c->local,
		.interfaces = &interfaces,
		.authenticated = c->msg->authenticated,
		.log_only = c->lists_ignored,
		.deadline_ms = clock_ms() + cfg->decision_timeout_ms,
	};
	if (c->steps & SMFIP_NR_RCPT) {
		/* the MTA waits for every decision at end of message: one
		 * DecisionTimeout for the message, not one per recipient */
		if (c->msg->rcpts == 1)
			c->msg->deadline_ms = in.deadline_ms;
		in.deadline_ms = c->msg->deadline_ms;
	}
	if (in.kind != DOMAIN_NAME)
		snprintf(domain, sizeof(domain), "%s", in.kind == DOMAIN_LITERAL ? "[literal]"
			 : in.kind == DOMAIN_MISSING ? "-" : "[malformed]");
	decide(cfg, services, &in, &d);
	stats_add(STAT_RCPTS);
	stats_add(STAT_VERDICT + d.result.verdict);
	decide_action(cfg, services, &in, false, &d);
	if (d.action.tag)
		add_tag(c->msg, domain, &d);
	if (c->steps & SMFIP_NR_RCPT)
		rc = SMFIS_NOREPLY;	/* the configuration never replies here */
	else if (d.action.code != NULL) {
		set_reply(ctx, c, d.action.code, d.action.xcode);
		rc = d.action.action == ACTION_TEMPFAIL ? SMFIS_TEMPFAIL : SMFIS_REJECT;
	} else
		rc = SMFIS_CONTINUE;
	log_decision(c, domain, &d);
	decision_clear(&d);
	return rc;
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

/* add_header - "bypass; domain=D; via=H (pref N); reachable=H (pref N)",
 * one group per bypassed domain; every value is a normalised host name */
static void add_header(SMFICTX *ctx, const struct conn *c)
{
	const struct msg *m = c->msg;
	char value[HEADER_MAX + 64], group[4 * DOMAIN_MAXLEN], more[12] = "";
	size_t n = 0;
	unsigned shown = 0;

	line_cat(value, sizeof(value), &n, "bypass", NULL);
	for (unsigned i = 0; i < m->ntags; i++, shown++) {
		const struct tag *t = &m->tags[i];
		char via_pref[12] = "", up_pref[12] = "";
		size_t len = 0;

		line_cat(group, sizeof(group), &len, "; domain=", t->domain, "; via=", t->via,
			 " (pref", netaddr_append_uint(via_pref, sizeof(via_pref), ' ', t->via_pref),
			 "); reachable=", t->reachable, " (pref",
			 netaddr_append_uint(up_pref, sizeof(up_pref), ' ', t->reachable_pref), ")",
			 NULL);
		if (n + len > HEADER_MAX)
			break;
		line_cat(value, sizeof(value), &n, group, NULL);
	}
	if (shown < m->ntags + m->tags_dropped)
		line_cat(value, sizeof(value), &n, "; more",
			 netaddr_append_uint(more, sizeof(more), '=', m->ntags + m->tags_dropped - shown),
			 NULL);
	if (smfi_addheader(ctx, c->cfg->header_name, value) != MI_SUCCESS)
		log_warning("%s: could not add the %s header", c->tag, c->cfg->header_name);
}

/* cb_eom - remove forged copies of our header, then add ours */
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
	if (c->msg->ntags > 0)
		add_header(ctx, c);
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
	.xxfi_flags = MXB_ACTIONS,
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
