/*
 * parse.c - the envelope parser (DESIGN.md §3): one SAX2 push parse per
 * frame body, reused per thread, building no tree.
 *
 * Both entry points run the same parse, so the router's fast path
 * (env_parse_header) and the full parse (env_parse) cannot disagree: the
 * full parse only also keeps unknown attributes, namespace declarations
 * and the byte range of <parameters>.  Hardening follows
 * ../shared/HARDENING.md: no DTD of any kind (the internalSubset callback
 * stops the parser), no entities beyond the predefined five, no network,
 * an entity loader that loads nothing, depth bound 64, UTF-8 only, and a
 * context recreated before its dictionary grows without bound.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/dict.h>

#include "envelope_internal.h"

/* Recreate a context after this many documents or dictionary names. */
#define CTXT_MAX_DOCS	4096
#define CTXT_MAX_NAMES	20000

#define XSI_NS	"http://www.w3.org/2001/XMLSchema-instance"

#define OPTIONS	(XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

/* Header attributes of §3: bit per known attribute. */
enum {
	A_TYPE = 1, A_SESSION = 2, A_SEQ = 4, A_FROM = 8, A_TO = 16,
	A_REQUIRED = 31, A_ACK = 32, A_TTL = 64, A_VIA = 128, A_RE = 256,
};

/* Where the parse is among Message's children. */
enum stage { ST_ROOT, ST_HEADER, ST_PARAMS, ST_DONE };

