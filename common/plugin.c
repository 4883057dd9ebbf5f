/*
 * plugin.c - DESIGN.md §7 plugins, the servers' side: dlopen of each
 * `plugin PATH [ARGS]` line with its ABI checked, the nap_api table the
 * plugins call (nap_plugin.h), hooks adapted onto the §6 pipe, and the
 * worker pool that runs subscription handlers off the I/O threads
 * (half-sync/half-async: an I/O thread only copies a request into a
 * bounded queue).
 *
 * Frames a plugin makes the server create (replies, errors, new
 * messages) are built here, checked by the envelope parser, and handed
 * to the host's deliver callback with an outbox: the pool thread's own,
 * flushed after each handler, or a shared one under a mutex for the
 * other threads.  They then travel as items through the I/O workers'
 * inboxes like any routed message (iopool.h).
 */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "frames.h"
#include "log.h"
#include "nap_plugin.h"
#include "plugin.h"
#include "proto.h"

#ifndef NAP_PLUGIN_DIR
#define NAP_PLUGIN_DIR	"/usr/local/lib/nap/plugins"
#endif

#define MAX_PLUGINS	32
#define MAX_SUBS	64
#define MAX_ARGS	64
#define QUEUE_DEFAULT	1024

struct plugins;

/* One loaded plugin; its nap_host handle is this record. */
struct nap_host {
	struct plugins	*ps;
	char		*line;		/* the words, NUL-separated */
	char		*path;
	char		 name[64];
	int		 argc;
	char		*argv[MAX_ARGS + 1];
	void		*dl;
	void		*state;
	int		(*reload)(void *, char *, size_t);
	void		(*fini)(void *);
};

struct hookreg {
	struct hookreg	*next;
	struct nap_host	*pl;
	enum pipe_stage	 st;
	nap_hook_fn	 fn;
	void		*arg;
	char		 name[80];
};

struct sub {
	uint32_t	 lo, hi;
	nap_handler_fn	 fn;
	void		*arg;
	struct nap_host	*pl;
	atomic_ulong	 taken, full;
};

/* A queued request: its Header and a copy of its envelope. */
struct job {
	struct sub		*sub;
	struct env_header	 h;
	uint32_t		 link;
	size_t			 len;
	uint8_t			 body[];
};

/* A pool thread. */
struct pworker {
	struct plugins		*ps;
	pthread_t		 tid;
	struct iop_outbox	 ob;
	int			 started;
};

struct plugins {
	struct plugin_host	 host;
	struct pipe		*pipe;
	struct nap_host		*pl[MAX_PLUGINS];
	int			 npl;
	struct nap_host		*loading;	/* registration allowed */
	struct hookreg		*hooks;
	struct sub		 subs[MAX_SUBS];
	int			 nsubs;
	/* the pool */
	struct pworker		*pw;
	int			 nworkers;
	pthread_mutex_t		 mu;		/* guards the queue */
	pthread_cond_t		 cv;
	struct job		**q;
	size_t			 qcap, qhead, qn;
	int			 stopping;
	atomic_ulong		 queued, full, replies, failed, sent;
	/* outbox of threads that are not the pool's */
	pthread_mutex_t		 side_mu;
	struct iop_outbox	 side;
};

/* A message in a hook (nap_msg), and a request in a handler (nap_req). */
struct nap_msg {
	struct pipe_ctx		*ctx;
	struct hookreg		*reg;
	struct nap_header	 hdr;
	int			 code, flags;
	char			 text[96];
};
struct nap_req {
	struct job		*job;
	struct nap_header	 hdr;
	struct env_msg		*msg;		/* parsed on demand */
	char			*inner;		/* params_xml's copy */
	int			 answered;
};

/* Per thread: a parser for the frames made here, and two rewrite
 * buffers (a second transformer may rewrite the first's bytes). */
struct tl {
	struct env_parser	*parser;
	struct pworker		*pw;		/* when a pool thread */
	uint8_t			*buf[2];
	size_t			 cap[2];
	int			 cur;
	struct env_header	 h;
};

static pthread_once_t	 tl_once = PTHREAD_ONCE_INIT;
static pthread_key_t	 tl_key;
static uint32_t		 tl_max = 1 << 20;

