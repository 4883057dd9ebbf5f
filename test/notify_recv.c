/*
 * notify_recv.c - a stand-in for systemd's end of the sd_notify(3)
 * protocol, for the tests: bind a datagram socket at PATH, print each
 * datagram received as one line (its newlines turned into spaces), and
 * exit 0 once one holds STOPPING=1, or 1 after SECONDS without any.
 *
 * usage: notify_recv PATH SECONDS
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int	bind_at(const char *);

static int
bind_at(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "notify_recv: %s: path too long\n", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	(void)unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "notify_recv: %s: %s\n", path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

int
main(int argc, char **argv)
{
	char buf[4096];
	struct pollfd pfd;
	time_t end;
	ssize_t n;
	int fd, rc = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: notify_recv PATH SECONDS\n");
		return 2;
	}
	if ((fd = bind_at(argv[1])) == -1)
		return 2;
	end = time(NULL) + atoi(argv[2]);
	/* The test waits for this line before it starts the server. */
	printf("BOUND\n");
	fflush(stdout);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (time(NULL) < end) {
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		if ((n = recv(fd, buf, sizeof(buf) - 1, 0)) <= 0)
			continue;
		buf[n] = '\0';
		for (char *p = buf; *p != '\0'; p++)
			if (*p == '\n')
				*p = ' ';
		printf("%s\n", buf);
		fflush(stdout);
		if (strstr(buf, "STOPPING=1") != NULL) {
			rc = 0;
			break;
		}
	}
	close(fd);
	(void)unlink(argv[1]);
	return rc;
}
