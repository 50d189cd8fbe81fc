/*
 * callbacks.h - libmilter glue.
 */
#ifndef MXB_CALLBACKS_H
#define MXB_CALLBACKS_H

#include <stdbool.h>

#include <libmilter/mfapi.h>

struct services;

/* What the milter negotiates: the steps it skips, the steps it never
 * answers, the actions it may take, and the macros it reads.
 *
 * Skipped always: HELO, DATA, EOH, body, unknown commands. Skipped when
 * the MTA takes macro lists (SMFIF_SETSYMLIST): MAIL, since the RCPT
 * step then brings the queue id and {auth_authen}; an MTA without lists
 * keeps the MAIL step, unanswered, for them. An MTA that takes the lists
 * and sends its own (no {client_addr} at connect) would withhold
 * {auth_authen}: its bypasses are only logged.
 *
 * Never answered: connect (the witness is recorded all the same: see
 * hangup.c), the headers (only counted, for the removal of forged copies
 * at end of message), and MAIL. RCPT is unanswered when the connection's
 * configuration never replies to one (Action and every ActionMap entry
 * tag or log): the header is added at end of message, and the MTA does
 * not wait for the decision at each recipient (it waits for them all at
 * end of message: they share one DecisionTimeout). */
#define MXB_STEPS_SKIPPED \
	(SMFIP_NOHELO | SMFIP_NOBODY | SMFIP_NOEOH | SMFIP_NOUNKNOWN | SMFIP_NODATA)
#define MXB_STEPS_SKIPPED_WITH_LISTS SMFIP_NOMAIL
#define MXB_STEPS_NOREPLY (SMFIP_NR_CONN | SMFIP_NR_HDR)	/* + NR_MAIL, when kept */
#define MXB_ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_SETSYMLIST)
#define MXB_MACROS_CONNECT "{daemon_addr} {if_addr} {client_addr} j"
#define MXB_MACROS_ENVRCPT "i {auth_authen}"

struct smfiDesc *callbacks_filter(void);
void callbacks_init(struct services *s);
bool callbacks_done(unsigned timeout_ms);

#endif
