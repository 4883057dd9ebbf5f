/*
 * config.h - one key table drives a server's config file, its command
 * line, its -h text and its -n check (nap.conf(5)).
 *
 * A server describes its settings once:
 *
 *	struct dconf {
 *		struct conf_addr  listen;
 *		char		 *cert;
 *		long		  hb_interval;
 *		struct conf_list  platforms;
 *		size_t		  max_frame;
 *		int		  log_level;
 *	};
 *	static const struct conf_key dkeys[] = {
 *		{ "listen", CONF_ADDR, offsetof(struct dconf, listen),
 *		    "0.0.0.0:7420", 0, 0, "address to accept links on" },
 *		{ "heartbeat-interval", CONF_INT,
 *		    offsetof(struct dconf, hb_interval), "30", 1, 3600,
 *		    "seconds of silence before a Check" },
 *		...
 *		{ NULL, 0, 0, NULL, 0, 0, NULL }
 *	};
 *
 * and main() runs, in this order (STYLE.md "Daemons"):
 *
 *	conf_init(dkeys, &dc, err, sizeof(err))	   defaults
 *	conf_parse_args(dkeys, &dc, argc, argv, &cli, err, sizeof(err))
 *						   -f FILE, then --KEY VALUE
 *	cli.help -> conf_usage(), exit 0
 *	cross-key checks (below), exit 1 on failure
 *	cli.check_only -> (cli.verbose: conf_dump()), exit 0
 *	...
 *	conf_free(dkeys, &dc)
 *
 * Cross-key rules are the caller's: this module checks each value alone.
 * After conf_parse_args() returns 0 the server checks what spans keys,
 * e.g. heartbeat-timeout >= 2 x heartbeat-interval (DESIGN.md §5), in a
 * function of the form
 *
 *	int dconf_check(const struct dconf *, char *err, size_t errlen);
 *
 * that writes a one-line error such as "heartbeat-timeout: 40 is less
 * than twice heartbeat-interval (30)" and returns -1, so that -n reports
 * it and exits 1 exactly as for a bad value.
 *
 * Every function returns 0 on success and -1 on failure with a one-line
 * message (no newline) in err, which may be NULL when errlen is 0:
 *
 *	FILE:LINE: unknown key 'x'
 *	FILE:LINE: heartbeat-interval: not a number: 'abc'
 *	--heartbeat-interval: not a number: 'abc'
 *	heartbeat-interval: 0 is below the minimum 1	(conf_set)
 */
#ifndef NAP_CONFIG_H
#define NAP_CONFIG_H

#include <stddef.h>
#include <stdio.h>

enum conf_type {
	CONF_STR,	/* char *, malloc'd; NULL when unset */
	CONF_INT,	/* long, decimal */
	CONF_BOOL,	/* int 0/1: yes|no|true|false|on|off|1|0 */
	CONF_ADDR,	/* struct conf_addr: HOST:PORT or [V6]:PORT */
	CONF_STRLIST,	/* struct conf_list: repeatable, accumulates */
	CONF_LEVEL,	/* int syslog level: error|warn|info|debug */
	CONF_SIZE	/* size_t, bytes, suffix K, M or G (x 1024^n) */
};

struct conf_key {
	const char	*name;	/* as in the file; "--" name on the CLI */
	enum conf_type	 type;
	size_t		 offset; /* offsetof() the field in the caller's struct */
	const char	*def;	/* default as text, parsed like a value;
				   NULL: unset (must be NULL for STRLIST) */
	long		 min, max; /* bounds of INT and SIZE values;
				   both 0: unbounded */
	const char	*help;	/* one line for -h; when it starts with
				   "FILE ", "DIR " or "HOST:PORT ", that
				   word names the argument (--cert FILE)
				   instead of the type's VALUE, N, SIZE... */
};
/*
 * A STRLIST key's min (unused by lists) may be CONF_REST: in a file its
 * value is the rest of the line, spaces included, up to a " #" comment
 * (DESIGN.md §7's "plugin PATH [ARGS]"); a quoted value still works.
 */
