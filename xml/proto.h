/*
 * proto.h - the vocabulary of the NAP protocol (DESIGN.md §4): reserved
 * message types, error codes and their texts, builders for the
 * parameters servers and libnap write, and a reader for the parameters
 * of a parsed message.  libxml2 stays behind this header: callers see
 * element names and attribute strings only.
 */
#ifndef NAP_PROTO_H
#define NAP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"

/* §4: reserved message types (0..999); applications use 1000 and up. */
enum env_type {
	ENV_T_LOGIN = 1,
	ENV_T_LOGIN_REPLY = 2,
	ENV_T_CHECK = 3,
	ENV_T_CHECK_REPLY = 4,
	ENV_T_ACK = 5,
	ENV_T_ERROR = 6,
	ENV_T_LOGOUT = 7,
	ENV_T_ROUTE_UPDATE = 10,
	ENV_T_PRESENCE = 11,
	ENV_T_FS_REGISTER = 20,
	ENV_T_FS_REGISTER_REPLY = 21,
	ENV_T_LOCATE = 30,
	ENV_T_LOCATE_REPLY = 31,
	ENV_T_APP = 1000,		/* the first application type */
};

/* §4: the text of an error code (enum env_code), or NULL when the code
 * is not one of §4. */
const char *env_code_text(int code);

/*
 * Escapes s for a double-quoted attribute value into out (cap bytes,
 * NUL-terminated when cap > 0): & < > " as entities, tab, LF and CR as
 * character references (so that they survive attribute normalization),
 * other C0 controls (not XML characters) as '?'.  Bytes >= 0x80 pass as
 * they are.  Writes whole escapes only.  Returns the length the whole
 * escaped text needs, NUL not counted: a result >= cap means it was cut.
 */
size_t	env_attr_esc(char *out, size_t cap, const char *s);

/*
 * Parameter builders (§4).  Each writes one or more elements (inner XML
 * of <parameters>) into buf (cap bytes, NUL-terminated) and returns the
 * length written, or -1 when it does not fit (buf then holds "").  Text
 * goes through env_attr_esc(); codes are written as 8 upper-case hex
 * digits; session may be NULL for "".
 */
/* <error code="C" seq="N" to="T" session="S" text="..."/> */
int	env_p_error(char *buf, size_t cap, int code, uint32_t seq,
	    uint32_t to, const char *session, const char *text);
/* <ack seq="N" to="T" session="S" status="delivered|stored"/> (receipt) */
int	env_p_receipt(char *buf, size_t cap, uint32_t seq, uint32_t to,
	    const char *session, bool delivered);
/* <ack from="F" seq="N"/>, or with session="S" between domains (§5). */
int	env_p_confirm(char *buf, size_t cap, uint32_t from, uint32_t seq,
	    const char *session);
/* <location code=".." domain="RRRR0000" address="host:port" online="0|1"/> */
int	env_p_location(char *buf, size_t cap, uint32_t code, uint32_t domain,
	    const char *address, bool online);
/* <result code="C" text=".."/> (text NULL: no text attribute), then
 * <heartbeat interval="S" timeout="S"/> when interval > 0 (LoginReply,
 * FsRegisterReply). */
int	env_p_result(char *buf, size_t cap, int code, const char *text,
	    unsigned interval, unsigned timeout);
/* <route region="RRRR" state="up|down"/> (RouteUpdate) */
int	env_p_route(char *buf, size_t cap, uint16_t region, bool up);
/* <serve from="T1" to="T2"/> (FsRegister, Presence) */
int	env_p_serve(char *buf, size_t cap, uint32_t from, uint32_t to);
/* <on code="C"/> or <off code="C"/> (Presence, §11) */
int	env_p_presence(char *buf, size_t cap, uint32_t code, bool on);
/* <load online="N"/> (Presence) */
int	env_p_load(char *buf, size_t cap, unsigned online);
/* <moved code="C" node="NAME"/> (Presence, platform -> node) */
int	env_p_moved(char *buf, size_t cap, uint32_t code, const char *node);
/* <domain address="host:port"/> (a domain's Login) */
int	env_p_domain(char *buf, size_t cap, const char *address);
/* <client name=".." version=".."/> (a device's Login; version NULL: "") */
int	env_p_client(char *buf, size_t cap, const char *name,
	    const char *version);
/* <locate code="C"/> */
int	env_p_locate(char *buf, size_t cap, uint32_t code);

/*
 * Reading the parameters of a parsed message.  A struct env_param is an
 * element child of <parameters>, in document order; it lives as long as
 * the message.  name NULL matches any element; otherwise the element's
 * local name must equal name.  The first call parses the parameters
 * (owned by the message), so the message is not const.
 */
struct env_param;
/* The first element child (named name), or NULL (none, or no params). */
struct env_param *env_param_first(struct env_msg *, const char *name);
/* The next element sibling after p (named name), or NULL. */
struct env_param *env_param_next(struct env_param *p, const char *name);
/* The element's local name. */
const char *env_param_name(const struct env_param *);
/* The decoded value of the attribute name (in no namespace), "" for an
 * empty one, NULL when absent (or no memory).  Lives as long as the
 * message. */
const char *env_param_attr(struct env_param *, const char *name);
/* The attribute as a decimal u32 (1..10 digits, no sign): 0, or -1. */
int	env_param_u32(struct env_param *, const char *name, uint32_t *out);
/* The attribute as an 8-hex code (§1): 0, or -1. */
int	env_param_code(struct env_param *, const char *name, uint32_t *out);
/* Attribute attr of the first element named elem, or NULL. */
const char *env_param_get(struct env_msg *, const char *elem,
	    const char *attr);

#endif /* NAP_PROTO_H */
