/*
 * NAME
 *	log - syslog and stderr logging
 * SYNOPSIS
 *	#include "log.h"
 * DESCRIPTION
 *	One way to report trouble. log_error() .. log_debug() write one line
 *	to syslog (when enabled) and to stderr (when asked for with -l),
 *	dropping lines above the configured level. log_fatal() is for start-up
 *	only: it logs and exits 1; nothing in a milter callback exits.
 *
 *	Every line is sanitised on the way out: control characters and 8-bit
 *	bytes become '?', so no peer-supplied string can forge a log line.
 *	The level and outputs may change at any time (configuration reload);
 *	they are atomics, so logging never takes a lock of ours.
 *
 *	A line is formatted once, straight after its stderr prefix
 *	("ident[pid]: level: "), which is made when the process starts and
 *	again in a forked child (its pid changed): no getpid() per line.
 */

#include "autoconfig.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static const char *log_ident = "mxbypass-milter";
static atomic_int log_level = LOG_INFO;
static atomic_bool log_syslog = false;
static atomic_bool log_stderr = true;

static const char *const level_names[] = {
	[LOG_EMERG] = "fatal", [LOG_ALERT] = "fatal", [LOG_CRIT] = "fatal",
	[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

#define PREFIX_MAX 96
static char prefixes[LOG_DEBUG + 1][PREFIX_MAX];	/* per level, for stderr */

/* make_prefixes - "ident[pid]: level: " for each level */
static void make_prefixes(void)
{
	for (int level = 0; level <= LOG_DEBUG; level++)
		snprintf(prefixes[level], sizeof(prefixes[level]), "%s[%ld]: %s: ", log_ident,
			 (long)getpid(), level_names[level]);
}

/* log_open - name the program in every line; stderr only until set up */
void log_open(const char *ident)
{
	static bool registered;

	log_ident = ident;
	make_prefixes();
	if (!registered)
		registered = pthread_atfork(NULL, NULL, make_prefixes) == 0;
}

/* log_setup - apply the logging part of the configuration */
void log_setup(bool use_syslog, int facility, int level, bool to_stderr)
{
	if (use_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, facility);
	else if (atomic_load(&log_syslog))
		closelog();
	atomic_store(&log_syslog, use_syslog);
	atomic_store(&log_stderr, to_stderr);
	atomic_store(&log_level, level);
}

/* log_enabled - would a line at this level be written */
bool log_enabled(int level)
{
	return level <= atomic_load(&log_level);
}

/* log_sanitize - copy src, control and 8-bit bytes replaced by '?' */
size_t log_sanitize(char *dst, size_t len, const char *src)
{
	size_t n = 0;

	if (len == 0)
		return 0;
	for (; *src != '\0' && n + 1 < len; src++, n++) {
		unsigned char c = (unsigned char)*src;
		dst[n] = (c < 0x20 || c > 0x7e) ? '?' : (char)c;
	}
	dst[n] = '\0';
	return n;
}

/* log_vwrite - format, sanitise and send one line */
static void log_vwrite(int level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void log_vwrite(int level, const char *fmt, va_list ap)
{
	char out[PREFIX_MAX + 2048 + 1];
	size_t head, n;
	int len;

	if (!log_enabled(level) && level > LOG_ERR)
		return;
	if (prefixes[level][0] == '\0')
		make_prefixes();	/* a line before log_open */
	head = strlen(prefixes[level]);
	memcpy(out, prefixes[level], head);
	len = vsnprintf(out + head, sizeof(out) - head - 1, fmt, ap);
	n = len < 0 ? 0 : (size_t)len < sizeof(out) - head - 1 ? (size_t)len : sizeof(out) - head - 2;
	n = log_sanitize(out + head, n + 1, out + head);	/* in place, byte for byte */
	if (atomic_load(&log_syslog))
		syslog(level, "%s", out + head);
	if (atomic_load(&log_stderr)) {
		out[head + n] = '\n';
		/* one write per line keeps lines from threads whole */
		if (write(STDERR_FILENO, out, head + n + 1) < 0) {
			/* nowhere left to report it */
		}
	}
}

#define LOG_FUNC(name, level)				\
void name(const char *fmt, ...)				\
{							\
	va_list ap;					\
	va_start(ap, fmt);				\
	log_vwrite(level, fmt, ap);			\
	va_end(ap);					\
}

LOG_FUNC(log_error, LOG_ERR)
LOG_FUNC(log_warning, LOG_WARNING)
LOG_FUNC(log_notice, LOG_NOTICE)
LOG_FUNC(log_info, LOG_INFO)
LOG_FUNC(log_debug, LOG_DEBUG)

/* log_fatal - start-up failure: log and exit 1 */
void log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}
