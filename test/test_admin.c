/*
 * test_admin.c - integration tests of the admin API (DESIGN.md §12) on
 * a live federation: a platform and the domains of regions 0001 and
 * 0002, each with --admin 127.0.0.1:0, raw TLS devices making traffic.
 * Requests go through nap-ctl --server (its --json) and curl; answers
 * are checked by python3's json module (each endpoint's members and
 * their types) and by promtool (Debian's prometheus package).
 *
 * Suite "admin": /status and /links of every server; counters that move
 * with traffic; /metrics accepted by `promtool check metrics`; /store
 * and /regions; kick closes the device's link; a non-loopback listener
 * without admin-ca is refused at start; a TLS listener refuses a client
 * without a certificate and serves one with; drain makes the domain hand
 * its device's unconfirmed message back and exit 0, the message comes
 * again after a restart.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "itest.h"

void	init_admin_tests(void);

static struct itest_server P, D1, D2;
static int aP, aD1, aD2;			/* admin ports */
static char reg1[PATH_MAX], reg2[PATH_MAX];

static int	admin_port(const char *name);
static int	curl(int port, const char *method, const char *path,
		    const char *out);
static int	pycheck(const char *file, const char *expr);
static int	ctl(int port, const char *out, const char *const args[]);
static double	metric(const char *file, const char *sample);
static int	start_domain(struct itest_server *, const char *, uint32_t,
		    const char *, int *);

static char *
wfile(char *buf, size_t len, const char *name)
{
	return itest_fmt(buf, len, "%s/admin-%s", itest.work, name);
}

/* The port an admin-port-file holds, waiting for it (bounded). */
static int
admin_port(const char *name)
{
	char f[PATH_MAX];
	int port = 0;

	wfile(f, sizeof(f), name);
	for (int i = 0; i < 100 && port <= 0; i++) {
		FILE *fp = fopen(f, "r");

		if (fp != NULL) {
			if (fscanf(fp, "%d", &port) != 1)
				port = 0;
			fclose(fp);
		}
		if (port <= 0)
			itest_sleep_ms(100);
	}
	return port;
}

/* curl's HTTP status for METHOD http://127.0.0.1:PORT/PATH, the body
 * into out; -1 when curl failed. */
static int
curl(int port, const char *method, const char *path, const char *out)
{
	char cmd[PATH_MAX * 3], codef[PATH_MAX];
	const char *argv[] = { "sh", "-c", cmd, NULL };
	FILE *fp;
	int code = -1;

	itest_fmt(codef, sizeof(codef), "%s.code", out);
	itest_fmt(cmd, sizeof(cmd), "curl -sS -m 10 -X %s -o '%s' -w "
	    "'%%{http_code}' 'http://127.0.0.1:%d%s' > '%s'", method, out,
	    port, path, codef);
	if (itest_run(argv) != 0 || (fp = fopen(codef, "r")) == NULL)
		return -1;
	if (fscanf(fp, "%d", &code) != 1)
		code = -1;
	fclose(fp);
	return code;
}

/* python3: d = the JSON of file, L = the list of its JSON lines (None
 * when not that); 0 when expr holds. */
static int
pycheck(const char *file, const char *expr)
{
	char prog[2048];
	const char *argv[] = { "python3", "-c", prog, file, NULL };

	itest_fmt(prog, sizeof(prog), "import json, sys\n"
	    "t = open(sys.argv[1]).read()\n"
	    "try:\n    d = json.loads(t)\nexcept ValueError:\n    d = None\n"
	    "try:\n    L = [json.loads(x) for x in t.splitlines() "
	    "if x.strip()]\nexcept ValueError:\n    L = None\n"
	    "ok = bool(%s)\n"
	    "print('pycheck', sys.argv[1], ok)\n"
	    "sys.exit(0 if ok else 1)\n", expr);
	return itest_run(argv);
}

