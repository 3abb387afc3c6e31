/*
 * Helix and OAuth over HTTP. One worker thread takes requests from a
 * queue and runs each as a blocking libcurl transfer; the answer goes back
 * to the loop through its inbox and the callback runs there. Tokens and
 * forms are secrets: they are never logged and are wiped before free.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "helix.h"
#include "log.h"
#include "netconn.h"
#include "util.h"

#define BODY_MAX        (4u << 20)
#define CONNECT_TIMEOUT 10L
#define TOTAL_TIMEOUT   20L
#define RETRY_AFTER_MAX 3600

struct job {
	struct job *next;
	const char *method;     /* static string */
	char *url, *what;       /* what: "GET /users?login=x", for logs */
	char *auth;             /* the Authorization header: secret */
	char *body;             /* may be a form with secrets */
	const char *content_type;
	bool client_id;         /* send Client-Id (Helix) */
	br_helix_cb cb;
	void *arg;
	/* the transfer and its result, written by the worker */
	char *buf;
	size_t len, cap;
	bool too_big;
	long long reset_epoch;
	long status, retry_after_s;
	json_t *json;
	char *error;
};

struct wake;

struct br_helix {
	struct br_loop *loop;
	char *api_url, *auth_url, *client_id, *ca_file;
	char *ca_dir;           /* the system's hashed CAs, when no ca_file */
	pthread_t worker;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool stopping;   /* also read by curl's progress callback */
	struct job *queue, **queue_tail;        /* waiting for the worker */
	struct job *done, **done_tail;          /* answered, for the loop */
	struct wake *wake;      /* posted to the loop and not yet run */
	size_t pending;         /* loop thread only */
	bool *freed;            /* set while callbacks run: br_helix_free
	                         * from inside one must stop the rest */
};

/*
 * The wake-up a worker posts to the loop: the one thing the loop's inbox
 * may still hold after br_helix_free. It carries no result, only the way
 * back to h, which br_helix_free cuts (h = NULL). A detached wake-up is
 * parked on the orphan list until the loop runs it, so that a loop freed
 * without running it again leaves nothing unreachable behind.
 */
struct wake {
	struct wake *next;
	struct br_helix *h;
};

static pthread_mutex_t orphans_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wake *orphans;

static void
wipe_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static void
job_free(struct job *j)
{
	free(j->url);
	free(j->what);
	wipe_free(j->auth);
	wipe_free(j->body);
	free(j->buf);
	json_decref(j->json);
	free(j->error);
	free(j);
}

static void
jobs_free(struct job *j)
{
	for (struct job *next; j != NULL; j = next) {
		next = j->next;
		job_free(j);
	}
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct job *j = arg;

	n *= size;
	if (j->len + n > BODY_MAX) {
		j->too_big = true;
		return 0;       /* makes curl fail with CURLE_WRITE_ERROR */
	}
	if (j->len + n + 1 > j->cap) {
		j->cap = j->cap ? j->cap : 16384;
		while (j->len + n + 1 > j->cap)
			j->cap *= 2;
		j->buf = br_xrealloc(j->buf, j->cap);
	}
	memcpy(j->buf + j->len, p, n);
	j->len += n;
	j->buf[j->len] = '\0';
	return n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	static const char name[] = "ratelimit-reset:";
	struct job *j = arg;

	n *= size;
	/* A new status line starts a new response (after a 100 Continue). */
	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0)
		j->reset_epoch = 0;
	else if (n > sizeof name - 1 &&
	    strncasecmp(p, name, sizeof name - 1) == 0)
		j->reset_epoch = strtoll(p + sizeof name - 1, NULL, 10);
	return n;
}

static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	struct br_helix *h = arg;

	/* Nonzero aborts the transfer: br_helix_free is waiting for us. */
	return atomic_load(&h->stopping) ? 1 : 0;
}

static struct curl_slist *
headers_for(const struct br_helix *h, const struct job *j)
{
	struct curl_slist *l = NULL;
	char line[512];

	if (j->auth != NULL)
		l = curl_slist_append(l, j->auth);
	if (j->client_id) {
		snprintf(line, sizeof line, "Client-Id: %s", h->client_id);
		l = curl_slist_append(l, line);
	}
	if (j->content_type != NULL) {
		snprintf(line, sizeof line, "Content-Type: %s",
		    j->content_type);
		l = curl_slist_append(l, line);
	}
	return l;
}

/* curl copied the Authorization header into the list; wipe that copy. */
static void
headers_free(struct curl_slist *l)
{
	for (struct curl_slist *i = l; i != NULL; i = i->next)
		explicit_bzero(i->data, strlen(i->data));
	curl_slist_free_all(l);
}

