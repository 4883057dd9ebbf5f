/*
 * login.c - Login at the platform (DESIGN.md §4): a domain server
 * (certificate RRRR0000, Login naming its device-facing address) puts
 * its region up; a device (RRRRNNNN) may log in only to Locate.  Any
 * other certificate code is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "log.h"
#include "platform.h"

static const char *check_address(const char *);
static void	login_reply(struct link *, uint32_t);
static int	refuse(struct link *, int, const struct env_header *,
		    const char *);

/*
 * The value of attribute attr of the first element elem directly inside
 * the parameters of the envelope body.  0 and out filled; 1 when there
 * is no such element or attribute (or it does not fit out); -1 when the
 * envelope does not parse.
 */
int
param_attr(struct env_parser *p, const uint8_t *body, size_t len,
    const char *elem, const char *attr, char *out, size_t outlen)
{
	struct env_msg *m = NULL;
	struct env_error err;
	const char *v;
	int rc = 1;

	if (env_parse(p, body, len, &m, &err) == -1)
		return -1;
	if ((v = env_param_get(m, elem, attr)) != NULL && strlen(v) < outlen) {
		memcpy(out, v, strlen(v) + 1);
		rc = 0;
	}
	env_msg_free(m);
	return rc;
}

/* "host:port" with a port 1..65535 and no control characters: NULL when
 * good, else why not. */
static const char *
check_address(const char *a)
{
	const char *colon = strrchr(a, ':');
	char *end;
	long port;

	if (colon == NULL || colon == a)
		return "domain address is not host:port";
	for (const char *c = a; *c != '\0'; c++)
		if ((unsigned char)*c < 0x21 || *c == 0x7f)
			return "domain address holds a space or a control "
			    "character";
	port = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || port < 1 ||
	    port > 65535)
		return "domain address has no port 1..65535";
	return NULL;
}

/* A refused Login: Error, then close (§4 table).  Always -1. */
static int
refuse(struct link *l, int code, const struct env_header *h, const char *why)
{
	record_in(l, h, code, l->w->raw, l->w->rawlen);
	send_error(l, code, l->c.code, h, why);
	conn_log(&l->c, "%08X refused: %s", l->c.code, why);
	link_close(l, why);
	return -1;
}

static void
login_reply(struct link *l, uint32_t seq)
{
	struct server *s = l->w->srv;
	char params[160];

	(void)env_p_result(params, sizeof(params), 0, "ok",
	    (unsigned)s->conf.hb_interval, (unsigned)s->conf.hb_timeout);
	/* §4: LoginReply's SessionId is the new session; it echoes Seq. */
	send_frame(l, ENV_T_LOGIN_REPLY, seq, l->c.code, l->session, params);
}

/*
 * The first frame of a link (§4 table).  Returns 0, or -1 when the link
 * was closed.
 */
int
login_handle(struct link *l, const uint8_t *body, size_t len,
    const struct env_header *h)
{
	struct server *s = l->w->srv;
	char addr[ADDR_MAX + 1], reason[ADDR_MAX + 16];
	const char *why;
	uint64_t old;
	int rc;

	if (h->type != ENV_T_LOGIN)
		return refuse(l, 401, h, "not logged in");
	if (h->from != l->c.code)
		return refuse(l, 403, h, "Login From is not the certificate's "
		    "code");
	if (!env_code_is_domain(l->c.code) && !env_code_is_device(l->c.code))
		return refuse(l, 403, h, "only domain servers and devices "
		    "log in at a platform");
	if (l->kind == P_DOMAIN) {
		rc = param_attr(l->w->parser, body, len, "domain", "address",
		    addr, sizeof(addr));
		if (rc != 0)
			return refuse(l, 400, h, "a domain's Login needs "
			    "<domain address=\"host:port\"/>");
		if ((why = check_address(addr)) != NULL)
			return refuse(l, 400, h, why);
	}
	frame_token(l->session);
	l->c.state = C_ONLINE;
	/* §8: the session's record stands for its Login and LoginReply. */
	if (l->kind == P_DOMAIN)
		snprintf(reason, sizeof(reason), "domain at %s", addr);
	else
		snprintf(reason, sizeof(reason), "device, to Locate");
	record_login(l, reason);
	record_count_in(l, h, len);
	login_reply(l, h->seq);
	if (l->kind == P_DOMAIN) {
		/* After LoginReply: the table follows it (§5). */
		if (table_region_up(l, addr) == -1) {
			link_close(l, "no memory for the region table");
			return -1;
		}
		conn_log(&l->c, "domain %08X logged in, address %s, session "
		    "%s", l->c.code, addr, l->session);
	} else {
		if ((old = table_device_set(s, l->c.code, link_where(l))) != 0) {
			conn_log(&l->c, "%08X replaces its older link",
			    l->c.code);
			worker_send(l->w, old, IT_KICK, l->c.code, NULL, 0);
		}
		conn_log(&l->c, "device %08X logged in to Locate, session "
		    "%s", l->c.code, l->session);
	}
	return l->c.state == C_CLOSING ? -1 : 0;
}