static void	tl_make_key(void);
static void	tl_free(void *);
static struct tl *tl_get(void);
static int	load_one(struct plugins *, const char *, char *, size_t);
static int	split_line(struct nap_host *, const char *, char *, size_t);
static void	*pool_main(void *);
static void	job_run(struct plugins *, struct pworker *, struct job *);
static void	hdr_copy(struct nap_header *, const struct env_header *);
static int	emit(struct plugins *, struct iop_outbox *, const uint8_t *,
		    size_t);
static int	make_msg(struct plugins *, struct iop_outbox *, uint32_t,
		    uint32_t, int, uint32_t, const char *);
static int	make_error(struct plugins *, struct iop_outbox *,
		    const struct env_header *, int, const char *);
static void	side_run(struct plugins *, int (*)(struct plugins *,
		    struct iop_outbox *, void *), void *);
static enum pipe_verdict hook_run(struct pipe_ctx *, void *);

/* --- the api table --------------------------------------------------------- */

static void	a_log(struct nap_host *, enum nap_level, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	a_hook(struct nap_host *, enum nap_stage, const char *,
		    nap_hook_fn, void *);
static int	a_subscribe(struct nap_host *, uint32_t, uint32_t,
		    nap_handler_fn, void *);
static const struct nap_header *a_msg_header(const struct nap_msg *);
static const uint8_t *a_msg_bytes(const struct nap_msg *, size_t *);
static uint32_t	a_msg_link(const struct nap_msg *);
static enum nap_verdict a_reject(struct nap_msg *, int, const char *, int);
static int	a_answer(struct nap_msg *, uint32_t, const char *);
static int	a_rewrite(struct nap_msg *, const uint8_t *, size_t);
static const struct nap_header *a_req_header(const struct nap_req *);
static const uint8_t *a_req_bytes(const struct nap_req *, size_t *);
static int	a_reply(struct nap_req *, uint32_t, const char *);
static int	a_fail(struct nap_req *, int, const char *);
static int	a_send(struct nap_host *, uint32_t, uint32_t, const char *);
static struct nap_param *a_param_first(struct nap_req *, const char *);
static struct nap_param *a_param_next(struct nap_param *, const char *);
static const char *a_param_name(const struct nap_param *);
static const char *a_param_attr(struct nap_param *, const char *);
static const char *a_params_xml(struct nap_req *, size_t *);

static struct nap_api api = {
	.abi = NAP_PLUGIN_ABI,
	.log = a_log,
	.hook = a_hook,
	.subscribe = a_subscribe,
	.msg_header = a_msg_header,
	.msg_bytes = a_msg_bytes,
	.msg_link = a_msg_link,
	.reject = a_reject,
	.answer = a_answer,
	.rewrite = a_rewrite,
	.req_header = a_req_header,
	.req_bytes = a_req_bytes,
	.reply = a_reply,
	.fail = a_fail,
	.send = a_send,
	.param_first = a_param_first,
	.param_next = a_param_next,
	.param_name = a_param_name,
	.param_attr = a_param_attr,
	.params_xml = a_params_xml,
};

/* --- thread-local state ---------------------------------------------------- */

static void
tl_make_key(void)
{
	if (pthread_key_create(&tl_key, tl_free) != 0)
		fatalx("plugins: pthread_key_create failed");
}

/* Runs at the exit of every thread that used one. */
static void
tl_free(void *p)
{
	struct tl *t = p;

	if (t == NULL)
		return;
	env_parser_free(t->parser);
	free(t->buf[0]);
	free(t->buf[1]);
	free(t);
}

/* This thread's state, made on first use (fatal on no memory: a hook
 * cannot fail softly halfway through a frame). */
static struct tl *
tl_get(void)
{
	struct tl *t;

	(void)pthread_once(&tl_once, tl_make_key);
	if ((t = pthread_getspecific(tl_key)) != NULL)
		return t;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->parser = env_parser_new(tl_max)) == NULL ||
	    pthread_setspecific(tl_key, t) != 0)
		fatalx("plugins: no memory for a thread's parser");
	return t;
}

/* --- loading ----------------------------------------------------------------- */

