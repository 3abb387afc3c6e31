/*
 * Realistic sample events of every contract type, for the demo source and
 * the simulate action: what a user builds automations against before a
 * real cheer ever arrives. Marked test: true. Pure.
 */
#ifndef BR_SAMPLE_H
#define BR_SAMPLE_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"

/* True for the 18 contract types. */
bool br_sample_known(const char *type);

/* A new event of type for the channel; n varies the content (which
 * reward, which sub kind, online or offline). NULL for unknown types. */
struct br_event *br_sample_event(const char *type, const char *source,
                                 const char *channel_id, const char *login,
                                 const char *name, uint64_t n);

/* The demo channel's custom rewards: [{"id","title","cost","prompt"}], a
 * new reference. What the demo's redemptions name. */
json_t *br_sample_rewards(void);

#endif