#define CONF_REST	1

/* An address as written; host is not resolved here. */
struct conf_addr {
	char	host[256];	/* without the brackets; "" when unset */
	char	port[8];	/* decimal 0..65535; 0 = any free port */
};

/* A repeatable key's values in file (then command-line) order. */
struct conf_list {
	char	**v;
	size_t	  n;
};

/* What conf_parse_args() found besides keys. */
struct conf_cli {
	const char	*config_file;	/* -f FILE (points into argv) or NULL */
	int		 check_only;	/* -n */
	int		 daemon;	/* --daemon */
	int		 help;		/* -h, --help */
	int		 version;	/* --version */
	int		 verbose;	/* how many -v */
	int		 usage;		/* on failure: 1 when the command line
					   itself was wrong (exit 2), 0 when
					   the config file was (exit 1) */
};

/*
 * Zero every field the table names in dst, then apply the defaults.
 * Fields of dst that are not in the table are not touched.  Fails only
 * on a bad default (a programming error).  dst must hold no values
 * (conf_free() first).
 */
int	conf_init(const struct conf_key *keys, void *dst, char *err,
	    size_t errlen);

/*
 * Read the config file at path into dst, over what dst holds: a key set
 * in the file replaces its default; a repeatable key appends.  A key
 * other than a repeatable one may appear once per file.  On failure dst
 * holds the values read before the bad line; it still needs conf_free().
 */
int	conf_load(const struct conf_key *keys, void *dst, const char *path,
	    char *err, size_t errlen);

/*
 * Set key to value (text, as in the file).  A repeatable key appends.
 * value NULL means a bare key: "yes" for a bool, an error for the others.
 */
int	conf_set(const struct conf_key *keys, void *dst, const char *key,
	    const char *value, char *err, size_t errlen);

/*
 * Parse the command line: -f FILE, -n, -v, -h/--help, --daemon, and
 * --KEY VALUE or --KEY=VALUE for every key (a bool also bare, --KEY; a
 * bool word after it, yes or no, is taken as its value).  Short flags
 * may be grouped (-nv, -nf FILE); "--" ends the options.  No operands are
 * accepted.  Loads the -f file first, then applies the command-line
 * values over it: a scalar's last value wins, and a repeatable key named
 * on the command line replaces the file's list.  When -h is given it
 * returns 0 at once with out->help set, without reading any file.
 * On failure out->usage tells a bad command line (an unknown option, a
 * missing or bad --KEY value, an operand: DESIGN.md §9's exit 2) from a
 * bad or unreadable -f file (exit 1).  Call conf_init() first.
 */
int	conf_parse_args(const struct conf_key *keys, void *dst, int argc,
	    char **argv, struct conf_cli *out, char *err, size_t errlen);

/* The -h text, generated from the table, defaults included. */
void	conf_usage(const struct conf_key *keys, const char *prog, FILE *fp);

/*
 * The effective configuration in the file's syntax, one key a line
 * ("# key (unset)" for an unset one), so that the output loads back.
 */
void	conf_dump(const struct conf_key *keys, const void *dst, FILE *fp);

/*
 * SIGHUP (reconf.c): the configuration read again as at the start (the
 * -f file, then argc/argv over it) and compared key by key with *run (a
 * struct of size bytes).  A key named in live (NULL-terminated) that
 * changed takes its new value, which the caller then applies; any other
 * change is logged "KEY changed: needs restart" and the running value
 * kept.  Returns how many live keys changed, or -1 with err when the
 * file cannot be read or is invalid (then nothing changes).
 */
int	conf_reload(const struct conf_key *keys, void *run, size_t size,
	    const char *const *live, int argc, char **argv, char *err,
	    size_t errlen);

/* Free what the table's fields hold and leave them unset; idempotent. */
void	conf_free(const struct conf_key *keys, void *dst);
/* The directory of a file the server will write exists and is writable
 * (key names the option in the message).  0, or -1 with err. */
int	conf_dir_writable(const char *key, const char *path, char *err,
	    size_t errlen);

#endif /* NAP_CONFIG_H */