struct env_parser {
	xmlParserCtxtPtr	 ctxt;
	xmlSAXHandler		 sax;
	unsigned		 ndocs;
	uint32_t		 max_size;
	/* State of the parse in progress. */
	const uint8_t		*body;
	size_t			 len;
	int			 depth;
	enum stage		 stage;
	int			 in_header;	/* inside <Header> */
	int			 in_params;	/* inside <parameters> */
	int			 seen;		/* A_* bits */
	struct env_header	*h;
	struct env_msg		*msg;		/* full parse only */
	size_t			 params_start;
	size_t			 params_end;
	struct env_error	*err;
	env_child_cb		 child_cb;	/* env_parse_children() */
	void			*child_arg;
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void	lib_init_once(void);
static xmlParserInputPtr no_loader(const char *, const char *,
		    xmlParserCtxtPtr);
static int	ctxt_renew(struct env_parser *);
static void	fail(struct env_parser *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static size_t	cur_off(xmlParserCtxtPtr);
static int	parse_digits(const xmlChar *, const xmlChar *, uint32_t *);
static int	parse_via(struct env_parser *, const xmlChar *, const xmlChar *);
static int	header_attr(struct env_parser *, const xmlChar **);
static void	start_header(struct env_parser *, int, const xmlChar **, int,
		    const xmlChar **);
static void	start_message(struct env_parser *, const xmlChar *, int,
		    const xmlChar **, int, const xmlChar **);
static int	keep_ns(struct env_list *, int, const xmlChar **);
static void	unescape_amp(char *);
static int	add_decoded(struct env_list *, const char *, size_t,
		    const char *, size_t);
static int	tag_bounds(struct env_parser *, size_t *, size_t *);
static void	on_start_doc(void *);
static void	child(struct env_parser *, const char *, int,
		    const xmlChar **);
static void	on_start(void *, const xmlChar *, const xmlChar *,
		    const xmlChar *, int, const xmlChar **, int, int,
		    const xmlChar **);
static void	on_end(void *, const xmlChar *, const xmlChar *,
		    const xmlChar *);
static void	on_text(void *, const xmlChar *, int);
static void	on_cdata(void *, const xmlChar *, int);
static void	on_pi(void *, const xmlChar *, const xmlChar *);
static void	on_dtd(void *, const xmlChar *, const xmlChar *,
		    const xmlChar *);
static void	on_error(void *, xmlErrorPtr);
static int	run(struct env_parser *, const uint8_t *, size_t,
		    struct env_header *, struct env_msg *, struct env_error *);

/* Defence in depth: nothing is ever opened or fetched. */
static xmlParserInputPtr
no_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	(void)url;
	(void)id;
	(void)ctxt;
	return NULL;
}

static void
lib_init_once(void)
{
	xmlInitParser();
	xmlSetExternalEntityLoader(no_loader);
}

void
env_lib_init(void)
{
	pthread_once(&lib_once, lib_init_once);
}

struct env_parser *
env_parser_new(uint32_t max_size)
{
	struct env_parser *p;

	env_lib_init();
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->max_size = max_size ? max_size : ENV_MAX_FRAME_LIMIT;
	xmlSAXVersion(&p->sax, 2);
	/* Only our callbacks: no tree, no entity or DTD handling at all. */
	memset(&p->sax, 0, sizeof(p->sax));
	p->sax.initialized = XML_SAX2_MAGIC;
	p->sax.startDocument = on_start_doc;
	p->sax.startElementNs = on_start;
	p->sax.endElementNs = on_end;
	p->sax.characters = on_text;
	p->sax.ignorableWhitespace = on_text;
	p->sax.cdataBlock = on_cdata;
	p->sax.processingInstruction = on_pi;
	p->sax.internalSubset = on_dtd;
	p->sax.externalSubset = on_dtd;
	p->sax.serror = on_error;
	if (ctxt_renew(p) == -1) {
		free(p);
		return NULL;
	}
	return p;
}

void
env_parser_free(struct env_parser *p)
{
	if (p == NULL)
		return;
	if (p->ctxt != NULL)
		xmlFreeParserCtxt(p->ctxt);
	free(p);
}

/*
 * A fresh context with the one fixed option set (options stick on a
 * reused context, HARDENING.md), and our state reachable from callbacks.
 */
static int
ctxt_renew(struct env_parser *p)
{
	xmlParserCtxtPtr c;

	if ((c = xmlCreatePushParserCtxt(&p->sax, NULL, NULL, 0, NULL)) == NULL)
		return -1;
	xmlCtxtUseOptions(c, OPTIONS);
	c->_private = p;
	if (p->ctxt != NULL)
		xmlFreeParserCtxt(p->ctxt);
	p->ctxt = c;
	p->ndocs = 0;
	return 0;
}

/* Records the first error only, and stops the parser. */
static void
fail(struct env_parser *p, int code, const char *fmt, ...)
{
	va_list ap;

	if (p->err->code == 0) {
		p->err->code = code;
		va_start(ap, fmt);
		vsnprintf(p->err->reason, sizeof(p->err->reason), fmt, ap);
		va_end(ap);
	}
	xmlStopParser(p->ctxt);
}

/* Byte offset of the parser's position in the body (UTF-8: no recoding). */
static size_t
cur_off(xmlParserCtxtPtr c)
{
	return (size_t)c->input->consumed + (size_t)(c->input->cur -
	    c->input->base);
}

/* §3: decimal digits only, 1 to 10 of them, value at most 4294967295. */
static int
parse_digits(const xmlChar *v, const xmlChar *end, uint32_t *out)
{
	return env_u32_parse((const char *)v, (size_t)(end - v), out);
}

/* §3: Via is 1 to 8 codes separated by single spaces. */
static int
parse_via(struct env_parser *p, const xmlChar *v, const xmlChar *end)
{
	struct env_header *h = p->h;

	h->nvia = 0;
	for (;;) {
		if (end - v < 8 || h->nvia == ENV_MAX_VIA ||
		    env_code_parse((const char *)v, 8, &h->via[h->nvia]) == -1)
			return -1;
		h->nvia++;
		v += 8;
		if (v == end)
			return 0;
		if (*v != ' ')
			return -1;
		v++;
	}
}

/* One Header attribute (libxml2's 5-pointer SAX2 form). */
static int
header_attr(struct env_parser *p, const xmlChar **a)
{
	const char *name = (const char *)a[0];
	const xmlChar *v = a[3], *end = a[4];
	struct env_header *h = p->h;
	size_t n = (size_t)(end - v);

	if (a[2] != NULL && strcmp((const char *)a[2], XSI_NS) == 0)
		return -1;	/* XSD gives xsi:* meaning: keep our verdicts equal */
	if (a[1] != NULL)
		goto unknown;
	if (strcmp(name, "Message_Type") == 0) {
		p->seen |= A_TYPE;
		return parse_digits(v, end, &h->type);
	}
	if (strcmp(name, "Seq") == 0) {
		p->seen |= A_SEQ;
		return parse_digits(v, end, &h->seq);
	}
	if (strcmp(name, "From") == 0) {
		p->seen |= A_FROM;
		return env_code_parse((const char *)v, n, &h->from);
	}
	if (strcmp(name, "To") == 0) {
		p->seen |= A_TO;
		return env_code_parse((const char *)v, n, &h->to);
	}
	if (strcmp(name, "SessionId") == 0) {
		p->seen |= A_SESSION;
		if (n != 0 && n != 16)
			return -1;
		for (size_t i = 0; i < n; i++)
			if (!((v[i] >= '0' && v[i] <= '9') ||
			    (v[i] >= 'A' && v[i] <= 'F')))
				return -1;
		memcpy(h->session, v, n);
		h->session[n] = '\0';
		return 0;
	}
	if (strcmp(name, "Ack") == 0) {
		p->seen |= A_ACK;
		if (n != 1 || (*v != '0' && *v != '1'))
			return -1;
		h->ack = *v == '1';
		return 0;
	}
	if (strcmp(name, "TTL") == 0) {
		p->seen |= A_TTL;
		h->has_ttl = true;
		return parse_digits(v, end, &h->ttl);
	}
	if (strcmp(name, "Re") == 0) {
		p->seen |= A_RE;
		h->has_re = true;
		return parse_digits(v, end, &h->re);
	}
	if (strcmp(name, "Via") == 0) {
		p->seen |= A_VIA;
		return parse_via(p, v, end);
	}
unknown:
	/* §3: receivers ignore unknown attributes and pass them on. */
	if (p->msg == NULL)
		return 0;
	if (a[1] != NULL) {
		size_t ql = strlen((const char *)a[1]) + 1 + strlen(name);
		char *q = malloc(ql + 1);
		int rc;

		if (q == NULL)
			return -2;
		snprintf(q, ql + 1, "%s:%s", (const char *)a[1], name);
		rc = add_decoded(&p->msg->attrs, q, ql, (const char *)v, n);
		free(q);
		return rc == 0 ? 0 : -2;
	}
	return add_decoded(&p->msg->attrs, name, strlen(name),
	    (const char *)v, n) == 0 ? 0 : -2;
}

/*
 * Without entity substitution libxml2 hands attribute values over with
 * every '&' (from &amp; or &#38;) written as "&#38;", for a tree builder
 * to re-parse.  No other '&' can be in such a value, so turning each
 * "&#38;" back into '&' is exact.
 */
static void
unescape_amp(char *s)
{
	char *w = s;

	if ((s = strchr(s, '&')) == NULL)
		return;
	for (w = s; *s != '\0'; ) {
		if (strncmp(s, "&#38;", 5) == 0) {
			*w++ = '&';
			s += 5;
		} else
			*w++ = *s++;
	}
	*w = '\0';
}

/* Adds a name/value pair whose value came from libxml2 (see above). */
static int
add_decoded(struct env_list *l, const char *name, size_t nlen,
    const char *v, size_t vlen)
{
	if (env_list_add(l, name, nlen, v, vlen) == -1)
		return -1;
	unescape_amp(l->v[l->n - 1].value);
	return 0;
}

static int
keep_ns(struct env_list *l, int nns, const xmlChar **ns)
{
	for (int i = 0; i < nns; i++) {
		const char *pfx = (const char *)ns[2 * i];
		const char *uri = (const char *)ns[2 * i + 1];

		if (uri == NULL)
			uri = "";
		if (add_decoded(l, pfx, pfx ? strlen(pfx) : 0, uri,
		    strlen(uri)) == -1)
			return -1;
	}
	return 0;
}

/*
 * Locates the start tag just parsed.  The callback runs with cur on the
 * '>' or "/>" that closes it; attribute values cannot hold a raw '<', so
 * the tag starts at the last '<' before it.  A tag cut off by the end of
 * the input (libxml2 reports it before failing) gives -1.
 */
static int
tag_bounds(struct env_parser *p, size_t *start, size_t *end)
{
	size_t off = cur_off(p->ctxt);

	if (off >= p->len)
		return -1;
	*end = off + (p->body[off] == '/' ? 2 : 1);
	if (*end > p->len)
		return -1;
	while (off > 0 && p->body[off] != '<')
		off--;
	if (p->body[off] != '<')
		return -1;
	*start = off;
	return 0;
}

static void
start_message(struct env_parser *p, const xmlChar *uri, int nns,
    const xmlChar **ns, int nattr, const xmlChar **attr)
{
	int version = 0;

	if (uri != NULL) {
		fail(p, 400, "Message is in a namespace");
		return;
	}
	for (int i = 0; i < nattr; i++) {
		const xmlChar **a = attr + 5 * i;

		if (a[1] != NULL || strcmp((const char *)a[0], "version") != 0) {
			fail(p, 400, "unknown attribute %s on Message",
			    (const char *)a[0]);
			return;
		}
		if (a[4] - a[3] != 3 || memcmp(a[3], "1.0", 3) != 0) {
			fail(p, 400, "Message version is not 1.0");
			return;
		}
		version = 1;
	}
	if (!version) {
		fail(p, 400, "Message has no version");
		return;
	}
	if (p->msg != NULL && keep_ns(&p->msg->msg_ns, nns, ns) == -1)
		fail(p, 400, "out of memory");
	p->stage = ST_HEADER;
}

static const char *const attr_names[] = {
	"Message_Type", "SessionId", "Seq", "From", "To",
};

static void
start_header(struct env_parser *p, int nns, const xmlChar **ns, int nattr,
    const xmlChar **attr)
{
	size_t start, end;
	int rc;

	if (tag_bounds(p, &start, &end) == -1 ||
	    memcmp(p->body + start, "<Header", 7) != 0) {
		fail(p, 400, "cannot locate the Header tag");
		return;
	}
	p->h->tag_start = start;
	p->h->tag_end = end;
	for (int i = 0; i < nattr; i++) {
		const xmlChar **a = attr + 5 * i;

		if ((rc = header_attr(p, a)) == -2) {
			fail(p, 400, "out of memory");
			return;
		}
		if (rc == -1) {
			fail(p, 400, "bad Header attribute %s",
			    (const char *)a[0]);
			return;
		}
	}
	for (int i = 0; i < 5; i++)
		if (!(p->seen & (1 << i))) {
			fail(p, 400, "Header lacks %s", attr_names[i]);
			return;
		}
	if (p->msg != NULL && keep_ns(&p->msg->hdr_ns, nns, ns) == -1)
		fail(p, 400, "out of memory");
	p->in_header = 1;
	p->stage = ST_PARAMS;
}

static void
on_start_doc(void *ctx)
{
	xmlParserCtxtPtr c = ctx;
	struct env_parser *p = c->_private;
	const char *enc = (const char *)c->encoding;

	/* §3: a declared encoding must be UTF-8 (we never recode). */
	if (enc != NULL && strcasecmp(enc, "UTF-8") != 0)
		fail(p, 400, "encoding %.40s is not UTF-8", enc);
}

/* An element directly inside <parameters>, to env_parse_children's cb. */
static void
child(struct env_parser *p, const char *name, int nattr,
    const xmlChar **attr)
{
	struct env_attr a[ENV_ATTRS_MAX];
	int n = 0;

	for (int i = 0; i < nattr && n < ENV_ATTRS_MAX; i++) {
		const xmlChar **x = attr + 5 * i;

		if (x[1] != NULL || x[2] != NULL)
			continue;	/* in a namespace: not the plain name */
		a[n].name = (const char *)x[0];
		a[n].value = (const char *)x[3];
		a[n].len = (size_t)(x[4] - x[3]);
		n++;
	}
	p->child_cb(p->child_arg, p->h, name, a, n);
}

static void
on_start(void *ctx, const xmlChar *name, const xmlChar *prefix,
    const xmlChar *uri, int nns, const xmlChar **ns, int nattr, int ndef,
    const xmlChar **attr)
{
	xmlParserCtxtPtr c = ctx;
	struct env_parser *p = c->_private;
	const char *n = (const char *)name;

	(void)prefix;
	(void)ndef;
	if (++p->depth > ENV_MAX_DEPTH) {
		fail(p, 400, "nesting deeper than %d", ENV_MAX_DEPTH);
		return;
	}
	if (p->depth == 1) {
		if (strcmp(n, "Message") != 0)
			fail(p, 400, "root element is %.40s, not Message", n);
		else
			start_message(p, uri, nns, ns, nattr, attr);
		return;
	}
	if (p->in_header) {
		fail(p, 400, "Header has a child element");
		return;
	}
	if (p->depth > 2) {		/* inside parameters: opaque */
		if (p->depth == 3 && p->in_params && p->child_cb != NULL &&
		    uri == NULL)
			child(p, n, nattr, attr);
		return;
	}
	if (p->stage == ST_HEADER) {
		if (strcmp(n, "Header") != 0 || uri != NULL)
			fail(p, 400, "first child of Message is not Header");
		else
			start_header(p, nns, ns, nattr, attr);
		return;
	}
	if (p->stage == ST_PARAMS && strcmp(n, "parameters") == 0 &&
	    uri == NULL) {
		size_t end;

		if (tag_bounds(p, &p->params_start, &end) == -1) {
			fail(p, 400, "truncated parameters tag");
			return;
		}
		p->in_params = 1;
		p->stage = ST_DONE;
		return;
	}
	fail(p, 400, "unexpected element %.40s in Message", n);
}

static void
on_end(void *ctx, const xmlChar *name, const xmlChar *prefix,
    const xmlChar *uri)
{
	xmlParserCtxtPtr c = ctx;
	struct env_parser *p = c->_private;

	(void)name;
	(void)prefix;
	(void)uri;
	if (p->depth == 2) {
		if (p->in_params)
			p->params_end = cur_off(c);
		p->in_header = 0;
		p->in_params = 0;
	}
	p->depth--;
}

static void
on_text(void *ctx, const xmlChar *s, int len)
{
	xmlParserCtxtPtr c = ctx;
	struct env_parser *p = c->_private;

	if (p->in_header) {
		fail(p, 400, "Header has content");
		return;
	}
	if (p->depth != 1)
		return;
	for (int i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') {
			fail(p, 400, "text directly inside Message");
			return;
		}
}

static void
on_cdata(void *ctx, const xmlChar *s, int len)
{
	xmlParserCtxtPtr c = ctx;
	struct env_parser *p = c->_private;

	(void)s;
	(void)len;
	if (p->in_header || p->depth == 1)
		fail(p, 400, "CDATA directly inside %s",
		    p->in_header ? "Header" : "Message");
}

static void
on_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
	xmlParserCtxtPtr c = ctx;

