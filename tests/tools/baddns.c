/*
 * baddns - a DNS server that answers every query wrongly, for fault tests.
 *
 *	baddns ADDR PORT MODE
 *
 * UDP on ADDR:PORT. Each query gets, by MODE:
 *	short	 the query's header with QR set and one answer announced, and
 *		 nothing after it (an answer cut short)
 *	garbage	 the query's ID, QR set, then 200 bytes of noise
 *	wrongid	 a copy of the query as an empty answer, with another ID (a
 *		 spoofing attempt: the resolver must ignore it)
 *	pointer	 an answer whose name is a compression pointer to itself
 * Runs until killed.
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	unsigned char q[512], a[512];
	unsigned seed = 1;
	int fd;

	if (argc != 4 || inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "usage: baddns IPV4-ADDR PORT short|garbage|wrongid|pointer\n");
		return 2;
	}
	sa.sin_port = htons((unsigned short)atoi(argv[2]));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("baddns: bind");
		return 1;
	}
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		size_t len = 0;

		if (n < 12)
			continue;
		if (strcmp(argv[3], "short") == 0) {
			memcpy(a, q, 12);
			a[2] |= 0x80;
			a[4] = a[5] = 0;	/* no question */
			a[6] = 0, a[7] = 1;	/* one answer, absent */
			len = 12;
		} else if (strcmp(argv[3], "garbage") == 0) {
			memcpy(a, q, 2);
			a[2] = 0x81, a[3] = 0x80;
			for (len = 4; len < 204; len++)
				a[len] = (unsigned char)(rand_r(&seed) & 0xff);
		} else if (strcmp(argv[3], "wrongid") == 0) {
			memcpy(a, q, (size_t)n);
			a[0] ^= 0x5a;
			a[2] |= 0x80;
			len = (size_t)n;
		} else {
			/* the question copied, then an answer named by a pointer to
			 * itself (offset of the answer's first byte) */
			memcpy(a, q, (size_t)n);
			a[2] |= 0x80;
			a[6] = 0, a[7] = 1;
			len = (size_t)n;
			a[len] = (unsigned char)(0xc0 | (len >> 8));
			a[len + 1] = (unsigned char)(len & 0xff);
			len += 2;
			memcpy(a + len, "\0\x0f\0\x01\0\0\0\x3c\0\x04\0\x0a\xc0\x0c", 14);
			len += 14;
		}
		sendto(fd, a, len, 0, (struct sockaddr *)&from, fl);
	}
}
