/*
 * signals.h - the daemon's signals, owned by the main thread (private to
 * main.c and signals.c).
 */
#ifndef MXB_SIGNALS_H
#define MXB_SIGNALS_H

/* What signals_next() returns besides a signal number. */
#define SIGNALS_MILTER_DONE 0	/* the milter thread's smfi_main returned */
#define SIGNALS_NONE (-1)	/* the time is over, or the wait was interrupted */
#define SIGNALS_BROKEN (-2)	/* the pipe failed: nothing more will come */

void signals_init(void);
void signals_block(void);
void signals_catch(void);
void signals_unblock(void);
int signals_next(int timeout_ms);
void signals_milter_done(void);

#endif
