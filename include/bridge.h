/*
 * The one struct that owns everything: builds the modules in dependency
 * order, wires sources -> bus -> sink, serves control and HTTP, and runs
 * the loop until a signal ends it.
 */
#ifndef BR_BRIDGE_H
#define BR_BRIDGE_H

#include <stdbool.h>

#include "config.h"

struct bridge_options {
	const char *config_path;        /* as given with -c, or NULL */
	bool demo;                      /* --demo */
	double demo_rate;               /* events per second */
	unsigned long demo_count;       /* 0 = endless */
	long pubsub_ping_ms;            /* test aids; 0 = 240 s and 10 s */
	long pubsub_pong_ms;
};

struct bridge;

/* Steals cfg. NULL on failure (logged). */
struct bridge *bridge_new(struct br_config *cfg,
                          const struct bridge_options *opts);
/* Runs until SIGTERM/SIGINT; returns the process exit code. */
int bridge_run(struct bridge *b);
void bridge_free(struct bridge *b);

/* Installs the signal handlers (flags only). */
void bridge_signals_install(void);

#endif
