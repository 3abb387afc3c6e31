/*
 * Topic names under mqtt.base_topic (CONTRACT section 3).
 */
#ifndef BR_TOPIC_H
#define BR_TOPIC_H

#include <stdbool.h>
#include <stddef.h>

/* True when s can stand as one topic level: non-empty, valid UTF-8, no
 * '+', '#', '/' or control characters, at most 200 bytes. */
bool br_topic_level_ok(const char *s);

/* <base>/<channel>/<leaf>; leaf may hold '/' (eventsub/<type>). Returns 0,
 * or -EINVAL when channel or leaf is unfit or the result exceeds size. */
int br_topic_channel(char *buf, size_t size, const char *base,
                     const char *channel, const char *leaf);

/* <base>/bridge/<leaf> */
int br_topic_bridge(char *buf, size_t size, const char *base,
                    const char *leaf);

#endif
