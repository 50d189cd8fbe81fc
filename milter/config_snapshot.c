/*
 * NAME
 *	config_snapshot - the configuration in force, refcounted
 * SYNOPSIS
 *	#include "config.h"
 *
 *	struct config *config_current(void)
 *	void config_release(struct config *c)
 *	void config_install(struct config *c)
 *	bool config_reload(const char *path, bool must_exist, struct config_diag *d)
 * DESCRIPTION
 *	A snapshot is immutable and refcounted. config_current() hands out a
 *	reference to the one in force, under one mutex; a connection keeps
 *	the configuration it started with, and the last config_release()
 *	frees it. config_install() puts a snapshot in force.
 *
 *	config_reload() installs a new snapshot only when the whole file is
 *	good: a bad file keeps the old one. A key read at start-up only that
 *	changed is logged as taking effect at the next restart.
 */

#include "autoconfig.h"

/* System. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* This program. */
#include "config.h"
#include "config_table.h"
#include "log.h"

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct config *current;

/* config_current - a new reference to the configuration in force */
struct config *config_current(void)
{
	struct config *c;

	pthread_mutex_lock(&current_lock);
	if ((c = current) != NULL)
		atomic_fetch_add(&c->refs, 1);
	pthread_mutex_unlock(&current_lock);
	return c;
}

/* config_release - drop a reference; the last one frees */
void config_release(struct config *c)
{
	if (c != NULL && atomic_fetch_sub(&c->refs, 1) == 1)
		config_free(c);
}

/* config_install - make c the configuration in force (takes c's reference) */
void config_install(struct config *c)
{
	struct config *old;

	pthread_mutex_lock(&current_lock);
	old = current;
	current = c;
	pthread_mutex_unlock(&current_lock);
	config_release(old);
}

/* config_reload - read the file again; install it only if it is whole */
bool config_reload(const char *path, bool must_exist, struct config_diag *d)
{
	struct config *next = config_load(path, must_exist, d), *old;

	if (next == NULL)
		return false;
	if ((old = config_current()) != NULL) {
		for (size_t i = 0; i < config_nkeys; i++) {
			const char *a = old->raw[i] ? old->raw[i] : "";
			const char *b = next->raw[i] ? next->raw[i] : "";
			if ((config_keys[i].flags & KF_RESTART) && strcmp(a, b) != 0)
				log_notice("config: %s changed in %s: takes effect at the next restart",
					   config_keys[i].name, path);
		}
		config_release(old);
	}
	config_install(next);
	return true;
}
