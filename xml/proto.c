/*
 * proto.c - the §4 vocabulary (proto.h): error texts, the one attribute
 * escaper, the parameter builders and the parameters reader.  The reader
 * is the only code that walks the libxml2 tree of <parameters>.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libxml/tree.h>

#include "envelope_internal.h"
#include "proto.h"

static int	put(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	put_esc(char *, size_t, const char *, const char *,
		    const char *);
static xmlNodePtr elem_from(xmlNodePtr, const char *);

static const struct {
	int		 code;
	const char	*text;
} code_texts[] = {
	{ ENV_E_MALFORMED, "malformed" },
	{ ENV_E_SESSION, "not logged in or wrong session" },
	{ ENV_E_FORBIDDEN, "forbidden" },
	{ ENV_E_UNKNOWN, "unknown destination" },
	{ ENV_E_TIMEOUT, "timed out in store" },
	{ ENV_E_TOO_LARGE, "frame too large" },
	{ ENV_E_RATE, "rate limited" },
	{ ENV_E_UNREACHABLE, "destination region unreachable" },
	{ ENV_E_STORE_FULL, "store full" },
};

const char *
env_code_text(int code)
{
	for (size_t i = 0; i < sizeof(code_texts) / sizeof(code_texts[0]); i++)
		if (code_texts[i].code == code)
			return code_texts[i].text;
	return NULL;
}

/* ---- the escaper ------------------------------------------------------ */

size_t
env_attr_esc(char *out, size_t cap, const char *s)
{
	size_t need = 0, o = 0;
	bool cut = false;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		const char *rep;
		size_t rl;

		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\t': rep = "&#9;"; break;
		case '\n': rep = "&#10;"; break;
		case '\r': rep = "&#13;"; break;
		default: rep = c < 0x20 ? "?" : NULL; break;
		}
		rl = rep != NULL ? strlen(rep) : 1;
		if (!cut && o + rl < cap) {
			memcpy(out + o, rep != NULL ? rep : s, rl);
			o += rl;
		} else
			cut = true;
		need += rl;
	}
	if (cap > 0)
		out[o] = '\0';
	return need;
}

/* ---- builders ----------------------------------------------------------- */

/* snprintf that says -1 (and leaves "") when the text does not fit. */
static int
put(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (cap == 0)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap) {
		buf[0] = '\0';
		return -1;
	}
	return n;
}

/* head, then the escaped text, then tail: -1 when it does not fit. */
static int
put_esc(char *buf, size_t cap, const char *head, const char *text,
    const char *tail)
{
	size_t h = strlen(head), t = strlen(tail), e;

	if (h >= cap)
		goto full;
	memcpy(buf, head, h);
	e = env_attr_esc(buf + h, cap - h, text);
	if (h + e + t >= cap)
		goto full;
	memcpy(buf + h + e, tail, t + 1);
	return (int)(h + e + t);
full:
	if (cap > 0)
		buf[0] = '\0';
	return -1;
}

int
env_p_error(char *buf, size_t cap, int code, uint32_t seq, uint32_t to,
    const char *session, const char *text)
{
	char head[128];

	if (put(head, sizeof(head), "<error code=\"%d\" seq=\"%u\" to=\"%08X\" "
	    "session=\"%s\" text=\"", code, seq, to, session ? session : "") <
	    0)
		return -1;
	return put_esc(buf, cap, head, text ? text : "", "\"/>");
}

int
env_p_receipt(char *buf, size_t cap, uint32_t seq, uint32_t to,
    const char *session, bool delivered)
{
	return put(buf, cap, "<ack seq=\"%u\" to=\"%08X\" session=\"%s\" "
	    "status=\"%s\"/>", seq, to, session ? session : "",
	    delivered ? "delivered" : "stored");
}

int
env_p_confirm(char *buf, size_t cap, uint32_t from, uint32_t seq,
    const char *session)
{
	if (session == NULL)
		return put(buf, cap, "<ack from=\"%08X\" seq=\"%u\"/>", from,
		    seq);
	return put(buf, cap, "<ack from=\"%08X\" seq=\"%u\" session=\"%s\"/>",
	    from, seq, session);
}

int
env_p_location(char *buf, size_t cap, uint32_t code, uint32_t domain,
    const char *address, bool online)
{
	char head[96], tail[32];

	snprintf(head, sizeof(head), "<location code=\"%08X\" domain=\"%08X\" "
	    "address=\"", code, domain);
	snprintf(tail, sizeof(tail), "\" online=\"%d\"/>", online ? 1 : 0);
	return put_esc(buf, cap, head, address ? address : "", tail);
}

