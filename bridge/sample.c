#include <string.h>

#include "sample.h"
#include "util.h"

struct person {
	const char *id, *login, *name;
};

static const struct person viewers[] = {
	{ "9001", "happy_viewer", "Happy_Viewer" },
	{ "9002", "night_owl", "Night_Owl" },
	{ "9003", "lurker42", "Lurker42" },
	{ "9004", "pixel_knight", "Pixel_Knight" },
};

struct reward {
	const char *id, *title, *prompt, *input;
	int cost;
};

static const struct reward rewards[] = {
	{ "5a1e2c3d-0000-4000-8000-000000000001", "Hydrate!",
	  "Make the streamer drink some water", "", 100 },
	{ "5a1e2c3d-0000-4000-8000-000000000002", "Lights: purple",
	  "Turn the studio lights purple", "", 500 },
	{ "5a1e2c3d-0000-4000-8000-000000000003", "Play a sound",
	  "Type the sound to play", "airhorn", 250 },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

json_t *
br_sample_rewards(void)
{
	json_t *a = json_array();

	for (size_t i = 0; i < N(rewards); i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:i, s:s}", "id",
		    rewards[i].id, "title", rewards[i].title, "cost",
		    rewards[i].cost, "prompt", rewards[i].prompt));
	return a;
}

static const struct person *
viewer(uint64_t n)
{
	return &viewers[n % N(viewers)];
}

static void
set_user(struct br_event *ev, const struct person *p)
{
	br_event_set_user(ev, p->id, p->login, p->name);
}

static json_t *
user_json(const struct person *p)
{
	return br_user_json(p->id, p->login, p->name);
}

static void
add(struct br_event *ev, const char *key, json_t *value)
{
	json_object_set_new(br_event_json(ev), key, value);
}

static void
bits(struct br_event *ev, uint64_t n)
{
	static const int amounts[] = { 100, 1, 500, 1000 };
	int amount = amounts[n % N(amounts)];
	char msg[96];

	snprintf(msg, sizeof msg, "Cheer%d lights to purple please", amount);
	set_user(ev, viewer(n));
	add(ev, "bits", json_integer(amount));
	add(ev, "message", json_string(msg));
	add(ev, "anonymous", json_false());
	add(ev, "badge", amount >= 1000 ? json_pack("{s:i}", "tier", 1000)
	                                : json_null());
}

static void
redemption(struct br_event *ev, uint64_t n, const char *status)
{
	const struct reward *r = &rewards[n % N(rewards)];
	char slug[128], rid[37];

	br_slug(r->title, slug, sizeof slug);
	br_uuid(rid);
	br_event_set_event_type(ev, strcmp(status, "unfulfilled") == 0 ? slug
	                                                               : status);
	set_user(ev, viewer(n));
	add(ev, "redemption_id", json_string(rid));
	add(ev, "reward", json_pack("{s:s, s:s, s:i, s:s}", "id", r->id,
	    "title", r->title, "cost", r->cost, "prompt", r->prompt));
	add(ev, "input", json_string(r->input));
	add(ev, "status", json_string(status));
}

static void
subscription(struct br_event *ev, uint64_t n)
{
	static const char *const kinds[] = { "sub", "resub", "gift" };
	static const char *const tiers[] = { "1000", "prime", "2000", "3000" };
	const char *kind = kinds[n % 3];
	bool gift = strcmp(kind, "gift") == 0;

	br_event_set_event_type(ev, kind);
	set_user(ev, viewer(n));
	add(ev, "tier", json_string(tiers[n % N(tiers)]));
	add(ev, "months", json_integer(strcmp(kind, "resub") == 0 ? 14 : 1));
	add(ev, "streak", strcmp(kind, "resub") == 0 ? json_integer(3)
	                                             : json_null());
	add(ev, "duration", json_integer(1));
	add(ev, "gift", json_boolean(gift));
	add(ev, "count", json_integer(gift ? 5 : 1));
	add(ev, "recipient", json_null());     /* a gift bomb names none */
	add(ev, "message", json_string(strcmp(kind, "resub") == 0
	    ? "Fourteen months and still here!" : ""));
	add(ev, "anonymous", json_false());
}

static void
stream(struct br_event *ev, uint64_t n, long long now_ms)
{
	bool online = (n / 1) % 2 == 0;
	char started[BR_TIME_LEN];

	br_format_time(started, now_ms);
	br_event_set_event_type(ev, online ? "online" : "offline");
	add(ev, "started_at", online ? json_string(started) : json_null());
}

static json_t *
choices(const char *prefix, int count)
{
	json_t *a = json_array();
	for (int i = 0; i < count; i++)
		json_array_append_new(a, json_pack("{s:s%, s:s, s:i}", "id",
		    prefix, strlen(prefix), "title", i == 0 ? "Yes" : "No",
		    prefix[0] == 'c' ? "votes" : "channel_points", 10 * (i + 1)));
	return a;
}

