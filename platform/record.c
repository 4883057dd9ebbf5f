/*
 * record.c - nap-platform's side of the audit log (DESIGN.md §6, §8;
 * common/audit.h has the writer): which frames get a record and with
 * what verdict, the session records of the links with their counts per
 * type, and the stop-accepting gate on the listener and the links.
 *
 * What is recorded: every frame a logged-in link sends (hop in, link =
 * its code) once the route step acted, verdict routed or refused with
 * the §4 code; every frame written to a link (hop out, link = the
 * destination's code), the forwarded bytes with the Via stamp and the
 * platform's own Errors, RouteUpdates and LocateReplies alike.  Not
 * recorded: Check and CheckReply (3, 4: heartbeats would flood the log;
 * the session counts still hold them) and an accepted Login with its
 * LoginReply (1, 2: the session's login record says it).
 */
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "platform.h"


static bool	recorded(const struct env_header *, bool);
static bool	gate_ok(const void *);

/* Heartbeats never; a LoginReply goes with the login record. */
static bool
recorded(const struct env_header *h, bool out)
{
	return h == NULL || (h->type != ENV_T_CHECK &&
	    h->type != ENV_T_CHECK_REPLY && !(out &&
	    h->type == ENV_T_LOGIN_REPLY));
}

/* Opens the log when `audit' is set.  0, or -1 with err filled. */
int
record_open(struct server *s, char *err, size_t errlen)
{
	if (s->acf.path == NULL)
		return 0;
	if ((s->audit = audit_open(&s->acf, err, errlen)) == NULL)
		return -1;
	log_info("audit log %s, instance %s", s->acf.path, s->acf.instance);
	return 0;
}

/* After the workers are joined: writes the rest, logs the final counts. */
void
record_close(struct server *s)
{
	struct audit_stat st;

	if (s->audit == NULL)
		return;
	audit_close(s->audit, &st);
	s->audit = NULL;
	if (st.lost > 0)
		log_warnx("audit: %llu records written, %llu lost%s%s",
		    (unsigned long long)st.written,
		    (unsigned long long)st.lost, *st.last_error ? "; last "
		    "error: " : "", st.last_error);
	else
		log_info("audit: %llu records written, none lost",
		    (unsigned long long)st.written);
}

/*
 * The IN record of a frame from l: refused with code, or routed (0).
 * h is NULL when its Header did not parse; body is as received.
 */
void
record_in(struct link *l, const struct env_header *h, int code,
    const uint8_t *body, size_t len)
{
	struct audit *a = l->w->srv->audit;

	if (a == NULL || !recorded(h, false))
		return;
	audit_msg(a, AUDIT_IN, l->c.code, code != 0 ? AUDIT_REFUSED :
	    AUDIT_ROUTED, code, h, body, len);
}

/* The OUT record of a whole frame (prefix included) written to l. */
void
record_out(struct link *l, const struct env_header *h, const uint8_t *frame,
    size_t len)
{
	struct audit *a = l->w->srv->audit;

	if (a == NULL)
		return;
	if (l->counts != NULL)
		audit_counts_add(l->counts, h->type, true, len - 4);
	if (recorded(h, true))
		audit_msg(a, AUDIT_OUT, l->c.code, AUDIT_ROUTED, 0, h,
		    frame + 4, len - 4);
}

/* A frame of a logged-in link, in its session's counts (h NULL: it did
 * not parse). */
void
record_count_in(struct link *l, const struct env_header *h, size_t len)
{
	if (l->counts != NULL)
		audit_counts_add(l->counts, h != NULL ? h->type :
		    AUDIT_TYPE_OTHER, false, len);
}

/*
 * A login: its session record, and the link's counts from now on
 * (allocated only when audited, so that an idle link stays small).
 * Without memory for the counts the logout record has none.
 */
void
record_login(struct link *l, const char *reason)
{
	struct audit *a = l->w->srv->audit;

	if (a == NULL)
		return;
	if (l->counts == NULL && (l->counts = calloc(1,
	    sizeof(*l->counts))) == NULL)
		log_warnx("link %u: no memory for its audit counts", l->c.id);
	audit_session(a, l->c.code, l->session, true, reason, NULL);
}

/* A logged-in link closes (logout, lost, replaced, stopping...). */
void
record_logout(struct link *l, const char *why)
{
	struct audit *a = l->w->srv->audit;

	if (a != NULL)
		audit_session(a, l->c.code, l->session, false, why, l->counts);
	free(l->counts);
	l->counts = NULL;
}

/* stop-accepting (nap.conf(5) audit-on-full): no link is read while
 * the writer cannot keep the records (conn.c).  Called every tick. */
void
record_gate(struct worker *w)
{
	conn_hold_all(&w->set, !audit_accepting(w->srv->audit));
}

static bool
gate_ok(const void *audit)
{
	return audit_accepting(audit);
}

/* Starts the listener's gate (only when the policy can stop). */
int
record_gate_start(struct server *s)
{
	if (s->audit == NULL || s->acf.on_full != AUDIT_FULL_STOP_ACCEPTING)
		return 0;
	return listener_gate(&s->pool.lis, s->base, gate_ok, s->audit,
	    "audit log");
}
