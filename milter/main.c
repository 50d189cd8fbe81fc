/*
 * NAME
 *	mxbypass-milter - flag mail that skipped a reachable primary MX
 * SYNOPSIS
 *	mxbypass-milter [-c FILE] [-f] [-l] [-p SOCKET] [-u USER[:GROUP]]
 *		[-P PIDFILE] [-n] [-V] [-h]
 *	mxbypass-milter [-c FILE] -t DOMAIN [-a LOCAL-ADDR] [-C CLIENT-ADDR]
 *	mxbypass-milter [-c FILE] -S
 * DESCRIPTION
 *	The command line, and the modes it picks. main() parses the options,
 *	runs one mode, then one cleanup releases what the mode held; each
 *	mode returns the exit status:
 *
 *	-V, -h	the version, the help: 0 (they end the parsing where they
 *		stand). A mistake on the command line: 2, with the usage.
 *	-n	check the configuration, and the Redis password file it names:
 *		0, or 1 with every problem on stderr.
 *	-S	the statistics of the whole pool, from Redis: 0, or 1.
 *	-t	decide for one domain as the milter would (check.c): 0, 1 on
 *		verdict error, 2 when the check could not run.
 *	(none)	the daemon: 0 after a stop signal, 1 when start-up or the
 *		milter failed.
 *	-n wins over -S, -S over -t. All but -V and -h exit 1 when the
 *	configuration does not load.
 *
 *	Order of start-up: configuration, socket (with UMask), chown of a
 *	unix socket to UserID, daemon (the parent exits only once the child
 *	is serving, with its status), PID file, privileges dropped, milter.
 *	The socket, detaching, the PID file and the privileges are daemon.c.
 *
 *	The daemon's main thread owns the signals (signals.c, which says why
 *	libmilter must not): it reloads on HUP, logs statistics on USR1 and
 *	every StatsInterval, and stops on TERM or INT.
 */

#include "autoconfig.h"

/* System. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Libraries. */
#include <ares.h>
#include <libmilter/mfapi.h>

/* This program. */
#include "callbacks.h"
#include "check.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "decide.h"
#include "log.h"
#include "netaddr.h"
#include "signals.h"
#include "stats.h"
#include "store.h"

#define PROGNAME "mxbypass-milter"

/* What the command line asked for. */
enum mode {
	MODE_DAEMON,
	MODE_CHECK_CONFIG,		/* -n */
	MODE_CHECK_DOMAIN,		/* -t */
	MODE_POOL_STATS,		/* -S */
	MODE_VERSION,			/* -V */
	MODE_HELP,			/* -h */
};

struct options {
	enum mode mode;
	const char *config_path;
	bool config_named;		/* -c given: the file must exist */
	bool foreground;
	bool log_stderr;
	const char *check_domain;	/* -t */
	const char *local_addr;		/* -a */
	const char *client_addr;	/* -C */
};

/* What a mode holds; run_cleanup releases it, whatever the mode. */
struct run {
	struct config *cfg;		/* loaded, not (yet) installed */
	char *password;			/* the Redis AUTH password */
	bool ares;			/* c-ares initialised */
};

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

static bool usage_error(const char *fmt, ...) LOG_FMT(1, 2);

/* usage_error - a mistake on the command line: the message, the usage */
static bool usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	usage(stderr);
	return false;
}