static void
fill(struct br_event *ev, const char *type, uint64_t n, long long now_ms)
{
	char when[BR_TIME_LEN];

	if (strcmp(type, "bits") == 0) {
		bits(ev, n);
	} else if (strcmp(type, "bits_badge") == 0) {
		set_user(ev, viewer(n));
		add(ev, "tier", json_integer(1000));
		add(ev, "message", json_string("Just unlocked the 1K badge!"));
	} else if (strcmp(type, "channel_points") == 0) {
		redemption(ev, n, "unfulfilled");
	} else if (strcmp(type, "channel_points_update") == 0) {
		redemption(ev, n, n % 2 ? "canceled" : "fulfilled");
	} else if (strcmp(type, "subscription") == 0) {
		subscription(ev, n);
	} else if (strcmp(type, "follow") == 0) {
		br_format_time(when, now_ms);
		set_user(ev, viewer(n));
		add(ev, "followed_at", json_string(when));
	} else if (strcmp(type, "raid") == 0) {
		br_event_set_user(ev, "7001", "friendly_raider", "Friendly_Raider");
		add(ev, "viewers", json_integer(42 + (json_int_t)(n % 100)));
	} else if (strcmp(type, "stream") == 0) {
		stream(ev, n, now_ms);
	} else if (strcmp(type, "channel_update") == 0) {
		add(ev, "title", json_string("Demo stream: building a bridge"));
		add(ev, "category", json_pack("{s:s, s:s}", "id", "509670",
		    "name", "Science & Technology"));
		add(ev, "language", json_string("en"));
	} else if (strcmp(type, "moderation") == 0) {
		br_event_set_event_type(ev, "timeout");
		add(ev, "moderator", json_pack("{s:s, s:s, s:s}", "id", "8001",
		    "login", "kind_mod", "name", "Kind_Mod"));
		add(ev, "target", user_json(viewer(n + 1)));
		add(ev, "reason", json_string("spam"));
		add(ev, "duration", json_integer(600));
		add(ev, "args", json_pack("[s, s]", viewer(n + 1)->login, "600"));
	} else if (strcmp(type, "whisper") == 0) {
		set_user(ev, viewer(n));
		add(ev, "message", json_string("psst, great stream"));
		add(ev, "recipient", json_null());
	} else if (strcmp(type, "hype_train") == 0) {
		add(ev, "level", json_integer(2));
		add(ev, "total", json_integer(1500));
		add(ev, "goal", json_integer(1800));
		add(ev, "progress", json_integer(300));
	} else if (strcmp(type, "poll") == 0) {
		add(ev, "title", json_string("Pineapple on pizza?"));
		add(ev, "choices", choices("choice", 2));
	} else if (strcmp(type, "prediction") == 0) {
		add(ev, "title", json_string("Will we win this round?"));
		add(ev, "outcomes", choices("outcome", 2));
	} else if (strcmp(type, "ad_break") == 0) {
		add(ev, "duration", json_integer(90));
		add(ev, "automatic", json_false());
	} else if (strcmp(type, "power_up") == 0) {
		br_event_set_event_type(ev, "message_effect");
		set_user(ev, viewer(n));
		add(ev, "bits", json_integer(50));
		add(ev, "message", json_string("shiny!"));
	} else if (strcmp(type, "chat") == 0) {
		char mid[37];
		br_uuid(mid);
		set_user(ev, viewer(n));
		add(ev, "message", json_string("hello chat"));
		add(ev, "message_id", json_string(mid));
	} else if (strcmp(type, "user_update") == 0) {
		json_t *ch = json_object_get(br_event_json(ev), "channel");
		add(ev, "login", json_deep_copy(json_object_get(ch, "login")));
		add(ev, "name", json_deep_copy(json_object_get(ch, "name")));
		add(ev, "description", json_string("A demo channel"));
	}
}

struct type_info {
	const char *type, *event_type;
};

static const struct type_info types[] = {
	{ "bits", "cheer" }, { "bits_badge", "badge" },
	{ "channel_points", NULL }, { "channel_points_update", NULL },
	{ "subscription", NULL }, { "follow", "follow" }, { "raid", "raid" },
	{ "stream", NULL }, { "channel_update", "update" },
	{ "moderation", NULL }, { "whisper", "whisper" },
	{ "hype_train", "begin" }, { "poll", "begin" },
	{ "prediction", "begin" }, { "ad_break", "begin" },
	{ "power_up", NULL }, { "chat", "message" }, { "user_update", "update" },
};

static const struct type_info *
lookup(const char *type)
{
	for (size_t i = 0; type != NULL && i < N(types); i++)
		if (strcmp(types[i].type, type) == 0)
			return &types[i];
	return NULL;
}

bool
br_sample_known(const char *type)
{
	return lookup(type) != NULL;
}

struct br_event *
br_sample_event(const char *type, const char *source, const char *channel_id,
    const char *login, const char *name, uint64_t n)
{
	const struct type_info *t = lookup(type);
	struct br_event *ev;
	char id[37];

	if (t == NULL)
		return NULL;
	ev = br_event_new(t->type, t->event_type, source);
	br_uuid(id);
	br_event_set_id(ev, id);
	br_event_set_test(ev, true);
	br_event_set_channel(ev, channel_id, login, name);
	fill(ev, type, n, br_event_time_ms(ev));
	return ev;
}
