/*
 * log.h - syslog and stderr logging with levels.
 */
#ifndef MXB_LOG_H
#define MXB_LOG_H

#include <stdbool.h>
#include <stdarg.h>

#define LOG_FMT(a, b) __attribute__((format(printf, a, b)))

void log_open(const char *ident);
void log_setup(bool use_syslog, int facility, int level, bool to_stderr);
bool log_enabled(int level);

void log_error(const char *fmt, ...) LOG_FMT(1, 2);
void log_warning(const char *fmt, ...) LOG_FMT(1, 2);
void log_notice(const char *fmt, ...) LOG_FMT(1, 2);
void log_info(const char *fmt, ...) LOG_FMT(1, 2);
void log_debug(const char *fmt, ...) LOG_FMT(1, 2);
_Noreturn void log_fatal(const char *fmt, ...) LOG_FMT(1, 2);

size_t log_sanitize(char *dst, size_t len, const char *src);

#endif
