/*
 * test_config.h - what the tests of the daemon runtime in common/ share:
 * a server's settings and their key table, the per-suite scratch
 * directory, and helpers to write, read and capture files.  Each
 * test_config_*.c file holds one concern's tables and loops.
 */
#ifndef TEST_CONFIG_H
#define TEST_CONFIG_H

#include <stddef.h>

#include "config.h"

/* A server's settings as the tests see them. */
struct tconf {
	struct conf_addr	 listen;
	char			*cert;
	char			*key;
	long			 hb_interval;
	long			 hb_timeout;
	int			 syslog;
	int			 level;
	size_t			 max_frame;
	size_t			 cache;
	long			 threads;
	struct conf_list	 platforms;
	char			*audit;
	int			 untouched;	/* not in the table */
};

/* Their keys (test_config_util.c). */
extern const struct conf_key	tc_keys[];

/* Paths in the test directory (which is short: /tmp/nap-test-config.XXXXXX). */
#define TPATH	128

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Make and remove the scratch directory: a suite's init and cleanup. */
int	 tc_suite_init(void);
int	 tc_suite_clean(void);
void	 tc_path(char *, size_t, const char *);
void	 tc_write_file(const char *, const char *);
char	*tc_slurp(const char *, size_t *);
int	 tc_load_text(struct tconf *, const char *, char *, size_t);
int	 tc_run_args(struct tconf *, struct conf_cli *, char *, size_t, ...);
int	 tc_is_stamp(const char *);
int	 tc_capture_begin(const char *);
void	 tc_capture_end(int);

void	init_config_keys_tests(void);
void	init_config_file_tests(void);
void	init_config_cli_tests(void);
void	init_config_log_tests(void);
void	init_config_daemon_tests(void);

#endif