/* nap-ctl --server http://127.0.0.1:PORT args..., stdout into out. */
static int
ctl(int port, const char *out, const char *const args[])
{
	char cmd[PATH_MAX * 3];
	const char *argv[] = { "sh", "-c", cmd, NULL };
	size_t n;

	n = (size_t)snprintf(cmd, sizeof(cmd), "'%s' --server "
	    "http://127.0.0.1:%d", itest.ctl, port);
	for (int i = 0; args[i] != NULL && n < sizeof(cmd); i++)
		n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, " '%s'",
		    args[i]);
	if (n < sizeof(cmd))
		snprintf(cmd + n, sizeof(cmd) - n, " > '%s'", out);
	return itest_run(argv);
}

/* The value of one sample line ("name{labels}") of a /metrics file,
 * -1 when it is not there. */
static double
metric(const char *file, const char *sample)
{
	FILE *fp = fopen(file, "r");
	char line[1024];
	size_t n = strlen(sample);
	double v = -1;

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, sample, n) == 0 && line[n] == ' ') {
			v = strtod(line + n + 1, NULL);
			break;
		}
	fclose(fp);
	return v;
}

static int
start_domain(struct itest_server *d, const char *name, uint32_t code,
    const char *reg, int *port)
{
	char pf[PATH_MAX], plat[32];
	const char *extra[] = { "--platform", itest_fmt(plat, sizeof(plat),
	    "127.0.0.1:%d", P.port), "--admin", "127.0.0.1:0",
	    "--admin-port-file", wfile(pf, sizeof(pf), name),
	    "--heartbeat-interval", "1", "--heartbeat-timeout", "3", NULL };

	unlink(pf);
	if (itest_domain_start(d, name, code, reg, extra, false) == -1 ||
	    (*port = admin_port(name)) <= 0)
		return -1;
	return 0;
}

static int
admin_init(void)
{
	char pf[PATH_MAX];
	const char *extra[] = { "--admin", "127.0.0.1:0", "--admin-port-file",
	    wfile(pf, sizeof(pf), "p"), NULL };

	memset(&P, 0, sizeof(P));
	memset(&D1, 0, sizeof(D1));
	memset(&D2, 0, sizeof(D2));
	if (itest_fed_init() == -1 ||
	    itest_platform_start(&P, "admin-p", extra, false) == -1 ||
	    (aP = admin_port("p")) <= 0 ||
	    itest_registry_new_region("admin-d1", 0x0001, reg1,
	    sizeof(reg1)) == -1 ||
	    itest_registry_new_region("admin-d2", 0x0002, reg2,
	    sizeof(reg2)) == -1 ||
	    start_domain(&D1, "admin-d1", IT_DOMAIN, reg1, &aD1) == -1 ||
	    start_domain(&D2, "admin-d2", IT_DOMAIN2, reg2, &aD2) == -1)
		return -1;
	return 0;
}

static int
admin_clean(void)
{
	itest_server_stop(&D1);
	itest_server_stop(&D2);
	itest_server_stop(&P);
	return 0;
}

/* /status of each server: its members and their types. */
static void
test_status(void)
{
	static const char *const json[] = { "status", "--json", NULL };
	const struct { int *port; const char *server, *code; } s[] = {
		{ &aP, "nap-platform", "00000000" },
		{ &aD1, "nap-domain", "00010000" },
		{ &aD2, "nap-domain", "00020000" },
	};
	char out[PATH_MAX], expr[1024];

	for (size_t i = 0; i < 3; i++) {
		itest_fmt(out, sizeof(out), "%s/admin-status%zu.json",
		    itest.work, i);
		IT_ASSERT(ctl(*s[i].port, out, json) == 0, "nap-ctl status "
		    "--json of %s failed", s[i].code);
		itest_fmt(expr, sizeof(expr), "d['server'] == '%s' and "
		    "d['code'] == '%s' and isinstance(d['node'], str) and "
		    "isinstance(d['version'], str) and "
		    "isinstance(d['uptime'], int) and "
		    "isinstance(d['listeners'], list) and "
		    "all(isinstance(x['port'], int) for x in d['listeners']) "
		    "and isinstance(d['counts']['links'], int) and "
		    "isinstance(d['counts']['online'], int) and "
		    "d['draining'] is False and "
		    "isinstance(d['crl_next_update'], int) and "
		    "'crl_warning' in d", s[i].server, s[i].code);
		IT_ASSERT(pycheck(out, expr) == 0, "/status of %s: %s",
		    s[i].code, expr);
	}
	itest_fmt(out, sizeof(out), "%s/admin-status.txt", itest.work);
	{
		static const char *const table[] = { "status", NULL };

		IT_ASSERT(ctl(aD1, out, table) == 0, "nap-ctl status (table)");
	}
}

