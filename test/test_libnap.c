/*
 * test_libnap.c - CUnit tests of libnap that need no server: message
 * building, Seq wrapping, the Login and confirmation frames, the receive
 * dispatch (fed through nap_io_feed, the seam below TLS), receipts,
 * duplicates, re-stamping after a new session, and the backoff delays.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "nap_internal.h"

void	init_libnap_tests(void);

#define ME	0x00010001u
#define PEER	0x00010002u
#define SERVER	0x00010000u
#define SESS	"0123456789ABCDEF"
#define SESS2	"FEDCBA9876543210"

/* What the callbacks saw. */
struct seen {
	int		 msgs;
	uint32_t	 last_type, last_seq;
	int		 rcpts;
	struct nap_receipt last_rcpt;
	char		 rcpt_text[64];
	int		 states;
	enum nap_state	 last_state;
};

static struct nap *online(struct seen *);
static uint8_t	*mkframe(uint32_t, const char *, uint32_t, uint32_t,
		    uint32_t, const char *, size_t *);
static int	feed(struct nap *, uint32_t, const char *, uint32_t,
		    uint32_t, const char *);
static struct env_msg *pop_parse(struct nap_fq *);
static void	written(struct nap *);
static void	on_msg(struct nap *, const struct nap_msg *, void *);
static void	on_rcpt(struct nap *, const struct nap_receipt *, void *);
static void	on_state(struct nap *, enum nap_state, int, void *);

static void	test_codes(void);
static void	test_server_str(void);
static void	test_config(void);
static void	test_backoff(void);
static void	test_dup_basic(void);
static void	test_dup_window(void);
static void	test_dup_wrap(void);
static void	test_dup_lru(void);
static void	test_build(void);
static void	test_build_refused(void);
static void	test_seq_wrap(void);
static void	test_login_frame(void);
static void	test_login_reply(void);
static void	test_login_refused(void);
static void	test_check(void);
static void	test_confirm(void);
static void	test_duplicates(void);
static void	test_receipts(void);
static void	test_not_server(void);
static void	test_wait_error(void);
static void	test_wait_reply(void);
static void	test_logout(void);
static void	test_replaced(void);
static void	test_restamp(void);
static void	test_resume(void);
static void	test_msg_content(void);
static void	test_raw(void);
static void	test_bad_frame(void);

/* ---- helpers -------------------------------------------------------- */

static void
on_msg(struct nap *n, const struct nap_msg *m, void *arg)
{
	struct seen *s = arg;

	(void)n;
	s->msgs++;
	s->last_type = nap_msg_type(m);
	s->last_seq = nap_msg_seq(m);
}

static void
on_rcpt(struct nap *n, const struct nap_receipt *r, void *arg)
{
	struct seen *s = arg;

	(void)n;
	s->rcpts++;
	s->last_rcpt = *r;
	snprintf(s->rcpt_text, sizeof(s->rcpt_text), "%s", r->text);
	s->last_rcpt.text = s->rcpt_text;
	s->last_rcpt.session = "";
}

static void
on_state(struct nap *n, enum nap_state st, int err, void *arg)
{
	struct seen *s = arg;

	(void)n;
	(void)err;
	s->states++;
	s->last_state = st;
}

/* A handle that believes it is logged in as ME at SERVER (no socket). */
static struct nap *
online(struct seen *s)
{
	struct nap *n = nap_new();

	CU_ASSERT_FATAL(n != NULL);
	CU_ASSERT_FATAL(nap_set_code(n, ME) == 0);
	n->expect = SERVER;
	n->state = NAP_ST_ONLINE;
	n->ever_online = true;
	memcpy(n->session, SESS, 17);
	n->dec = env_frame_dec_new(n->max_frame, 0);
	CU_ASSERT_FATAL(n->dec != NULL);
	if (s != NULL) {
		memset(s, 0, sizeof(*s));
		nap_set_msg_cb(n, on_msg, s);
		nap_set_receipt_cb(n, on_rcpt, s);
		nap_set_state_cb(n, on_state, s);
	}
	return n;
}

/* A frame as a server would write it; params is the inner content. */
static uint8_t *
mkframe(uint32_t type, const char *sess, uint32_t seq, uint32_t from,
    uint32_t to, const char *params, size_t *len)
{
	struct env_msg *m = env_msg_new(type, sess, seq, from, to);
	struct env_error err;
	uint8_t *buf = NULL;

	CU_ASSERT_FATAL(m != NULL);
	if (params != NULL)
		CU_ASSERT_FATAL(env_msg_set_parameters(m, params,
		    strlen(params), &err) == 0);
	CU_ASSERT_FATAL(env_serialize(m, true, &buf, len) == 0);
	env_msg_free(m);
	return buf;
}

static int
feed(struct nap *n, uint32_t type, const char *sess, uint32_t seq,
    uint32_t from, const char *params)
{
	size_t len;
	uint8_t *buf = mkframe(type, sess, seq, from, ME, params, &len);
	int rc;

	rc = nap_io_feed(n, buf, len);
	free(buf);
	return rc;
}

/* Takes the first frame of a queue and parses it (NULL when empty). */
static struct env_msg *
pop_parse(struct nap_fq *q)
{
	struct nap_frame *f = q->head;
	struct env_parser *p;
	struct env_error err;
	struct env_msg *m = NULL;

	if (f == NULL)
		return NULL;
	q->head = f->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->n--;
	q->bytes -= f->len;
	p = env_parser_new(0);
	CU_ASSERT(env_parse(p, f->data + 4, f->len - 4, &m, &err) == 0);
	env_parser_free(p);
	free(f->data);
	free(f);
	return m;
}

/* The first user frame goes out: it now waits for its receipt. */
static void
written(struct nap *n)
{
	struct nap_frame *f = n->user.head;

	CU_ASSERT_FATAL(f != NULL && (f->flags & NAP_ACK));
	if ((n->user.head = f->next) == NULL)
		n->user.tail = NULL;
	n->user.n--;
	n->user.bytes -= f->len;
	nap_fq_push(&n->unacked, f);
}

/* ---- codes and settings ----------------------------------------------- */

