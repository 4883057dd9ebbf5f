/*
 * envelope_internal.h - the body of struct env_msg, shared by parse.c
 * (which fills it) and msg.c (which builds, edits and serializes it).
 * Not installed; outside xml/ only the codec's own tests include it.
 */
#ifndef NAP_ENVELOPE_INTERNAL_H
#define NAP_ENVELOPE_INTERNAL_H

#include "envelope.h"

/*
 * The parameters as a libxml2 element node (xmlNodePtr), parsed on first
 * use and owned by the message; NULL when the message has none.  Code
 * outside xml/ reads parameters through proto.h; the codec's own tests
 * (test/test_envelope_*.c) look at the tree itself.
 */
void	*env_msg_parameters_node(struct env_msg *);
/* That tree in words (msg.c): what the codec's tests look at. */
size_t	env_params_outline(struct env_msg *, char *buf, size_t cap);

/* An unknown Header attribute, or a namespace declaration. */
struct env_pair {
	char	*name;		/* qualified attribute name; ns prefix or NULL */
	char	*value;		/* decoded value; ns URI */
};

struct env_list {
	struct env_pair	*v;
	size_t		 n, cap;
};

struct env_msg {
	struct env_header h;
	struct env_list	 attrs;		/* unknown Header attributes */
	struct env_list	 msg_ns;	/* xmlns declarations on Message */
	struct env_list	 hdr_ns;	/* xmlns declarations on Header */
	char		*params;	/* exact bytes of <parameters>, or NULL */
	size_t		 params_len;
	void		*params_doc;	/* xmlDocPtr parsed on demand */
};

/* msg.c */
/* Appends copies of name (may be NULL) and value; 0 or -1 (no memory). */
int	env_list_add(struct env_list *, const char *name, size_t nlen,
	    const char *value, size_t vlen);
struct env_msg *env_msg_alloc(void);

/* parse.c */
void	env_lib_init(void);
/* Checks a parsed or built message: a throwaway parse of its bytes. */
int	env_msg_check(const struct env_msg *, struct env_error *);

#endif /* NAP_ENVELOPE_INTERNAL_H */
