/*
 * ctl_server.h - `nap-ctl --server URL ...`: the admin API of a running
 * server (DESIGN.md §12) through libevent's HTTP client.
 */
#ifndef NAP_CTL_SERVER_H
#define NAP_CTL_SERVER_H

/* Whether argv asks for --server (then ctl_server_main() runs it). */
int	ctl_server_wanted(int argc, char **argv);
/* The whole command: exit status 0, 1 (failed) or 2 (bad usage). */
int	ctl_server_main(int argc, char **argv);

#endif /* NAP_CTL_SERVER_H */
