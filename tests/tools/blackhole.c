/*
 * blackhole - a server that never answers, or only greets, for the tests.
 *
 *	blackhole ADDR PORT [GREETING | reset:TEXT | synfull]
 *
 * Binds UDP and TCP on ADDR:PORT. UDP datagrams are read and dropped. TCP
 * connections are accepted and held open: without GREETING not a byte is
 * sent (a silent DNS server, a tarpitting SMTP server); with it, GREETING
 * and CRLF are sent at once (e.g. "421 busy", or "220 ready" for a primary
 * that only greets). Every accepted connection and every line received is
 * logged to stdout ("accept" / "recv: LINE"), so a test can count probes and
 * see their QUIT. "reset:TEXT" sends TEXT (no line end) and resets the
 * connection (a server dying mid-greeting). "synfull" never accepts and
 * fills its accept queue at once, so the kernel drops every further SYN
 * without an answer (a host that blackholes connections). Runs until killed.
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <signal.h>

#define MAX_HELD 256

static int bound(int type, const struct sockaddr_in *sa)
{
	int one = 1, fd = socket(AF_INET, type, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0
	    || (type == SOCK_STREAM && listen(fd, 128) != 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* take - a new connection: greet it if asked, and hold it */
static void take(int listener, struct pollfd *held, int *n, const char *greeting)
{
	int c = accept(listener, NULL, NULL);

	if (c < 0)
		return;
	printf("accept\n");
	if (greeting != NULL && strncmp(greeting, "reset:", 6) == 0) {
		struct linger hard = { 1, 0 };
		if (send(c, greeting + 6, strlen(greeting + 6), MSG_NOSIGNAL) < 0)
			perror("blackhole: send");
		usleep(50000);
		setsockopt(c, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
		close(c);
		return;
	}
	if (greeting != NULL) {
		char line[512];
		int len = snprintf(line, sizeof(line), "%s\r\n", greeting);
		if (send(c, line, (size_t)len, MSG_NOSIGNAL) < 0)
			perror("blackhole: send");
	}
	if (*n == MAX_HELD) {
		close(c);
		return;
	}
	held[(*n)++] = (struct pollfd){ .fd = c, .events = greeting != NULL ? POLLIN : 0 };
}

/* drain - log what a greeted peer sent; forget it once it closed */
static void drain(struct pollfd *held, int *n, int i)
{
	char buf[512];
	ssize_t len = recv(held[i].fd, buf, sizeof(buf) - 1, 0);

	if (len <= 0) {
		close(held[i].fd);
		held[i] = held[--*n];
		return;
	}
	buf[len] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	printf("recv: %s\n", buf);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct pollfd pfd[2 + MAX_HELD];
	const char *greeting = argc == 4 ? argv[3] : NULL;
	int held = 0;
	char buf[4096];

	if ((argc != 3 && argc != 4) || inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "usage: blackhole IPV4-ADDR PORT [GREETING]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	sa.sin_port = htons((unsigned short)atoi(argv[2]));
	pfd[0] = (struct pollfd){ .fd = bound(SOCK_DGRAM, &sa), .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = bound(SOCK_STREAM, &sa), .events = POLLIN };
	if (pfd[0].fd < 0 || pfd[1].fd < 0) {
		perror("blackhole: bind");
		return 1;
	}
	if (greeting != NULL && strcmp(greeting, "synfull") == 0) {
		/* a backlog of 0 holds one connection: fill it, never accept */
		listen(pfd[1].fd, 0);
		for (int i = 0; i < 2; i++) {
			int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
			if (c >= 0 && connect(c, (struct sockaddr *)&sa, sizeof(sa)) != 0)
				usleep(100000);
		}
		printf("full\n");
		for (;;)
			pause();
	}
	for (;;) {
		if (poll(pfd, (nfds_t)(2 + held), -1) < 0)
			continue;
		if (pfd[0].revents & POLLIN && recv(pfd[0].fd, buf, sizeof(buf), 0) < 0)
			perror("blackhole: recv");
		for (int i = held - 1; i >= 0; i--)
			if (pfd[2 + i].revents & (POLLIN | POLLHUP | POLLERR)) {
				int n = held;
				drain(pfd + 2, &n, i);
				held = n;
			}
		if (pfd[1].revents & POLLIN)
			take(pfd[1].fd, pfd + 2, &held, greeting);
	}
}