/* Sends n messages a -> b and reads them at b.  Returns how many came. */
static unsigned
traffic(struct itest_raw *a, struct itest_raw *b, unsigned n)
{
	struct itest_frame f;
	unsigned got = 0;

	for (unsigned i = 0; i < n; i++)
		if (itest_raw_msg(a, 1000, NULL, a->code, b->code, a->session,
		    "<n/>", NULL) == -1)
			return 0;
	for (unsigned i = 0; i < n; i++) {
		if (itest_raw_expect(b, 1000, &f, IT_WAIT_MS, NULL) != IT_FRAME)
			break;
		itest_frame_free(&f);
		got++;
	}
	return got;
}

/*
 * /links lists the logged-in devices with their fields; the message
 * counters of /metrics move with traffic; promtool accepts /metrics.
 */
static void
test_links_metrics(void)
{
	static const char *const links[] = { "links", "--json", NULL };
	struct itest_raw a = { .fd = -1 }, b = { .fd = -1 };
	char out[PATH_MAX], m0[PATH_MAX], m1[PATH_MAX], cmd[PATH_MAX * 2];
	const char *sample = "nap_messages_total{class=\"application\","
	    "verdict=\"routed\"}";
	const char *sh[] = { "sh", "-c", cmd, NULL };
	double before, after;

	itest_fmt(m0, sizeof(m0), "%s/admin-m0.txt", itest.work);
	itest_fmt(m1, sizeof(m1), "%s/admin-m1.txt", itest.work);
	itest_fmt(out, sizeof(out), "%s/admin-links.jsonl", itest.work);
	if (!IT_ASSERT(itest_raw_open(&a, D1.port, itest.pki, IT_DEV(1),
	    IT_WAIT_MS) == 0 && itest_raw_login(&a, IT_DEV(1), IT_WAIT_MS) ==
	    0 && itest_raw_open(&b, D1.port, itest.pki, IT_DEV(2),
	    IT_WAIT_MS) == 0 && itest_raw_login(&b, IT_DEV(2), IT_WAIT_MS) ==
	    0, "devices 00010001 and 00010002 log in: %s %s", a.why, b.why))
		goto out;
	IT_ASSERT(curl(aD1, "GET", "/metrics", m0) == 200, "GET /metrics");
	before = metric(m0, sample);
	IT_ASSERT(before >= 0, "%s in /metrics", sample);
	IT_ASSERT(traffic(&a, &b, 20) == 20, "20 messages 00010001 -> "
	    "00010002");
	IT_ASSERT(curl(aD1, "GET", "/metrics", m1) == 200, "GET /metrics");
	after = metric(m1, sample);
	IT_ASSERT(after >= before + 20, "%s moved from %g to %g with 20 "
	    "messages", sample, before, after);
	IT_ASSERT(metric(m1, "nap_links{kind=\"cu\"}") == 2, "two CU links");
	IT_ASSERT(metric(m1, "nap_logins_total") >= 2, "logins counted");
	IT_ASSERT(metric(m1, "nap_route_latency_seconds_count") >= 20,
	    "route latency histogram counts the messages");
	IT_ASSERT(metric(m1, "nap_bytes_total{direction=\"in\"}") >
	    metric(m0, "nap_bytes_total{direction=\"in\"}"), "bytes in grow");
	IT_ASSERT(metric(m1, "nap_store_messages") >= 0, "store depth");
	IT_ASSERT(metric(m1, "nap_crl_next_update_seconds") > 0, "CRL expiry");
	IT_ASSERT(ctl(aD1, out, links) == 0, "nap-ctl links --json");
	IT_ASSERT(pycheck(out, "len(L) == 2 and all(isinstance(x['code'], "
	    "str) and x['kind'] == 'cu' and x['state'] == 'online' and "
	    "isinstance(x['address'], str) and x['address'].startswith("
	    "'127.0.0.1:') and isinstance(x['login_time'], int) and "
	    "x['msgs_in'] >= 0 and x['msgs_out'] >= 0 and "
	    "isinstance(x['bytes_in'], int) and isinstance(x['bytes_out'], "
	    "int) and isinstance(x['unconfirmed'], int) for x in L) and "
	    "sorted(x['code'] for x in L) == ['00010001', '00010002'] and "
	    "max(x['msgs_in'] for x in L) >= 20") == 0, "/links of D1");
	IT_ASSERT(curl(aP, "GET", "/links", out) == 200, "GET /links (P)");
	IT_ASSERT(pycheck(out, "sorted(x['code'] for x in d['links'] if "
	    "x['kind'] == 'domain') == ['00010000', '00020000'] and all("
	    "x['unconfirmed'] is None for x in d['links'])") == 0,
	    "/links of the platform: both domains");
	IT_ASSERT(curl(aP, "GET", "/regions", out) == 200, "GET /regions");
	IT_ASSERT(pycheck(out, "sorted(r['region'] for r in d['regions'] if "
	    "r['up']) == ['0001', '0002'] and d['up'] == 2") == 0,
	    "/regions: 0001 and 0002 up");
	IT_ASSERT(curl(aD1, "GET", "/store", out) == 200 && pycheck(out,
	    "isinstance(d['devices'], list) and isinstance(d['messages'], "
	    "int)") == 0, "/store");
	IT_ASSERT(curl(aD1, "GET", "/services", out) == 200 && pycheck(out,
	    "d['services'] == []") == 0, "/services");
	IT_ASSERT(curl(aD1, "GET", "/nothing", out) == 404, "404 elsewhere");
	/* Every metric the Grafana dashboard draws is served (the audit
	 * log's only with one: these servers have none). */
	IT_ASSERT(curl(aP, "GET", "/metrics", m0) == 200, "GET /metrics (P)");
	itest_fmt(cmd, sizeof(cmd), "python3 -c 'import re, sys\n"
	    "want = set(re.findall(r\"nap_[a-z_]+\", open(sys.argv[1]).read()))\n"
	    "have = set(re.findall(r\"^(?:# TYPE )?(nap_[a-z_]+)\", open(sys.argv[2]).read()"
	    " + open(sys.argv[3]).read(), re.M))\n"
	    "miss = sorted(w for w in want if w not in have and w + \"_bucket\" "
	    "not in have and not w.startswith(\"nap_audit\"))\n"
	    "print(\"dashboard metrics not served:\", miss)\n"
	    "sys.exit(1 if miss else 0)' '%s/etc/grafana-nap.json' '%s' '%s'",
	    itest.src, m0, m1);
	IT_ASSERT(itest_run(sh) == 0, "the dashboard's metrics are served");
	/* promtool reads the exposition from stdin. */
	for (int i = 0; i < 3; i++) {
		int port = i == 0 ? aP : i == 1 ? aD1 : aD2;

		itest_fmt(cmd, sizeof(cmd), "command -v promtool >/dev/null "
		    "|| { echo 'promtool missing: apt-get install "
		    "prometheus'; exit 1; }; curl -sS -m 10 "
		    "http://127.0.0.1:%d/metrics | promtool check metrics",
		    port);
		IT_ASSERT(itest_run(sh) == 0, "promtool check metrics of admin "
		    "port %d (see the command log)", port);
	}
out:
	itest_raw_close(&a);
	itest_raw_close(&b);
}

