/*
 * auth and helix: tokens.json, the choice between it and the
 * configuration, and the validate / refresh / app-token / device flows
 * against a scripted HTTP server on 127.0.0.1 in a thread of this test.
 * Every network test captures stderr at debug level and checks that no
 * secret reached the log.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "../../bridge/auth_int.h"
#include "auth.h"
#include "helix.h"
#include "log.h"
#include "loop.h"
#include "util.h"

/* ---- a scripted HTTP server: one canned answer per connection ---- */

struct canned {
	int status;             /* 0: accept, read, and never answer */
	const char *headers;    /* extra header lines, each ending \r\n */
	const char *body;
};

#define MOCK_MAX 8

struct mock {
	int fd, port;
	pthread_t thread;
	atomic_bool stop;
	const struct canned *script;
	size_t n;
	atomic_size_t served;
	char req[MOCK_MAX][8192];
};

static int
read_request(int fd, char *buf, size_t size)
{
	size_t len = 0, want = 0;
	char *end = NULL;
	ssize_t n;

	while (len + 1 < size) {
		if ((n = read(fd, buf + len, size - 1 - len)) <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
			char *cl = strcasestr(buf, "Content-Length:");
			want = (size_t)(end + 4 - buf) +
			    (cl != NULL && cl < end ? strtoul(cl + 15, NULL, 10) : 0);
		}
		if (end != NULL && len >= want)
			return 0;
	}
	return 0;
}

static void
answer(int fd, const struct canned *c)
{
	char *head = br_xasprintf("HTTP/1.1 %d X\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n"
	    "%s\r\n", c->status, strlen(c->body), c->headers ? c->headers : "");
	const char *parts[] = { head, c->body };

	for (int i = 0; i < 2; i++)
		for (size_t off = 0, len = strlen(parts[i]); off < len;) {
			ssize_t n = write(fd, parts[i] + off, len - off);
			if (n <= 0)
				break;
			off += (size_t)n;
		}
	free(head);
}

static void *
mock_main(void *arg)
{
	struct mock *m = arg;
	struct pollfd p = { .fd = m->fd, .events = POLLIN };
	size_t i = 0;

	while (!atomic_load(&m->stop) && i < m->n) {
		if (poll(&p, 1, 50) <= 0)
			continue;
		int c = accept(m->fd, NULL, NULL);
		if (c < 0)
			continue;
		read_request(c, m->req[i], sizeof m->req[i]);
		atomic_store(&m->served, i + 1);
		if (m->script[i].status == 0) {
			while (!atomic_load(&m->stop))
				usleep(10000);
		} else {
			answer(c, &m->script[i]);
		}
		close(c);
		i++;
	}
	return NULL;
}

