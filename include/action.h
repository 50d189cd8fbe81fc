/*
 * action.h - what is done with a verdict: pure, no I/O, no clock.
 */
#ifndef MXB_ACTION_H
#define MXB_ACTION_H

#include <stdbool.h>
#include <stddef.h>

#include "retry.h"
#include "verdict.h"

/* The actions; their words are a contract (configuration, logs,
 * statistics, the Prometheus file) and live in one table, action.c's. */
enum action {
	ACTION_TAG,
	ACTION_TEMPFAIL,
	ACTION_REJECT,
	ACTION_RETRY_ACCEPT,		/* a tempfailed sender's retry: accepted, tagged */
	ACTION_LOG,
	ACTION_ACCEPT,			/* not a bypass: nothing done, not counted */
	ACTION_COUNT
};
#define ACTION_COUNTED ACTION_ACCEPT	/* the actions before it are counted */

/* The facts a choice rests on. */
struct action_facts {
	enum verdict verdict;
	enum action configured;		/* the domain's ActionMap entry, else Action */
	unsigned retry_after;		/* RetryAfter, seconds; 0: off */
	enum retry_state retry;		/* asked only when action_asks_retry() */
};

struct action_result {
	enum action action;
	const char *code, *xcode;	/* the SMTP reply; NULL: none */
	bool tag;			/* the header at end of message */
};

const char *action_name(enum action a);
const char *action_counter(enum action a);
bool action_in_line(enum action a);
bool action_replies(enum action a);
bool action_parse(const char *word, enum action *out);
const char *action_choices(char *buf, size_t len);

bool action_asks_retry(const struct action_facts *f);
void action_decide(const struct action_facts *f, struct action_result *out);

#endif
