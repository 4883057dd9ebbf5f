/*
 * msg.c - the whole-message object of the envelope codec: building,
 * editing, comparing and serializing struct env_msg (DESIGN.md §3).
 *
 * Serialization writes the Header attributes in a fixed order, codes in
 * upper case (§1: what a node creates it writes in upper case), and the
 * parameters element as its exact original bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "envelope_internal.h"
#include "proto.h"

/* A growable output buffer; on no memory it stops growing and fails. */
struct obuf {
	char	*p;
	size_t	 len, cap;
	int	 oom;
};

static void	ob_reserve(struct obuf *, size_t);
static void	ob_put(struct obuf *, const char *, size_t);
static void	ob_str(struct obuf *, const char *);
static void	ob_u32(struct obuf *, const char *, uint32_t);
static void	ob_esc(struct obuf *, const char *);
static void	ob_ns(struct obuf *, const struct env_list *);
static bool	list_equal(const struct env_list *, const struct env_list *);
static bool	str_equal(const char *, const char *);
static bool	is_known_attr(const char *);
static bool	xml_chars(const char *);
static void	env_list_clear(struct env_list *);

int
env_list_add(struct env_list *l, const char *name, size_t nlen,
    const char *value, size_t vlen)
{
	struct env_pair *v, *e;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;

		if ((v = realloc(l->v, cap * sizeof(*v))) == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	e = &l->v[l->n];
	e->name = NULL;
	if (name != NULL && (e->name = strndup(name, nlen)) == NULL)
		return -1;
	if ((e->value = strndup(value, vlen)) == NULL) {
		free(e->name);
		return -1;
	}
	l->n++;
	return 0;
}

static void
env_list_clear(struct env_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].value);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

struct env_msg *
env_msg_alloc(void)
{
	env_lib_init();
	return calloc(1, sizeof(struct env_msg));
}

struct env_msg *
env_msg_new(uint32_t type, const char *session, uint32_t seq, uint32_t from,
    uint32_t to)
{
	struct env_msg *m;

	if ((m = env_msg_alloc()) == NULL)
		return NULL;
	m->h.type = type;
	m->h.seq = seq;
	m->h.from = from;
	m->h.to = to;
	if (env_msg_set_session(m, session) == -1) {
		env_msg_free(m);
		return NULL;
	}
	return m;
}

void
env_msg_free(struct env_msg *m)
{
	if (m == NULL)
		return;
	env_list_clear(&m->attrs);
	env_list_clear(&m->msg_ns);
	env_list_clear(&m->hdr_ns);
	free(m->params);
	if (m->params_doc != NULL)
		xmlFreeDoc(m->params_doc);
	free(m);
}

const struct env_header *
env_msg_header(const struct env_msg *m)
{
	return &m->h;
}

void
env_msg_set_ack(struct env_msg *m, bool ack)
{
	m->h.ack = ack;
}

void
env_msg_set_ttl(struct env_msg *m, bool has, uint32_t ttl)
{
	m->h.has_ttl = has;
	m->h.ttl = has ? ttl : 0;
}

void
env_msg_set_re(struct env_msg *m, bool has, uint32_t re)
{
	m->h.has_re = has;
	m->h.re = has ? re : 0;
}

void
env_msg_set_seq(struct env_msg *m, uint32_t seq)
{
	m->h.seq = seq;
}

int
env_msg_add_via(struct env_msg *m, uint32_t code)
{
	if (m->h.nvia >= ENV_MAX_VIA)
		return -1;
	m->h.via[m->h.nvia++] = code;
	return 0;
}

/* §3: SessionId is empty or 16 upper-case hex digits. */
int
env_msg_set_session(struct env_msg *m, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n != 0 && n != 16)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' &&
		    s[i] <= 'F')))
			return -1;
	memcpy(m->h.session, s ? s : "", n);
	m->h.session[n] = '\0';
	return 0;
}