static void
test_codes(void)
{
	uint32_t c;
	char buf[9];

	CU_ASSERT(nap_code_parse("0001abCD", &c) == 0 && c == 0x0001ABCD);
	CU_ASSERT(nap_code_parse("0001abC", &c) == NAP_E_INVAL);
	CU_ASSERT(nap_code_parse("0001abCDE", &c) == NAP_E_INVAL);
	CU_ASSERT(nap_code_parse("0001abCG", &c) == NAP_E_INVAL);
	CU_ASSERT_STRING_EQUAL(nap_code_format(0x00ab0001, buf), "00AB0001");
	CU_ASSERT_STRING_EQUAL(nap_strerror(404), "unknown destination");
	CU_ASSERT_STRING_EQUAL(nap_strerror(NAP_OK), "success");
	CU_ASSERT(strlen(nap_strerror(599)) > 0);
	CU_ASSERT(strlen(nap_strerror(-12345)) > 0);
}

static void
test_server_str(void)
{
	struct nap *n = nap_new();

	CU_ASSERT(nap_set_server_str(n, "127.0.0.1:7000") == 0);
	CU_ASSERT_STRING_EQUAL(n->host, "127.0.0.1");
	CU_ASSERT_STRING_EQUAL(n->port, "7000");
	CU_ASSERT(nap_set_server_str(n, "[::1]:65535") == 0);
	CU_ASSERT_STRING_EQUAL(n->host, "::1");
	CU_ASSERT(nap_set_server_str(n, "nap.example:1") == 0);
	CU_ASSERT(nap_set_server_str(n, "host") == NAP_E_INVAL);
	CU_ASSERT(nap_set_server_str(n, "host:0") == NAP_E_INVAL);
	CU_ASSERT(nap_set_server_str(n, "host:65536") == NAP_E_INVAL);
	CU_ASSERT(nap_set_server_str(n, "host:-1") == NAP_E_INVAL);
	CU_ASSERT(nap_set_server_str(n, "host:1x") == NAP_E_INVAL);
	CU_ASSERT(nap_set_server_str(n, ":5") == NAP_E_INVAL);
	CU_ASSERT(nap_set_server_str(n, "[::1:5") == NAP_E_INVAL);
	CU_ASSERT(strstr(nap_errmsg(n), "[::1:5") != NULL);
	nap_free(n);
}

static void
test_config(void)
{
	struct nap *n = nap_new();

	CU_ASSERT(nap_connect_start(n) == NAP_E_CONFIG);
	CU_ASSERT(nap_set_tls(n, "/nonexistent/dev.crt", "/nonexistent/k",
	    "/nonexistent/ca", NULL) == NAP_E_CONFIG);
	CU_ASSERT(strstr(nap_errmsg(n), "/nonexistent/dev.crt") != NULL);
	CU_ASSERT(nap_set_heartbeat(n, true, 10, 19) == NAP_E_INVAL);
	CU_ASSERT(nap_set_heartbeat(n, true, 10, 0) == NAP_E_INVAL);
	CU_ASSERT(nap_set_heartbeat(n, true, 10, 20) == 0);
	CU_ASSERT(nap_set_heartbeat(n, true, 0, 0) == 0);
	CU_ASSERT(nap_set_code(n, 0x00010000) == 0);
	CU_ASSERT(nap_set_code(n, 0xFFFF0001) == NAP_E_INVAL);
	CU_ASSERT(nap_set_expect(n, PEER) == NAP_E_INVAL);
	CU_ASSERT(nap_set_code(n, ME) == 0);
	/* Default server: RRRR0000 of its region, or the platform. */
	CU_ASSERT(nap_server_code(n) == SERVER);
	CU_ASSERT(nap_set_platform(n, true) == 0);
	CU_ASSERT(nap_server_code(n) == NAP_PLATFORM);
	CU_ASSERT(nap_set_expect(n, 0x00010000) == 0);
	CU_ASSERT(nap_server_code(n) == SERVER);
	CU_ASSERT(nap_set_resume(n, "0123") == NAP_E_INVAL);
	CU_ASSERT(nap_set_resume(n, "0123456789abcdef") == NAP_E_INVAL);
	CU_ASSERT(nap_set_resume(n, SESS) == 0);
	CU_ASSERT(nap_set_max_frame(n, 1024) == NAP_E_INVAL);
	CU_ASSERT(nap_set_max_frame(n, ENV_MAX_FRAME_LIMIT + 1) ==
	    NAP_E_INVAL);
	CU_ASSERT(nap_set_reconnect(n, true, 100, 50) == NAP_E_INVAL);
	CU_ASSERT(nap_set_reconnect(n, true, 0, 0) == 0);
	CU_ASSERT(nap_state(n) == NAP_ST_IDLE);
	CU_ASSERT(nap_fd(n) == -1);
	CU_ASSERT(nap_next_timeout_ms(n) == -1);
	CU_ASSERT(nap_run(n, 0) == NAP_E_STATE);
	CU_ASSERT(nap_close(n, 0) == 0);
	nap_free(n);
	nap_free(NULL);
}

/* ---- backoff -------------------------------------------------------- */

static void
test_backoff(void)
{
	uint32_t d;

	/* Attempt k waits in [d/2, d], d = min(min x 2^k, max). */
	for (unsigned k = 0; k < 40; k++) {
		uint64_t full = 500;

		for (unsigned i = 0; i < k && full < 30000; i++)
			full *= 2;
		if (full > 30000)
			full = 30000;
		for (uint32_t r = 0; r < 2000; r += 37) {
			d = nap_backoff_ms(k, 500, 30000, r * 2654435761u);
			CU_ASSERT(d >= full / 2 && d <= full);
		}
		CU_ASSERT(nap_backoff_ms(k, 500, 30000, 0) == full / 2);
	}
	CU_ASSERT(nap_backoff_ms(0, 500, 30000, 250) == 500);
	CU_ASSERT(nap_backoff_ms(1, 500, 30000, 500) == 1000);
	CU_ASSERT(nap_backoff_ms(UINT32_MAX, 500, 30000, 7) >= 15000);
	CU_ASSERT(nap_backoff_ms(3, 0, 10, 3) <= 8);
}

/* ---- duplicates --------------------------------------------------- */

static void
test_dup_basic(void)
{
	struct nap_dup *d = nap_dup_new(8);

	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT(nap_dup_new(0) == NULL);
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 10) == 0);
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 10) == 1);
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 11) == 0);
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 10) == 1);
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 11) == 1);
	/* Another session, another sender: their own Seq spaces. */
	CU_ASSERT(nap_dup_check(d, PEER, SESS2, 10) == 0);
	CU_ASSERT(nap_dup_check(d, ME, SESS, 10) == 0);
	CU_ASSERT(nap_dup_check(d, PEER, "", 10) == 0);
	CU_ASSERT(nap_dup_check(d, PEER, NULL, 10) == 1);
	CU_ASSERT(nap_dup_count(d) == 4);
	nap_dup_free(d);
}

