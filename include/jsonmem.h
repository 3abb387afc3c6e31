/*
 * Memory for jansson's values on the loop thread. Every event is a tree
 * of a few dozen small values made and freed again within the pass that
 * received it (the Twitch message parsed, the event built and written
 * out), which overflows glibc's per-thread cache of 7 chunks a size and
 * sends each malloc and free down its locked path: a quarter of the loop
 * thread at 50,000 events/s. This keeps freed small chunks for reuse, a
 * bounded number per size, on the thread that installed it.
 *
 * The chunks are plain malloc chunks, so whatever jansson hands out
 * (json_dumps' text) may still be released with free(), and other
 * threads simply use malloc and free.
 */
#ifndef BR_JSONMEM_H
#define BR_JSONMEM_H

/* Makes jansson allocate through the cache; the calling thread keeps
 * one. Call before threads start. */
void br_jsonmem_install(void);

/* Gives the calling thread's cached chunks back to malloc. */
void br_jsonmem_flush(void);

#endif
