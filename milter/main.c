/*
 * NAME
 *	mxbypass-milter - flag mail that skipped a reachable primary MX
 * SYNOPSIS
 *	mxbypass-milter [-c FILE] [-f] [-l] [-p SOCKET] [-u USER[:GROUP]]
 *		[-P PIDFILE] [-n] [-V] [-h]
 *	mxbypass-milter [-c FILE] -t DOMAIN [-a LOCAL-ADDR] [-C CLIENT-ADDR]
 *	mxbypass-milter [-c FILE] -S
 * DESCRIPTION
 *	Start-up, the daemon and its signals.
 *
 *	Order of start-up: configuration, socket (with UMask), chown of a
 *	unix socket to UserID, daemon (the parent exits only once the child
 *	is serving, with its status), PID file, privileges dropped, milter.
 *
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
 */

#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <syslog.h>
#include <unistd.h>

#include <ares.h>
#include <libmilter/mfapi.h>

#include "callbacks.h"
#include "check.h"
#include "clock.h"
#include "config.h"
#include "decide.h"
#include "log.h"
#include "netaddr.h"
#include "stats.h"
#include "store.h"

#define PROGNAME "mxbypass-milter"

/* What the command line asked for. */
struct options {
	const char *config_path;
	bool config_named;		/* -c given: the file must exist */
	bool foreground;
	bool log_stderr;
	bool check_config;
	const char *check_domain;	/* -t */
	const char *local_addr;		/* -a */
	const char *client_addr;	/* -C */
	bool pool_stats;		/* -S */
};

static int signal_pipe[2] = { -1, -1 };
static pthread_t main_thread;
static struct services services;

/* usage - the synopsis, to stdout for -h, stderr for mistakes */
static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROGNAME " [-c FILE] [-f] [-l] [-p SOCKET] [-u USER[:GROUP]] [-P PIDFILE] [-n] [-V] [-h]\n"
		"       " PROGNAME " [-c FILE] -t DOMAIN [-a LOCAL-ADDR] [-C CLIENT-ADDR]\n"
		"       " PROGNAME " [-c FILE] -S\n"
		"\n"
		"  -c FILE    configuration file (default " CONFIG_DEFAULT_PATH ")\n"
		"  -f         stay in the foreground\n"
		"  -l         log to stderr as well as syslog\n"
		"  -p SOCKET  milter socket (overrides Socket)\n"
		"  -u USER    run as USER[:GROUP] (overrides UserID)\n"
		"  -P FILE    PID file (overrides PidFile)\n"
		"  -n         check the configuration and exit\n"
		"  -t DOMAIN  check mode: show the MX set of DOMAIN and the verdict\n"
		"  -a ADDR    check mode: local address the client connected to\n"
		"  -C ADDR    check mode: client address\n"
		"  -S         print the statistics of the whole pool\n"
		"  -V         print the version\n"
		"  -h         this help\n");
}