static void
test_dup_window(void)
{
	struct nap_dup *d = nap_dup_new(4);

	/* Out of order within the window: each once. */
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 1000) == 0);
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 990) == 0);
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 995) == 0);
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 990) == 1);
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 995) == 1);
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 1000 - NAP_DUP_WINDOW + 1) ==
	    0);
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 1000 - NAP_DUP_WINDOW + 1) ==
	    1);
	/* Older than the window: cannot be judged, passed on. */
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 1000 - NAP_DUP_WINDOW) == 0);
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 1000 - NAP_DUP_WINDOW) == 0);
	/* A jump keeps what is still inside the window after the shift. */
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 1100) == 0);
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 1000) == 1);
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 995) == 1);
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 996) == 0);
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 1050) == 0);
	/* Shifts by 1, 63, 64, 65 and more than the window. */
	for (uint32_t s = 1101; s < 1101 + 3 * NAP_DUP_WINDOW; s++)
		CU_ASSERT(nap_dup_check(d, PEER, SESS, s) == 0);
	for (uint32_t s = 1101 + 2 * NAP_DUP_WINDOW + 1;
	    s < 1101 + 3 * NAP_DUP_WINDOW; s++)
		CU_ASSERT(nap_dup_check(d, PEER, SESS, s) == 1);
	{
		uint32_t base = 100000;

		CU_ASSERT(nap_dup_check(d, ME, SESS, base) == 0);
		CU_ASSERT(nap_dup_check(d, ME, SESS, base + 63) == 0);
		CU_ASSERT(nap_dup_check(d, ME, SESS, base + 127) == 0);
		CU_ASSERT(nap_dup_check(d, ME, SESS, base + 192) == 0);
		CU_ASSERT(nap_dup_check(d, ME, SESS, base) == 1);
		CU_ASSERT(nap_dup_check(d, ME, SESS, base + 63) == 1);
		CU_ASSERT(nap_dup_check(d, ME, SESS, base + 127) == 1);
		CU_ASSERT(nap_dup_check(d, ME, SESS, base + 1) == 0);
		CU_ASSERT(nap_dup_check(d, ME, SESS, base + 192 +
		    NAP_DUP_WINDOW) == 0);
		CU_ASSERT(nap_dup_check(d, ME, SESS, base + 192) == 0);
	}
	nap_dup_free(d);
}

static void
test_dup_wrap(void)
{
	struct nap_dup *d = nap_dup_new(4);

	/* §3: Seq wraps from 4294967295 to 0: 0 is newer. */
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 4294967294u) == 0);
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 4294967295u) == 0);
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 0) == 0);
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 1) == 0);
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 4294967295u) == 1);
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 4294967294u) == 1);
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 0) == 1);
	CU_ASSERT(nap_dup_check(d, PEER, SESS, 4294967293u) == 0);
	nap_dup_free(d);
}

static void
test_dup_lru(void)
{
	struct nap_dup *d = nap_dup_new(16);
	char s[17];

	/* Never more than max sender sessions. */
	for (uint32_t i = 0; i < 1000; i++) {
		snprintf(s, sizeof(s), "%016X", i);
		CU_ASSERT(nap_dup_check(d, PEER, s, 7) == 0);
		CU_ASSERT(nap_dup_count(d) <= 16);
	}
	CU_ASSERT(nap_dup_count(d) == 16);
	/* The 16 most recent are remembered, the others forgotten. */
	for (uint32_t i = 984; i < 1000; i++) {
		snprintf(s, sizeof(s), "%016X", i);
		CU_ASSERT(nap_dup_check(d, PEER, s, 7) == 1);
	}
	snprintf(s, sizeof(s), "%016X", 0u);
	CU_ASSERT(nap_dup_check(d, PEER, s, 7) == 0);
	/* Touching an entry keeps it: 985 was used last but one. */
	snprintf(s, sizeof(s), "%016X", 985u);
	CU_ASSERT(nap_dup_check(d, PEER, s, 7) == 1);
	for (uint32_t i = 2000; i < 2014; i++) {
		snprintf(s, sizeof(s), "%016X", i);
		CU_ASSERT(nap_dup_check(d, PEER, s, 1) == 0);
	}
	snprintf(s, sizeof(s), "%016X", 985u);
	CU_ASSERT(nap_dup_check(d, PEER, s, 7) == 1);
	nap_dup_free(d);
}

/* ---- building ------------------------------------------------------- */

static void
test_build(void)
{
	struct nap *n = online(NULL);
	struct nap_out o = { .type = 1000, .to = PEER, .params = "<a b='1'/>",
	    .len = 10, .flags = NAP_ACK | NAP_TTL | NAP_RE, .ttl = 60,
	    .re = 41 };
	const struct env_header *h;
	struct env_msg *m;
	const char *p;
	size_t len;
	uint32_t seq, seq2;

	CU_ASSERT(nap_send_ex(n, &o, &seq) == 0);
	CU_ASSERT(nap_send(n, 1001, PEER, NULL, 0, 0, &seq2) == 0);
	CU_ASSERT(seq2 == seq + 1);
	CU_ASSERT(n->user.n == 2);
	CU_ASSERT(n->user.head->flags & NAP_FR_USER);
	m = pop_parse(&n->user);
	CU_ASSERT_FATAL(m != NULL);
	h = env_msg_header(m);
	CU_ASSERT(h->type == 1000 && h->seq == seq && h->from == ME &&
	    h->to == PEER);
	CU_ASSERT_STRING_EQUAL(h->session, SESS);
	CU_ASSERT(h->ack && h->has_ttl && h->ttl == 60 && h->has_re &&
	    h->re == 41);
	p = env_msg_parameters(m, &len);
	CU_ASSERT(p != NULL && len == 35 &&
	    memcmp(p, "<parameters><a b='1'/></parameters>", len) == 0);
	env_msg_free(m);
	m = pop_parse(&n->user);
	CU_ASSERT_FATAL(m != NULL);
	h = env_msg_header(m);
	CU_ASSERT(h->type == 1001 && !h->ack && !h->has_ttl && !h->has_re);
	CU_ASSERT(env_msg_parameters(m, &len) == NULL);
	env_msg_free(m);
	/* "" is an empty element, not none. */
	CU_ASSERT(nap_send(n, 1002, PEER, "", 0, 0, NULL) == 0);
	m = pop_parse(&n->user);
	CU_ASSERT(env_msg_parameters(m, &len) != NULL);
	env_msg_free(m);
	nap_free(n);
}