static void
setup(struct br_helix *h, CURL *c, struct job *j, struct curl_slist *hdrs,
    char *errbuf)
{
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, j->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, TOTAL_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "twitch2mqtt/" BR_VERSION);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, j);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
	if (h->ca_file != NULL) {
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
	} else if (h->ca_dir != NULL) {
		/* Certificates read as a chain needs them, not the whole
		 * bundle parsed and cached (1.6 MiB). */
		curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(c, CURLOPT_CAPATH, h->ca_dir);
	}
	if (j->body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, j->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(j->body));
	}
	if (strcmp(j->method, "GET") != 0 && strcmp(j->method, "POST") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, j->method);
	else if (strcmp(j->method, "POST") == 0 && j->body == NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
}

static void
finish(struct job *j, CURLcode rc, CURL *c, const char *errbuf)
{
	if (rc != CURLE_OK) {
		if (j->too_big)
			j->error = br_xasprintf("the answer is larger than "
			    "%u MiB", BODY_MAX >> 20);
		else
			j->error = br_xasprintf("%s%s%s",
			    curl_easy_strerror(rc), *errbuf ? ": " : "",
			    errbuf);
		return;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &j->status);
	if (j->len > 0) {
		json_error_t err;
		j->json = json_loadb(j->buf, j->len, 0, &err);
		if (j->json == NULL)
			log_debug("helix: %s: the answer is not JSON: %s",
			    j->what, err.text);
	}
	if (j->status == 429) {
		long long left = j->reset_epoch - br_now_ms() / 1000;
		if (left < 1)
			left = 1;
		if (left > RETRY_AFTER_MAX)
			left = RETRY_AFTER_MAX;
		j->retry_after_s = (long)left;
	}
}

static void
perform(struct br_helix *h, CURL *c, struct job *j)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs;
	int64_t t0 = br_mono_ms();

	if (c == NULL) {
		j->error = br_xstrdup("libcurl could not start a transfer");
		return;
	}
	hdrs = headers_for(h, j);
	setup(h, c, j, hdrs, errbuf);
	finish(j, curl_easy_perform(c), c, errbuf);
	/* Leave no pointer to freed memory in the reused handle. */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	headers_free(hdrs);
	log_debug("helix: %s status=%ld ms=%lld%s%s", j->what, j->status,
	    (long long)(br_mono_ms() - t0), j->error ? " error=" : "",
	    j->error ? j->error : "");
}

static void on_wake(void *ctx, void *unused);

/* Called with h->lock held; returns the wake-up to post, if one is due. */
static struct wake *
hand_back(struct br_helix *h, struct job *j)
{
	*h->done_tail = j;
	h->done_tail = &j->next;
	if (h->wake != NULL)
		return NULL;    /* the loop has not run the last one yet */
	h->wake = br_xcalloc(1, sizeof *h->wake);
	h->wake->h = h;
	return h->wake;
}

static void *
worker_main(void *arg)
{
	struct br_helix *h = arg;
	CURL *c = curl_easy_init();
	struct wake *w;
	struct job *j;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		while (!atomic_load(&h->stopping) && h->queue == NULL)
			pthread_cond_wait(&h->cond, &h->lock);
		if (atomic_load(&h->stopping))
			break;
		j = h->queue;
		if ((h->queue = j->next) == NULL)
			h->queue_tail = &h->queue;
		j->next = NULL;
		pthread_mutex_unlock(&h->lock);

		perform(h, c, j);

		pthread_mutex_lock(&h->lock);
		if (atomic_load(&h->stopping)) {
			job_free(j);
			break;
		}
		if ((w = hand_back(h, j)) != NULL) {
			/* br_helix_free joins us before it looks at h->wake,
			 * so posting outside the lock is safe. */
			pthread_mutex_unlock(&h->lock);
			br_loop_post(h->loop, on_wake, w, NULL);
			pthread_mutex_lock(&h->lock);
		}
	}
	pthread_mutex_unlock(&h->lock);
	if (c != NULL)
		curl_easy_cleanup(c);
	return NULL;
}

static void
deliver(struct job *j)
{
	struct br_helix_response res = {
		.status = j->status, .json = j->json, .error = j->error,
		.retry_after_s = j->retry_after_s,
	};
	if (j->cb != NULL)      /* fire and forget (a DELETE we don't await) */
		j->cb(j->arg, &res);
}

static void
on_wake(void *ctx, void *unused)
{
	struct wake *w = ctx;
	struct br_helix *h = w->h;
	struct job *j, *next;
	bool freed = false;

	if (h == NULL) {        /* h was freed after this was posted */
		pthread_mutex_lock(&orphans_lock);
		for (struct wake **p = &orphans; *p != NULL; p = &(*p)->next)
			if (*p == w) {
				*p = w->next;
				break;
			}
		pthread_mutex_unlock(&orphans_lock);
		free(w);
		return;
	}
	pthread_mutex_lock(&h->lock);
	h->wake = NULL;
	j = h->done;
	h->done = NULL;
	h->done_tail = &h->done;
	pthread_mutex_unlock(&h->lock);
	free(w);

	h->freed = &freed;
	for (; j != NULL; j = next) {
		next = j->next;
		if (!freed) {
			h->pending--;
			deliver(j);
		}
		job_free(j);
	}
	if (!freed)
		h->freed = NULL;
}