int
plugins_load(struct plugins **out, const struct plugin_host *host,
    const struct conf_list *list, long workers, long queue, struct pipe *p,
    char *err, size_t errlen)
{
	struct plugins *ps;

	*out = NULL;
	if (list->n == 0)
		return 0;
	if (list->n > MAX_PLUGINS) {
		snprintf(err, errlen, "plugin: at most %d plugins",
		    MAX_PLUGINS);
		return -1;
	}
	if ((ps = calloc(1, sizeof(*ps))) == NULL) {
		snprintf(err, errlen, "plugins: no memory");
		return -1;
	}
	ps->host = *host;
	ps->pipe = p;
	tl_max = host->max_frame;
	api.server = host->server;
	api.code = host->code;
	pthread_mutex_init(&ps->mu, NULL);
	pthread_cond_init(&ps->cv, NULL);
	pthread_mutex_init(&ps->side_mu, NULL);
	if (workers <= 0)
		workers = sysconf(_SC_NPROCESSORS_ONLN);
	ps->nworkers = workers < 1 ? 1 : workers > 256 ? 256 : (int)workers;
	ps->qcap = queue > 0 ? (size_t)queue : QUEUE_DEFAULT;
	if ((ps->q = calloc(ps->qcap, sizeof(*ps->q))) == NULL ||
	    (ps->pw = calloc((size_t)ps->nworkers, sizeof(*ps->pw))) == NULL ||
	    iop_outbox_init(&ps->side, host->pool->n) == -1) {
		snprintf(err, errlen, "plugins: no memory");
		goto err;
	}
	for (size_t i = 0; i < list->n; i++)
		if (load_one(ps, list->v[i], err, errlen) == -1)
			goto err;
	*out = ps;
	return 0;
err:
	plugins_free(ps);
	return -1;
}

/* The words of "PATH [ARGS]"; a PATH without '/' names a bundled one. */
static int
split_line(struct nap_host *pl, const char *line, char *err, size_t errlen)
{
	char *s, *w, *base, *dot;
	size_t n;

	if ((pl->line = strdup(line)) == NULL)
		goto nomem;
	for (s = pl->line; *s != '\0';) {
		while (isspace((unsigned char)*s))
			*s++ = '\0';
		if (*s == '\0')
			break;
		if (pl->argc == MAX_ARGS) {
			snprintf(err, errlen, "plugin %s: more than %d words",
			    pl->argv[0], MAX_ARGS);
			return -1;
		}
		pl->argv[pl->argc++] = s;
		while (*s != '\0' && !isspace((unsigned char)*s))
			s++;
	}
	if (pl->argc == 0) {
		snprintf(err, errlen, "plugin: empty line (PATH [ARGS])");
		return -1;
	}
	w = pl->argv[0];
	n = strlen(w) + sizeof(NAP_PLUGIN_DIR) + 8;
	if ((pl->path = malloc(n)) == NULL)
		goto nomem;
	if (strchr(w, '/') != NULL)
		snprintf(pl->path, n, "%s", w);
	else
		snprintf(pl->path, n, "%s/%s.so", NAP_PLUGIN_DIR, w);
	base = strrchr(pl->path, '/') + 1;
	snprintf(pl->name, sizeof(pl->name), "%s", base);
	if ((dot = strstr(pl->name, ".so")) != NULL)
		*dot = '\0';
	pl->argv[0] = pl->path;
	return 0;
nomem:
	snprintf(err, errlen, "plugin %s: no memory", line);
	return -1;
}

