/*
 * NAME
 *	store_memory - StateBackend memory: a pool of one milter
 * SYNOPSIS
 *	#include "store_backend.h"
 *
 *	extern const struct store_backend memory_backend;
 * DESCRIPTION
 *	The milter shares nothing: its local copy (store.c, in memory) is
 *	the whole store, so there is nothing to open, nothing to ask and
 *	nothing to send. The backend has no state and no data operations,
 *	and is never up (there is no pool to answer).
 */

#include "autoconfig.h"

#include <stddef.h>

#include "store_backend.h"

/* memory_open - nothing to open */
static bool memory_open(void **state, const struct config *cfg, const char *password,
			bool counters)
{
	(void)cfg, (void)password, (void)counters;
	*state = NULL;
	return true;
}

/* memory_close - nothing to close */
static void memory_close(void *state)
{
	(void)state;
}

/* memory_configure - nothing a reload changes here */
static void memory_configure(void *state, const struct config *cfg)
{
	(void)state, (void)cfg;
}

/* memory_up - no pool, none answering */
static bool memory_up(void *state)
{
	(void)state;
	return false;
}

const struct store_backend memory_backend = {
	.shared = false,
	.open = memory_open,
	.close = memory_close,
	.configure = memory_configure,
	.up = memory_up,
};
