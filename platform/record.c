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

#define GATE_MS		250	/* the listener's gate, as the workers' tick */

static bool	recorded(const struct env_header *, bool);
static void	gate_cb(evutil_socket_t, short, void *);

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

	if (s->audit_ev != NULL)
		event_free(s->audit_ev);
	s->audit_ev = NULL;
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

/*
 * stop-accepting (nap.conf(5) audit-on-full): while the writer cannot
 * keep the records, a worker reads nothing from its logged-in links.
 * Their silence is ours, not theirs: the heartbeat deadline is pushed
 * on meanwhile.  A link the input cap paused stays paused (conn.c
 * resumes it).  Called every tick, after conn_sweep().
 */
void
record_gate(struct worker *w)
{
	struct conn *c;
	bool stop = !audit_accepting(w->srv->audit);
	int64_t now = mono_ms();

	if (!stop && !w->audit_stopped)
		return;
	for (c = w->set.links; c != NULL; c = c->next) {
		if (c->state != C_ONLINE)
			continue;
		if (stop) {
			bufferevent_disable(c->bev, EV_READ);
			c->last_rx = now;
		} else if (!c->paused)
			bufferevent_enable(c->bev, EV_READ);
	}
	if (stop != w->audit_stopped)
		log_warnx("worker %d: audit: %s reading from links",
		    w->io.idx, stop ? "stopped" : "resumed");
	w->audit_stopped = stop;
}

/* The same for the listener, on the main thread. */
static void
gate_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct server *s = arg;
	bool stop = !audit_accepting(s->audit);

	(void)fd;
	(void)ev;
	if (s->pool.lis.lis == NULL)
		return;
	/* listen.c's retry after EMFILE may have enabled it: again. */
	if (stop)
		evconnlistener_disable(s->pool.lis.lis);
	if (stop == s->lis_paused)
		return;
	if (!stop)
		evconnlistener_enable(s->pool.lis.lis);
	s->lis_paused = stop;
	log_warnx("audit: %s accepting links", stop ? "stopped" :
	    "resumed");
}

/* Starts the listener's gate (only when the policy can stop). */
int
record_gate_start(struct server *s)
{
	struct timeval tv = { 0, GATE_MS * 1000 };

	if (s->audit == NULL || s->acf.on_full != AUDIT_FULL_STOP_ACCEPTING)
		return 0;
	if ((s->audit_ev = event_new(s->base, -1, EV_PERSIST, gate_cb, s)) ==
	    NULL || event_add(s->audit_ev, &tv) == -1)
		return -1;
	return 0;
}
