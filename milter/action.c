/*
 * NAME
 *	action - what is done with a verdict
 * SYNOPSIS
 *	#include "action.h"
 * DESCRIPTION
 *	action_decide() is the choice of the action in one pure function,
 *	beside verdict_decide(): no I/O, no clock, no libmilter. Only a
 *	bypass is acted on; it gets the Action of its domain (ActionMap,
 *	else Action), except that with RetryAfter a tempfailed sender that
 *	comes back after RetryAfter (what a real MTA does, the retry memory
 *	says so) is accepted and tagged instead:
 *
 *	accept	     not a bypass
 *	tag	     accept; the header at end of message
 *	tempfail     451 4.7.1 for that recipient (ReplyText)
 *	retry-accept a tempfail's retry after RetryAfter: accept and tag
 *	reject	     550 5.7.1 for that recipient (ReplyText)
 *	log	     accept; only the log line says it
 *
 *	The words live in one table, read by the configuration (Action,
 *	ActionMap), the log line, the statistics line and the Prometheus
 *	file: a new action is one row here.
 */

#include "autoconfig.h"

#include <stdio.h>
#include <strings.h>

#include "action.h"

/* One row per action. */
static const struct {
	const char *name;		/* configuration, log, Prometheus label */
	const char *counter;		/* the statistics line; NULL: not counted */
	bool configurable;		/* a value of Action and ActionMap */
	bool in_line;			/* counted in the documented part of the line
					 * (else after the top lists) */
	const char *code, *xcode;	/* the SMTP reply */
	bool tag;			/* the header at end of message */
} actions[ACTION_COUNT] = {
	[ACTION_TAG] = { "tag", "tagged", true, true, NULL, NULL, true },
	[ACTION_TEMPFAIL] = { "tempfail", "tempfailed", true, true, "451", "4.7.1", false },
	[ACTION_REJECT] = { "reject", "rejected", true, true, "550", "5.7.1", false },
	[ACTION_RETRY_ACCEPT] = { "retry-accept", "retry-accepted", false, true, NULL, NULL, true },
	[ACTION_LOG] = { "log", "logged", true, false, NULL, NULL, false },
	[ACTION_ACCEPT] = { "accept", NULL, false, false, NULL, NULL, false },
};

/* action_name - the contract word */
const char *action_name(enum action a)
{
	return actions[a].name;
}

/* action_counter - the word of its counter in the statistics line */
const char *action_counter(enum action a)
{
	return actions[a].counter;
}

/* action_in_line - counted in the documented part of the statistics line */
bool action_in_line(enum action a)
{
	return actions[a].in_line;
}

/* action_replies - whether it answers the RCPT itself (a 4xx or 5xx) */
bool action_replies(enum action a)
{
	return actions[a].code != NULL;
}

/* action_parse - a value of Action or ActionMap, case-insensitive */
bool action_parse(const char *word, enum action *out)
{
	for (int a = 0; a < ACTION_COUNT; a++)
		if (actions[a].configurable && strcasecmp(actions[a].name, word) == 0) {
			*out = (enum action)a;
			return true;
		}
	return false;
}

/* action_choices - "tag, tempfail, reject or log", for messages */
const char *action_choices(char *buf, size_t len)
{
	size_t n = 0, left = 0;

	for (int a = 0; a < ACTION_COUNT; a++)
		left += actions[a].configurable;
	buf[0] = '\0';
	for (int a = 0; a < ACTION_COUNT && n < len; a++)
		if (actions[a].configurable) {
			left--;
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n == 0 ? "" :
					      left == 0 ? " or " : ", ", actions[a].name);
		}
	return buf;
}

/* action_asks_retry - the choice depends on the retry memory */
bool action_asks_retry(const struct action_facts *f)
{
	return f->verdict == VERDICT_BYPASS && f->configured == ACTION_TEMPFAIL
		&& f->retry_after > 0;
}

/* action_decide - the action and its reply */
void action_decide(const struct action_facts *f, struct action_result *out)
{
	enum action a = f->verdict != VERDICT_BYPASS ? ACTION_ACCEPT
		: action_asks_retry(f) && f->retry == RETRY_ACCEPT ? ACTION_RETRY_ACCEPT
		: f->configured;

	out->action = a;
	out->code = actions[a].code;
	out->xcode = actions[a].xcode;
	out->tag = actions[a].tag;
}
