#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "netconn.h"
#include "util.h"

struct br_tls {
	SSL_CTX *ctx;
};

enum stage { CONNECTING, TLS_HANDSHAKE, READY };

struct br_netconn {
	int fd;
	bool own_fd;
	enum stage stage;
	SSL *ssl;               /* NULL: plain TCP */
	bool read_wants_write;  /* TLS must write before it can read on */
};

/* Whether dir holds certificates by subject hash ("1a2b3c4d.0"), which
 * OpenSSL reads one at a time as a chain needs them. */
static bool
hashed_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	if (d == NULL)
		return false;
	while (!found && (e = readdir(d)) != NULL)
		found = strlen(e->d_name) == 10 && strcmp(e->d_name + 8, ".0") == 0 &&
		    strspn(e->d_name, "0123456789abcdef") == 8;
	closedir(d);
	return found;
}

const char *
br_tls_system_dir(void)
{
	const char *dir = getenv(X509_get_default_cert_dir_env());

	if (dir == NULL || *dir == '\0')
		dir = X509_get_default_cert_dir();
	return hashed_dir(dir) ? dir : NULL;
}

/* The system's CAs: from the hashed directory when there is one; the
 * bundle file would be parsed whole, 1.6 MiB kept per context. */
static bool
load_system_cas(SSL_CTX *ctx)
{
	const char *dir = br_tls_system_dir();

	if (dir != NULL)
		return SSL_CTX_load_verify_dir(ctx, dir) == 1;
	return SSL_CTX_set_default_verify_paths(ctx) == 1;
}

struct br_tls *
br_tls_new(const char *ca_file)
{
	struct br_tls *t = br_xcalloc(1, sizeof *t);

	if ((t->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		goto fail;
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	/* Partial writes: the queue keeps what is left, as for plain TCP.
	 * Read-ahead: a record in one read, not its header and then its
	 * body. */
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_read_ahead(t->ctx, 1);
	if (ca_file != NULL && *ca_file != '\0') {
		if (SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL) != 1) {
			log_error("tls: cannot load the CA file %s", ca_file);
			goto fail;
		}
	} else if (!load_system_cas(t->ctx)) {
		log_error("tls: cannot load the system's CA certificates");
		goto fail;
	}
	return t;
fail:
	br_tls_free(t);
	return NULL;
}

void
br_tls_free(struct br_tls *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

static int
start_tls(struct br_netconn *c, struct br_tls *tls, const char *host,
    char *err, size_t errlen)
{
	struct in6_addr a6;
	struct in_addr a4;
	bool ip = inet_pton(AF_INET, host, &a4) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1;

	if ((c->ssl = SSL_new(tls->ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1)
		goto fail;
	/* The certificate must name what we connected to: an address by
	 * its IP SAN, a name by DNS (and the name goes in SNI). */
	if (ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
		    host) != 1)
			goto fail;
	} else if (SSL_set1_host(c->ssl, host) != 1 ||
	    SSL_set_tlsext_host_name(c->ssl, host) != 1) {
		goto fail;
	}
	SSL_set_connect_state(c->ssl);
	return 0;
fail:
	snprintf(err, errlen, "cannot set TLS up");
	return -1;
}

/* A non-blocking connect to ai under way (or done): 0; else -1 with the
 * reason in *saved and no socket. */
static int
try_connect(struct br_netconn *c, const struct addrinfo *ai, int *saved)
{
	c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		*saved = errno;
		return -1;
	}
	if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
	    errno == EINPROGRESS)
		return 0;
	*saved = errno;
	close(c->fd);
	c->fd = -1;
	return -1;
}