/* POST /kick?code=C closes that device's link; unknown: 404. */
static void
test_kick(void)
{
	static const char *const kick[] = { "kick", "00010003", "--json",
	    NULL };
	static const char *const reload[] = { "reload", "--json", NULL };
	struct itest_raw r = { .fd = -1 };
	char out[PATH_MAX];

	itest_fmt(out, sizeof(out), "%s/admin-kick.json", itest.work);
	if (!IT_ASSERT(itest_raw_open(&r, D1.port, itest.pki, IT_DEV(3),
	    IT_WAIT_MS) == 0 && itest_raw_login(&r, IT_DEV(3), IT_WAIT_MS) ==
	    0, "00010003 logs in: %s", r.why))
		goto out;
	IT_ASSERT(ctl(aD1, out, kick) == 0, "nap-ctl kick 00010003");
	IT_ASSERT(pycheck(out, "d['code'] == '00010003' and d['kicked'] == "
	    "1") == 0, "kick's answer");
	IT_ASSERT(itest_raw_wait_closed(&r, IT_WAIT_MS, NULL) == 0,
	    "the kicked link closes");
	IT_ASSERT(ctl(aD1, out, kick) == 1, "a second kick finds nothing: "
	    "exit 1");
	IT_ASSERT(ctl(aD1, out, reload) == 0 && pycheck(out,
	    "d['reloaded'] is True") == 0, "nap-ctl reload");
	IT_ASSERT(curl(aD1, "GET", "/kick?code=00010003", out) == 404,
	    "GET /kick is not a kick");
out:
	itest_raw_close(&r);
}

