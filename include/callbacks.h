/*
 * callbacks.h - libmilter glue.
 */
#ifndef MXB_CALLBACKS_H
#define MXB_CALLBACKS_H

#include <libmilter/mfapi.h>

struct smfiDesc *callbacks_filter(void);

#endif
