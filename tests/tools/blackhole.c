/*
 * blackhole - a server that never answers, for timeout tests.
 *
 *	blackhole ADDR PORT
 *
 * Binds UDP and TCP on ADDR:PORT. UDP datagrams are read and dropped; TCP
 * connections are accepted and held open without a byte sent (a silent DNS
 * server, a tarpitting SMTP server). Runs until killed.
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_HELD 1000

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

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct pollfd pfd[2];
	int held = 0;
	char buf[4096];

	if (argc != 3 || inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "usage: blackhole IPV4-ADDR PORT\n");
		return 2;
	}
	sa.sin_port = htons((unsigned short)atoi(argv[2]));
	pfd[0] = (struct pollfd){ .fd = bound(SOCK_DGRAM, &sa), .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = bound(SOCK_STREAM, &sa), .events = POLLIN };
	if (pfd[0].fd < 0 || pfd[1].fd < 0) {
		perror("blackhole: bind");
		return 1;
	}
	for (;;) {
		if (poll(pfd, 2, -1) < 0)
			continue;
		if (pfd[0].revents & POLLIN && recv(pfd[0].fd, buf, sizeof(buf), 0) < 0)
			perror("blackhole: recv");
		if (pfd[1].revents & POLLIN) {
			int c = accept(pfd[1].fd, NULL, NULL);
			/* hold the connection: never read, never write */
			if (c >= 0 && ++held > MAX_HELD)
				close(c);
		}
	}
}
