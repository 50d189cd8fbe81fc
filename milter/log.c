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
 */

#include "autoconfig.h"

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

/* log_open - name the program in every line; stderr only until set up */
void log_open(const char *ident)
{
	log_ident = ident;
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
	char raw[2048];
	char line[2048];

	if (!log_enabled(level) && level > LOG_ERR)
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	log_sanitize(line, sizeof(line), raw);
	if (atomic_load(&log_syslog))
		syslog(level, "%s", line);
	if (atomic_load(&log_stderr)) {
		char out[2200];
		int n = snprintf(out, sizeof(out), "%s[%ld]: %s: %s\n", log_ident,
				 (long)getpid(), level_names[level], line);
		if (n > (int)sizeof(out) - 1)
			n = (int)sizeof(out) - 1;
		/* one write per line keeps lines from threads whole */
		if (n > 0 && write(STDERR_FILENO, out, (size_t)n) < 0) {
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