struct br_netconn *
br_netconn_open(const char *host, int port, struct br_tls *tls, char *err,
    size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *res = NULL, *ai;
	struct br_netconn *c = br_xcalloc(1, sizeof *c);
	char service[16];
	int rc, one = 1, saved = 0;

	c->fd = -1;
	c->own_fd = true;
	snprintf(service, sizeof service, "%d", port);
	if ((rc = getaddrinfo(host, service, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host,
		    gai_strerror(rc));
		goto fail;
	}
	/* IPv4 first: one address is tried (the socket is lws's once the
	 * connect is under way), and a host with both may have no route for
	 * IPv6 (many containers); IPv4 is the safer bet. */
	for (int pass = 0; pass < 2 && c->fd < 0; pass++) {
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			if ((ai->ai_family == AF_INET) != (pass == 0))
				continue;
			if (try_connect(c, ai, &saved) == 0)
				break;
		}
	}
	freeaddrinfo(res);
	if (c->fd < 0) {
		snprintf(err, errlen, "cannot connect to %s:%d: %s", host, port,
		    strerror(saved ? saved : EHOSTUNREACH));
		goto fail;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (tls != NULL && start_tls(c, tls, host, err, errlen) != 0)
		goto fail;
	c->stage = CONNECTING;
	return c;
fail:
	br_netconn_free(c);
	return NULL;
}

int br_netconn_fd(const struct br_netconn *c) { return c->fd; }
void br_netconn_disown_fd(struct br_netconn *c) { c->own_fd = false; }

/* OpenSSL's reason for the last failure, the certificate's first. */
static void
tls_error(struct br_netconn *c, const char *what, char *err, size_t errlen)
{
	long v = SSL_get_verify_result(c->ssl);
	unsigned long e = ERR_get_error();

	if (v != X509_V_OK)
		snprintf(err, errlen, "%s: certificate: %s", what,
		    X509_verify_cert_error_string(v));
	else if (e != 0)
		snprintf(err, errlen, "%s: %s", what,
		    ERR_reason_error_string(e) ? ERR_reason_error_string(e) :
		    "TLS error");
	else
		snprintf(err, errlen, "%s: the connection closed", what);
	ERR_clear_error();
}

int
br_netconn_handshake(struct br_netconn *c, bool *want_write, char *err,
    size_t errlen)
{
	int soerr = 0, rc;
	socklen_t sl = sizeof soerr;

	*want_write = false;
	if (c->stage == CONNECTING) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
			soerr = errno;
		if (soerr == EINPROGRESS || soerr == EALREADY) {
			*want_write = true;
			return 0;
		}
		if (soerr != 0) {
			snprintf(err, errlen, "cannot connect: %s",
			    strerror(soerr));
			return -1;
		}
		c->stage = c->ssl != NULL ? TLS_HANDSHAKE : READY;
	}
	if (c->stage == TLS_HANDSHAKE) {
		ERR_clear_error();
		if ((rc = SSL_do_handshake(c->ssl)) != 1) {
			switch (SSL_get_error(c->ssl, rc)) {
			case SSL_ERROR_WANT_WRITE:
				*want_write = true;
				/* fall through */
			case SSL_ERROR_WANT_READ:
				return 0;
			default:
				tls_error(c, "TLS handshake failed", err, errlen);
				return -1;
			}
		}
		c->stage = READY;
	}
	return 1;
}

ssize_t
br_netconn_read(struct br_netconn *c, void *buf, size_t len, char *err,
    size_t errlen)
{
	ssize_t n;
	int rc;

	if (c->ssl == NULL) {
		n = recv(c->fd, buf, len, 0);
		if (n > 0)
			return n;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return 0;
		snprintf(err, errlen, "%s", n == 0 ? "closed by the server" :
		    strerror(errno));
		return -1;
	}
	ERR_clear_error();
	c->read_wants_write = false;
	if ((rc = SSL_read(c->ssl, buf, len > 1 << 30 ? 1 << 30 : (int)len)) > 0)
		return rc;
	switch (SSL_get_error(c->ssl, rc)) {
	case SSL_ERROR_WANT_WRITE:
		c->read_wants_write = true;
		return 0;
	case SSL_ERROR_WANT_READ:
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		snprintf(err, errlen, "closed by the server");
		return -1;
	default:
		tls_error(c, "TLS read failed", err, errlen);
		return -1;
	}
}

bool
br_netconn_read_wants_write(const struct br_netconn *c)
{
	return c->read_wants_write;
}

bool
br_netconn_pending(const struct br_netconn *c)
{
	return c->ssl != NULL && SSL_has_pending(c->ssl);
}

ssize_t
br_netconn_write(struct br_netconn *c, const void *buf, size_t len,
    char *err, size_t errlen)
{
	ssize_t n;
	int rc;

	if (c->ssl == NULL) {
		n = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0)
			return n;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	ERR_clear_error();
	if ((rc = SSL_write(c->ssl, buf, len > 1 << 30 ? 1 << 30 : (int)len)) > 0)
		return rc;
	switch (SSL_get_error(c->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	default:
		tls_error(c, "TLS write failed", err, errlen);
		return -1;
	}
}

void
br_netconn_free(struct br_netconn *c)
{
	if (c == NULL)
		return;
	SSL_free(c->ssl);
	if (c->own_fd && c->fd >= 0)
		close(c->fd);
	free(c);
}