/* parse_options - the command line into opts; exits on mistakes */
static void parse_options(int argc, char **argv, struct options *opts)
{
	int ch;

	*opts = (struct options){ .config_path = CONFIG_DEFAULT_PATH };
	opterr = 0;
	while ((ch = getopt(argc, argv, ":c:flp:u:P:nVht:a:C:S")) != -1) {
		switch (ch) {
		case 'c': opts->config_path = optarg; opts->config_named = true; break;
		case 'f': opts->foreground = true; break;
		case 'l': opts->log_stderr = true; break;
		case 'p': config_override("Socket", optarg, "-p"); break;
		case 'u': config_override("UserID", optarg, "-u"); break;
		case 'P': config_override("PidFile", optarg, "-P"); break;
		case 'n': opts->check_config = true; break;
		case 't': opts->check_domain = optarg; break;
		case 'a': opts->local_addr = optarg; break;
		case 'C': opts->client_addr = optarg; break;
		case 'S': opts->pool_stats = true; break;
		case 'V':
			printf(PROGNAME " %s (libmilter, c-ares %s)\n", PACKAGE_VERSION,
			       ares_version(NULL));
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			fprintf(stderr, PROGNAME ": option -%c needs a value\n", optopt);
			usage(stderr);
			exit(2);
		default:
			fprintf(stderr, PROGNAME ": unknown option -%c\n", optopt);
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROGNAME ": unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		exit(2);
	}
	if ((opts->local_addr || opts->client_addr) && !opts->check_domain) {
		fprintf(stderr, PROGNAME ": -a and -C go with -t\n");
		exit(2);
	}
	struct netaddr a;
	if (opts->local_addr && !netaddr_parse(opts->local_addr, &a)) {
		fprintf(stderr, PROGNAME ": -a: \"%s\" is not an IPv4 or IPv6 address\n", opts->local_addr);
		exit(2);
	}
	if (opts->client_addr && !netaddr_parse(opts->client_addr, &a)) {
		fprintf(stderr, PROGNAME ": -C: \"%s\" is not an IPv4 or IPv6 address\n", opts->client_addr);
		exit(2);
	}
}

/* load_or_report - load the configuration, printing every problem */
static struct config *load_or_report(const struct options *opts)
{
	struct config_diag diag = { 0 };
	struct config *cfg = config_load(opts->config_path, opts->config_named, &diag);

	for (size_t i = 0; i < diag.n; i++) {
		fprintf(stderr, "%s\n", diag.lines[i]);
		if (!opts->check_config)
			log_error("config: %s", diag.lines[i]);
	}
	config_diag_free(&diag);
	return cfg;
}

/* redis_password - the AUTH password, when the configuration names a
 * file; *ok false when that file cannot be read */
static char *redis_password(const struct config *cfg, bool *ok)
{
	char err[512], *pw = NULL;

	*ok = true;
	if (cfg->state_backend != BACKEND_REDIS || cfg->redis_password_file == NULL)
		return NULL;
	if ((pw = store_read_password(cfg->redis_password_file, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", cfg->path != NULL ? cfg->path : PROGNAME, err);
		*ok = false;
	}
	return pw;
}

/* password_free - wipe the password, then free it */
static void password_free(char *pw)
{
	if (pw != NULL)
		explicit_bzero(pw, strlen(pw));
	free(pw);
}

/* socket_path - the file of a unix socket specification, else NULL */
static const char *socket_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	return spec[0] == '/' ? spec : NULL;
}

/* open_socket - register with libmilter and create the listening socket */
static void open_socket(const struct config *cfg)
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

/* daemonize - detach; the parent exits with the child's start-up status */
static int daemonize(void)
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

/* write_pidfile - the daemon's process id, written before privileges go */
static void write_pidfile(const char *path)
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

/* drop_privileges - become UserID; never go on as root when asked not to */
static void drop_privileges(const struct config *cfg)
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

/* milter_thread - runs smfi_main; tells the main loop when it returns */
static void *milter_thread(void *arg)
{
	unsigned char b = 0;
	int *status = arg;

	*status = smfi_main();
	if (write(signal_pipe[1], &b, 1) < 0) {
		/* the main loop is gone already */
	}
	return NULL;
}

/* reload - SIGHUP: a whole new file, or the old one with the reasons */
static void reload(const struct options *opts)
{
	struct config_diag diag = { 0 };

	if (config_reload(opts->config_path, opts->config_named, &diag)) {
		struct config *cfg = config_current();
		log_setup(cfg->syslog, cfg->syslog_facility, cfg->log_level, opts->log_stderr);
		services_configure(&services, cfg);
		log_notice("config: reloaded %s", cfg->path ? cfg->path : "(built-in defaults)");
		config_release(cfg);
	} else {
		for (size_t i = 0; i < diag.n; i++)
			log_error("config: %s", diag.lines[i]);
		log_error("config: reload of %s failed: keeping the running configuration",
			  opts->config_path);
	}
	config_diag_free(&diag);
}

/* report_stats - the statistics lines, and the Prometheus file */
static void report_stats(void)
{
	struct config *cfg = config_current();
	struct stats_caches caches;

	services_caches(&services, &caches);
	stats_report(&caches, cfg->stats_file);
	config_release(cfg);
}

/* stats_due - when the next periodic statistics line is due: StatsInterval
 * after the last one (a reload may have changed it); never, when 0 */
static uint64_t stats_due(uint64_t last)
{
	struct config *cfg = config_current();
	uint64_t due = cfg->stats_interval > 0 ? last + cfg->stats_interval * 1000ull : UINT64_MAX;

	config_release(cfg);
	return due;
}

/* block_signals - from before the socket exists until serve() owns them:
 * a SIGHUP sent as soon as the socket appears must reload, not kill */
static void block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* serve - run the milter until a stop signal; returns the exit status */
static int serve(const struct options *opts, int ready_fd)
{
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT, SIGUSR1 };
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t set;
	pthread_t thread;
	int milter_status = MI_SUCCESS, status = 0;
	unsigned char sig;
	uint64_t next_stats;

	if (pipe2(signal_pipe, O_CLOEXEC) != 0)
		log_fatal("daemon: pipe: %s", strerror(errno));
	fcntl(signal_pipe[1], F_SETFL, O_NONBLOCK);
	sigemptyset(&sa.sa_mask);
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaction(sigs[i], &sa, NULL);
		sigaddset(&set, sigs[i]);
	}

	/* still blocked since start-up (block_signals): the milter thread and
	 * libmilter's inherit the mask; then the main thread takes them, and
	 * any that came during start-up is delivered now */
	if ((errno = pthread_create(&thread, NULL, milter_thread, &milter_status)) != 0)
		log_fatal("daemon: cannot start the milter thread: %s", strerror(errno));
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	struct config *cfg = config_current();
	log_notice("started: version %s, socket %s", PACKAGE_VERSION, cfg->socket);
	config_release(cfg);
	if (ready_fd >= 0) {
		char ok = 0;
		if (write(ready_fd, &ok, 1) < 0) {
			/* the parent is gone: nobody to tell */
		}
		close(ready_fd);
	}

	stats_reset();
	next_stats = stats_due(clock_ms());
	for (;;) {
		struct pollfd pfd = { .fd = signal_pipe[0], .events = POLLIN };
		uint64_t now = clock_ms();
		ssize_t n;

		if (now >= next_stats) {
			report_stats();
			next_stats = stats_due(now);
			continue;
		}
		if (poll(&pfd, 1, next_stats == UINT64_MAX ? -1 : (int)(next_stats - now)) <= 0)
			continue;	/* the interval is over, or a signal came */
		if ((n = read(signal_pipe[0], &sig, 1)) < 0 && errno == EINTR)
			continue;
		if (n != 1)
			break;
		if (sig == SIGHUP) {
			reload(opts);
			next_stats = stats_due(clock_ms());
		} else if (sig == SIGUSR1) {
			report_stats();
			next_stats = stats_due(clock_ms());
		} else if (sig == SIGTERM || sig == SIGINT) {
			log_notice("stopping on signal %d", sig);
			smfi_stop();
			break;
		} else {
			log_error("milter: smfi_main returned unexpectedly");
			status = 1;
			break;
		}
	}
	pthread_join(thread, NULL);
	if (milter_status != MI_SUCCESS)
		status = 1;
	return status;
}

