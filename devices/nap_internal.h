/*
 * nap_internal.h - the body of struct nap and the prototypes shared by
 * the libnap sources.  Not installed; only devices/libnap*.c and the unit
 * tests include it.
 */
#ifndef NAP_INTERNAL_H
#define NAP_INTERNAL_H

#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "clock.h"
#include "dedup.h"
#include "envelope.h"
#include "proto.h"
#include "nap.h"

#define NAP_DEF_CONNECT_MS	10000
#define NAP_DEF_RC_MIN_MS	500
#define NAP_DEF_RC_MAX_MS	30000
#define NAP_DEF_QUEUE_BYTES	(8u * 1024 * 1024)
#define NAP_DEF_UNACKED		1024
#define NAP_CONFIRM_COUNT	16	/* §5: confirm at least every 16 */
#define NAP_CONFIRM_MS		200	/* ... or 200 ms */
#define NAP_ENV_SLACK		1024	/* §2: device frames <= max_frame-1024 */
#define NAP_CTRL_MAX		(1024u * 1024)	/* stop reading above this */
#define NAP_WBUF		16384	/* frames coalesced per write */
#define NAP_READ_BUDGET		(1024u * 1024)	/* bytes read per process */
#define NAP_CLOSE_MS		1000	/* wait for the server's close */

/* A serialized frame waiting in a queue. */
struct nap_frame {
	struct nap_frame *next;
	uint32_t	 type;
	uint32_t	 seq;
	uint32_t	 to;
	int		 flags;		/* NAP_ACK, NAP_FR_* */
	size_t		 sess_off;	/* offset of the 16 SessionId digits in
					   data, 0 when the session is empty */
	size_t		 len;		/* 4 + body */
	uint8_t		*data;		/* the frame (from env_serialize) */
};
#define NAP_FR_USER	0x100	/* made by nap_send: survives a reconnect */

/* A FIFO of frames. */
struct nap_fq {
	struct nap_frame *head, *tail;
	size_t		 n;
	size_t		 bytes;
};

/* A received message: the parsed envelope and its bytes. */
struct nap_msg {
	struct env_msg	*env;
	const uint8_t	*raw;
	size_t		 rawlen;
	uint8_t		*own;		/* raw, when the message owns a copy */
};

/* What a blocking nap_request()/nap_ping() waits for. */
struct nap_wait {
	bool		 active;
	bool		 done;
	uint32_t	 seq;		/* our request's Seq */
	uint32_t	 to;		/* our request's To */
	uint32_t	 echo_type;	/* reserved reply echoing Seq, or 0: Re */
	int		 err;		/* the Error's code, or 0 */
	struct nap_msg	*reply;
};

struct nap_dup;

struct nap {
	/* configuration */
	char		*host;
	char		 port[6];
	struct sockaddr_storage local;	/* nap_set_local(); ss_family 0: none */
	SSL_CTX		*ctx;
	uint32_t	 code;
	bool		 code_set;	/* by nap_set_code or from the cert */
	bool		 code_forced;	/* by nap_set_code */
	uint32_t	 expect;
	bool		 expect_set;
	bool		 platform;
	char		*client_name;
	char		*client_version;
	bool		 hb_enabled;
	unsigned	 hb_cfg_interval, hb_cfg_timeout;
	bool		 reconnect;
	unsigned	 rc_min, rc_max;
	unsigned	 connect_ms;
	uint32_t	 max_frame;
	size_t		 queue_max;
	unsigned	 unacked_max;
	char		 resume[17];	/* session to ask for at next Login */

	/* callbacks */
	nap_msg_cb	 msg_cb;
	void		*msg_arg;
	nap_receipt_cb	 rcpt_cb;
	void		*rcpt_arg;
	nap_state_cb	 state_cb;
	void		*state_arg;
	nap_log_cb	 log_cb;
	void		*log_arg;
	enum nap_log_level log_max;
	int		 in_cb;		/* depth of callbacks running */
	volatile sig_atomic_t brk;	/* nap_break() */