struct br_helix *
br_helix_new(struct br_loop *loop, const struct br_helix_options *opts)
{
	struct br_helix *h = br_xcalloc(1, sizeof *h);

	h->loop = loop;
	h->api_url = br_xstrdup(opts->api_url ? opts->api_url : "");
	h->auth_url = br_xstrdup(opts->auth_url ? opts->auth_url : "");
	h->client_id = br_xstrdup(opts->client_id ? opts->client_id : "");
	h->ca_file = br_xstrdup_nonempty(opts->ca_file);
	h->ca_dir = br_xstrdup_nonempty(br_tls_system_dir());
	h->queue_tail = &h->queue;
	h->done_tail = &h->done;
	atomic_init(&h->stopping, false);
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	if (pthread_create(&h->worker, NULL, worker_main, h) != 0) {
		log_error("helix: cannot start the request thread");
		br_helix_free(h);
		return NULL;
	}
	h->started = true;
	return h;
}

void
br_helix_free(struct br_helix *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	atomic_store(&h->stopping, true);
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	if (h->started)
		pthread_join(h->worker, NULL);

	if (h->freed != NULL)   /* called from inside a callback */
		*h->freed = true;
	if (h->wake != NULL) {
		h->wake->h = NULL;
		pthread_mutex_lock(&orphans_lock);
		h->wake->next = orphans;
		orphans = h->wake;
		pthread_mutex_unlock(&orphans_lock);
	}
	jobs_free(h->queue);
	jobs_free(h->done);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h->api_url);
	free(h->auth_url);
	free(h->client_id);
	free(h->ca_file);
	free(h->ca_dir);
	free(h);
}

/* Base and path joined with exactly one slash between them. */
static char *
join_url(const char *base, const char *path)
{
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	while (*path == '/')
		path++;
	return br_xasprintf("%.*s/%s", (int)n, base, path);
}

static void
submit(struct br_helix *h, struct job *j)
{
	h->pending++;
	pthread_mutex_lock(&h->lock);
	*h->queue_tail = j;
	h->queue_tail = &j->next;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

static struct job *
job_new(const char *method, char *url, const char *path, br_helix_cb cb,
    void *arg)
{
	struct job *j = br_xcalloc(1, sizeof *j);

	j->method = method;
	j->url = url;
	j->what = br_xasprintf("%s %s", method, path);
	j->cb = cb;
	j->arg = arg;
	return j;
}

static const char *
static_method(const char *m)
{
	static const char *const known[] = { "GET", "POST", "DELETE",
		"PATCH", "PUT" };

	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strcmp(m, known[i]) == 0)
			return known[i];
	return NULL;
}

void
br_helix_api(struct br_helix *h, const char *method, const char *path,
    const char *token, json_t *body, br_helix_cb cb, void *arg)
{
	const char *m = static_method(method);
	struct job *j;

	if (m == NULL) {        /* a programming error, not a network one */
		log_error("helix: unknown method %s", method);
		abort();
	}
	j = job_new(m, join_url(h->api_url, path), path, cb, arg);
	j->client_id = true;
	if (token != NULL)
		j->auth = br_xasprintf("Authorization: Bearer %s", token);
	if (body != NULL) {
		j->body = json_dumps(body, JSON_COMPACT);
		j->content_type = "application/json";
		json_decref(body);
		if (j->body == NULL) {
			log_error("helix: out of memory");
			abort();
		}
	}
	submit(h, j);
}

void
br_helix_oauth(struct br_helix *h, const char *path, const char *form,
    br_helix_cb cb, void *arg)
{
	struct job *j = job_new("POST", join_url(h->auth_url, path), path,
	    cb, arg);

	j->body = br_xstrdup(form ? form : "");
	j->content_type = "application/x-www-form-urlencoded";
	submit(h, j);
}

void
br_helix_validate(struct br_helix *h, const char *token, br_helix_cb cb,
    void *arg)
{
	struct job *j = job_new("GET", join_url(h->auth_url, "/validate"),
	    "/validate", cb, arg);

	j->auth = br_xasprintf("Authorization: OAuth %s", token ? token : "");
	submit(h, j);
}

size_t
br_helix_pending(struct br_helix *h)
{
	return h->pending;
}

char *
br_urlencode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = br_xmalloc(strlen(s) * 3 + 1), *o = out;

	/* RFC 3986 unreserved characters pass; every other byte is %XX,
	 * which both query strings and forms accept. */
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL) {
			*o++ = (char)*p;
			continue;
		}
		*o++ = '%';
		*o++ = hex[*p >> 4];
		*o++ = hex[*p & 15];
	}
	*o = '\0';
	return out;
}