size_t
env_msg_nattrs(const struct env_msg *m)
{
	return m->attrs.n;
}

int
env_msg_attr(const struct env_msg *m, size_t i, const char **name,
    const char **value)
{
	if (i >= m->attrs.n)
		return -1;
	*name = m->attrs.v[i].name;
	*value = m->attrs.v[i].value;
	return 0;
}

static bool
is_known_attr(const char *name)
{
	static const char *const known[] = { "Message_Type", "SessionId",
	    "Seq", "From", "To", "Ack", "TTL", "Via", "Re", "xmlns" };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(name, known[i]) == 0)
			return true;
	return false;
}

/*
 * True when s is UTF-8 made only of XML 1.0 characters: #x9 #xA #xD
 * [#x20-#xD7FF] [#xE000-#xFFFD] [#x10000-#x10FFFF], shortest forms.
 */
static bool
xml_chars(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t c;
	int n;

	while (*s != '\0') {
		if (*s < 0x80) {
			if (*s < 0x20 && *s != 0x9 && *s != 0xa && *s != 0xd)
				return false;
			s++;
			continue;
		}
		if ((*s & 0xe0) == 0xc0) { c = *s & 0x1f; n = 1; }
		else if ((*s & 0xf0) == 0xe0) { c = *s & 0x0f; n = 2; }
		else if ((*s & 0xf8) == 0xf0) { c = *s & 0x07; n = 3; }
		else
			return false;
		for (int i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			c = c << 6 | (s[i] & 0x3f);
		}
		if ((n == 1 && c < 0x80) || (n == 2 && c < 0x800) ||
		    (n == 3 && c < 0x10000) || c > 0x10ffff ||
		    (c >= 0xd800 && c <= 0xdfff) || c == 0xfffe || c == 0xffff)
			return false;
		s += n + 1;
	}
	return true;
}

int
env_msg_add_attr(struct env_msg *m, const char *name, const char *value)
{
	if (xmlValidateNCName((const xmlChar *)name, 0) != 0 ||
	    is_known_attr(name) || strncmp(name, "xml", 3) == 0 ||
	    !xml_chars(value))
		return -1;
	for (size_t i = 0; i < m->attrs.n; i++)
		if (strcmp(m->attrs.v[i].name, name) == 0)
			return -1;
	return env_list_add(&m->attrs, name, strlen(name), value,
	    strlen(value));
}

const char *
env_msg_parameters(const struct env_msg *m, size_t *len)
{
	*len = m->params_len;
	return m->params;
}

int
env_msg_set_parameters(struct env_msg *m, const char *inner, size_t len,
    struct env_error *err)
{
	char *old = m->params, *np = NULL;
	size_t oldlen = m->params_len, n = 0;

	if (inner != NULL && memchr(inner, 0, len) != NULL) {
		err->code = 400;
		snprintf(err->reason, sizeof(err->reason),
		    "NUL byte in parameters");
		return -1;
	}
	if (inner != NULL) {
		n = len + sizeof("<parameters></parameters>") - 1;
		if ((np = malloc(n + 1)) == NULL) {
			err->code = 400;
			snprintf(err->reason, sizeof(err->reason),
			    "out of memory");
			return -1;
		}
		memcpy(np, "<parameters>", 12);
		memcpy(np + 12, inner, len);
		memcpy(np + 12 + len, "</parameters>", 14);
	}
	m->params = np;
	m->params_len = n;
	/* The same rules as a received message: a trial parse of the whole. */
	if (env_msg_check(m, err) == -1) {
		free(np);
		m->params = old;
		m->params_len = oldlen;
		return -1;
	}
	free(old);
	if (m->params_doc != NULL) {
		xmlFreeDoc(m->params_doc);
		m->params_doc = NULL;
	}
	return 0;
}

/*
 * The parameters are parsed only when asked for, inside a Message that
 * carries Message's namespace declarations (the ones in scope there).
 * The bytes were checked by the envelope parser already.
 */
