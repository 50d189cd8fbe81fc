/*
 * test_log - the lines log.c writes to stderr: the prefix with the
 * process id (also in a forked child), the level, sanitising, the cut of
 * an overlong line, the level filter.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

/* capture - what fn writes to stderr, as one string (static) */
static const char *capture(void (*fn)(void))
{
	static char buf[8192];
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	assert_non_null(tmp);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fileno(tmp), STDERR_FILENO), STDERR_FILENO);
	fn();
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, sizeof(buf) - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
	return buf;
}

static void lines(void)
{
	log_info("%s: rcpt-domain=%s n=%d", "conn1", "example.org", 3);
	log_warning("bad\r\nline\t\x7f\xc3\xa9 end");
	log_debug("not written at info");
}

static void long_line(void)
{
	static char big[5000];

	memset(big, 'x', sizeof(big) - 1);
	log_notice("%s", big);
}

static void in_child(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		log_info("child");
		_exit(0);
	}
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	log_info("parent");
}

/* Each line: "ident[pid]: level: text", control and 8-bit bytes '?',
 * one line per call, filtered by level. */
static void test_lines(void **state)
{
	char want[256];

	(void)state;
	snprintf(want, sizeof(want),
		 "mxb-test[%ld]: info: conn1: rcpt-domain=example.org n=3\n"
		 "mxb-test[%ld]: warning: bad??line???? end\n", (long)getpid(), (long)getpid());
	assert_string_equal(capture(lines), want);
}

/* An overlong line is cut, still one line ending in a newline. */
static void test_long_line(void **state)
{
	const char *out;
	size_t n;

	(void)state;
	out = capture(long_line);
	n = strlen(out);
	assert_true(n > 2000 && n < 2200);
	assert_ptr_equal(strchr(out, '\n'), out + n - 1);	/* one line */
}

/* A forked child's lines carry its own process id. */
static void test_child_pid(void **state)
{
	char parent[64];
	const char *out;

	(void)state;
	out = capture(in_child);
	snprintf(parent, sizeof(parent), "mxb-test[%ld]: info: parent\n", (long)getpid());
	assert_non_null(strstr(out, parent));
	assert_non_null(strstr(out, ": info: child\n"));
	snprintf(parent, sizeof(parent), "mxb-test[%ld]: info: child", (long)getpid());
	assert_null(strstr(out, parent));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_child_pid),
	};

	log_open("mxb-test");
	log_setup(false, LOG_DAEMON, LOG_INFO, true);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
