/*
 * Private to the control request parser: request.c takes the payload
 * apart, request_fields.c judges the keys of each action.
 */
#ifndef BR_REQUEST_INT_H
#define BR_REQUEST_INT_H

#include <jansson.h>

#include "request.h"

/* request.c: sets req->error unless a problem is there already; -1. */
int request_fail(struct br_request *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* request_fields.c: obj's keys for req->action, judged into req. */
void request_validate(struct br_request *req, json_t *obj);

#endif
