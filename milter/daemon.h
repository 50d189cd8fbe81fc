/*
 * daemon.h - what makes the process a daemon: its socket, detaching, the
 * PID file and the privileges it drops (private to main.c and daemon.c).
 */
#ifndef MXB_DAEMON_H
#define MXB_DAEMON_H

#include "config.h"

void daemon_open_socket(const struct config *cfg);
int daemon_detach(void);
void daemon_write_pidfile(const char *path);
void daemon_drop_privileges(const struct config *cfg);
void daemon_remove_files(const char *pidfile, const char *socket);

#endif