/* Without admin-ca a non-loopback admin address is refused at start. */
static void
test_refused(void)
{
	char ca[PATH_MAX], crt[PATH_MAX], key[PATH_MAX];
	const char *argv[] = { itest.platform, "-n", "--cert",
	    itest_pki_file(crt, sizeof(crt), itest.pki, IT_PLATFORM, "crt"),
	    "--key", itest_pki_file(key, sizeof(key), itest.pki, IT_PLATFORM,
	    "key"), "--ca", itest_fmt(ca, sizeof(ca), "%s/ca.crt", itest.pki),
	    "--admin", "0.0.0.0:0", NULL };

	IT_ASSERT(itest_run(argv) == 1, "--admin 0.0.0.0:0 without admin-ca "
	    "is refused (exit 1)");
}

/* TLS admin: no client certificate, no answer; with one, the status. */
static void
test_tls(void)
{
	struct itest_server t = { 0 };
	char pf[PATH_MAX], ca[PATH_MAX], crt[PATH_MAX], key[PATH_MAX];
	char dcrt[PATH_MAX], dkey[PATH_MAX], url[64], out[PATH_MAX];
	char cmd[PATH_MAX * 3];
	const char *extra[] = { "--admin", "127.0.0.1:0", "--admin-port-file",
	    wfile(pf, sizeof(pf), "tls"), "--admin-cert",
	    itest_pki_file(crt, sizeof(crt), itest.pki, IT_PLATFORM, "crt"),
	    "--admin-key", itest_pki_file(key, sizeof(key), itest.pki,
	    IT_PLATFORM, "key"), "--admin-ca", itest_fmt(ca, sizeof(ca),
	    "%s/ca.crt", itest.pki), NULL };
	const char *sh[] = { "sh", "-c", cmd, NULL };
	int port = 0;

	itest_fmt(out, sizeof(out), "%s/admin-tls.json", itest.work);
	itest_pki_file(dcrt, sizeof(dcrt), itest.pki, IT_DEV(5), "crt");
	itest_pki_file(dkey, sizeof(dkey), itest.pki, IT_DEV(5), "key");
	if (!IT_ASSERT(itest_platform_start(&t, "admin-tls", extra, false) ==
	    0 && (port = admin_port("tls")) > 0, "a platform with a TLS "
	    "admin listener starts"))
		return;
	itest_fmt(url, sizeof(url), "https://127.0.0.1:%d", port);
	itest_fmt(cmd, sizeof(cmd), "curl -sS -m 10 -k %s/status", url);
	IT_ASSERT(itest_run(sh) != 0, "no client certificate: refused");
	itest_fmt(cmd, sizeof(cmd), "curl -sS -m 10 http://127.0.0.1:%d/"
	    "status", port);
	IT_ASSERT(itest_run(sh) != 0, "plain HTTP: refused");
	itest_fmt(cmd, sizeof(cmd), "'%s' --server %s --ca '%s' status",
	    itest.ctl, url, ca);
	IT_ASSERT(itest_run(sh) == 1, "nap-ctl without --cert: refused");
	itest_fmt(cmd, sizeof(cmd), "'%s' --server %s --ca '%s' --cert '%s' "
	    "--key '%s' --json status > '%s'", itest.ctl, url, ca, dcrt, dkey,
	    out);
	IT_ASSERT(itest_run(sh) == 0 && pycheck(out, "d['code'] == "
	    "'00000000' and d['listeners'][1]['tls'] is True") == 0,
	    "nap-ctl with a client certificate gets /status");
	IT_ASSERT(itest_server_stop(&t) == 0, "stops");
}

