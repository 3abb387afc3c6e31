/*
 * The messages mock_twitch_blast sends: EventSub WebSocket messages and
 * PubSub frames, each one whole WebSocket text frame's payload.
 */
#ifndef BLAST_H
#define BLAST_H

#include <stddef.h>
#include <stdint.h>

#define MSG_MAX 2048

/* Wall clock in microseconds; *when (if not NULL) gets it as RFC 3339
 * UTC with 9 fraction digits, as Twitch writes message_timestamp. */
int64_t blast_now(char when[40]);

/* One notification or MESSAGE numbered seq, made now; its text carries
 * "bench_us=<*us>" (the subscriber's latency clock). Returns the length. */
size_t blast_eventsub_cheer(char *out, unsigned prefix, long seq,
                            const char *session_id, int64_t *us);
size_t blast_pubsub_bits(char *out, unsigned prefix, long seq, int64_t *us);

/* EventSub session_welcome / session_keepalive. */
size_t blast_eventsub_welcome(char *out, unsigned prefix,
                              const char *session_id, long keepalive_s);
size_t blast_eventsub_keepalive(char *out, unsigned prefix);

/* PubSub answers: RESPONSE to a LISTEN's nonce (the frame as the client
 * sent it), PONG. */
size_t blast_pubsub_response(char *out, const char *listen, size_t len);
size_t blast_pubsub_pong(char *out);

/* A complete server frame (FIN, text, unmasked) at p; its length. */
size_t blast_frame(unsigned char *p, const char *text, size_t len);

#endif
