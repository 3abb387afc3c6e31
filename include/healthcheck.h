/*
 * `twitch2mqtt --healthcheck`: asks the running daemon's /healthz, for
 * Docker's HEALTHCHECK in an image without curl or wget.
 */
#ifndef BR_HEALTHCHECK_H
#define BR_HEALTHCHECK_H

#include "config.h"

/* 0 when /healthz answered 200, 1 otherwise (said on stderr). */
int br_healthcheck(const struct br_config *cfg);

#endif