/* parse_options - the command line into opts; false after a mistake */
static bool parse_options(int argc, char **argv, struct options *opts)
{
	bool check_config = false, pool_stats = false;
	struct netaddr a;
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
		case 'n': check_config = true; break;
		case 't': opts->check_domain = optarg; break;
		case 'a': opts->local_addr = optarg; break;
		case 'C': opts->client_addr = optarg; break;
		case 'S': pool_stats = true; break;
		case 'V': opts->mode = MODE_VERSION; return true;
		case 'h': opts->mode = MODE_HELP; return true;
		case ':':
			return usage_error(PROGNAME ": option -%c needs a value\n", optopt);
		default:
			return usage_error(PROGNAME ": unknown option -%c\n", optopt);
		}
	}
	if (optind < argc)
		return usage_error(PROGNAME ": unexpected argument \"%s\"\n", argv[optind]);
	if ((opts->local_addr || opts->client_addr) && !opts->check_domain) {
		fprintf(stderr, PROGNAME ": -a and -C go with -t\n");
		return false;
	}
	if (opts->local_addr && !netaddr_parse(opts->local_addr, &a)) {
		fprintf(stderr, PROGNAME ": -a: \"%s\" is not an IPv4 or IPv6 address\n", opts->local_addr);
		return false;
	}
	if (opts->client_addr && !netaddr_parse(opts->client_addr, &a)) {
		fprintf(stderr, PROGNAME ": -C: \"%s\" is not an IPv4 or IPv6 address\n", opts->client_addr);
		return false;
	}
	opts->mode = check_config ? MODE_CHECK_CONFIG : pool_stats ? MODE_POOL_STATS
		: opts->check_domain ? MODE_CHECK_DOMAIN : MODE_DAEMON;
	return true;
}

/* load_or_report - load the configuration, printing every problem */
static struct config *load_or_report(const struct options *opts)
{
	struct config_diag diag = { 0 };
	struct config *cfg = config_load(opts->config_path, opts->config_named, &diag);