static void
test_build_refused(void)
{
	struct nap *n = nap_new();
	char *big;

	CU_ASSERT(nap_send(n, 1000, PEER, NULL, 0, 0, NULL) == NAP_E_STATE);
	CU_ASSERT(nap_send_raw(n, "x", 1) == NAP_E_STATE);
	CU_ASSERT(nap_set_max_frame(n, 2048) == 0);
	nap_free(n);

	n = online(NULL);
	for (uint32_t t = 1; t <= 7; t++)
		CU_ASSERT(nap_send(n, t, SERVER, NULL, 0, 0, NULL) ==
		    NAP_E_INVAL);
	CU_ASSERT(nap_send(n, 30, 0, "<locate code=\"00020002\"/>", 25, 0,
	    NULL) == 0);
	CU_ASSERT(nap_send(n, 1000, PEER, "<a>", 3, 0, NULL) ==
	    NAP_E_MALFORMED);
	CU_ASSERT(strstr(nap_errmsg(n), "parameters refused") != NULL);
	CU_ASSERT(nap_send(n, 1000, PEER, "<!DOCTYPE x><a/>", 16, 0, NULL) ==
	    NAP_E_MALFORMED);
	CU_ASSERT(nap_send(n, 1000, PEER, NULL, 3, 0, NULL) == NAP_E_INVAL);
	/* §2: a device envelope fits in max_frame - 1024. */
	big = malloc(ENV_DEFAULT_MAX_FRAME);
	memset(big, 'x', ENV_DEFAULT_MAX_FRAME);
	memcpy(big, "<a>", 3);
	memcpy(big + ENV_DEFAULT_MAX_FRAME - 1024 - 200 - 4, "</a>", 4);
	CU_ASSERT(nap_send(n, 1000, PEER, big, ENV_DEFAULT_MAX_FRAME -
	    1024 - 200, 0, NULL) == 0);
	memcpy(big + ENV_DEFAULT_MAX_FRAME - 1024 - 200 - 4, "xxxx", 4);
	memcpy(big + ENV_DEFAULT_MAX_FRAME - 1024 - 100 - 4, "</a>", 4);
	CU_ASSERT(nap_send(n, 1000, PEER, big, ENV_DEFAULT_MAX_FRAME -
	    1024 - 100, 0, NULL) == NAP_E_TOO_LARGE);
	/* A local address is numeric, of either family, or none. */
	CU_ASSERT(nap_set_local(n, "127.1.2.3") == NAP_OK);
	CU_ASSERT(nap_set_local(n, "::1") == NAP_OK);
	CU_ASSERT(nap_set_local(n, "localhost") == NAP_E_INVAL);
	CU_ASSERT(nap_set_local(n, "127.1.2.300") == NAP_E_INVAL);
	CU_ASSERT(nap_set_local(n, NULL) == NAP_OK);
	/* The queue is bounded. */
	CU_ASSERT(nap_set_queue_limit(n, 100, 1) == NAP_E_INVAL);
	n->queue_max = 4096;
	CU_ASSERT(nap_send(n, 1000, PEER, NULL, 0, 0, NULL) == NAP_E_AGAIN);
	free(big);
	nap_free(n);
}

static void
test_seq_wrap(void)
{
	struct nap *n = online(NULL);
	uint32_t a, b, c;

	n->next_seq = 4294967295u;
	CU_ASSERT(nap_send(n, 1000, PEER, NULL, 0, 0, &a) == 0);
	CU_ASSERT(nap_send(n, 1000, PEER, NULL, 0, 0, &b) == 0);
	CU_ASSERT(nap_send(n, 1000, PEER, NULL, 0, 0, &c) == 0);
	CU_ASSERT(a == 4294967295u && b == 0 && c == 1);
	/* A refused message takes no Seq. */
	CU_ASSERT(nap_send(n, 1000, PEER, "<", 1, 0, NULL) != 0);
	CU_ASSERT(nap_send(n, 1000, PEER, NULL, 0, 0, &a) == 0 && a == 2);
	nap_free(n);
}

static void
test_login_frame(void)
{
	struct nap *n = nap_new();
	const struct env_header *h;
	struct nap_msg nm;
	struct env_msg *m;
	char *v;

	CU_ASSERT(nap_set_code(n, ME) == 0);
	CU_ASSERT(nap_set_client(n, "a\"b<&>", "1.0 'x'") == 0);
	CU_ASSERT(nap_set_resume(n, SESS2) == 0);
	n->expect = SERVER;
	memcpy(n->session, SESS, 17);	/* a Login has none anyway */
	CU_ASSERT(nap_queue_login(n) == 0);
	m = pop_parse(&n->ctrl);
	CU_ASSERT_FATAL(m != NULL);
	h = env_msg_header(m);
	CU_ASSERT(h->type == 1 && h->from == ME && h->to == SERVER &&
	    h->seq == n->login_seq);
	CU_ASSERT_STRING_EQUAL(h->session, "");
	CU_ASSERT_STRING_EQUAL(n->session, SESS);
	nm.env = m;
	v = nap_msg_param_attr(&nm, "client", "name");
	CU_ASSERT(v != NULL && strcmp(v, "a\"b<&>") == 0);
	free(v);
	v = nap_msg_param_attr(&nm, "client", "version");
	CU_ASSERT(v != NULL && strcmp(v, "1.0 'x'") == 0);
	free(v);
	v = nap_msg_param_attr(&nm, "resume", "session");
	CU_ASSERT(v != NULL && strcmp(v, SESS2) == 0);
	free(v);
	CU_ASSERT(nap_msg_param_attr(&nm, "resume", "nothing") == NULL);
	CU_ASSERT(nap_msg_param_attr(&nm, "nothing", "session") == NULL);
	env_msg_free(m);
	/* No client name, no resume: no parameters content. */
	CU_ASSERT(nap_set_client(n, NULL, NULL) == 0);
	n->resume[0] = '\0';
	CU_ASSERT(nap_queue_login(n) == 0);
	m = pop_parse(&n->ctrl);
	nm.env = m;
	CU_ASSERT(nap_msg_param_attr(&nm, "client", "name") == NULL);
	env_msg_free(m);
	nap_free(n);
}

