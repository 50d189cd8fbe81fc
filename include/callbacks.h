/*
 * callbacks.h - libmilter glue.
 */
#ifndef MXB_CALLBACKS_H
#define MXB_CALLBACKS_H

#include <stdbool.h>

#include <libmilter/mfapi.h>

struct services;

struct smfiDesc *callbacks_filter(void);
void callbacks_init(struct services *s);
bool callbacks_done(unsigned timeout_ms);

#endif
