/*
 * util.c's socket helpers: the port of a broker URL, the sockets
 * connected to a port (paho.mqtt.c's, which it keeps to itself), and
 * TCP_NODELAY; and br_xstrdup_nonempty, whose "" is NULL.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "util.h"

static void
test_xstrdup_nonempty(void **state)
{
	char *s = br_xstrdup_nonempty("abc");

	assert_string_equal(s, "abc");
	free(s);
	assert_null(br_xstrdup_nonempty(""));
	assert_null(br_xstrdup_nonempty(NULL));
}

static void
test_url_port(void **state)
{
	assert_int_equal(br_url_port("mqtt://127.0.0.1:1884"), 1884);
	assert_int_equal(br_url_port("mqtt://broker"), 1883);
	assert_int_equal(br_url_port("tcp://broker"), 1883);
	assert_int_equal(br_url_port("mqtts://broker"), 8883);
	assert_int_equal(br_url_port("ssl://broker:9000"), 9000);
	assert_int_equal(br_url_port("ws://broker/mqtt"), 80);
	assert_int_equal(br_url_port("ws://broker:9001/mqtt"), 9001);
	assert_int_equal(br_url_port("wss://broker/mqtt?x=1"), 443);
	assert_int_equal(br_url_port("mqtt://[::1]:1885"), 1885);
	assert_int_equal(br_url_port("mqtt://[::1]"), 1883);
	assert_int_equal(br_url_port("mqtt://[::1]/x"), 1883);
	assert_int_equal(br_url_port("gopher://broker"), -1);
	assert_int_equal(br_url_port("broker:1883"), -1);
	assert_int_equal(br_url_port("mqtt://broker:"), -1);
	assert_int_equal(br_url_port("mqtt://broker:0"), -1);
	assert_int_equal(br_url_port("mqtt://broker:70000"), -1);
	assert_int_equal(br_url_port("mqtt://broker:12x"), -1);
	assert_int_equal(br_url_port(NULL), -1);
}

static int
nodelay(int fd)
{
	int on = -1;
	socklen_t len = sizeof on;

	assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
	return on;
}

static void
test_nodelay(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof sa;
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	int other = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	int port = ntohs(sa.sin_port);

	int c1 = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(c1, (struct sockaddr *)&sa, sizeof sa), 0);
	int a1 = accept(lfd, NULL, NULL);
	assert_true(a1 >= 0);
	assert_int_equal(nodelay(c1), 0);

	/* only the socket connected to port: not the listener, not the
	 * accepted end (its peer is c1's ephemeral port), not others */
	int fds[4] = { -1, -1, -1, -1 };
	assert_int_equal(br_tcp_sockets_to_port(port, fds, 4), 1);
	assert_int_equal(fds[0], c1);
	assert_int_equal(br_tcp_nodelay(c1, true), 0);
	assert_int_not_equal(nodelay(c1), 0);
	assert_int_equal(br_tcp_nodelay(c1, false), 0);
	assert_int_equal(nodelay(c1), 0);
	assert_int_equal(nodelay(a1), 0);
	assert_true(br_tcp_nodelay(lfd + 1000, true) < 0);

	/* a second connection: both found, only max of them written */
	int c2 = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(c2, (struct sockaddr *)&sa, sizeof sa), 0);
	int a2 = accept(lfd, NULL, NULL);
	assert_true(a2 >= 0);
	fds[0] = fds[1] = -1;
	assert_int_equal(br_tcp_sockets_to_port(port, fds, 1), 2);
	assert_true(fds[0] == c1 || fds[0] == c2);
	assert_int_equal(fds[1], -1);
	close(c2);
	close(a2);

	close(c1);
	close(a1);
	close(lfd);
	close(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xstrdup_nonempty),
		cmocka_unit_test(test_url_port),
		cmocka_unit_test(test_nodelay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