	(void)data;
	fail(c->_private, 400, "processing instruction %.40s",
	    (const char *)target);
}

static void
on_dtd(void *ctx, const xmlChar *name, const xmlChar *eid, const xmlChar *sid)
{
	xmlParserCtxtPtr c = ctx;

	(void)name;
	(void)eid;
	(void)sid;
	fail(c->_private, 400, "DOCTYPE is forbidden");
}

/* libxml2's own well-formedness errors: keep the first as the reason. */
static void
on_error(void *ctx, xmlErrorPtr e)
{
	xmlParserCtxtPtr c = ctx;
	struct env_parser *p;
	size_t n;

	if (c == NULL || (p = c->_private) == NULL || p->err == NULL ||
	    p->err->code != 0 || e == NULL || e->level < XML_ERR_ERROR)
		return;
	p->err->code = 400;
	snprintf(p->err->reason, sizeof(p->err->reason),
	    "not well-formed: %s", e->message ? e->message : "error");
	/* One line: libxml2's messages may hold newlines (UTF-8 errors). */
	for (char *r = p->err->reason; *r != '\0'; r++)
		if ((unsigned char)*r < 0x20)
			*r = ' ';
	n = strlen(p->err->reason);
	while (n > 0 && p->err->reason[n - 1] == ' ')
		p->err->reason[--n] = '\0';
}