/* ---- receiving -------------------------------------------------------- */

static void
test_login_reply(void)
{
	struct seen s;
	struct nap *n = online(&s);
	unsigned iv, to;

	n->state = NAP_ST_LOGIN;
	n->ever_online = false;
	memcpy(n->resume, SESS2, 17);
	n->session[0] = '\0';
	CU_ASSERT(feed(n, 2, SESS2, n->login_seq, SERVER,
	    "<result code=\"0\" text=\"ok\"/><heartbeat interval=\"30\" "
	    "timeout=\"90\"/>") == 0);
	CU_ASSERT(nap_state(n) == NAP_ST_ONLINE);
	CU_ASSERT(s.states == 1 && s.last_state == NAP_ST_ONLINE);
	CU_ASSERT_STRING_EQUAL(nap_session(n), SESS2);
	CU_ASSERT(nap_resumed(n));
	nap_heartbeat(n, &iv, &to);
	CU_ASSERT(iv == 30 && to == 90);
	CU_ASSERT(n->stats.reconnects == 0);
	CU_ASSERT(s.msgs == 0);
	nap_free(n);

	/* Configured figures win; a new session is not resumed. */
	n = online(&s);
	n->state = NAP_ST_LOGIN;
	CU_ASSERT(nap_set_heartbeat(n, true, 5, 10) == NAP_E_STATE);
	n->hb_cfg_interval = 5;
	n->hb_cfg_timeout = 10;
	memcpy(n->resume, SESS2, 17);
	CU_ASSERT(feed(n, 2, SESS, 1, SERVER, "<result code=\"0\"/>") == 0);
	CU_ASSERT(!nap_resumed(n));
	nap_heartbeat(n, &iv, &to);
	CU_ASSERT(iv == 5 && to == 10);
	CU_ASSERT(n->stats.reconnects == 1);
	nap_free(n);

	/* A LoginReply without a session, or with a non-zero result. */
	n = online(&s);
	n->state = NAP_ST_LOGIN;
	CU_ASSERT(feed(n, 2, "", 1, SERVER, "<result code=\"0\"/>") ==
	    NAP_E_PROTOCOL);
	nap_free(n);
	n = online(&s);
	n->state = NAP_ST_LOGIN;
	CU_ASSERT(feed(n, 2, SESS, 1, SERVER, "<result code=\"403\" "
	    "text=\"nope\"/>") == 403);
	CU_ASSERT_STRING_EQUAL(nap_errmsg(n), "login refused: 403 nope");
	nap_free(n);
	n = online(&s);
	n->state = NAP_ST_LOGIN;
	CU_ASSERT(feed(n, 2, SESS, 1, SERVER, NULL) == NAP_E_PROTOCOL);
	nap_free(n);
}

static void
test_login_refused(void)
{
	struct seen s;
	struct nap *n = online(&s);

	n->state = NAP_ST_LOGIN;
	CU_ASSERT(feed(n, 6, "", 5, SERVER, "<error code=\"403\" seq=\"1\" "
	    "to=\"00010000\" text=\"device disabled\"/>") == 403);
	CU_ASSERT_STRING_EQUAL(nap_errmsg(n),
	    "login refused: 403 device disabled");
	nap_free(n);
	n = online(&s);
	n->state = NAP_ST_LOGIN;
	CU_ASSERT(feed(n, 6, "", 5, SERVER, "<error code=\"401\" seq=\"1\"/>")
	    == 401);
	CU_ASSERT_STRING_EQUAL(nap_errmsg(n), "login refused: 401 not "
	    "logged in or wrong session");
	nap_free(n);
}

static void
test_check(void)
{
	struct seen s;
	struct nap *n = online(&s);
	const struct env_header *h;
	struct env_msg *m;

	CU_ASSERT(feed(n, 3, SESS2, 77, SERVER, NULL) == 0);
	CU_ASSERT(s.msgs == 0 && n->unconf == 0);
	m = pop_parse(&n->ctrl);
	CU_ASSERT_FATAL(m != NULL);
	h = env_msg_header(m);
	CU_ASSERT(h->type == 4 && h->seq == 77 && h->to == SERVER &&
	    h->from == ME);
	CU_ASSERT_STRING_EQUAL(h->session, SESS);
	env_msg_free(m);
	/* A CheckReply nobody waits for is dropped quietly. */
	CU_ASSERT(feed(n, 4, SESS2, 78, SERVER, NULL) == 0);
	CU_ASSERT(s.msgs == 0 && n->ctrl.n == 0);
	/* Not confirmed: 21 and 31 go to the callback, unconfirmed. */
	CU_ASSERT(feed(n, 31, SESS2, 79, SERVER, "<location code=\"00020002\""
	    " online=\"1\"/>") == 0);
	CU_ASSERT(s.msgs == 1 && s.last_type == 31 && n->unconf == 0);
	nap_free(n);
}

static void
test_confirm(void)
{
	struct seen s;
	struct nap *n = online(&s);
	const struct env_header *h;
	struct nap_msg nm;
	struct env_msg *m;
	char *v;
	int t;

	for (uint32_t i = 0; i < 15; i++)
		CU_ASSERT(feed(n, 1000, SESS2, 100 + i, PEER, NULL) == 0);
	CU_ASSERT(s.msgs == 15 && n->ctrl.n == 0 && n->unconf == 15);
	/* §5: at most 200 ms while something is unconfirmed. */
	t = nap_next_timeout_ms(n);
	CU_ASSERT(t >= 0 && t <= NAP_CONFIRM_MS);
	/* The 16th confirms at once, naming the last received. */
	CU_ASSERT(feed(n, 1000, SESS2, 115, PEER, NULL) == 0);
	CU_ASSERT(n->ctrl.n == 1 && n->unconf == 0 &&
	    n->stats.acks_sent == 1);
	m = pop_parse(&n->ctrl);
	CU_ASSERT_FATAL(m != NULL);
	h = env_msg_header(m);
	CU_ASSERT(h->type == 5 && h->to == SERVER && h->from == ME);
	nm.env = m;
	v = nap_msg_param_attr(&nm, "ack", "from");
	CU_ASSERT(v != NULL && strcmp(v, "00010002") == 0);
	free(v);
	v = nap_msg_param_attr(&nm, "ack", "seq");
	CU_ASSERT(v != NULL && strcmp(v, "115") == 0);
	free(v);
	env_msg_free(m);
	/* Nothing pending: nothing sent. */
	CU_ASSERT(nap_queue_confirm(n) == 0 && n->ctrl.n == 0);
	CU_ASSERT(feed(n, 1000, SESS2, 116, PEER, NULL) == 0);
	CU_ASSERT(nap_queue_confirm(n) == 0 && n->ctrl.n == 1);
	nap_free(n);
}