/*
 * POST /drain: the device is told and closed, its unconfirmed message
 * goes back to the store, the domain exits 0; after a restart the
 * device gets the message again.
 */
static void
test_drain(void)
{
	static const char *const drain[] = { "drain", "--deadline", "20",
	    "--json", NULL };
	struct itest_raw a = { .fd = -1 }, b = { .fd = -1 };
	struct itest_frame f = { 0 };
	char out[PATH_MAX];
	int rc;

	itest_fmt(out, sizeof(out), "%s/admin-drain.json", itest.work);
	if (!IT_ASSERT(itest_raw_open_as(&a, D2.port, itest.pki, IT_DEV2N(1),
	    IT_WAIT_MS, IT_DOMAIN2) == 0 && itest_raw_login_with(&a, IT_DOMAIN2, NULL,
	    IT_WAIT_MS) == 0 && itest_raw_open_as(&b, D2.port, itest.pki,
	    IT_DEV2N(2), IT_WAIT_MS, IT_DOMAIN2) == 0 && itest_raw_login_with(&b,
	    IT_DOMAIN2, NULL, IT_WAIT_MS) == 0, "two devices on D2: %s %s",
	    a.why, b.why))
		goto out;
	/* b reads it and does not confirm: it stays unconfirmed (§5). */
	IT_ASSERT(itest_raw_msg(&a, 1000, NULL, a.code, b.code, a.session,
	    "<drained/>", NULL) == 0 && itest_raw_expect(&b, 1000, &f,
	    IT_WAIT_MS, NULL) == IT_FRAME, "a message reaches 00020002");
	if (f.body != NULL)
		itest_frame_free(&f);
	memset(&f, 0, sizeof(f));
	IT_ASSERT(ctl(aD2, out, drain) == 0 && pycheck(out,
	    "d['draining'] is True and isinstance(d['deadline'], int)") == 0,
	    "nap-ctl drain");
	IT_ASSERT(itest_raw_wait_closed(&b, IT_WAIT_MS, NULL) == 0,
	    "the device's link closes");
	rc = itest_server_wait(&D2, IT_WAIT_MS * 2);
	IT_ASSERT(rc == 0, "the drained domain exits 0 (got %d)", rc);
	itest_raw_close(&b);
	b = (struct itest_raw){ .fd = -1 };
	if (!IT_ASSERT(start_domain(&D2, "admin-d2", IT_DOMAIN2, reg2, &aD2)
	    == 0, "D2 restarts"))
		goto out;
	IT_ASSERT(itest_raw_open_as(&b, D2.port, itest.pki, IT_DEV2N(2),
	    IT_WAIT_MS, IT_DOMAIN2) == 0 && itest_raw_login_with(&b, IT_DOMAIN2, NULL,
	    IT_WAIT_MS) == 0 && itest_raw_expect(&b, 1000, &f, IT_WAIT_MS,
	    NULL) == IT_FRAME && f.body != NULL && strstr(f.body, "<drained/>") != NULL,
	    "the unconfirmed message comes again after the restart");
	if (f.body != NULL)
		itest_frame_free(&f);
out:
	itest_raw_close(&a);
	itest_raw_close(&b);
}

void
init_admin_tests(void)
{
	CU_pSuite s = CU_add_suite("admin", admin_init, admin_clean);

	if (s == NULL)
		return;
	CU_add_test(s, "/status of every server (nap-ctl --json)",
	    test_status);
	CU_add_test(s, "/links, counters that move, promtool",
	    test_links_metrics);
	CU_add_test(s, "kick closes the link; reload", test_kick);
	CU_add_test(s, "a non-loopback admin without admin-ca is refused",
	    test_refused);
	CU_add_test(s, "TLS admin: client certificate required", test_tls);
	CU_add_test(s, "drain hands back and exits 0", test_drain);
}