/* Checks done before libxml2 sees the bytes. */
static int
precheck(const uint8_t *body, size_t len, uint32_t max,
    struct env_error *err)
{
	if (len > max) {
		err->code = 413;
		snprintf(err->reason, sizeof(err->reason),
		    "envelope of %zu bytes exceeds %u", len, max);
		return -1;
	}
	err->code = 400;
	if (len == 0)
		snprintf(err->reason, sizeof(err->reason), "empty envelope");
	else if (len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0)
		snprintf(err->reason, sizeof(err->reason), "byte order mark");
	/* A NUL is never XML; refusing it also keeps libxml2 from taking
	 * "<\0?\0" for UTF-16. */
	else if (memchr(body, 0, len) != NULL)
		snprintf(err->reason, sizeof(err->reason), "NUL byte");
	else if (len > INT32_MAX)
		snprintf(err->reason, sizeof(err->reason), "too large");
	else {
		err->code = 0;
		return 0;
	}
	return -1;
}

static int
run(struct env_parser *p, const uint8_t *body, size_t len,
    struct env_header *h, struct env_msg *msg, struct env_error *err)
{
	xmlParserCtxtPtr c;
	int rc;

	err->code = 0;
	err->reason[0] = '\0';
	memset(h, 0, sizeof(*h));
	if (precheck(body, len, p->max_size, err) == -1)
		return -1;
	if ((p->ndocs >= CTXT_MAX_DOCS || (p->ctxt->dict != NULL &&
	    xmlDictSize(p->ctxt->dict) > CTXT_MAX_NAMES)) &&
	    ctxt_renew(p) == -1) {
		err->code = 400;
		snprintf(err->reason, sizeof(err->reason), "out of memory");
		return -1;
	}
	c = p->ctxt;
	p->ndocs++;
	p->body = body;
	p->len = len;
	p->depth = 0;
	p->stage = ST_ROOT;
	p->in_header = p->in_params = 0;
	p->seen = 0;
	p->h = h;
	p->msg = msg;
	p->params_start = p->params_end = 0;
	p->err = err;
	xmlCtxtResetPush(c, NULL, 0, NULL, NULL);
	rc = xmlParseChunk(c, (const char *)body, (int)len, 1);
	p->err = NULL;
	if (c->myDoc != NULL) {		/* never expected: no SAX2 tree */
		xmlFreeDoc(c->myDoc);
		c->myDoc = NULL;
	}
	if (err->code == 0 && (rc != 0 || c->errNo != 0 || !c->wellFormed)) {
		err->code = 400;
		snprintf(err->reason, sizeof(err->reason),
		    "not well-formed (libxml2 error %d)", c->errNo);
	}
	if (err->code == 0 && p->stage < ST_PARAMS) {
		err->code = 400;
		snprintf(err->reason, sizeof(err->reason), "no Header");
	}
	return err->code == 0 ? 0 : -1;
}

