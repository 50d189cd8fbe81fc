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
 *	The socket, detaching, the PID file and the privileges are daemon.c.
 *	The main thread owns the signals (signals.c, which says why libmilter
 *	must not): it reloads on HUP, logs statistics on USR1 and every
 *	StatsInterval, and stops on TERM or INT.
 */

#include "autoconfig.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ares.h>
#include <libmilter/mfapi.h>

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

int main(int argc, char **argv)
{
	struct options opts;
	struct config *cfg;
	char *pidfile, *socket, *password = NULL;
	int ready_fd = -1, status;
	bool ok;

	signals_init();
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
	signals_block();
	daemon_open_socket(cfg);
	if (!opts.foreground)
		ready_fd = daemon_detach();
	daemon_write_pidfile(cfg->pidfile);
	daemon_drop_privileges(cfg);
	/* read at start-up only: a reload does not move them */
	pidfile = cfg->pidfile ? strdup(cfg->pidfile) : NULL;
	socket = strdup(cfg->socket);
	if (!services_init(&services, cfg, SERVICES_DAEMON, password))
		log_fatal("milter: out of memory for the caches");
	password_free(password);
	callbacks_init(&services);
	config_install(cfg);

	status = serve(&opts, ready_fd);

	daemon_remove_files(pidfile, socket);
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