static void
test_duplicates(void)
{
	struct seen s;
	struct nap *n = online(&s);

	CU_ASSERT(feed(n, 1000, SESS2, 5, PEER, "<a/>") == 0);
	CU_ASSERT(feed(n, 1000, SESS2, 5, PEER, "<a/>") == 0);
	CU_ASSERT(feed(n, 1000, SESS, 5, PEER, "<a/>") == 0);
	CU_ASSERT(s.msgs == 2);
	CU_ASSERT(n->stats.duplicates == 1);
	/* A duplicate is confirmed all the same, or it would come again. */
	CU_ASSERT(n->unconf == 3);
	CU_ASSERT(n->stats.msgs_in == 3);
	nap_free(n);
}

static void
test_receipts(void)
{
	struct seen s;
	struct nap *n = online(&s);
	uint32_t a, b, c;
	char p[200];

	CU_ASSERT(nap_send(n, 1000, PEER, NULL, 0, NAP_ACK, &a) == 0);
	CU_ASSERT(nap_send(n, 1000, PEER, NULL, 0, NAP_ACK, &b) == 0);
	CU_ASSERT(nap_send(n, 1000, PEER, NULL, 0, 0, &c) == 0);
	/* Written: the NAP_ACK ones wait for their receipts. */
	while (n->user.head != NULL) {
		struct nap_frame *f = n->user.head;

		n->user.head = f->next;
		if (f->flags & NAP_ACK)
			nap_fq_push(&n->unacked, f);
		else {
			free(f->data);
			free(f);
		}
	}
	n->user.tail = NULL;
	n->user.n = n->user.bytes = 0;
	CU_ASSERT(n->unacked.n == 2);
	snprintf(p, sizeof(p), "<ack seq=\"%u\" to=\"00010002\" session=\""
	    SESS "\" status=\"stored\"/>", b);
	CU_ASSERT(feed(n, 5, SESS2, 1, SERVER, p) == 0);
	CU_ASSERT(s.rcpts == 1 && s.last_rcpt.status == NAP_RCPT_STORED &&
	    s.last_rcpt.seq == b && s.last_rcpt.to == PEER &&
	    s.last_rcpt.from == SERVER);
	CU_ASSERT(n->unacked.n == 1 && n->unacked.head->seq == a);
	snprintf(p, sizeof(p), "<ack seq=\"%u\" to=\"00010002\" session=\""
	    SESS "\" status=\"delivered\"/>", b);
	CU_ASSERT(feed(n, 5, SESS2, 2, SERVER, p) == 0);
	CU_ASSERT(s.rcpts == 2 && s.last_rcpt.status == NAP_RCPT_DELIVERED);
	/* A receipt of another session does not take ours. */
	snprintf(p, sizeof(p), "<ack seq=\"%u\" session=\"" SESS2 "\" "
	    "status=\"stored\"/>", a);
	CU_ASSERT(feed(n, 5, SESS2, 3, SERVER, p) == 0);
	CU_ASSERT(n->unacked.n == 1);
	snprintf(p, sizeof(p), "<error code=\"404\" seq=\"%u\" "
	    "to=\"00010099\" session=\"" SESS "\" text=\"unknown\"/>", a);
	CU_ASSERT(feed(n, 6, SESS2, 4, SERVER, p) == 0);
	CU_ASSERT(s.last_rcpt.status == NAP_RCPT_ERROR &&
	    s.last_rcpt.code == 404 && s.last_rcpt.seq == a &&
	    s.last_rcpt.to == 0x00010099);
	CU_ASSERT_STRING_EQUAL(s.rcpt_text, "unknown");
	CU_ASSERT(n->unacked.n == 0);
	CU_ASSERT(s.msgs == 0);
	/* Without a receipt callback receipts go to the message callback. */
	nap_set_receipt_cb(n, NULL, NULL);
	CU_ASSERT(feed(n, 6, SESS2, 5, SERVER, "<error code=\"404\" "
	    "seq=\"9\"/>") == 0);
	CU_ASSERT(s.msgs == 1 && s.last_type == 6);
	CU_ASSERT(feed(n, 5, SESS2, 6, SERVER, "<ack seq=\"9\"/>") == 0);
	CU_ASSERT(s.msgs == 2 && s.last_type == 5);
	nap_free(n);
}

static void
test_not_server(void)
{
	struct seen s;
	struct nap *n = online(&s);

	/* §4: libnap ignores an Ack or Error whose From is not a server. */
	CU_ASSERT(feed(n, 5, SESS2, 1, PEER, "<ack seq=\"1\"/>") == 0);
	CU_ASSERT(feed(n, 6, SESS2, 2, PEER, "<error code=\"403\" "
	    "seq=\"0\"/>") == 0);
	CU_ASSERT(s.rcpts == 0 && s.msgs == 0);
	CU_ASSERT(n->stats.ignored == 2);
	CU_ASSERT(nap_state(n) == NAP_ST_ONLINE && n->down_err == 0);
	/* The platform is a server. */
	CU_ASSERT(feed(n, 5, SESS2, 3, NAP_PLATFORM, "<ack seq=\"1\"/>") ==
	    0);
	CU_ASSERT(s.rcpts == 1);
	nap_free(n);
}

static void
test_wait_error(void)
{
	struct seen s;
	struct nap *n = online(&s);

	n->wait.active = true;
	n->wait.seq = 5;
	n->wait.to = 0x00010099;
	CU_ASSERT(feed(n, 6, SESS2, 1, SERVER, "<error code=\"404\" "
	    "seq=\"4\"/>") == 0);
	CU_ASSERT(!n->wait.done && s.rcpts == 1);
	CU_ASSERT(feed(n, 6, SESS2, 2, SERVER, "<error code=\"404\" "
	    "seq=\"5\" session=\"" SESS "\" text=\"unknown destination\"/>") ==
	    0);
	CU_ASSERT(n->wait.done && n->wait.err == 404 && s.rcpts == 1);
	CU_ASSERT_STRING_EQUAL(nap_errmsg(n),
	    "unknown destination 00010099 (404)");
	memset(&n->wait, 0, sizeof(n->wait));
	n->wait.active = true;
	n->wait.seq = 6;
	CU_ASSERT(feed(n, 6, SESS2, 3, SERVER, "<error code=\"403\" "
	    "seq=\"6\" to=\"00010002\" text=\"type not permitted\"/>") == 0);
	CU_ASSERT(n->wait.err == 403);
	CU_ASSERT_STRING_EQUAL(nap_errmsg(n),
	    "forbidden 00010002 (403): type not permitted");
	nap_free(n);
}

