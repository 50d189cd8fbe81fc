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
 * The connect step is answered: with no reply owed, an MTA that defers
 * the recipient itself (a greylisting policy service) sends connect,
 * MAIL, abort and quit and closes at once, and libmilter (8.17) takes the
 * hang-up of a unix socket for an error before it reads what is waiting:
 * the connection, the witness a backup asks for, would go unseen. */
#define MXB_STEPS_SKIPPED \
	(SMFIP_NOHELO | SMFIP_NOBODY | SMFIP_NOEOH | SMFIP_NOUNKNOWN | SMFIP_NODATA)
#define MXB_STEPS_NOREPLY (SMFIP_NR_MAIL | SMFIP_NR_HDR)
#define MXB_ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_SETSYMLIST)
#define MXB_MACROS_CONNECT "{daemon_addr} {if_addr} {client_addr} j"
#define MXB_MACROS_ENVFROM "i {auth_authen}"
#define MXB_MACROS_ENVRCPT "i {rcpt_addr}"

struct smfiDesc *callbacks_filter(void);
void callbacks_init(struct services *s);
bool callbacks_done(unsigned timeout_ms);

#endif