static struct mock *
mock_start(const struct canned *script, size_t n)
{
	struct mock *m = br_xcalloc(1, sizeof *m);
	struct sockaddr_in sa = { .sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;

	m->script = script;
	m->n = n;
	m->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(m->fd >= 0);
	assert_int_equal(bind(m->fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(m->fd, 8), 0);
	getsockname(m->fd, (struct sockaddr *)&sa, &len);
	m->port = ntohs(sa.sin_port);
	pthread_create(&m->thread, NULL, mock_main, m);
	return m;
}

static void
mock_stop(struct mock *m)
{
	atomic_store(&m->stop, true);
	pthread_join(m->thread, NULL);
	close(m->fd);
	free(m);
}

/* ---- stderr capture ---- */

static int saved_fd = -1;
static char capture_path[] = "/tmp/test_auth_log.XXXXXX";

static void
capture_start(void)
{
	int fd = mkstemp(capture_path);

	assert_true(fd >= 0);
	fflush(stderr);
	saved_fd = dup(2);
	dup2(fd, 2);
	close(fd);
}

/* Restores stderr; returns what was logged (a new string). */
static char *
capture_end(void)
{
	char *text = NULL;

	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	assert_int_equal(br_read_file(capture_path, 1 << 20, &text, NULL), 0);
	unlink(capture_path);
	strcpy(capture_path + strlen(capture_path) - 6, "XXXXXX");
	return text;
}

static void
assert_no_secret(char *log)
{
	if (strstr(log, "SECRET") != NULL)
		fprintf(stderr, "log with a secret:\n%s", log);
	assert_null(strstr(log, "SECRET"));
	free(log);
}

/* ---- a loop, a helix and an auth pointed at the mock ---- */

struct env {
	struct br_loop *loop;
	struct br_helix *helix;
	struct br_auth *auth;
	struct mock *mock;
	struct br_timer deadline;
	char dir[64];
	char *api_url, *auth_url;
	int ready, done_true, done_false;
	char events[4][32];
	int n_events;
	char detail[256];
};

/* br_loop_stop from a timer callback takes effect at the next wake-up
 * (lws polls again first), so wake the loop as well. */
static void
stop_now(struct br_loop *loop)
{
	br_loop_stop(loop);
	lws_cancel_service(br_loop_lws(loop));
}

static void
deadline_hit(void *arg)
{
	struct env *e = arg;
	stop_now(e->loop);
	fail_msg("the loop ran into its deadline");
}

static void
run_loop(struct env *e)
{
	br_timer_start(&e->deadline, 10000);
	br_loop_run(e->loop);
	br_timer_stop(&e->deadline);
}

/* br_loop_stop is final for a loop, so each test runs its loop once. */
static void
on_event(void *ctx, const char *type, const char *detail)
{
	struct env *e = ctx;

	if (e->n_events < 4)
		snprintf(e->events[e->n_events++], sizeof e->events[0], "%s",
		    type);
	snprintf(e->detail, sizeof e->detail, "%s", detail);
}

static void
on_ready(void *ctx)
{
	struct env *e = ctx;

	e->ready++;
	br_loop_stop(e->loop);
}

static void
on_done(void *arg, bool ok)
{
	struct env *e = arg;

	if (ok)
		e->done_true++;
	else
		e->done_false++;
	br_loop_stop(e->loop);
}

static struct env *
env_new(const struct canned *script, size_t n)
{
	struct env *e = br_xcalloc(1, sizeof *e);
	struct br_helix_options ho = { 0 };

	strcpy(e->dir, "/tmp/test_auth.XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	e->mock = mock_start(script, n);
	e->api_url = br_xasprintf("http://127.0.0.1:%d/helix", e->mock->port);
	e->auth_url = br_xasprintf("http://127.0.0.1:%d/oauth2",
	    e->mock->port);
	ho.api_url = e->api_url;
	ho.auth_url = e->auth_url;
	ho.client_id = "cid";
	assert_non_null(e->loop = br_loop_new());
	assert_non_null(e->helix = br_helix_new(e->loop, &ho));
	br_timer_init(&e->deadline, e->loop, deadline_hit, e);
	return e;
}

static void
env_auth(struct env *e, const char *access, const char *refresh,
    const char *secret)
{
	struct br_auth_options ao = { .client_id = "cid",
		.client_secret = secret, .access_token = access,
		.refresh_token = refresh, .state_dir = e->dir };
	struct br_auth_hooks hk = { e, on_event, on_ready };

	e->auth = br_auth_new(e->loop, e->helix, &ao, &hk);
}

static void
env_free(struct env *e)
{
	char *path = br_tokens_path(e->dir);

	br_helix_free(e->helix);
	br_auth_free(e->auth);
	br_loop_free(e->loop);
	mock_stop(e->mock);
	unlink(path);
	rmdir(e->dir);
	free(path);
	free(e->api_url);
	free(e->auth_url);
	free(e);
}

/* ---- pure parts ---- */

static void
test_urlencode(void **state)
{
	char *s = br_urlencode("a b&c=d/\xc3\xa9~-._Z9:");
	assert_string_equal(s, "a%20b%26c%3Dd%2F%C3%A9~-._Z9%3A");
	free(s);
	s = br_urlencode("");
	assert_string_equal(s, "");
	free(s);
}

static void
test_tokens_round_trip(void **state)
{
	char dir[] = "/tmp/test_auth.XXXXXX", *path;
	struct br_tokens t = { 0 }, u;
	struct stat st;

	assert_non_null(mkdtemp(dir));
	path = br_tokens_path(dir);
	t.access_token = br_xstrdup("acc-SECRET");
	t.refresh_token = br_xstrdup("ref-SECRET");
	t.expires_at_ms = 1795000000000LL;
	t.scopes = json_pack("[ss]", "bits:read", "user:read:chat");
	t.user_id = br_xstrdup("1337");
	t.login = br_xstrdup("cool");
	t.config_fingerprint = br_tokens_fingerprint("a", "r");
	umask(022);
	assert_int_equal(br_tokens_save(path, &t), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(br_tokens_load(path, &u), 0);
	assert_string_equal(u.access_token, "acc-SECRET");
	assert_string_equal(u.refresh_token, "ref-SECRET");
	assert_int_equal(u.expires_at_ms, 1795000000000LL);
	assert_true(json_equal(u.scopes, t.scopes));
	assert_string_equal(u.user_id, "1337");
	assert_string_equal(u.login, "cool");
	assert_string_equal(u.config_fingerprint, t.config_fingerprint);
	br_tokens_clear(&u);
	br_tokens_clear(&t);
	unlink(path);
	rmdir(dir);
	free(path);
}

static void
test_tokens_bad_files(void **state)
{
	char dir[] = "/tmp/test_auth.XXXXXX", *path;
	struct br_tokens t;

	assert_non_null(mkdtemp(dir));
	path = br_tokens_path(dir);
	assert_int_equal(br_tokens_load(path, &t), -ENOENT);
	br_write_file_atomic(path, "not json", 8, 0600);
	assert_int_equal(br_tokens_load(path, &t), -EINVAL);
	br_write_file_atomic(path, "{\"login\":\"x\"}", 13, 0600);
	assert_int_equal(br_tokens_load(path, &t), -EINVAL);
	/* an integer expires_at is epoch seconds */
	br_write_file_atomic(path, "{\"refresh_token\":\"r\",\"expires_at\":9}",
	    36, 0600);
	assert_int_equal(br_tokens_load(path, &t), 0);
	assert_null(t.access_token);
	assert_int_equal(t.expires_at_ms, 9000);
	br_tokens_clear(&t);
	unlink(path);
	rmdir(dir);
	free(path);
}

static void
test_choose(void **state)
{
	char dir[] = "/tmp/test_auth.XXXXXX", *path;
	struct br_tokens t = { 0 }, c;
	const char *from;

	assert_non_null(mkdtemp(dir));
	path = br_tokens_path(dir);
	assert_int_equal(br_tokens_choose(path, NULL, "", &c, &from), -ENOENT);
	assert_int_equal(br_tokens_choose(path, "ca", "cr", &c, &from), 0);
	assert_string_equal(c.access_token, "ca");
	br_tokens_clear(&c);

	/* from `twitch2mqtt auth`: untagged, so the configuration wins */
	t.access_token = br_xstrdup("fa");
	t.refresh_token = br_xstrdup("fr");
	br_tokens_save(path, &t);
	assert_int_equal(br_tokens_choose(path, NULL, NULL, &c, &from), 1);
	assert_string_equal(c.access_token, "fa");
	br_tokens_clear(&c);
	assert_int_equal(br_tokens_choose(path, "ca", "cr", &c, &from), 0);
	assert_string_equal(c.refresh_token, "cr");
	br_tokens_clear(&c);

	/* refreshed from the configured token: the file wins */
	t.config_fingerprint = br_tokens_fingerprint("ca", "cr");
	br_tokens_save(path, &t);
	assert_int_equal(br_tokens_choose(path, "ca", "cr", &c, &from), 1);
	assert_string_equal(c.access_token, "fa");
	br_tokens_clear(&c);
	/* a newly configured token wins over the old descendant */
	assert_int_equal(br_tokens_choose(path, "ca", "cr2", &c, &from), 0);
	assert_string_equal(c.refresh_token, "cr2");
	br_tokens_clear(&c);

	br_tokens_clear(&t);
	unlink(path);
	rmdir(dir);
	free(path);
}

/* ---- helix ---- */

struct answer {
	struct env *e;
	int calls;
	long status, retry;
	char error[256];
	bool json;
};

static void
on_answer(void *arg, const struct br_helix_response *r)
{
	struct answer *a = arg;

	a->calls++;
	a->status = r->status;
	a->retry = r->retry_after_s;
	a->json = r->json != NULL;
	snprintf(a->error, sizeof a->error, "%s", r->error ? r->error : "");
	br_loop_stop(a->e->loop);
}

static void
test_helix_api_and_429(void **state)
{
	char hdr[64];
	snprintf(hdr, sizeof hdr, "Ratelimit-Reset: %lld\r\n",
	    (long long)(br_now_ms() / 1000 + 7));
	const struct canned script[] = {
		{ 429, hdr, "{\"status\":429}" },
	};
	struct env *e = env_new(script, 1);
	struct answer a = { .e = e };

	capture_start();
	br_helix_api(e->helix, "POST", "/eventsub/subscriptions",
	    "tok-SECRET", json_pack("{ss}", "type", "channel.cheer"),
	    on_answer, &a);
	assert_int_equal(br_helix_pending(e->helix), 1);
	run_loop(e);
	assert_no_secret(capture_end());
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.status, 429);
	assert_true(a.retry >= 6 && a.retry <= 8);
	assert_int_equal(br_helix_pending(e->helix), 0);
	assert_non_null(strstr(e->mock->req[0],
	    "POST /helix/eventsub/subscriptions HTTP/1.1"));
	assert_non_null(strstr(e->mock->req[0],
	    "Authorization: Bearer tok-SECRET"));
	assert_non_null(strstr(e->mock->req[0], "Client-Id: cid"));
	assert_non_null(strstr(e->mock->req[0],
	    "Content-Type: application/json"));
	assert_non_null(strstr(e->mock->req[0], "{\"type\":\"channel.cheer\"}"));
	env_free(e);
}

static void
test_helix_body_cap(void **state)
{
	size_t n = (4u << 20) + 100;
	char *big = br_xmalloc(n + 1);
	memset(big, ' ', n);
	big[n] = '\0';
	big[0] = '[';
	big[n - 1] = ']';
	const struct canned script[] = { { 200, NULL, big } };
	struct env *e = env_new(script, 1);
	struct answer a = { .e = e };

	br_helix_api(e->helix, "GET", "/users", "t", NULL, on_answer, &a);
	run_loop(e);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.status, 0);
	assert_non_null(strstr(a.error, "larger than 4 MiB"));
	env_free(e);
	free(big);
}

static void
stop_soon(void *arg)
{
	stop_now(arg);
}

/* Queued and running requests never call back after br_helix_free,
 * which aborts a hanging transfer at once; an answer already posted to
 * the loop is dropped when the loop runs it. */
static void
test_helix_free_drops(void **state)
{
	const struct canned script[] = { { 200, NULL, "{}" }, { 0, NULL, "" } };
	struct env *e = env_new(script, 2);
	struct answer a = { .e = e };
	struct br_timer t;
	int64_t t0;

	br_helix_api(e->helix, "GET", "/a", "t", NULL, on_answer, &a);
	br_helix_api(e->helix, "GET", "/b", "t", NULL, on_answer, &a);
	br_helix_api(e->helix, "GET", "/c", "t", NULL, on_answer, &a);
	/* /a is answered and posted; /b hangs; /c waits in the queue */
	while (atomic_load(&e->mock->served) < 2)
		usleep(10000);
	t0 = br_mono_ms();
	br_helix_free(e->helix);
	e->helix = NULL;
	assert_true(br_mono_ms() - t0 < 3000);
	br_timer_init(&t, e->loop, stop_soon, e->loop);
	br_timer_start(&t, 200);
	br_loop_run(e->loop);
	assert_int_equal(a.calls, 0);
	env_free(e);
}

/* ---- auth ---- */

#define VALIDATE_OK \
	"{\"client_id\":\"cid\",\"login\":\"alice\",\"user_id\":\"42\"," \
	"\"scopes\":[\"bits:read\"],\"expires_in\":3600}"

static void
test_validate_ready(void **state)
{
	const struct canned script[] = { { 200, NULL, VALIDATE_OK } };
	struct env *e = env_new(script, 1);

	br_log_set_level(BR_LOG_DEBUG);
	capture_start();
	env_auth(e, "acc-SECRET-1", "ref-SECRET-1", "cs-SECRET");
	assert_true(br_auth_has_user(e->auth));
	br_auth_start(e->auth);
	run_loop(e);
	assert_no_secret(capture_end());
	assert_int_equal(e->ready, 1);
	assert_string_equal(br_auth_user_id(e->auth), "42");
	assert_string_equal(br_auth_user_login(e->auth), "alice");
	assert_true(br_auth_has_scope(e->auth, "bits:read"));
	assert_false(br_auth_has_scope(e->auth, "user:read:chat"));
	assert_false(br_auth_failed(e->auth));
	assert_non_null(strstr(e->mock->req[0], "GET /oauth2/validate "));
	assert_non_null(strstr(e->mock->req[0],
	    "Authorization: OAuth acc-SECRET-1"));
	env_free(e);
}

static void
test_401_refreshes_and_stores(void **state)
{
	const struct canned script[] = {
		{ 401, NULL, "{\"status\":401,\"message\":\"invalid access "
		  "token\"}" },
		{ 200, NULL, "{\"access_token\":\"acc-SECRET-2\","
		  "\"refresh_token\":\"ref-SECRET-2\",\"expires_in\":14000,"
		  "\"scope\":[\"bits:read\"],\"token_type\":\"bearer\"}" },
		{ 200, NULL, VALIDATE_OK },
	};
	struct env *e = env_new(script, 3);
	struct br_tokens t;
	struct stat st;
	char *path = br_tokens_path(e->dir), *fp;
	const char *from;

	br_log_set_level(BR_LOG_DEBUG);
	capture_start();
	env_auth(e, "acc-SECRET-1", "ref-SECRET-1", "cs SECRET&");
	br_auth_start(e->auth);
	run_loop(e);
	assert_no_secret(capture_end());
	assert_int_equal(e->ready, 1);
	assert_int_equal(e->n_events, 1);
	assert_string_equal(e->events[0], "token_refreshed");
	assert_string_equal(br_auth_user_token(e->auth), "acc-SECRET-2");
	assert_string_equal(br_auth_user_id(e->auth), "42");
	assert_non_null(strstr(e->mock->req[1], "POST /oauth2/token "));
	assert_non_null(strstr(e->mock->req[1],
	    "application/x-www-form-urlencoded"));
	assert_non_null(strstr(e->mock->req[1], "grant_type=refresh_token&"
	    "refresh_token=ref-SECRET-1&client_id=cid&client_secret="
	    "cs%20SECRET%26"));
	assert_non_null(strstr(e->mock->req[2], "OAuth acc-SECRET-2"));

	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(br_tokens_load(path, &t), 0);
	assert_string_equal(t.access_token, "acc-SECRET-2");
	assert_string_equal(t.refresh_token, "ref-SECRET-2");
	fp = br_tokens_fingerprint("acc-SECRET-1", "ref-SECRET-1");
	assert_string_equal(t.config_fingerprint, fp);
	br_tokens_clear(&t);
	/* the next start with the same configuration uses the new pair */
	assert_int_equal(br_tokens_choose(path, "acc-SECRET-1",
	    "ref-SECRET-1", &t, &from), 1);
	assert_string_equal(t.refresh_token, "ref-SECRET-2");
	br_tokens_clear(&t);
	free(fp);
	free(path);
	env_free(e);
}

static void
test_refused_refresh_fails_once(void **state)
{
	const struct canned script[] = {
		{ 400, NULL, "{\"status\":400,\"message\":\"Invalid refresh "
		  "token ref-SECRET-1\"}" },
	};
	struct env *e = env_new(script, 1);
	char *log;

	br_log_set_level(BR_LOG_DEBUG);
	capture_start();
	env_auth(e, "acc-SECRET-1", "ref-SECRET-1", NULL);
	br_auth_refresh(e->auth, on_done, e);
	run_loop(e);
	log = capture_end();
	assert_non_null(strstr(log, "twitch2mqtt auth"));
	assert_no_secret(log);
	assert_int_equal(e->done_false, 1);
	assert_true(br_auth_failed(e->auth));
	assert_int_equal(e->n_events, 1);
	assert_string_equal(e->events[0], "auth_failed");
	assert_non_null(strstr(e->detail, "twitch2mqtt auth"));
	/* no client secret configured: none sent */
	assert_null(strstr(e->mock->req[0], "client_secret"));
	/* failed: answered at once, no request, no second event */
	br_auth_refresh(e->auth, on_done, e);
	assert_int_equal(e->done_false, 2);
	assert_int_equal(atomic_load(&e->mock->served), 1);
	assert_int_equal(e->n_events, 1);
	env_free(e);
}

/* While failed, tokens that `twitch2mqtt auth` stored meanwhile are
 * picked up by the next refresh. */
static void
on_done_then_reauth(void *arg, bool ok)
{
	struct env *e = arg;
	struct br_tokens t = { .access_token = "acc-SECRET-9",
		.refresh_token = "ref-SECRET-9" };
	char *path = br_tokens_path(e->dir);

	e->done_false++;
	assert_false(ok);
	assert_int_equal(br_tokens_save(path, &t), 0);
	free(path);
	br_auth_refresh(e->auth, on_done, e);
}

static void
test_failed_recovers_with_new_tokens(void **state)
{
	const struct canned script[] = {
		{ 400, NULL, "{\"status\":400,\"message\":\"Invalid refresh "
		  "token\"}" },
		{ 200, NULL, "{\"access_token\":\"acc-SECRET-10\","
		  "\"refresh_token\":\"ref-SECRET-10\",\"expires_in\":14000}" },
	};
	struct env *e = env_new(script, 2);
	struct br_tokens t = { .access_token = "acc-SECRET-1",
		.refresh_token = "ref-SECRET-1" };
	char *path = br_tokens_path(e->dir);

	assert_int_equal(br_tokens_save(path, &t), 0);
	free(path);
	capture_start();
	env_auth(e, NULL, NULL, NULL);
	br_auth_refresh(e->auth, on_done_then_reauth, e);
	run_loop(e);
	assert_no_secret(capture_end());
	assert_int_equal(e->done_false, 1);
	assert_int_equal(e->done_true, 1);
	assert_false(br_auth_failed(e->auth));
	assert_non_null(strstr(e->mock->req[1], "refresh_token=ref-SECRET-9"));
	assert_string_equal(br_auth_user_token(e->auth), "acc-SECRET-10");
	env_free(e);
}

static void
test_no_refresh_token_fails(void **state)
{
	const struct canned script[] = { { 200, NULL, "{}" } };
	struct env *e = env_new(script, 1);

	capture_start();
	env_auth(e, "acc-SECRET-1", NULL, NULL);
	br_auth_refresh(e->auth, on_done, e);
	assert_no_secret(capture_end());
	assert_int_equal(e->done_false, 1);
	assert_true(br_auth_failed(e->auth));
	assert_string_equal(e->events[0], "auth_failed");
	env_free(e);
}

struct app_wait {
	struct env *e;
	int calls;
	char token[64];
};

static void
on_app(void *arg, const char *token)
{
	struct app_wait *w = arg;

	w->calls++;
	snprintf(w->token, sizeof w->token, "%s", token ? token : "(null)");
	br_loop_stop(w->e->loop);
}

static void
test_app_token(void **state)
{
	const struct canned script[] = {
		{ 200, NULL, "{\"access_token\":\"app-SECRET\","
		  "\"expires_in\":5011271,\"token_type\":\"bearer\"}" },
	};
	struct env *e = env_new(script, 1);
	struct app_wait w1 = { .e = e }, w2 = { .e = e };

	br_log_set_level(BR_LOG_DEBUG);
	capture_start();
	env_auth(e, NULL, NULL, "cs-SECRET");
	assert_false(br_auth_has_user(e->auth));
	br_auth_app_token(e->auth, on_app, &w1);
	br_auth_app_token(e->auth, on_app, &w2);
	run_loop(e);
	assert_no_secret(capture_end());
	assert_int_equal(w1.calls, 1);
	assert_int_equal(w2.calls, 1);
	assert_string_equal(w1.token, "app-SECRET");
	assert_string_equal(w2.token, "app-SECRET");
	assert_non_null(strstr(e->mock->req[0], "grant_type=client_credentials"
	    "&client_id=cid&client_secret=cs-SECRET"));
	/* cached: answered at once */
	br_auth_app_token(e->auth, on_app, &w1);
	assert_int_equal(w1.calls, 2);
	assert_int_equal(atomic_load(&e->mock->served), 1);
	env_free(e);
}

static void
test_app_token_needs_secret(void **state)
{
	const struct canned script[] = { { 200, NULL, "{}" } };
	struct env *e = env_new(script, 1);
	struct app_wait w = { .e = e };

	env_auth(e, NULL, NULL, "");
	br_auth_app_token(e->auth, on_app, &w);
	assert_int_equal(w.calls, 1);
	assert_string_equal(w.token, "(null)");
	/* no user token at all: nothing to refresh, but nothing failed */
	br_auth_refresh(e->auth, on_done, e);
	assert_int_equal(e->done_false, 1);
	assert_false(br_auth_failed(e->auth));
	assert_int_equal(e->n_events, 0);
	env_free(e);
}

/* ---- subscriptions' own pairs ---- */

struct pair_call {
	struct env *e;
	int *left;
	bool called, refused;
	char access[32], refresh[32];
};

static void
on_pair(void *arg, const struct br_token_pair *fresh, bool refused)
{
	struct pair_call *c = arg;

	c->called = true;
	c->refused = refused;
	if (fresh != NULL) {
		snprintf(c->access, sizeof c->access, "%s", fresh->access_token);
		snprintf(c->refresh, sizeof c->refresh, "%s",
		    fresh->refresh_token);
	}
	if (--*c->left == 0)
		br_loop_stop(c->e->loop);
}

/* One request per refresh token, in turn; the bridge's own token is not
 * touched and no bridge event is told. */
static void
test_pair_refresh(void **state)
{
	const struct canned script[] = {
		{ 200, NULL, "{\"access_token\":\"acc-SECRET-n\","
		  "\"refresh_token\":\"ref-SECRET-n\",\"expires_in\":14000}" },
		{ 400, NULL, "{\"status\":400,\"message\":\"Invalid refresh "
		  "token ref-SECRET-c\"}" },
		{ 200, NULL, "{\"access_token\":\"acc-SECRET-m\"}" },
	};
	struct env *e = env_new(script, 3);
	int left = 4;
	struct pair_call c[4] = { { .e = e, .left = &left },
		{ .e = e, .left = &left }, { .e = e, .left = &left },
		{ .e = e, .left = &left } };
	const char *rt[4] = { "ref-SECRET-a", "ref-SECRET-a", "ref-SECRET-c",
		"ref-SECRET-d" };

	br_log_set_level(BR_LOG_DEBUG);
	capture_start();
	env_auth(e, "acc-SECRET-1", "ref-SECRET-1", "cs-SECRET");
	for (int i = 0; i < 4; i++)
		br_auth_refresh_pair(e->auth, rt[i], on_pair, &c[i]);
	run_loop(e);
	assert_no_secret(capture_end());
	assert_int_equal(left, 0);
	assert_int_equal(atomic_load(&e->mock->served), 3);
	assert_non_null(strstr(e->mock->req[0], "grant_type=refresh_token&"
	    "refresh_token=ref-SECRET-a&client_id=cid&client_secret="
	    "cs-SECRET"));
	assert_non_null(strstr(e->mock->req[1], "refresh_token=ref-SECRET-c&"));
	assert_non_null(strstr(e->mock->req[2], "refresh_token=ref-SECRET-d&"));
	for (int i = 0; i < 2; i++) {
		assert_false(c[i].refused);
		assert_string_equal(c[i].access, "acc-SECRET-n");
		assert_string_equal(c[i].refresh, "ref-SECRET-n");
	}
	assert_true(c[2].called);
	assert_true(c[2].refused);
	assert_string_equal(c[2].access, "");
	/* no new refresh token: the old one stays */
	assert_string_equal(c[3].access, "acc-SECRET-m");
	assert_string_equal(c[3].refresh, "ref-SECRET-d");
	assert_string_equal(br_auth_user_token(e->auth), "acc-SECRET-1");
	assert_false(br_auth_failed(e->auth));
	assert_int_equal(e->n_events, 0);
	env_free(e);
}

/* Freed with refreshes waiting: none is called. */
static void
test_pair_free_waiting(void **state)
{
	const struct canned script[] = { { 0, NULL, "" } };
	struct env *e = env_new(script, 1);
	int left = 2;
	struct pair_call c[2] = { { .e = e, .left = &left },
		{ .e = e, .left = &left } };

	env_auth(e, NULL, NULL, NULL);
	br_auth_refresh_pair(e->auth, "ref-SECRET-a", on_pair, &c[0]);
	br_auth_refresh_pair(e->auth, "ref-SECRET-b", on_pair, &c[1]);
	while (atomic_load(&e->mock->served) < 1)
		usleep(10000);
	br_auth_free(e->auth);
	e->auth = NULL;
	assert_false(c[0].called);
	assert_false(c[1].called);
	env_free(e);
}

/* Freeing the auth with a request in flight: the answer finds it gone. */
static void
test_auth_free_in_flight(void **state)
{
	const struct canned script[] = { { 200, NULL, VALIDATE_OK } };
	struct env *e = env_new(script, 1);
	struct br_timer t;

	env_auth(e, "acc-SECRET-1", "ref-SECRET-1", NULL);
	br_auth_start(e->auth);
	br_auth_free(e->auth);
	e->auth = NULL;
	br_timer_init(&t, e->loop, stop_soon, e->loop);
	while (atomic_load(&e->mock->served) < 1)
		usleep(10000);
	br_timer_start(&t, 300);
	br_loop_run(e->loop);
	assert_int_equal(e->ready, 0);
	env_free(e);
}

/* ---- device flow ---- */

static void
test_device_flow(void **state)
{
	const struct canned script[] = {
		{ 200, NULL, "{\"device_code\":\"dev-SECRET\",\"expires_in\":30,"
		  "\"interval\":1,\"user_code\":\"ABCDEFGH\",\"verification_uri\":"
		  "\"https://www.twitch.tv/activate?public=true\"}" },
		{ 400, NULL, "{\"status\":400,\"message\":"
		  "\"authorization_pending\"}" },
		{ 200, NULL, "{\"access_token\":\"acc-SECRET-3\","
		  "\"refresh_token\":\"ref-SECRET-3\",\"expires_in\":14000,"
		  "\"scope\":[\"bits:read\"],\"token_type\":\"bearer\"}" },
		{ 200, NULL, VALIDATE_OK },
	};
	struct env *e = env_new(script, 4);
	struct br_auth_options ao = { .client_id = "cid",
		.state_dir = e->dir };
	char out[] = "/tmp/test_auth_out.XXXXXX", *text, *path;
	struct br_tokens t;
	int fd = mkstemp(out), saved;

	fflush(stdout);
	saved = dup(1);
	dup2(fd, 1);
	assert_int_equal(br_auth_device_flow(&ao, e->auth_url, "", "a b"), 0);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	close(fd);
	assert_int_equal(br_read_file(out, 1 << 16, &text, NULL), 0);
	unlink(out);
	assert_non_null(strstr(text, "Open https://www.twitch.tv/activate?"
	    "public=true and enter the code ABCDEFGH\n"));
	assert_non_null(strstr(text, "tokens stored in "));
	assert_null(strstr(text, "SECRET"));
	free(text);
	assert_non_null(strstr(e->mock->req[0], "client_id=cid&scopes=a%20b"));
	assert_non_null(strstr(e->mock->req[2], "device_code=dev-SECRET"));
	assert_non_null(strstr(e->mock->req[2], "grant_type=urn%3Aietf%3A"
	    "params%3Aoauth%3Agrant-type%3Adevice_code"));
	path = br_tokens_path(e->dir);
	assert_int_equal(br_tokens_load(path, &t), 0);
	assert_string_equal(t.access_token, "acc-SECRET-3");
	assert_string_equal(t.refresh_token, "ref-SECRET-3");
	assert_string_equal(t.user_id, "42");
	assert_null(t.config_fingerprint);
	br_tokens_clear(&t);
	free(path);
	env_free(e);
}

static void
test_device_flow_needs_client_id(void **state)
{
	struct br_auth_options ao = { .state_dir = "/nonexistent" };
	assert_int_equal(br_auth_device_flow(&ao, "http://127.0.0.1:1",
	    NULL, NULL), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urlencode),
		cmocka_unit_test(test_tokens_round_trip),
		cmocka_unit_test(test_tokens_bad_files),
		cmocka_unit_test(test_choose),
		cmocka_unit_test(test_helix_api_and_429),
		cmocka_unit_test(test_helix_body_cap),
		cmocka_unit_test(test_helix_free_drops),
		cmocka_unit_test(test_validate_ready),
		cmocka_unit_test(test_401_refreshes_and_stores),
		cmocka_unit_test(test_refused_refresh_fails_once),
		cmocka_unit_test(test_failed_recovers_with_new_tokens),
		cmocka_unit_test(test_no_refresh_token_fails),
		cmocka_unit_test(test_app_token),
		cmocka_unit_test(test_app_token_needs_secret),
		cmocka_unit_test(test_pair_refresh),
		cmocka_unit_test(test_pair_free_waiting),
		cmocka_unit_test(test_auth_free_in_flight),
		cmocka_unit_test(test_device_flow),
		cmocka_unit_test(test_device_flow_needs_client_id),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);       /* main's job */
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
