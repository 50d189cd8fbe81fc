/*
 * NAME
 *	hangup - libmilter reads what the MTA wrote before it hung up
 * SYNOPSIS
 *	int poll(struct pollfd *fds, nfds_t nfds, int timeout)
 * DESCRIPTION
 *	libmilter (8.17) polls a connection before it reads each command,
 *	and takes POLLHUP for an error before it reads what is waiting. On
 *	a unix socket the kernel sets POLLHUP as soon as the MTA closes its
 *	end. An MTA that owes the milter no reply writes its last commands
 *	and closes at once: connect, abort and quit when its own
 *	restrictions (a greylisting policy service) deferred every
 *	recipient, or the recipients of a session that ends without a
 *	message. libmilter would drop them unread: the connection, the
 *	witness a backup asks for, and those recipients' decisions, unseen.
 *
 *	poll() below, which libmilter calls through the dynamic linker (as
 *	it calls sigwait(), signals.c), reports a descriptor that is both
 *	readable and hung up as readable only. libmilter then reads the
 *	commands, and after them the end of file, which it takes for the
 *	close it is, as it does on a TCP connection (where the peer's close
 *	shows as POLLIN alone). Errors (POLLERR, POLLNVAL) are reported as
 *	they are. The other callers in this program (the DNS and probe
 *	loops) read a readable descriptor until its end too.
 */

#define _GNU_SOURCE

#include "autoconfig.h"

#include <poll.h>
#include <stddef.h>
#include <time.h>

/* poll - see DESCRIPTION: the kernel's answer, a hang-up with data still
 * to read reported as data */
int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	struct timespec ts = { timeout / 1000, (long)(timeout % 1000) * 1000000L };
	int n = ppoll(fds, nfds, timeout < 0 ? NULL : &ts, NULL);

	for (nfds_t i = 0; n > 0 && i < nfds; i++)
		if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) == (POLLIN | POLLHUP))
			fds[i].revents &= (short)~POLLHUP;
	return n;
}
