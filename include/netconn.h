/*
 * A client's byte stream: a non-blocking TCP connection, with TLS over it
 * when asked (OpenSSL, the server's certificate checked against the
 * system's CAs or ca_file, and its name against the host). Knows no
 * protocol and no event loop: the caller polls the descriptor and calls
 * in when it is ready (wsrx.c does, for the Twitch WebSockets).
 */
#ifndef BR_NETCONN_H
#define BR_NETCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* What TLS connections trust; one serves many connections. */
struct br_tls;

/* ca_file: NULL or "" for the system's CAs. NULL (logged) on failure. */
struct br_tls *br_tls_new(const char *ca_file);
/* The system's CA directory ($SSL_CERT_DIR, else OpenSSL's) when it is
 * hashed (OpenSSL, and curl over it, then read a certificate when a
 * chain needs it instead of the whole bundle), else NULL. */
const char *br_tls_system_dir(void);
void br_tls_free(struct br_tls *t);

struct br_netconn;

/* Starts connecting to host:port, over TLS when tls is not NULL. The
 * name is resolved now, blocking (as lws resolves its own). NULL with a
 * reason in err when it cannot even start. */
struct br_netconn *br_netconn_open(const char *host, int port,
                                   struct br_tls *tls, char *err,
                                   size_t errlen);
int br_netconn_fd(const struct br_netconn *c);
/* The descriptor is someone else's to close from now on (lws's, once it
 * adopted it). */
void br_netconn_disown_fd(struct br_netconn *c);

/* Carries the connect and the TLS handshake on: 1 done, 0 waiting (for
 * the descriptor to be writable when *want_write, else readable), -1
 * failed (err says why: refused, a certificate not trusted ...). */
int br_netconn_handshake(struct br_netconn *c, bool *want_write, char *err,
                         size_t errlen);

/* >0 bytes read; 0 nothing there yet; -1 closed or failed (err). */
ssize_t br_netconn_read(struct br_netconn *c, void *buf, size_t len,
                        char *err, size_t errlen);
/* Whether the last read waits for the descriptor to be writable (TLS
 * has to send something first); read again once it is. */
bool br_netconn_read_wants_write(const struct br_netconn *c);
/* Whether TLS holds bytes already read from the socket: no poll will
 * announce them. */
bool br_netconn_pending(const struct br_netconn *c);
/* Bytes written, possibly fewer than len, 0 when it would block; -1
 * failed (err). */
ssize_t br_netconn_write(struct br_netconn *c, const void *buf, size_t len,
                         char *err, size_t errlen);

/* Frees it, closing the descriptor unless disowned. */
void br_netconn_free(struct br_netconn *c);

#endif
