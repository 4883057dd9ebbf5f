/*
 * acl_rules.h - the rules of the acl plugin (DESIGN.md §7): a small line
 * format, parsed without libxml2 (fuzzed: test/fuzz/fuzz_acl.c).
 *
 *	# a comment; blank lines are ignored
 *	default deny|allow		(once; deny when absent)
 *	allow|deny [from=SPEC] [to=SPEC] [type=TYPES]
 *
 * SPEC: "*", a region "RRRR" (4 hex digits), a code "RRRRNNNN", or a
 * range "LO-HI" of either kind (regions RRRR-RRRR, codes C1-C2).
 * TYPES: "*", "N" or "N-M" (decimal).  A missing selector is "*".  The
 * first rule that matches (From, To, type) decides; none: the default.
 */
#ifndef NAP_ACL_RULES_H
#define NAP_ACL_RULES_H

#include <stddef.h>
#include <stdint.h>

struct acl_rule {
	int		 allow;
	uint32_t	 flo, fhi;	/* From */
	uint32_t	 tlo, thi;	/* To */
	uint32_t	 ylo, yhi;	/* Message_Type */
	unsigned	 line;
};

struct acl {
	struct acl_rule	*r;
	size_t		 n;
	int		 def_allow;
};

/*
 * Parses text[len] (need not be NUL-terminated).  0 with *out (free it
 * with acl_free()), or -1 with *line the bad line and err its reason.
 */
int	acl_parse(const char *text, size_t len, struct acl **out,
	    unsigned *line, char *err, size_t errlen);
/* Reads and parses a file: -1 with err "PATH:LINE: reason". */
int	acl_load(const char *path, struct acl **out, char *err,
	    size_t errlen);
/* 1 when allowed, 0 when denied; also the deciding rule's line in *line
 * (0: the default). */
int	acl_check(const struct acl *, uint32_t from, uint32_t to,
	    uint32_t type, unsigned *line);
void	acl_free(struct acl *);

#endif /* NAP_ACL_RULES_H */
