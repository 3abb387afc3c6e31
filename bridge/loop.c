#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loop.h"
#include "util.h"

/* lws sizes its tables by the descriptor limit, about 17 bytes each and
 * all of them touched: 17 MiB at the 1,048,576 some containers allow.
 * We hold a few dozen sockets (the Twitch WebSockets, the webhook
 * listener and its clients); a descriptor numbered past this is refused
 * by lws (logged), which takes thousands open at once. */
#define LOOP_MAX_FDS 4096

struct inbox_item {
	struct inbox_item *next;
	br_loop_fn fn;
	void *ctx, *arg;
};

struct br_loop {
	struct lws_context *lws;
	struct lws_vhost *vhost;
	bool stop;
	pthread_mutex_t lock;
	struct inbox_item *head, *tail;
};

static void
drain_inbox(struct br_loop *loop)
{
	struct inbox_item *item, *next;

	pthread_mutex_lock(&loop->lock);
	item = loop->head;
	loop->head = loop->tail = NULL;
	pthread_mutex_unlock(&loop->lock);
	for (; item != NULL; item = next) {
		next = item->next;
		item->fn(item->ctx, item->arg);
		free(item);
	}
}

static int
loop_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	/* lws broadcasts the wake-up to every protocol on every vhost; this
	 * protocol lives on our vhost alone, so we drain exactly once. */
	if (reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED) {
		struct br_loop *loop = lws_context_user(lws_get_context(wsi));
		if (loop != NULL)
			drain_inbox(loop);
	}
	return 0;
}

static const struct lws_protocols loop_protocols[] = {
	{ "br-loop", loop_callback, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

struct br_loop *
br_loop_new(void)
{
	struct br_loop *loop = br_xcalloc(1, sizeof *loop);
	struct lws_context_creation_info info;

	pthread_mutex_init(&loop->lock, NULL);
	memset(&info, 0, sizeof info);
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
	    LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.user = loop;
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.fd_limit_per_thread = LOOP_MAX_FDS;
	loop->lws = lws_create_context(&info);
	if (loop->lws == NULL)
		goto fail;

	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.vhost_name = "loop";
	info.protocols = loop_protocols;
	loop->vhost = lws_create_vhost(loop->lws, &info);
	if (loop->vhost == NULL)
		goto fail;
	return loop;
fail:
	log_error("loop: cannot create the libwebsockets context");
	br_loop_free(loop);
	return NULL;
}

void
br_loop_free(struct br_loop *loop)
{
	if (loop == NULL)
		return;
	if (loop->lws != NULL)
		lws_context_destroy(loop->lws);
	/* Work posted after the loop stopped is dropped with its memory. */
	for (struct inbox_item *i = loop->head, *n; i != NULL; i = n) {
		n = i->next;
		free(i);
	}
	pthread_mutex_destroy(&loop->lock);
	free(loop);
}

struct lws_context *br_loop_lws(struct br_loop *loop) { return loop->lws; }

void
br_loop_post(struct br_loop *loop, br_loop_fn fn, void *ctx, void *arg)
{
	struct inbox_item *item = br_xmalloc(sizeof *item);
	bool was_empty;

	*item = (struct inbox_item){ NULL, fn, ctx, arg };
	pthread_mutex_lock(&loop->lock);
	was_empty = loop->head == NULL;
	if (loop->tail != NULL)
		loop->tail->next = item;
	else
		loop->head = item;
	loop->tail = item;
	pthread_mutex_unlock(&loop->lock);
	/* One wake-up per batch: the drain takes everything queued. */
	if (was_empty)
		lws_cancel_service(loop->lws);
}

int
br_loop_run(struct br_loop *loop)
{
	while (!loop->stop)
		if (lws_service(loop->lws, 0) < 0)
			break;
	return 0;
}

void
br_loop_stop(struct br_loop *loop)
{
	loop->stop = true;
	/* lws_service() may be about to sleep until its next timer. */
	lws_cancel_service(loop->lws);
}

static void
timer_fired(lws_sorted_usec_list_t *sul)
{
	struct br_timer *t = lws_container_of(sul, struct br_timer, sul);
	t->cb(t->arg);
}

void
br_timer_init(struct br_timer *t, struct br_loop *loop, void (*cb)(void *),
    void *arg)
{
	memset(t, 0, sizeof *t);
	t->loop = loop;
	t->cb = cb;
	t->arg = arg;
}

void
br_timer_start(struct br_timer *t, long long ms)
{
	lws_sul_schedule(t->loop->lws, 0, &t->sul, timer_fired,
	    (lws_usec_t)ms * LWS_US_PER_MS);
}

void
br_timer_stop(struct br_timer *t)
{
	if (t->loop != NULL)
		lws_sul_cancel(&t->sul);
}

bool
br_timer_pending(const struct br_timer *t)
{
	return t->loop != NULL && !lws_dll2_is_detached(&t->sul.list);
}
