/*
 * NAME
 *	signals - the daemon's signals, owned by the main thread
 * SYNOPSIS
 *	#include "signals.h"
 *
 *	void signals_init(void)
 *	void signals_block(void)
 *	void signals_catch(void)
 *	void signals_unblock(void)
 *	int signals_next(int timeout_ms)
 *	void signals_milter_done(void)
 * DESCRIPTION
 *	Signals are owned by the main thread. libmilter's own signal thread
 *	would take SIGHUP as "stop", so the main thread installs handlers that
 *	write the signal number to a pipe, blocks the signals while it starts
 *	the thread that runs smfi_main (every libmilter thread inherits the
 *	blocked mask), then unblocks them, and reads the pipe: it reloads
 *	(HUP), logs statistics (USR1) or stops (TERM, INT). Between signals it
 *	wakes every StatsInterval to log the statistics.
 *
 *	That alone leaves a window: while the main thread runs a handler, the
 *	signal is blocked there too, and a second one is taken by whichever
 *	thread sigwait()s for it, libmilter's. So sigwait() below, which
 *	libmilter calls through the dynamic linker, leaves HUP, TERM and INT
 *	out of the set of any thread but the main one: libmilter's signal
 *	thread then waits for nothing, and never stops the milter by itself.
 *
 *	signals_init() names the main thread, first thing in main().
 *	signals_block() blocks HUP, TERM, INT and USR1 from before the socket
 *	exists; signals_catch() makes the pipe and installs the handlers;
 *	signals_unblock() lets the main thread take the signals, once the
 *	milter thread has inherited the blocked mask. signals_next() waits
 *	for the next byte of the pipe: a signal number, or
 *	SIGNALS_MILTER_DONE, which the milter thread writes with
 *	signals_milter_done() when smfi_main returns.
 */

#include "autoconfig.h"

/* System. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

/* This program. */
#include "log.h"
#include "signals.h"

static const int owned[] = { SIGHUP, SIGTERM, SIGINT, SIGUSR1 };

static int signal_pipe[2] = { -1, -1 };
static pthread_t main_thread;

/* signals_init - the calling thread is the main one, the signals' owner */
void signals_init(void)
{
	main_thread = pthread_self();
}

/* owned_set - the signals this program owns */
static void owned_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		sigaddset(set, owned[i]);
}

/* signals_block - from before the socket exists until the main loop owns
 * them: a SIGHUP sent as soon as the socket appears must reload, not kill */
void signals_block(void)
{
	sigset_t set;

	owned_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* on_signal - only note the signal; the main loop acts on it */
static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;

	if (write(signal_pipe[1], &b, 1) < 0) {
		/* pipe full: a signal of that kind is pending anyway */
	}
	errno = saved;
}

/* signals_catch - the pipe, and the handlers that write to it */
void signals_catch(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	if (pipe2(signal_pipe, O_CLOEXEC) != 0)
		log_fatal("daemon: pipe: %s", strerror(errno));
	fcntl(signal_pipe[1], F_SETFL, O_NONBLOCK);
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		sigaction(owned[i], &sa, NULL);
}

/* signals_unblock - the main thread takes the signals; any that came
 * while they were blocked is delivered now */
void signals_unblock(void)
{
	sigset_t set;

	owned_set(&set);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* signals_next - the next byte of the pipe, waiting up to timeout_ms
 * (-1: forever); SIGNALS_NONE when none came */
int signals_next(int timeout_ms)
{
	struct pollfd pfd = { .fd = signal_pipe[0], .events = POLLIN };
	unsigned char sig;
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return SIGNALS_NONE;	/* the interval is over, or a signal came */
	if ((n = read(signal_pipe[0], &sig, 1)) < 0 && errno == EINTR)
		return SIGNALS_NONE;
	if (n != 1)
		return SIGNALS_BROKEN;
	return sig;
}

/* signals_milter_done - from the milter thread: smfi_main returned */
void signals_milter_done(void)
{
	unsigned char b = SIGNALS_MILTER_DONE;

	if (write(signal_pipe[1], &b, 1) < 0) {
		/* the main loop is gone already */
	}
}

/* sigwait - see DESCRIPTION: the signals this program owns are not for
 * other threads to wait for */
int sigwait(const sigset_t *set, int *sig)
{
	sigset_t wanted = *set;
	int got;

	if (!pthread_equal(pthread_self(), main_thread)) {
		sigdelset(&wanted, SIGHUP);
		sigdelset(&wanted, SIGTERM);
		sigdelset(&wanted, SIGINT);
	}
	while ((got = sigwaitinfo(&wanted, NULL)) < 0 && errno == EINTR)
		continue;
	if (got < 0)
		return errno;
	*sig = got;
	return 0;
}
