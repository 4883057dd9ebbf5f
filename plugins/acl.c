/*
 * acl.c - the bundled access-control plugin of DESIGN.md §7: allow or
 * deny each application message (type 1000 and up) by From (region or
 * code range), To (region or code range) and type range, first match
 * wins, default configurable; a refused message gets Error 403.  The
 * rules file (acl_rules.h) is read at start (a syntax error stops the
 * start, naming file and line) and again at SIGHUP (a bad file keeps the
 * old rules; the log says why).  At a domain it sees its devices'
 * messages; at the platform every inter-region message (policy between
 * regions).
 *
 *	plugin "acl rules=/etc/nap/acl.rules"
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl_rules.h"
#include "nap_plugin.h"

const unsigned nap_plugin_abi = NAP_PLUGIN_ABI;

#define APP_TYPES	1000

struct aclp {
	const struct nap_api	*api;
	struct nap_host		*host;
	char			*path;
	pthread_rwlock_t	 lock;		/* rules: read by hooks */
	struct acl		*rules;
	atomic_ulong		 denied;
};

static enum nap_verdict
on_message(struct nap_msg *m, void *arg)
{
	struct aclp *p = arg;
	const struct nap_header *h = p->api->msg_header(m);
	unsigned line;
	int ok;
	char why[64];

	if (h->type < APP_TYPES)	/* link-level types are not policy */
		return NAP_PASS;
	pthread_rwlock_rdlock(&p->lock);
	ok = acl_check(p->rules, h->from, h->to, h->type, &line);
	pthread_rwlock_unlock(&p->lock);
	if (ok)
		return NAP_PASS;
	atomic_fetch_add(&p->denied, 1);
	if (line != 0)
		snprintf(why, sizeof(why), "denied by acl rule at line %u",
		    line);
	else
		snprintf(why, sizeof(why), "denied by acl default");
	return p->api->reject(m, 403, why, 0);
}

int
nap_plugin_init(const struct nap_api *api, struct nap_host *host, int argc,
    char **argv, void **state, char *err, size_t errlen)
{
	struct aclp *p;
	const char *path = NULL;

	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "rules=", 6) == 0 && argv[i][6] != '\0')
			path = argv[i] + 6;
		else {
			snprintf(err, errlen, "unknown argument '%s' "
			    "(rules=PATH)", argv[i]);
			return -1;
		}
	}
	if (path == NULL) {
		snprintf(err, errlen, "rules=PATH is required");
		return -1;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->path = strdup(path)) == NULL) {
		free(p);
		snprintf(err, errlen, "no memory");
		return -1;
	}
	p->api = api;
	p->host = host;
	pthread_rwlock_init(&p->lock, NULL);
	if (acl_load(path, &p->rules, err, errlen) == -1 ||
	    api->hook(host, NAP_GATEWAY, "acl", on_message, p) == -1) {
		if (p->rules != NULL)
			snprintf(err, errlen, "cannot hook the gateway");
		acl_free(p->rules);
		pthread_rwlock_destroy(&p->lock);
		free(p->path);
		free(p);
		return -1;
	}
	api->log(host, NAP_LOG_INFO, "%s: %zu rules, default %s", path,
	    p->rules->n, p->rules->def_allow ? "allow" : "deny");
	*state = p;
	return 0;
}

/* SIGHUP: the new rules, or the old ones and why. */
int
nap_plugin_reload(void *state, char *err, size_t errlen)
{
	struct aclp *p = state;
	struct acl *n, *old;

	if (acl_load(p->path, &n, err, errlen) == -1)
		return -1;
	pthread_rwlock_wrlock(&p->lock);
	old = p->rules;
	p->rules = n;
	pthread_rwlock_unlock(&p->lock);
	acl_free(old);
	p->api->log(p->host, NAP_LOG_INFO, "%s: %zu rules, default %s",
	    p->path, n->n, n->def_allow ? "allow" : "deny");
	return 0;
}

void
nap_plugin_fini(void *state)
{
	struct aclp *p = state;

	if (p == NULL)
		return;
	p->api->log(p->host, NAP_LOG_INFO, "%lu messages denied",
	    atomic_load(&p->denied));
	acl_free(p->rules);
	pthread_rwlock_destroy(&p->lock);
	free(p->path);
	free(p);
}