	for (size_t i = 0; i < diag.n; i++) {
		fprintf(stderr, "%s\n", diag.lines[i]);
		if (opts->mode != MODE_CHECK_CONFIG)
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

/* run_load - the configuration of a mode that logs; false when it does
 * not load */
static bool run_load(struct run *run, const struct options *opts, bool log_stderr)
{
	if ((run->cfg = load_or_report(opts)) == NULL)
		return false;
	log_setup(run->cfg->syslog, run->cfg->syslog_facility, run->cfg->log_level, log_stderr);
	return true;
}

/* run_ares - c-ares for the modes that ask DNS */
static void run_ares(struct run *run)
{
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
		log_fatal("c-ares: library initialisation failed");
	run->ares = true;
}

/* run_cleanup - release what the mode held, whichever it was */
static void run_cleanup(struct run *run)
{
	password_free(run->password);
	config_free(run->cfg);
	config_install(NULL);
	if (run->ares)
		ares_library_cleanup();
}

/* mode_version - -V */
static int mode_version(void)
{
	printf(PROGNAME " %s (libmilter, c-ares %s)\n", PACKAGE_VERSION, ares_version(NULL));
	return 0;
}

/* mode_help - -h */
static int mode_help(void)
{
	usage(stdout);
	return 0;
}

/* mode_check_config - -n: the file, and the password file it names */
static int mode_check_config(const struct options *opts, struct run *run)
{
	bool ok;

	if ((run->cfg = load_or_report(opts)) == NULL)
		return 1;
	run->password = redis_password(run->cfg, &ok);	/* readable? */
	return ok ? 0 : 1;
}

/* mode_pool_stats - -S: the pool's statistics, from the shared store */
static int mode_pool_stats(const struct options *opts, struct run *run)
{
	bool ok;

	if (!run_load(run, opts, true))
		return 1;
	if (run->cfg->state_backend == BACKEND_MEMORY) {
		fprintf(stderr, PROGNAME ": -S: StateBackend is memory: there is no pool "
			"to report on (each milter logs its own statistics)\n");
		return 1;
	}
	run->password = redis_password(run->cfg, &ok);
	if (!ok)
		return 1;
	return store_pool_report(run->cfg, run->password, stdout);
}

/* mode_check_domain - -t: decide for one domain as the milter would */
static int mode_check_domain(const struct options *opts, struct run *run)
{
	bool ok;

	if (!run_load(run, opts, true))
		return 1;
	run_ares(run);
	/* the pool's view of the evidence needs the shared store */
	run->password = redis_password(run->cfg, &ok);
	if (!ok)
		return 2;
	return check_domain(run->cfg, opts->check_domain, opts->local_addr,
			    opts->client_addr, run->password);
}

/* milter_thread - runs smfi_main; tells the main loop when it returns */
static void *milter_thread(void *arg)
{
	int *status = arg;

	*status = smfi_main();
	signals_milter_done();
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

/* serve - run the milter until a stop signal; returns the exit status */
static int serve(const struct options *opts, int ready_fd)
{
	pthread_t thread;
	int milter_status = MI_SUCCESS, status = 0, sig;
	uint64_t next_stats;

	signals_catch();
	/* still blocked since start-up (signals_block): the milter thread and
	 * libmilter's inherit the mask; then the main thread takes them, and
	 * any that came during start-up is delivered now */
	if ((errno = pthread_create(&thread, NULL, milter_thread, &milter_status)) != 0)
		log_fatal("daemon: cannot start the milter thread: %s", strerror(errno));
	signals_unblock();

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
		uint64_t now = clock_ms();

		if (now >= next_stats) {
			report_stats();
			next_stats = stats_due(now);
			continue;
		}
		sig = signals_next(next_stats == UINT64_MAX ? -1 : (int)(next_stats - now));
		if (sig == SIGNALS_NONE)
			continue;
		if (sig == SIGNALS_BROKEN)
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

/* mode_daemon - start up in the order of DESCRIPTION, serve, stop */
static int mode_daemon(const struct options *opts, struct run *run)
{
	char *pidfile, *socket;
	int ready_fd = -1, status;
	bool ok;

	if (!run_load(run, opts, opts->log_stderr))
		return 1;
	run_ares(run);
	/* read as root, before privileges go */
	run->password = redis_password(run->cfg, &ok);
	if (!ok)
		log_fatal("store: cannot read RedisPasswordFile %s", run->cfg->redis_password_file);
	signals_block();
	daemon_open_socket(run->cfg);
	if (!opts->foreground)
		ready_fd = daemon_detach();
	daemon_write_pidfile(run->cfg->pidfile);
	daemon_drop_privileges(run->cfg);
	/* read at start-up only: a reload does not move them */
	pidfile = run->cfg->pidfile ? strdup(run->cfg->pidfile) : NULL;
	socket = strdup(run->cfg->socket);
	if (!services_init(&services, run->cfg, SERVICES_DAEMON, run->password))
		log_fatal("milter: out of memory for the caches");
	password_free(run->password);
	run->password = NULL;
	callbacks_init(&services);
	config_install(run->cfg);
	run->cfg = NULL;

	status = serve(opts, ready_fd);

	daemon_remove_files(pidfile, socket);
	report_stats();
	log_notice("stopped");
	if (callbacks_done(5000))
		services_free(&services);
	free(pidfile);
	free(socket);
	return status;
}

/* run_mode - the mode the options picked; its exit status */
static int run_mode(const struct options *opts, struct run *run)
{
	switch (opts->mode) {
	case MODE_VERSION:
		return mode_version();
	case MODE_HELP:
		return mode_help();
	case MODE_CHECK_CONFIG:
		return mode_check_config(opts, run);
	case MODE_POOL_STATS:
		return mode_pool_stats(opts, run);
	case MODE_CHECK_DOMAIN:
		return mode_check_domain(opts, run);
	case MODE_DAEMON:
		return mode_daemon(opts, run);
	}
	return 2;
}

int main(int argc, char **argv)
{
	struct options opts;
	struct run run = { 0 };
	int status;

	signals_init();
	/* a peer gone (Redis, a probed host) is an error return, not a death */
	signal(SIGPIPE, SIG_IGN);
	log_open(PROGNAME);
	if (!parse_options(argc, argv, &opts))
		return 2;
	status = run_mode(&opts, &run);
	run_cleanup(&run);
	return status;
}