void *
env_msg_parameters_node(struct env_msg *m)
{
	struct obuf o = { 0 };
	xmlDocPtr doc;
	xmlNodePtr n;

	if (m->params == NULL)
		return NULL;
	if (m->params_doc == NULL) {
		ob_str(&o, "<Message");
		ob_ns(&o, &m->msg_ns);
		ob_str(&o, ">");
		ob_put(&o, m->params, m->params_len);
		ob_str(&o, "</Message>");
		if (o.oom || o.len > INT32_MAX) {
			free(o.p);
			return NULL;
		}
		doc = xmlReadMemory(o.p, (int)o.len, NULL, "UTF-8",
		    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
		free(o.p);
		if (doc == NULL)
			return NULL;
		m->params_doc = doc;
	}
	n = xmlDocGetRootElement(m->params_doc);
	for (n = n ? n->children : NULL; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return n;
	return NULL;
}

/* Room for n more bytes and a NUL; sets oom when there is none. */
static void
ob_reserve(struct obuf *o, size_t n)
{
	char *np;
	size_t cap;

	if (o->oom || o->len + n + 1 <= o->cap)
		return;
	cap = o->cap ? o->cap : 256;
	while (cap < o->len + n + 1)
		cap *= 2;
	if ((np = realloc(o->p, cap)) == NULL) {
		o->oom = 1;
		return;
	}
	o->p = np;
	o->cap = cap;
}

static void
ob_put(struct obuf *o, const char *s, size_t n)
{
	ob_reserve(o, n);
	if (o->oom)
		return;
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void
ob_str(struct obuf *o, const char *s)
{
	ob_put(o, s, strlen(s));
}

static void
ob_u32(struct obuf *o, const char *name, uint32_t v)
{
	char b[48];
	int n = snprintf(b, sizeof(b), " %s=\"%u\"", name, v);

	ob_put(o, b, (size_t)n);
}

/* An attribute value between double quotes (env_attr_esc). */
static void
ob_esc(struct obuf *o, const char *s)
{
	size_t need = env_attr_esc(NULL, 0, s);

	ob_reserve(o, need);
	if (o->oom)
		return;
	(void)env_attr_esc(o->p + o->len, o->cap - o->len, s);
	o->len += need;
}

static void
ob_ns(struct obuf *o, const struct env_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		ob_str(o, l->v[i].name ? " xmlns:" : " xmlns");
		if (l->v[i].name)
			ob_str(o, l->v[i].name);
		ob_str(o, "=\"");
		ob_esc(o, l->v[i].value);
		ob_str(o, "\"");
	}
}

int
env_serialize(const struct env_msg *m, bool frame, uint8_t **out,
    size_t *len)
{
	struct obuf o = { 0 };
	char code[9];

	*out = NULL;
	*len = 0;
	if (frame)
		ob_put(&o, "\0\0\0\0", 4);
	ob_str(&o, "<Message version=\"1.0\"");
	ob_ns(&o, &m->msg_ns);
	ob_str(&o, "><Header");
	ob_u32(&o, "Message_Type", m->h.type);
	ob_str(&o, " SessionId=\"");
	ob_str(&o, m->h.session);
	ob_str(&o, "\"");
	ob_u32(&o, "Seq", m->h.seq);
	env_code_format(m->h.from, code);
	ob_str(&o, " From=\"");
	ob_str(&o, code);
	env_code_format(m->h.to, code);
	ob_str(&o, "\" To=\"");
	ob_str(&o, code);
	ob_str(&o, "\"");
	if (m->h.ack)
		ob_str(&o, " Ack=\"1\"");
	if (m->h.has_ttl)
		ob_u32(&o, "TTL", m->h.ttl);
	for (uint8_t i = 0; i < m->h.nvia; i++) {
		env_code_format(m->h.via[i], code);
		ob_str(&o, i == 0 ? " Via=\"" : " ");
		ob_str(&o, code);
		if (i + 1 == m->h.nvia)
			ob_str(&o, "\"");
	}
	if (m->h.has_re)
		ob_u32(&o, "Re", m->h.re);
	ob_ns(&o, &m->hdr_ns);
	for (size_t i = 0; i < m->attrs.n; i++) {
		ob_str(&o, " ");
		ob_str(&o, m->attrs.v[i].name);
		ob_str(&o, "=\"");
		ob_esc(&o, m->attrs.v[i].value);
		ob_str(&o, "\"");
	}
	ob_str(&o, "/>");
	if (m->params != NULL)
		ob_put(&o, m->params, m->params_len);
	ob_str(&o, "</Message>");
	if (o.oom || o.len - (frame ? 4 : 0) > UINT32_MAX) {
		free(o.p);
		return -1;
	}
	if (frame)
		env_frame_put_len((uint8_t *)o.p, (uint32_t)(o.len - 4));
	*out = (uint8_t *)o.p;
	*len = o.len;
	return 0;
}

static bool
str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
list_equal(const struct env_list *a, const struct env_list *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!str_equal(a->v[i].name, b->v[i].name) ||
		    !str_equal(a->v[i].value, b->v[i].value))
			return false;
	return true;
}

bool
env_msg_equal(const struct env_msg *a, const struct env_msg *b)
{
	const struct env_header *x = &a->h, *y = &b->h;

	if (x->type != y->type || x->seq != y->seq || x->from != y->from ||
	    x->to != y->to || strcmp(x->session, y->session) != 0 ||
	    x->ack != y->ack || x->has_ttl != y->has_ttl ||
	    x->ttl != y->ttl || x->has_re != y->has_re || x->re != y->re ||
	    x->nvia != y->nvia ||
	    memcmp(x->via, y->via, x->nvia * sizeof(x->via[0])) != 0)
		return false;
	if (!list_equal(&a->attrs, &b->attrs) ||
	    !list_equal(&a->msg_ns, &b->msg_ns) ||
	    !list_equal(&a->hdr_ns, &b->hdr_ns))
		return false;
	if (a->params_len != b->params_len)
		return false;
	return a->params_len == 0 ||
	    memcmp(a->params, b->params, a->params_len) == 0;
}

/*
 * The parameters tree in words, for the codec's own tests (no libxml2
 * type outside xml/): "parameters" then, per element child, " " and
 * "{href}" when it is in a namespace, its name, and "=text" when its
 * only child is text.  The length it needs, or 0 when there is no tree.
 */
size_t
env_params_outline(struct env_msg *m, char *buf, size_t cap)
{
	xmlNodePtr n = env_msg_parameters_node(m), c;
	size_t len = 0;
	int k;

	if (cap > 0)
		buf[0] = '\0';
	if (n == NULL || n->type != XML_ELEMENT_NODE)
		return 0;
	k = snprintf(buf, cap, "%s%s%s%s", n->ns != NULL ? "{" : "",
	    n->ns != NULL ? (const char *)n->ns->href : "",
	    n->ns != NULL ? "}" : "", (const char *)n->name);
	len = k > 0 ? (size_t)k : 0;
	for (c = n->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		k = snprintf(len < cap ? buf + len : NULL, len < cap ?
		    cap - len : 0, " %s%s%s%s%s%s", c->ns != NULL ? "{" : "",
		    c->ns != NULL ? (const char *)c->ns->href : "",
		    c->ns != NULL ? "}" : "", (const char *)c->name,
		    c->children != NULL && c->children->next == NULL &&
		    c->children->type == XML_TEXT_NODE ? "=" : "",
		    c->children != NULL && c->children->next == NULL &&
		    c->children->type == XML_TEXT_NODE ?
		    (const char *)c->children->content : "");
		len += k > 0 ? (size_t)k : 0;
	}
	return len;
}