static void
test_wait_reply(void)
{
	struct seen s;
	struct nap *n = online(&s);
	struct env_msg *m;
	size_t len;
	uint8_t *buf;
	uint32_t re;

	n->wait.active = true;
	n->wait.seq = 9;
	/* A message with Re = 9 is the reply; others go to the callback. */
	CU_ASSERT(feed(n, 2000, SESS2, 1, PEER, "<r/>") == 0);
	CU_ASSERT(s.msgs == 1 && !n->wait.done);
	m = env_msg_new(2000, SESS2, 2, PEER, ME);
	env_msg_set_re(m, true, 9);
	CU_ASSERT(env_serialize(m, true, &buf, &len) == 0);
	env_msg_free(m);
	CU_ASSERT(nap_io_feed(n, buf, len) == 0);
	free(buf);
	CU_ASSERT(s.msgs == 1 && n->wait.done && n->wait.reply != NULL);
	CU_ASSERT(nap_msg_re(n->wait.reply, &re) && re == 9);
	CU_ASSERT(nap_msg_seq(n->wait.reply) == 2);
	CU_ASSERT(n->unconf == 2);
	nap_msg_free(n->wait.reply);
	memset(&n->wait, 0, sizeof(n->wait));
	/* Reserved requests: the reply echoes the Seq. */
	n->wait.active = true;
	n->wait.seq = 44;
	n->wait.echo_type = 31;
	CU_ASSERT(feed(n, 31, SESS2, 43, SERVER, NULL) == 0);
	CU_ASSERT(!n->wait.done);
	CU_ASSERT(feed(n, 31, SESS2, 44, SERVER, NULL) == 0);
	CU_ASSERT(n->wait.done);
	nap_msg_free(n->wait.reply);
	memset(&n->wait, 0, sizeof(n->wait));
	n->wait.active = true;
	n->wait.seq = 50;
	n->wait.echo_type = 4;
	CU_ASSERT(feed(n, 4, SESS2, 50, SERVER, NULL) == 0);
	CU_ASSERT(n->wait.done && n->wait.reply == NULL);
	memset(&n->wait, 0, sizeof(n->wait));
	nap_free(n);
}

static void
test_logout(void)
{
	struct seen s;
	struct nap *n = online(&s);
	struct env_msg *m;

	CU_ASSERT(feed(n, 1000, SESS2, 1, PEER, NULL) == 0);
	/* §5: confirm what came, then the link goes down (no failure). */
	CU_ASSERT(feed(n, 7, SESS2, 2, SERVER, NULL) == NAP_E_LOGOUT);
	CU_ASSERT(n->ctrl.n == 1);
	m = pop_parse(&n->ctrl);
	CU_ASSERT(env_msg_header(m)->type == 5);
	env_msg_free(m);
	/* Frames after the Logout in the same read are not dispatched. */
	nap_free(n);
	n = online(&s);
	{
		size_t l1, l2;
		uint8_t *a = mkframe(7, SESS2, 1, SERVER, ME, NULL, &l1);
		uint8_t *b = mkframe(1000, SESS2, 2, PEER, ME, NULL, &l2);
		uint8_t *both = malloc(l1 + l2);

		memcpy(both, a, l1);
		memcpy(both + l1, b, l2);
		CU_ASSERT(nap_io_feed(n, both, l1 + l2) == NAP_E_LOGOUT);
		CU_ASSERT(s.msgs == 0);
		free(a);
		free(b);
		free(both);
	}
	nap_free(n);
}

static void
test_replaced(void)
{
	struct seen s;
	struct nap *n = online(&s);

	/* A 403 naming no message: replaced or disabled. */
	CU_ASSERT(feed(n, 6, SESS2, 1, SERVER, "<error code=\"403\" "
	    "seq=\"0\" text=\"replaced\"/>") == 403);
	CU_ASSERT(strstr(nap_errmsg(n), "replaced") != NULL);
	nap_free(n);
}

static void
test_restamp(void)
{
	struct seen s;
	struct nap *n = online(&s);
	struct env_msg *m;
	uint32_t a, b;

	CU_ASSERT(nap_send(n, 1000, PEER, NULL, 0, NAP_ACK, &a) == 0);
	CU_ASSERT(nap_send(n, 1000, PEER, "<x/>", 4, 0, &b) == 0);
	/* a was written, b still waits. */
	written(n);
	/* A new session (not resumed): a is unknown, b takes the new id. */
	n->state = NAP_ST_LOGIN;
	memcpy(n->resume, SESS, 17);
	nap_online(n, SESS2, 30, 90);
	CU_ASSERT(!nap_resumed(n));
	CU_ASSERT(s.rcpts == 1 && s.last_rcpt.status == NAP_RCPT_UNKNOWN &&
	    s.last_rcpt.seq == a);
	CU_ASSERT(n->unacked.n == 0);
	m = pop_parse(&n->user);
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_STRING_EQUAL(env_msg_header(m)->session, SESS2);
	CU_ASSERT(env_msg_header(m)->seq == b);
	env_msg_free(m);
	CU_ASSERT_STRING_EQUAL(n->resume, SESS2);
	nap_free(n);
}

static void
test_resume(void)
{
	struct seen s;
	struct nap *n = online(&s);
	struct env_msg *m;
	uint32_t a, b;

	CU_ASSERT(nap_send(n, 1000, PEER, NULL, 0, NAP_ACK, &a) == 0);
	CU_ASSERT(nap_send(n, 1000, PEER, NULL, 0, 0, &b) == 0);
	written(n);
	n->state = NAP_ST_LOGIN;
	memcpy(n->resume, SESS, 17);
	nap_online(n, SESS, 30, 90);
	CU_ASSERT(nap_resumed(n));
	/* Resumed: a is sent again first, same Seq and session. */
	CU_ASSERT(s.rcpts == 0 && n->user.n == 2 && n->unacked.n == 0);
	m = pop_parse(&n->user);
	CU_ASSERT(env_msg_header(m)->seq == a && env_msg_header(m)->ack);
	CU_ASSERT_STRING_EQUAL(env_msg_header(m)->session, SESS);
	env_msg_free(m);
	m = pop_parse(&n->user);
	CU_ASSERT(env_msg_header(m)->seq == b);
	env_msg_free(m);
	nap_free(n);
}