int main(int argc, char **argv)
{
	struct options opts;
	struct config *cfg;
	char *pidfile, *socket, *password = NULL;
	int ready_fd = -1, status;
	bool ok;

	main_thread = pthread_self();
	/* a peer gone (Redis, a probed host) is an error return, not a death */
	signal(SIGPIPE, SIG_IGN);
	log_open(PROGNAME);
	parse_options(argc, argv, &opts);
	if (opts.check_config) {
		if ((cfg = load_or_report(&opts)) == NULL)
			return 1;
		password_free(redis_password(cfg, &ok));	/* readable? */
		config_free(cfg);
		return ok ? 0 : 1;
	}
	if ((cfg = load_or_report(&opts)) == NULL)
		return 1;
	log_setup(cfg->syslog, cfg->syslog_facility, cfg->log_level,
		  opts.log_stderr || opts.check_domain || opts.pool_stats);
	if (opts.pool_stats) {
		status = 1;
		if (cfg->state_backend == BACKEND_MEMORY)
			fprintf(stderr, PROGNAME ": -S: StateBackend is memory: there is no pool "
				"to report on (each milter logs its own statistics)\n");
		else if ((password = redis_password(cfg, &ok)), ok)
			status = store_pool_report(cfg, password, stdout);
		password_free(password);
		config_free(cfg);
		return status;
	}
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
		log_fatal("c-ares: library initialisation failed");
	if (opts.check_domain) {
		/* the pool's view of the evidence needs the shared store */
		status = 2;
		if ((password = redis_password(cfg, &ok)), ok)
			status = check_domain(cfg, opts.check_domain, opts.local_addr,
					      opts.client_addr, password);
		password_free(password);
		config_free(cfg);
		ares_library_cleanup();
		return status;
	}

	/* read as root, before privileges go */
	password = redis_password(cfg, &ok);
	if (!ok)
		log_fatal("store: cannot read RedisPasswordFile %s", cfg->redis_password_file);
	block_signals();
	open_socket(cfg);
	if (!opts.foreground)
		ready_fd = daemonize();
	write_pidfile(cfg->pidfile);
	drop_privileges(cfg);
	/* read at start-up only: a reload does not move them */
	pidfile = cfg->pidfile ? strdup(cfg->pidfile) : NULL;
	socket = strdup(cfg->socket);
	if (!services_init(&services, cfg, SERVICES_DAEMON, password))
		log_fatal("milter: out of memory for the caches");
	password_free(password);
	callbacks_init(&services);
	config_install(cfg);

	status = serve(&opts, ready_fd);

	if (pidfile != NULL && unlink(pidfile) != 0 && errno != ENOENT)
		log_warning("daemon: cannot remove PID file %s: %s", pidfile, strerror(errno));
	if (socket != NULL && socket_path(socket) != NULL)
		unlink(socket_path(socket));
	report_stats();
	log_notice("stopped");
	if (callbacks_done(5000))
		services_free(&services);
	free(pidfile);
	free(socket);
	config_install(NULL);
	ares_library_cleanup();
	return status;
}