int
env_parse_header(struct env_parser *p, const uint8_t *body, size_t len,
    struct env_header *h, struct env_error *err)
{
	return run(p, body, len, h, NULL, err);
}

int
env_parse_children(struct env_parser *p, const uint8_t *body, size_t len,
    struct env_header *h, struct env_error *err, env_child_cb cb, void *arg)
{
	int rc;

	p->child_cb = cb;
	p->child_arg = arg;
	rc = run(p, body, len, h, NULL, err);
	p->child_cb = NULL;
	p->child_arg = NULL;
	return rc;
}

int
env_parse(struct env_parser *p, const uint8_t *body, size_t len,
    struct env_msg **out, struct env_error *err)
{
	struct env_msg *m;

	*out = NULL;
	if ((m = env_msg_alloc()) == NULL) {
		err->code = 400;
		snprintf(err->reason, sizeof(err->reason), "out of memory");
		return -1;
	}
	if (run(p, body, len, &m->h, m, err) == -1)
		goto bad;
	if (p->params_end > p->params_start) {
		m->params_len = p->params_end - p->params_start;
		if ((m->params = malloc(m->params_len + 1)) == NULL) {
			err->code = 400;
			snprintf(err->reason, sizeof(err->reason),
			    "out of memory");
			goto bad;
		}
		memcpy(m->params, body + p->params_start, m->params_len);
		m->params[m->params_len] = '\0';
	}
	*out = m;
	return 0;
bad:
	env_msg_free(m);
	return -1;
}

/*
 * Checks a built message by parsing its serialization with a parser
 * kept per thread (freed when the thread exits).
 */
static pthread_key_t check_key;
static pthread_once_t check_once = PTHREAD_ONCE_INIT;

static void
check_key_free(void *p)
{
	env_parser_free(p);
}

static void
check_key_init(void)
{
	(void)pthread_key_create(&check_key, check_key_free);
}

int
env_msg_check(const struct env_msg *m, struct env_error *err)
{
	struct env_parser *p;
	struct env_header h;
	uint8_t *buf;
	size_t len;
	int rc;

	pthread_once(&check_once, check_key_init);
	if ((p = pthread_getspecific(check_key)) == NULL) {
		if ((p = env_parser_new(0)) == NULL)
			goto nomem;
		(void)pthread_setspecific(check_key, p);
	}
	if (env_serialize(m, false, &buf, &len) == -1)
		goto nomem;
	rc = env_parse_header(p, buf, len, &h, err);
	free(buf);
	return rc;
nomem:
	err->code = 400;
	snprintf(err->reason, sizeof(err->reason), "out of memory");
	return -1;
}