	/* the link */
	enum nap_state	 state;
	int		 fd;
	SSL		*ssl;
	struct addrinfo	*ai;		/* addresses being tried */
	struct addrinfo	*ai_cur;
	struct env_frame_dec *dec;
	struct env_parser *parser;
	int64_t		 deadline;	/* connect/login or close deadline */
	int64_t		 last_rx;
	int64_t		 last_tx;
	int64_t		 backoff_until;
	unsigned	 attempts;	/* reconnections since the last login */
	bool		 ever_online;
	bool		 ssl_want_write;  /* the TLS layer needs to write */
	int		 down_err;	/* take the link down after this read */
	int		 last_err;	/* what ended the session */
	uint64_t	 rng;		/* jitter */

	/* the session */
	char		 session[17];
	bool		 resumed;
	unsigned	 hb_interval, hb_timeout;
	uint32_t	 next_seq;
	uint32_t	 login_seq;

	/* output */
	struct nap_fq	 ctrl;		/* Login, Check(Reply), Ack, Logout */
	struct nap_fq	 user;		/* nap_send: only while online */
	struct nap_fq	 unacked;	/* written with NAP_ACK, no receipt */
	uint8_t		*wbuf;		/* frames being written */
	const uint8_t	*wptr;
	size_t		 wlen, woff;
	struct nap_frame *wbig;		/* a frame larger than wbuf */

	/* confirmations (§5) */
	unsigned	 unconf;	/* received, not yet confirmed */
	int64_t		 unconf_since;
	uint32_t	 unconf_from, unconf_seq;

	struct nap_dup	*dup;
	struct nap_wait	 wait;
	struct nap_stats stats;
	char		 errmsg[256];
};

/* libnap.c */
int	nap_fail(struct nap *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	nap_log(struct nap *, enum nap_log_level, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	nap_set_state(struct nap *, enum nap_state, int);
void	nap_link_down(struct nap *, int);
void	nap_online(struct nap *, const char *, unsigned, unsigned);
int	nap_logout_start(struct nap *, int64_t);
void	nap_abort(struct nap *);
uint32_t nap_backoff_ms(unsigned, uint32_t, uint32_t, uint32_t);
const char *nap_code_name(int);

/* libnap_io.c */
int	nap_build(struct nap *, const struct nap_out *, uint32_t, int,
	    struct nap_frame **);
int	nap_queue_ctrl(struct nap *, uint32_t, uint32_t, const uint32_t *,
	    const char *, uint32_t *);
int	nap_queue_login(struct nap *);
int	nap_queue_confirm(struct nap *);
void	nap_fq_push(struct nap_fq *, struct nap_frame *);
void	nap_fq_clear(struct nap_fq *);
void	nap_io_reset(struct nap *);
void	nap_io_restamp(struct nap *, bool);
int	nap_io_write(struct nap *);
int	nap_io_read(struct nap *);
int	nap_io_feed(struct nap *, const uint8_t *, size_t);
bool	nap_io_pending_write(const struct nap *);
void	nap_report_unknown(struct nap *);
uint32_t nap_seq_next(struct nap *);

/* libnap_tls.c */
int	nap_tls_ctx(struct nap *, const char *, const char *, const char *,
	    const char *, SSL_CTX **, uint32_t *);
int	nap_tls_start(struct nap *);
int	nap_tls_handshake(struct nap *);
int	nap_tls_read(struct nap *, void *, size_t, size_t *);
int	nap_tls_write(struct nap *, const void *, size_t, size_t *);
bool	nap_tls_pending(const struct nap *);
void	nap_tls_close(struct nap *, bool);


/* libnap_msg.c */
struct nap_msg *nap_msg_copy(const struct nap_msg *, struct env_parser *);

/* libnap_run.c */
int	nap_loop(struct nap *, int64_t, bool (*)(struct nap *));

#endif /* NAP_INTERNAL_H */
