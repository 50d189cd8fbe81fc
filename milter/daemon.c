/*
 * NAME
 *	daemon - the socket, detaching, the PID file and the privileges
 * SYNOPSIS
 *	#include "daemon.h"
 *
 *	void daemon_open_socket(const struct config *cfg)
 *	int daemon_detach(void)
 *	void daemon_write_pidfile(const char *path)
 *	void daemon_drop_privileges(const struct config *cfg)
 *	void daemon_remove_files(const char *pidfile, const char *socket)
 * DESCRIPTION
 *	The steps of start-up that need root, in the order main.c takes them:
 *	daemon_open_socket() registers the filter with libmilter and creates
 *	the listening socket under UMask, a unix one owned by UserID;
 *	daemon_detach() forks, and the parent exits only once the child
 *	writes its start-up status to the descriptor returned; then
 *	daemon_write_pidfile() and daemon_drop_privileges(). Each stops the
 *	program (log_fatal) when it cannot do its part. daemon_remove_files()
 *	removes the PID file and a unix socket at the stop.
 */

#include "autoconfig.h"

/* System. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* Libraries. */
#include <libmilter/mfapi.h>

/* This program. */
#include "callbacks.h"
#include "config.h"
#include "daemon.h"
#include "log.h"

/* socket_path - the file of a unix socket specification, else NULL */
static const char *socket_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	return spec[0] == '/' ? spec : NULL;
}

/* daemon_open_socket - register with libmilter and create the listening socket */
void daemon_open_socket(const struct config *cfg)
{
	const char *path = socket_path(cfg->socket);
	mode_t old;

	if (smfi_setconn(cfg->socket) != MI_SUCCESS)
		log_fatal("milter: bad socket specification %s", cfg->socket);
	if (smfi_register(*callbacks_filter()) != MI_SUCCESS)
		log_fatal("milter: smfi_register failed");
	old = umask((mode_t)cfg->umask);
	if (smfi_opensocket(true) != MI_SUCCESS)
		log_fatal("milter: cannot open socket %s (does its directory exist? "
			  "is another instance running?)", cfg->socket);
	umask(old);
	if (path != NULL && cfg->user != NULL && chown(path, cfg->uid, cfg->gid) != 0)
		log_fatal("milter: cannot chown %s to %s: %s", path, cfg->user, strerror(errno));
}

/* daemon_detach - detach; the parent exits with the child's start-up status */
int daemon_detach(void)
{
	int ready[2];
	pid_t pid;
	char status = 1;

	if (pipe(ready) != 0)
		log_fatal("daemon: pipe: %s", strerror(errno));
	if ((pid = fork()) < 0)
		log_fatal("daemon: fork: %s", strerror(errno));
	if (pid > 0) {
		close(ready[1]);
		if (read(ready[0], &status, 1) != 1)
			status = 1;
		_exit(status);
	}
	close(ready[0]);
	if (setsid() < 0)
		log_fatal("daemon: setsid: %s", strerror(errno));
	if (chdir("/") != 0)
		log_fatal("daemon: chdir /: %s", strerror(errno));
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	return ready[1];
}

/* daemon_write_pidfile - the process id, written before privileges go */
void daemon_write_pidfile(const char *path)
{
	char buf[32];
	int fd, n;

	if (path == NULL)
		return;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		log_fatal("daemon: cannot write PID file %s: %s", path, strerror(errno));
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n || close(fd) != 0)
		log_fatal("daemon: cannot write PID file %s: %s", path, strerror(errno));
}

/* daemon_drop_privileges - become UserID; never go on as root when asked not to */
void daemon_drop_privileges(const struct config *cfg)
{
	struct passwd *pw;

	if (cfg->user == NULL)
		return;
	if (getuid() != cfg->uid || geteuid() != cfg->uid) {
		pw = getpwuid(cfg->uid);
		if (geteuid() == 0 && initgroups(pw ? pw->pw_name : cfg->user, cfg->gid) != 0)
			log_fatal("daemon: initgroups %s: %s", cfg->user, strerror(errno));
		if (setgid(cfg->gid) != 0)
			log_fatal("daemon: cannot switch to group %lu: %s",
				  (unsigned long)cfg->gid, strerror(errno));
		if (setuid(cfg->uid) != 0)
			log_fatal("daemon: cannot switch to user %s: %s", cfg->user, strerror(errno));
	}
	if (cfg->uid != 0 && (getuid() == 0 || geteuid() == 0 || setuid(0) == 0))
		log_fatal("daemon: still root after switching to %s: refusing to run", cfg->user);
}

/* daemon_remove_files - at the stop: the PID file, and a unix socket */
void daemon_remove_files(const char *pidfile, const char *socket)
{
	if (pidfile != NULL && unlink(pidfile) != 0 && errno != ENOENT)
		log_warning("daemon: cannot remove PID file %s: %s", pidfile, strerror(errno));
	if (socket != NULL && socket_path(socket) != NULL)
		unlink(socket_path(socket));
}