int
env_p_result(char *buf, size_t cap, int code, const char *text,
    unsigned interval, unsigned timeout)
{
	char head[48], tail[96];

	snprintf(head, sizeof(head), "<result code=\"%d\"%s", code,
	    text != NULL ? " text=\"" : "");
	snprintf(tail, sizeof(tail), "%s/>", text != NULL ? "\"" : "");
	if (interval > 0)
		snprintf(tail + strlen(tail), sizeof(tail) - strlen(tail),
		    "<heartbeat interval=\"%u\" timeout=\"%u\"/>", interval,
		    timeout);
	return put_esc(buf, cap, head, text != NULL ? text : "", tail);
}

int
env_p_route(char *buf, size_t cap, uint16_t region, bool up)
{
	return put(buf, cap, "<route region=\"%04X\" state=\"%s\"/>", region,
	    up ? "up" : "down");
}

int
env_p_serve(char *buf, size_t cap, uint32_t from, uint32_t to)
{
	return put(buf, cap, "<serve from=\"%u\" to=\"%u\"/>", from, to);
}

int
env_p_presence(char *buf, size_t cap, uint32_t code, bool on)
{
	return put(buf, cap, "<%s code=\"%08X\"/>", on ? "on" : "off", code);
}

int
env_p_load(char *buf, size_t cap, unsigned online)
{
	return put(buf, cap, "<load online=\"%u\"/>", online);
}

int
env_p_moved(char *buf, size_t cap, uint32_t code, const char *node)
{
	char head[48];

	snprintf(head, sizeof(head), "<moved code=\"%08X\" node=\"", code);
	return put_esc(buf, cap, head, node ? node : "", "\"/>");
}

int
env_p_domain(char *buf, size_t cap, const char *address)
{
	return put_esc(buf, cap, "<domain address=\"", address ? address : "",
	    "\"/>");
}

int
env_p_client(char *buf, size_t cap, const char *name, const char *version)
{
	int n, v;

	if ((n = put_esc(buf, cap, "<client name=\"", name, "\"")) < 0 ||
	    (v = put_esc(buf + n, cap - (size_t)n, " version=\"",
	    version ? version : "", "\"/>")) < 0) {
		if (cap > 0)
			buf[0] = '\0';
		return -1;
	}
	return n + v;
}

int
env_p_locate(char *buf, size_t cap, uint32_t code)
{
	return put(buf, cap, "<locate code=\"%08X\"/>", code);
}

/* ---- reader ------------------------------------------------------------ */

/* n or its first following element sibling named name (any: NULL). */
static xmlNodePtr
elem_from(xmlNodePtr n, const char *name)
{
	for (; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE && (name == NULL ||
		    strcmp((const char *)n->name, name) == 0))
			return n;
	return NULL;
}

struct env_param *
env_param_first(struct env_msg *m, const char *name)
{
	xmlNodePtr p = env_msg_parameters_node(m);

	return p != NULL ? (struct env_param *)elem_from(p->children, name) :
	    NULL;
}

struct env_param *
env_param_next(struct env_param *p, const char *name)
{
	return p != NULL ? (struct env_param *)elem_from(((xmlNodePtr)p)->next,
	    name) : NULL;
}

const char *
env_param_name(const struct env_param *p)
{
	return (const char *)((const xmlNode *)p)->name;
}

/*
 * The value is the attribute's one text child.  libxml2 may split a
 * value into several children (around character references): those are
 * joined once into one text child, owned by the tree like the others.
 */
const char *
env_param_attr(struct env_param *p, const char *name)
{
	xmlAttrPtr a;
	xmlChar *v;
	xmlNodePtr t;

	for (a = ((xmlNodePtr)p)->properties; a != NULL; a = a->next)
		if (a->ns == NULL && strcmp((const char *)a->name, name) == 0)
			break;
	if (a == NULL)
		return NULL;
	if (a->children == NULL)
		return "";
	if (a->children->next == NULL && a->children->type == XML_TEXT_NODE)
		return (const char *)a->children->content;
	if ((v = xmlNodeListGetString(a->doc, a->children, 1)) == NULL)
		return NULL;
	t = xmlNewDocText(a->doc, v);
	xmlFree(v);
	if (t == NULL)
		return NULL;
	xmlFreeNodeList(a->children);
	a->children = a->last = t;
	t->parent = (xmlNodePtr)a;
	return (const char *)t->content;
}

int
env_param_u32(struct env_param *p, const char *name, uint32_t *out)
{
	const char *v = env_param_attr(p, name);

	return v != NULL ? env_u32_parse(v, strlen(v), out) : -1;
}

int
env_param_code(struct env_param *p, const char *name, uint32_t *out)
{
	const char *v = env_param_attr(p, name);

	return v != NULL ? env_code_parse(v, strlen(v), out) : -1;
}

const char *
env_param_get(struct env_msg *m, const char *elem, const char *attr)
{
	struct env_param *p = env_param_first(m, elem);

	return p != NULL ? env_param_attr(p, attr) : NULL;
}