static void
test_msg_content(void)
{
	static const struct {
		const char	*doc;
		const char	*content;	/* NULL: no parameters */
	} cases[] = {
		{ "<Message version=\"1.0\"><Header Message_Type=\"1000\" "
		  "SessionId=\"\" Seq=\"1\" From=\"00010001\" To=\"00010002\"/>"
		  "</Message>", NULL },
		{ "<Message version=\"1.0\"><Header Message_Type=\"1000\" "
		  "SessionId=\"\" Seq=\"1\" From=\"00010001\" To=\"00010002\"/>"
		  "<parameters/></Message>", "" },
		{ "<Message version=\"1.0\"><Header Message_Type=\"1000\" "
		  "SessionId=\"\" Seq=\"1\" From=\"00010001\" To=\"00010002\"/>"
		  "<parameters></parameters></Message>", "" },
		{ "<Message version=\"1.0\"><Header Message_Type=\"1000\" "
		  "SessionId=\"\" Seq=\"1\" From=\"00010001\" To=\"00010002\"/>"
		  "<parameters xmlns:x=\"urn:a\" note=\"1>2\"><x:y k='&gt;'/>t"
		  "</parameters></Message>", "<x:y k='&gt;'/>t" },
	};
	struct env_parser *p = env_parser_new(0);
	struct env_error err;
	struct nap_msg nm, *copy;
	const char *c;
	size_t len, rl;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&nm, 0, sizeof(nm));
		nm.raw = (const uint8_t *)cases[i].doc;
		nm.rawlen = strlen(cases[i].doc);
		CU_ASSERT_FATAL(env_parse(p, nm.raw, nm.rawlen, &nm.env,
		    &err) == 0);
		c = nap_msg_content(&nm, &len);
		if (cases[i].content == NULL) {
			CU_ASSERT(c == NULL && len == 0);
		} else {
			CU_ASSERT(c != NULL && len ==
			    strlen(cases[i].content) && memcmp(c,
			    cases[i].content, len) == 0);
		}
		copy = nap_msg_dup(&nm);
		CU_ASSERT_FATAL(copy != NULL);
		CU_ASSERT(nap_msg_raw(copy, &rl) != nm.raw && rl == nm.rawlen);
		CU_ASSERT(nap_msg_from(copy) == ME && nap_msg_to(copy) == PEER &&
		    nap_msg_seq(copy) == 1 && nap_msg_type(copy) == 1000 &&
		    !nap_msg_ack(copy) && !nap_msg_ttl(copy, NULL) &&
		    !nap_msg_re(copy, NULL));
		CU_ASSERT_STRING_EQUAL(nap_msg_session(copy), "");
		nap_msg_free(copy);
		env_msg_free(nm.env);
	}
	nap_msg_free(NULL);
	env_parser_free(p);
}

static void
test_raw(void)
{
	struct nap *n = online(NULL);
	struct nap_frame *f;

	CU_ASSERT(nap_send_raw(n, "<x/>", 4) == 0);
	CU_ASSERT(nap_send_raw(n, NULL, 0) == 0);
	CU_ASSERT(nap_send_raw(n, NULL, 1) == NAP_E_INVAL);
	f = n->user.head;
	CU_ASSERT(f->len == 8 && memcmp(f->data, "\0\0\0\4<x/>", 8) == 0);
	CU_ASSERT(!(f->flags & NAP_FR_USER));
	f = f->next;
	CU_ASSERT(f->len == 4 && memcmp(f->data, "\0\0\0\0", 4) == 0);
	nap_free(n);
}

static void
test_bad_frame(void)
{
	struct seen s;
	struct nap *n = online(&s);
	static const uint8_t junk[] = "\0\0\0\5<a><";
	static const uint8_t huge[] = "\x7f\0\0\0";

	/* A malformed envelope is dropped (a device never answers Error). */
	CU_ASSERT(nap_io_feed(n, junk, 9) == 0);
	CU_ASSERT(n->stats.malformed == 1 && s.msgs == 0 && n->ctrl.n == 0);
	/* A bad length prefix ends the link. */
	CU_ASSERT(nap_io_feed(n, huge, 4) == NAP_E_PROTOCOL);
	nap_free(n);
}

void
init_libnap_tests(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("libnap", NULL, NULL)) == NULL)
		return;
	CU_add_test(s, "codes and error names", test_codes);
	CU_add_test(s, "HOST:PORT", test_server_str);
	CU_add_test(s, "settings", test_config);
	CU_add_test(s, "backoff with jitter", test_backoff);
	CU_add_test(s, "duplicates: basic", test_dup_basic);
	CU_add_test(s, "duplicates: window", test_dup_window);
	CU_add_test(s, "duplicates: Seq wrap", test_dup_wrap);
	CU_add_test(s, "duplicates: LRU bound", test_dup_lru);
	CU_add_test(s, "building messages", test_build);
	CU_add_test(s, "messages refused", test_build_refused);
	CU_add_test(s, "Seq wraps to 0", test_seq_wrap);
	CU_add_test(s, "Login frame", test_login_frame);
	CU_add_test(s, "LoginReply", test_login_reply);
	CU_add_test(s, "Login refused", test_login_refused);
	CU_add_test(s, "Check answered", test_check);
	CU_add_test(s, "confirmations", test_confirm);
	CU_add_test(s, "duplicates dropped", test_duplicates);
	CU_add_test(s, "receipts", test_receipts);
	CU_add_test(s, "Ack/Error not from a server", test_not_server);
	CU_add_test(s, "request: Error", test_wait_error);
	CU_add_test(s, "request: reply", test_wait_reply);
	CU_add_test(s, "server Logout", test_logout);
	CU_add_test(s, "replaced: 403", test_replaced);
	CU_add_test(s, "new session re-stamps", test_restamp);
	CU_add_test(s, "resumed session resends", test_resume);
	CU_add_test(s, "parameters content, copies", test_msg_content);
	CU_add_test(s, "raw frames", test_raw);
	CU_add_test(s, "bad frames", test_bad_frame);
}
