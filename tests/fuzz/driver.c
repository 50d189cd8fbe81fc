/*
 * NAME
 *	driver - run a fuzz harness over saved inputs, without libFuzzer
 * SYNOPSIS
 *	fuzz_NAME FILE-OR-DIRECTORY...
 * DESCRIPTION
 *	Linked with a harness when the build is not --enable-fuzzing, so any
 *	compiler builds the harnesses and make check replays their corpora
 *	and crashers as a regression test. Each file (each regular file of a
 *	directory, in name order) is read into a buffer of exactly its size,
 *	as libFuzzer does, so AddressSanitizer sees a read past the input.
 *	LLVMFuzzerInitialize runs first when the harness defines it.
 *	Arguments that start with '-' are libFuzzer options: ignored, so one
 *	command line suits both builds.
 *
 *	A harness reports a broken invariant by aborting; the driver then
 *	names the input that did it. It exits 0 after the last input, 2 when
 *	an input cannot be read.
 */

#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

static const char *current;	/* the input being run, for the last words */
static unsigned long runs;

/* last_words - name the input that broke (async-signal-safe) */
static void last_words(void)
{
	static const char pre[] = "driver: failed on input ";

	if (current == NULL)
		return;
	if (write(STDERR_FILENO, pre, sizeof(pre) - 1) < 0
	    || write(STDERR_FILENO, current, strlen(current)) < 0
	    || write(STDERR_FILENO, "\n", 1) < 0) {
		/* nowhere left to say it */
	}
}

static void on_signal(int sig)
{
	last_words();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* read_all - the file in a buffer of exactly its size; NULL on error */
static uint8_t *read_all(const char *path, size_t *size)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "driver: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	/* malloc(0) may return NULL: keep one octet, report size 0 */
	if ((buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1)) == NULL) {
		fprintf(stderr, "driver: %s: out of memory\n", path);
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "driver: %s: %s\n", path, n < 0 ? strerror(errno)
				: "file shrank while read");
			free(buf);
			close(fd);
			return NULL;
		}
		got += (size_t)n;
	}
	close(fd);
	*size = got;
	return buf;
}

/* run_file - one input through the harness */
static int run_file(const char *path)
{
	size_t size = 0;
	uint8_t *data = read_all(path, &size);

	if (data == NULL)
		return -1;
	current = path;
	LLVMFuzzerTestOneInput(data, size);
	current = NULL;
	free(data);
	runs++;
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* run_dir - every regular file of a directory, in name order */
static int run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (d == NULL) {
		fprintf(stderr, "driver: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char path[4096];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			char **v = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*v));
			if (v == NULL) {
				rc = -1;
				break;
			}
			names = v;
		}
		if ((names[n] = strdup(path)) == NULL) {
			rc = -1;
			break;
		}
		n++;
	}
	closedir(d);
	if (rc != 0)
		fprintf(stderr, "driver: %s: out of memory\n", dir);
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && run_file(names[i]) != 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	static const int sigs[] = { SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL };
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE-OR-DIRECTORY...\n", argv[0]);
		return 2;
	}
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], on_signal);
	if (__sanitizer_set_death_callback != NULL)
		__sanitizer_set_death_callback(last_words);
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (argv[i][0] == '-')
			continue;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "driver: %s: %s\n", argv[i], strerror(errno));
			rc = 2;
		} else if ((S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i])) != 0) {
			rc = 2;
		}
	}
	fprintf(stderr, "driver: %lu inputs run\n", runs);
	return rc;
}