static int
load_one(struct plugins *ps, const char *line, char *err, size_t errlen)
{
	struct nap_host *pl;
	const unsigned *abi;
	int (*init)(const struct nap_api *, struct nap_host *, int, char **,
	    void **, char *, size_t);
	char why[400] = "";

	if ((pl = calloc(1, sizeof(*pl))) == NULL) {
		snprintf(err, errlen, "plugin %s: no memory", line);
		return -1;
	}
	pl->ps = ps;
	ps->pl[ps->npl++] = pl;
	if (split_line(pl, line, err, errlen) == -1)
		return -1;
	if ((pl->dl = dlopen(pl->path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errlen, "plugin %s: cannot load: %s", pl->path,
		    dlerror());
		return -1;
	}
	if ((abi = dlsym(pl->dl, "nap_plugin_abi")) == NULL) {
		snprintf(err, errlen, "plugin %s: no nap_plugin_abi symbol: "
		    "not a NAP plugin", pl->path);
		return -1;
	}
	if (*abi != NAP_PLUGIN_ABI) {
		snprintf(err, errlen, "plugin %s: built for plugin ABI %u, "
		    "this server has ABI %u", pl->path, *abi, NAP_PLUGIN_ABI);
		return -1;
	}
	*(void **)&init = dlsym(pl->dl, "nap_plugin_init");
	*(void **)&pl->reload = dlsym(pl->dl, "nap_plugin_reload");
	*(void **)&pl->fini = dlsym(pl->dl, "nap_plugin_fini");
	if (init == NULL) {
		snprintf(err, errlen, "plugin %s: no nap_plugin_init",
		    pl->path);
		return -1;
	}
	ps->loading = pl;
	if (init(&api, pl, pl->argc, pl->argv, &pl->state, why,
	    sizeof(why)) != 0) {
		ps->loading = NULL;
		pl->fini = NULL;	/* init failed: nothing to finish */
		snprintf(err, errlen, "plugin %s: init failed: %s", pl->path,
		    why[0] != '\0' ? why : "(no reason given)");
		return -1;
	}
	ps->loading = NULL;
	log_info("plugin %s loaded (%s)", pl->name, pl->path);
	return 0;
}

int
plugins_start(struct plugins *ps, char *err, size_t errlen)
{
	if (ps == NULL || ps->nsubs == 0)
		return 0;	/* hooks only: no pool needed */
	for (int i = 0; i < ps->nworkers; i++) {
		struct pworker *pw = &ps->pw[i];

		pw->ps = ps;
		if (iop_outbox_init(&pw->ob, ps->host.pool->n) == -1 ||
		    pthread_create(&pw->tid, NULL, pool_main, pw) != 0) {
			snprintf(err, errlen, "plugins: cannot start the "
			    "worker pool");
			return -1;
		}
		pw->started = 1;
	}
	log_info("plugins: %d pool workers, queue of %zu", ps->nworkers,
	    ps->qcap);
	return 0;
}

void
plugins_reload(struct plugins *ps)
{
	char why[400];

	if (ps == NULL)
		return;
	for (int i = 0; i < ps->npl; i++) {
		struct nap_host *pl = ps->pl[i];

		if (pl->reload == NULL)
			continue;
		why[0] = '\0';
		if (pl->reload(pl->state, why, sizeof(why)) != 0)
			log_warnx("plugin %s: reload failed, keeping the old "
			    "state: %s", pl->name, why);
		else
			log_info("plugin %s reloaded", pl->name);
	}
}

/* What is still queued gets 503 (the pool is going); then join. */
void
plugins_stop(struct plugins *ps)
{
	struct job *j;

	if (ps == NULL)
		return;
	pthread_mutex_lock(&ps->mu);
	ps->stopping = 1;
	pthread_cond_broadcast(&ps->cv);
	pthread_mutex_unlock(&ps->mu);
	for (int i = 0; i < ps->nworkers; i++)
		if (ps->pw[i].started) {
			pthread_join(ps->pw[i].tid, NULL);
			ps->pw[i].started = 0;
		}
	while (ps->qn > 0) {
		j = ps->q[ps->qhead];
		ps->qhead = (ps->qhead + 1) % ps->qcap;
		ps->qn--;
		pthread_mutex_lock(&ps->side_mu);
		(void)make_error(ps, &ps->side, &j->h, 503, "server stopping");
		iop_outbox_flush(ps->host.pool, &ps->side);
		pthread_mutex_unlock(&ps->side_mu);
		free(j);
	}
}

void
plugins_free(struct plugins *ps)
{
	struct hookreg *r;

	if (ps == NULL)
		return;
	plugins_stop(ps);
	for (int i = ps->npl - 1; i >= 0; i--) {
		struct nap_host *pl = ps->pl[i];

		if (pl->fini != NULL)
			pl->fini(pl->state);
		if (pl->dl != NULL)
			dlclose(pl->dl);
		free(pl->line);
		free(pl->path);
		free(pl);
	}
	while ((r = ps->hooks) != NULL) {
		ps->hooks = r->next;
		free(r);
	}
	for (int i = 0; i < ps->nworkers && ps->pw != NULL; i++)
		iop_outbox_free(&ps->pw[i].ob, ps->host.pool->n);
	iop_outbox_free(&ps->side, ps->host.pool->n);
	free(ps->pw);
	free(ps->q);
	pthread_mutex_destroy(&ps->mu);
	pthread_cond_destroy(&ps->cv);
	pthread_mutex_destroy(&ps->side_mu);
	free(ps);
	/* This thread's parser, if it made one (the main thread never
	 * exits through pthread_exit, so its destructor would not run). */
	(void)pthread_once(&tl_once, tl_make_key);
	tl_free(pthread_getspecific(tl_key));
	(void)pthread_setspecific(tl_key, NULL);
}

/* --- dispatch and the pool --------------------------------------------------- */

int
plugin_dispatch(struct plugins *ps, const struct env_header *h,
    const uint8_t *body, size_t len, uint32_t link_code)
{
	struct sub *sub = NULL;
	struct job *j;
	int full;

	if (ps == NULL || h->type < ENV_T_APP)
		return 0;
	for (int i = 0; i < ps->nsubs && sub == NULL; i++)
		if (h->type >= ps->subs[i].lo && h->type <= ps->subs[i].hi)
			sub = &ps->subs[i];
	if (sub == NULL)
		return 0;
	if ((j = malloc(sizeof(*j) + len)) != NULL) {
		j->sub = sub;
		j->h = *h;
		j->link = link_code;
		j->len = len;
		memcpy(j->body, body, len);
	}
	pthread_mutex_lock(&ps->mu);
	full = j == NULL || ps->qn == ps->qcap || ps->stopping;
	if (!full) {
		ps->q[(ps->qhead + ps->qn) % ps->qcap] = j;
		ps->qn++;
		pthread_cond_signal(&ps->cv);
	}
	pthread_mutex_unlock(&ps->mu);
	if (!full) {
		atomic_fetch_add(&ps->queued, 1);
		atomic_fetch_add(&sub->taken, 1);
		return 1;
	}
	/* §7: past the queue's bound the requester hears 503, counted. */
	free(j);
	atomic_fetch_add(&ps->full, 1);
	atomic_fetch_add(&sub->full, 1);
	pthread_mutex_lock(&ps->side_mu);
	(void)make_error(ps, &ps->side, h, 503, "plugin queue full");
	iop_outbox_flush(ps->host.pool, &ps->side);
	pthread_mutex_unlock(&ps->side_mu);
	return 1;
}

static void *
pool_main(void *arg)
{
	struct pworker *pw = arg;
	struct plugins *ps = pw->ps;
	struct job *j;

	log_set_thread_name("plugin-pool");
	tl_get()->pw = pw;
	for (;;) {
		pthread_mutex_lock(&ps->mu);
		while (ps->qn == 0 && !ps->stopping)
			pthread_cond_wait(&ps->cv, &ps->mu);
		if (ps->stopping) {	/* the rest: 503 by plugins_stop */
			pthread_mutex_unlock(&ps->mu);
			break;
		}
		j = ps->q[ps->qhead];
		ps->qhead = (ps->qhead + 1) % ps->qcap;
		ps->qn--;
		pthread_mutex_unlock(&ps->mu);
		job_run(ps, pw, j);
		free(j);
		iop_outbox_flush(ps->host.pool, &pw->ob);
	}
	return NULL;
}

static void
job_run(struct plugins *ps, struct pworker *pw, struct job *j)
{
	struct nap_req r;

	(void)pw;
	memset(&r, 0, sizeof(r));
	r.job = j;
	hdr_copy(&r.hdr, &j->h);
	j->sub->fn(&r, j->sub->arg);
	env_msg_free(r.msg);
	free(r.inner);
	(void)ps;
}

/* --- frames the server creates for a plugin -------------------------------- */

static void
hdr_copy(struct nap_header *o, const struct env_header *h)
{
	o->type = h->type;
	o->seq = h->seq;
	o->from = h->from;
	o->to = h->to;
	memcpy(o->session, h->session, sizeof(o->session));
	o->ack = h->ack;
	o->has_ttl = h->has_ttl;
	o->ttl = h->ttl;
	o->has_re = h->has_re;
	o->re = h->re;
}

/* A frame (prefix + envelope) to its To: parsed for its Header (which
 * also proves it well-formed), then to the host. */
static int
emit(struct plugins *ps, struct iop_outbox *ob, const uint8_t *frame,
    size_t len)
{
	struct tl *t = tl_get();
	struct env_header h;
	struct env_error e;

	if (len <= 4 || env_parse_header(t->parser, frame + 4, len - 4, &h,
	    &e) == -1)
		return -1;
	ps->host.deliver(ps->host.srv, ob, &h, frame, len);
	return 0;
}

/* A new message From the server: type >= 1000, Re when has_re. */
static int
make_msg(struct plugins *ps, struct iop_outbox *ob, uint32_t type,
    uint32_t to, int has_re, uint32_t re, const char *params)
{
	struct env_msg *m;
	struct env_error e;
	uint8_t *out = NULL;
	size_t len = 0;
	int rc = -1;

	if (type < ENV_T_APP || env_code_is_reserved(to) ||
	    to == ps->host.code)
		return -1;
	if ((m = env_msg_new(type, ps->host.token, ps->host.seq(ps->host.srv),
	    ps->host.code, to)) == NULL)
		return -1;
	env_msg_set_re(m, has_re != 0, re);
	if (params != NULL && env_msg_set_parameters(m, params,
	    strlen(params), &e) == -1)
		goto out;
	if (env_serialize(m, true, &out, &len) == -1 ||
	    len > (size_t)ps->host.max_frame)
		goto out;
	rc = emit(ps, ob, out, len);
out:
	free(out);
	env_msg_free(m);
	return rc;
}

/* Error code to h's sender naming its Seq (§4); never for an Ack or an
 * Error (no loops). */
static int
make_error(struct plugins *ps, struct iop_outbox *ob,
    const struct env_header *h, int code, const char *text)
{
	char params[1024], buf[FRAME_MAX_SERVER];
	size_t n;

	if (h->type == ENV_T_ACK || h->type == ENV_T_ERROR)
		return -1;
	if (env_p_error(params, sizeof(params), code, h->seq, h->to,
	    h->session, text != NULL ? text : "") < 0)
		return -1;
	n = frame_build(buf, sizeof(buf), ENV_T_ERROR, ps->host.token,
	    ps->host.seq(ps->host.srv), ps->host.code, h->from, params);
	return emit(ps, ob, (const uint8_t *)buf, n);
}

/* fn with the right outbox: the pool thread's, else the shared one. */
static void
side_run(struct plugins *ps, int (*fn)(struct plugins *, struct iop_outbox *,
    void *), void *arg)
{
	struct tl *t = tl_get();

	if (t->pw != NULL && t->pw->ps == ps) {
		(void)fn(ps, &t->pw->ob, arg);
		return;
	}
	pthread_mutex_lock(&ps->side_mu);
	(void)fn(ps, &ps->side, arg);
	iop_outbox_flush(ps->host.pool, &ps->side);
	pthread_mutex_unlock(&ps->side_mu);
}

/* --- hooks ------------------------------------------------------------------- */

static enum pipe_verdict
hook_run(struct pipe_ctx *c, void *arg)
{
	struct hookreg *r = arg;
	struct plugins *ps = r->pl->ps;
	struct nap_msg m;

	m.ctx = c;
	m.reg = r;
	m.code = 0;
	m.flags = 0;
	m.text[0] = '\0';
	hdr_copy(&m.hdr, c->h);
	switch (r->fn(&m, r->arg)) {
	case NAP_PASS:
		return PIPE_PASS;
	case NAP_ANSWERED:
		return PIPE_ANSWERED;
	default:
		break;
	}
	if (m.code < 400 || m.code > 599) {
		m.code = 403;
		snprintf(m.text, sizeof(m.text), "refused by plugin %s",
		    r->pl->name);
	}
	if (m.flags & NAP_CUT)
		ps->host.cut(c, m.text);
	return ps->host.refuse(c, m.code, m.text);
}

/* --- the api ------------------------------------------------------------------ */

static void
a_log(struct nap_host *pl, enum nap_level lv, const char *fmt, ...)
{
	static const int lvmap[] = { LOG_ERR, LOG_WARNING, LOG_INFO,
	    LOG_DEBUG };
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_msg(lv <= NAP_LOG_DEBUG ? lvmap[lv] : LOG_INFO, "plugin %s: %s",
	    pl->name, line);
}

static int
a_hook(struct nap_host *pl, enum nap_stage st, const char *name,
    nap_hook_fn fn, void *arg)
{
	struct plugins *ps = pl->ps;
	struct hookreg *r;
	static const enum pipe_stage map[] = { PIPE_GATEWAY,
	    PIPE_TRANSFORMER, PIPE_INNER };

	if (ps->loading != pl || fn == NULL || (unsigned)st > NAP_INNER ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	r->pl = pl;
	r->st = map[st];
	r->fn = fn;
	r->arg = arg;
	snprintf(r->name, sizeof(r->name), "%s:%s", pl->name,
	    name != NULL ? name : "hook");
	r->next = ps->hooks;
	ps->hooks = r;
	return pipe_add(ps->pipe, r->st, r->name, hook_run, r);
}

static int
a_subscribe(struct nap_host *pl, uint32_t lo, uint32_t hi,
    nap_handler_fn fn, void *arg)
{
	struct plugins *ps = pl->ps;

	if (ps->loading != pl || fn == NULL || lo < ENV_T_APP || hi < lo ||
	    ps->nsubs == MAX_SUBS)
		return -1;
	for (int i = 0; i < ps->nsubs; i++)
		if (lo <= ps->subs[i].hi && ps->subs[i].lo <= hi) {
			log_warnx("plugin %s: types %u-%u overlap %u-%u of "
			    "plugin %s", pl->name, lo, hi, ps->subs[i].lo,
			    ps->subs[i].hi, ps->subs[i].pl->name);
			return -1;
		}
	ps->subs[ps->nsubs++] = (struct sub){ .lo = lo, .hi = hi, .fn = fn,
	    .arg = arg, .pl = pl };
	return 0;
}

static const struct nap_header *
a_msg_header(const struct nap_msg *m)
{
	return &m->hdr;
}

static const uint8_t *
a_msg_bytes(const struct nap_msg *m, size_t *len)
{
	*len = m->ctx->len;
	return m->ctx->body;
}

static uint32_t
a_msg_link(const struct nap_msg *m)
{
	return m->ctx->link_code;
}

static enum nap_verdict
a_reject(struct nap_msg *m, int code, const char *text, int flags)
{
	m->code = code;
	m->flags = flags;
	snprintf(m->text, sizeof(m->text), "%s", text != NULL ? text : "");
	return NAP_REJECT;
}

struct mk {
	uint32_t	 type, to, re;
	int		 has_re;
	const char	*params;
	const struct env_header *h;
	int		 code;
	const char	*text;
	int		 rc;
};

static int
mk_msg(struct plugins *ps, struct iop_outbox *ob, void *arg)
{
	struct mk *k = arg;

	return k->rc = make_msg(ps, ob, k->type, k->to, k->has_re, k->re,
	    k->params);
}

static int
mk_err(struct plugins *ps, struct iop_outbox *ob, void *arg)
{
	struct mk *k = arg;

	return k->rc = make_error(ps, ob, k->h, k->code, k->text);
}

static int
a_answer(struct nap_msg *m, uint32_t type, const char *params)
{
	struct mk k = { .type = type, .to = m->hdr.from, .re = m->hdr.seq,
	    .has_re = 1, .params = params, .rc = -1 };

	side_run(m->reg->pl->ps, mk_msg, &k);
	return k.rc;
}

/* §6: the transformer may rewrite, never From or To. */
static int
a_rewrite(struct nap_msg *m, const uint8_t *bytes, size_t len)
{
	struct tl *t = tl_get();
	struct env_error e;
	struct env_header h;
	int b = t->cur ^ 1;
	uint8_t *p;

	if (m->reg->st != PIPE_TRANSFORMER || !m->reg->pl->ps->host.can_rewrite ||
	    len == 0 ||
	    len + 4 > (size_t)tl_max + 4)
		return -1;
	if (t->cap[b] < len + 4) {
		if ((p = realloc(t->buf[b], len + 4)) == NULL)
			return -1;
		t->buf[b] = p;
		t->cap[b] = len + 4;
	}
	memcpy(t->buf[b] + 4, bytes, len);
	if (env_parse_header(t->parser, t->buf[b] + 4, len, &h, &e) == -1 ||
	    h.from != m->ctx->h->from || h.to != m->ctx->h->to)
		return -1;
	env_frame_put_len(t->buf[b], (uint32_t)len);
	t->h = h;
	t->cur = b;
	m->ctx->body = t->buf[b] + 4;
	m->ctx->len = len;
	m->ctx->h = &t->h;
	hdr_copy(&m->hdr, &t->h);
	return 0;
}

static const struct nap_header *
a_req_header(const struct nap_req *r)
{
	return &r->hdr;
}

static const uint8_t *
a_req_bytes(const struct nap_req *r, size_t *len)
{
	*len = r->job->len;
	return r->job->body;
}

static int
a_reply(struct nap_req *r, uint32_t type, const char *params)
{
	struct plugins *ps = r->job->sub->pl->ps;
	struct mk k = { .type = type, .to = r->hdr.from, .re = r->hdr.seq,
	    .has_re = 1, .params = params, .rc = -1 };

	if (r->answered)
		return -1;
	side_run(ps, mk_msg, &k);
	if (k.rc == 0) {
		r->answered = 1;
		atomic_fetch_add(&ps->replies, 1);
	}
	return k.rc;
}

static int
a_fail(struct nap_req *r, int code, const char *text)
{
	struct plugins *ps = r->job->sub->pl->ps;
	struct mk k = { .h = &r->job->h, .code = code, .text = text,
	    .rc = -1 };

	if (r->answered || code < 400 || code > 599)
		return -1;
	side_run(ps, mk_err, &k);
	if (k.rc == 0) {
		r->answered = 1;
		atomic_fetch_add(&ps->failed, 1);
	}
	return k.rc;
}

static int
a_send(struct nap_host *pl, uint32_t type, uint32_t to, const char *params)
{
	struct mk k = { .type = type, .to = to, .params = params, .rc = -1 };

	side_run(pl->ps, mk_msg, &k);
	if (k.rc == 0)
		atomic_fetch_add(&pl->ps->sent, 1);
	return k.rc;
}

static struct env_msg *
req_msg(struct nap_req *r)
{
	struct env_error e;

	if (r->msg == NULL && env_parse(tl_get()->parser, r->job->body,
	    r->job->len, &r->msg, &e) == -1)
		r->msg = NULL;
	return r->msg;
}

static struct nap_param *
a_param_first(struct nap_req *r, const char *name)
{
	struct env_msg *m = req_msg(r);

	return m == NULL ? NULL :
	    (struct nap_param *)env_param_first(m, name);
}

static struct nap_param *
a_param_next(struct nap_param *p, const char *name)
{
	return (struct nap_param *)env_param_next((struct env_param *)p, name);
}

static const char *
a_param_name(const struct nap_param *p)
{
	return env_param_name((const struct env_param *)p);
}

static const char *
a_param_attr(struct nap_param *p, const char *name)
{
	return env_param_attr((struct env_param *)p, name);
}

static const char *
a_params_xml(struct nap_req *r, size_t *len)
{
	struct env_msg *m = req_msg(r);
	const char *p, *gt, *lt;
	size_t n;

	*len = 0;
	if (r->inner != NULL) {
		*len = strlen(r->inner);
		return r->inner;
	}
	if (m == NULL || (p = env_msg_parameters(m, &n)) == NULL)
		return NULL;
	/* "<parameters ...>inner</parameters>" or "<parameters/>" */
	gt = memchr(p, '>', n);
	lt = p + n;
	while (lt > p && *lt != '<')
		lt--;
	n = gt != NULL && gt[-1] != '/' && lt > gt ? (size_t)(lt - gt - 1) : 0;
	if ((r->inner = malloc(n + 1)) == NULL)
		return NULL;
	if (n > 0)
		memcpy(r->inner, gt + 1, n);
	r->inner[n] = '\0';
	*len = n;
	return r->inner;
}

/* --- admin (§12) ------------------------------------------------------------- */

void
plugins_json(struct plugins *ps, struct evbuffer *b)
{
	evbuffer_add_printf(b, "{\"plugins\":[");
	for (int i = 0; ps != NULL && i < ps->npl; i++)
		evbuffer_add_printf(b, "%s{\"name\":\"%s\",\"path\":\"%s\","
		    "\"abi\":%u}", i ? "," : "", ps->pl[i]->name,
		    ps->pl[i]->path, NAP_PLUGIN_ABI);
	evbuffer_add_printf(b, "]");
	if (ps != NULL)
		evbuffer_add_printf(b, ",\"pool\":{\"workers\":%d,"
		    "\"queue\":%zu,\"queued\":%lu,\"queue_full\":%lu,"
		    "\"replies\":%lu,\"failed\":%lu,\"sent\":%lu}",
		    ps->nsubs ? ps->nworkers : 0, ps->qcap,
		    atomic_load(&ps->queued), atomic_load(&ps->full),
		    atomic_load(&ps->replies), atomic_load(&ps->failed),
		    atomic_load(&ps->sent));
	evbuffer_add_printf(b, "}\n");
}

void
plugins_services_json(struct plugins *ps, struct evbuffer *b)
{
	if (ps == NULL)
		return;
	for (int i = 0; i < ps->nsubs; i++)
		evbuffer_add_printf(b, "%s{\"from\":%u,\"to\":%u,\"kind\":"
		    "\"plugin\",\"name\":\"%s\",\"taken\":%lu,"
		    "\"queue_full\":%lu}", i ? "," : "", ps->subs[i].lo,
		    ps->subs[i].hi, ps->subs[i].pl->name,
		    atomic_load(&ps->subs[i].taken),
		    atomic_load(&ps->subs[i].full));
}
