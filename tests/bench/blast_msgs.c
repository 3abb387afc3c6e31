/*
 * What mock_twitch_blast says: the same documents Twitch sends (a cheer
 * over EventSub, bits over PubSub), made with snprintf from fixed
 * templates so the mock costs little CPU beside the bridge.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "blast.h"

int64_t
blast_now(char when[40])
{
	static char sec_str[20];        /* "YYYY-MM-DDTHH:MM:SS" of cached */
	static time_t cached = -1;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (when != NULL) {
		if (ts.tv_sec != cached) {
			struct tm tm;
			gmtime_r(&ts.tv_sec, &tm);
			strftime(sec_str, sizeof sec_str, "%Y-%m-%dT%H:%M:%S",
			    &tm);
			cached = ts.tv_sec;
		}
		snprintf(when, 40, "%.19s.%09ldZ", sec_str,
		    ts.tv_nsec % 1000000000);
	}
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

size_t
blast_frame(unsigned char *p, const char *text, size_t len)
{
	size_t h;

	p[0] = 0x81;
	if (len < 126) {
		p[1] = (unsigned char)len;
		h = 2;
	} else {
		p[1] = 126;
		p[2] = (unsigned char)(len >> 8);
		p[3] = (unsigned char)len;
		h = 4;
	}
	memcpy(p + h, text, len);
	return h + len;
}

size_t
blast_eventsub_cheer(char *out, unsigned prefix, long seq,
    const char *session_id, int64_t *us)
{
	char when[40];

	*us = blast_now(when);
	return (size_t)snprintf(out, MSG_MAX,
	    "{\"metadata\":{\"message_id\":\"%08x-%04lx-4%03lx-8000-%012lx\","
	    "\"message_type\":\"notification\",\"message_timestamp\":\"%s\","
	    "\"subscription_type\":\"channel.cheer\",\"subscription_version\":"
	    "\"1\"},\"payload\":{\"subscription\":{\"id\":"
	    "\"5d7e1f2a-8a1b-4c3d-9e0f-1a2b3c4d5e6f\",\"status\":\"enabled\","
	    "\"type\":\"channel.cheer\",\"version\":\"1\",\"condition\":"
	    "{\"broadcaster_user_id\":\"1337\"},\"transport\":{\"method\":"
	    "\"websocket\",\"session_id\":\"%s\"},\"created_at\":"
	    "\"2025-03-14T17:00:00.000000000Z\",\"cost\":0},\"event\":"
	    "{\"user_id\":\"9001\",\"user_login\":\"happy_viewer\","
	    "\"user_name\":\"Happy_Viewer\",\"broadcaster_user_id\":\"1337\","
	    "\"broadcaster_user_login\":\"cool_streamer\","
	    "\"broadcaster_user_name\":\"Cool_Streamer\",\"is_anonymous\":"
	    "false,\"message\":\"Cheer100 bench_us=%lld\",\"bits\":100}}}",
	    prefix, (seq >> 40) & 0xffff, (seq >> 28) & 0xfff,
	    seq & 0xfffffffffffL, when, session_id, (long long)*us);
}

/* pubsub.md's bits v2 example, its inner document a JSON string. */
size_t
blast_pubsub_bits(char *out, unsigned prefix, long seq, int64_t *us)
{
	char when[40];

	*us = blast_now(when);
	return (size_t)snprintf(out, MSG_MAX,
	    "{\"type\":\"MESSAGE\",\"data\":{\"topic\":"
	    "\"channel-bits-events-v2.1337\",\"message\":\"{\\\"data\\\":"
	    "{\\\"user_name\\\":\\\"happy_viewer\\\",\\\"channel_name\\\":"
	    "\\\"cool_streamer\\\",\\\"user_id\\\":\\\"9001\\\","
	    "\\\"channel_id\\\":\\\"1337\\\",\\\"time\\\":\\\"%s\\\","
	    "\\\"chat_message\\\":\\\"Cheer100 bench_us=%lld\\\","
	    "\\\"bits_used\\\":100,\\\"total_bits_used\\\":1600,"
	    "\\\"is_anonymous\\\":false,\\\"context\\\":\\\"cheer\\\","
	    "\\\"badge_entitlement\\\":null},\\\"version\\\":\\\"1.0\\\","
	    "\\\"message_type\\\":\\\"bits_event\\\",\\\"message_id\\\":"
	    "\\\"%08x-%04lx-4%03lx-8000-%012lx\\\",\\\"is_anonymous\\\":"
	    "false}\"}}", when, (long long)*us, prefix, (seq >> 40) & 0xffff,
	    (seq >> 28) & 0xfff, seq & 0xfffffffffffL);
}

size_t
blast_eventsub_welcome(char *out, unsigned prefix, const char *session_id,
    long keepalive_s)
{
	char when[40];

	blast_now(when);
	return (size_t)snprintf(out, MSG_MAX,
	    "{\"metadata\":{\"message_id\":\"%08x-welcome\","
	    "\"message_type\":\"session_welcome\",\"message_timestamp\":"
	    "\"%s\"},\"payload\":{\"session\":{\"id\":\"%s\",\"status\":"
	    "\"connected\",\"connected_at\":\"%s\","
	    "\"keepalive_timeout_seconds\":%ld,\"reconnect_url\":null,"
	    "\"recovery_url\":null}}}", prefix, when, session_id, when,
	    keepalive_s);
}

size_t
blast_eventsub_keepalive(char *out, unsigned prefix)
{
	static unsigned long n;
	char when[40];

	blast_now(when);
	return (size_t)snprintf(out, MSG_MAX,
	    "{\"metadata\":{\"message_id\":\"%08x-keepalive-%lu\","
	    "\"message_type\":\"session_keepalive\",\"message_timestamp\":"
	    "\"%s\"},\"payload\":{}}", prefix, n++, when);
}

/* The nonce is the LISTEN's "nonce" string, taken as it stands (the
 * bridge's nonces need no escaping). A LISTEN is far below 1 KiB. */
size_t
blast_pubsub_response(char *out, const char *listen, size_t len)
{
	static const char key[] = "\"nonce\"";
	char text[1024];
	const char *p, *q;
	size_t n;

	n = len < sizeof text - 1 ? len : sizeof text - 1;
	memcpy(text, listen, n);
	text[n] = '\0';
	p = strstr(text, key);
	p = p != NULL ? p + sizeof key - 1 : "";
	p += strspn(p, " :");
	p += *p == '"';
	q = strchr(p, '"');
	n = q != NULL ? (size_t)(q - p) : 0;
	return (size_t)snprintf(out, MSG_MAX,
	    "{\"type\":\"RESPONSE\",\"nonce\":\"%.*s\",\"error\":\"\"}",
	    (int)(n < 256 ? n : 256), p);
}

size_t
blast_pubsub_pong(char *out)
{
	return (size_t)snprintf(out, MSG_MAX, "{\"type\":\"PONG\"}");
}
