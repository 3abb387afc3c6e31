"""EventSub over WebSocket, the receiving side.

Backpressure: when Twitch sends faster than the broker takes events, the
bridge stops reading the socket while the broker is connected and its
backlog is at 512 events (mqtt.buffer_max when smaller), and reads on
once that drained; nothing is refused, nothing lost, the session stays.
While the broker is away it reads on and buffers up to mqtt.buffer_max as
before, refusing (and counting) what is beyond.

Sizes: a message larger than one socket read arrives in pieces and is
put together; one over 1 MiB is skipped (and counted), and the session
goes on. A frame that breaks the WebSocket protocol is counted and the
session made anew."""

import time

import es_common as es
import harness as h
import wh_common as w
from es_common import EsCase

BITS = "twitch/cool_streamer/bits"


def cheers(n, tag):
    out = []
    for i in range(n):
        ev = es.fixture("channel.cheer")
        ev["message"] = "%s %d" % (tag, i)
        out.append(ev)
    return out


class BackpressureTest(EsCase):

    def start(self, buffer_max):
        self.port = h.free_port()
        st = self.stack(env={
            "TWITCH2MQTT_MQTT_BUFFER_MAX": str(buffer_max),
            "TWITCH2MQTT_MQTT_QOS": "1",
            "TWITCH2MQTT_HTTP_LISTEN": "127.0.0.1:%d" % self.port})
        self.ok_events(st.subscribe(["bits"]), ["bits"])
        return st

    def bits_since(self, since):
        return [m.json() for m in self.st.sub.find(
            lambda m: m.topic == BITS, since)]

    def test_burst_waits_in_the_socket(self):
        """600 notifications back to back against a buffer of 4 events:
        every one arrives, in order, none refused, one session."""
        st = self.start(4)
        conn = st.mock.current()
        since = st.sub.mark()
        ids = st.mock.notify_burst("channel.cheer", cheers(600, "burst"))
        self.assertEqual(len(ids), 600)
        h.wait_until(lambda: len(self.bits_since(since)) >= 600, 60,
                     desc="600 cheers on %s" % BITS)
        got = [e["id"] for e in self.bits_since(since)]
        self.assertEqual(got, ids, "every cheer once, in Twitch's order")
        self.assertEqual(w.metric(self.port,
                                  "twitch2mqtt_events_dropped_total",
                                  reason="buffer_full"), 0)
        self.assertEqual(w.metric(self.port,
                                  "twitch2mqtt_events_received_total",
                                  source="eventsub-websocket", type="bits"),
                         600)
        self.assertEqual([c for c in st.mock.connections()], [conn],
                         "the session stayed")
        self.assertTrue(conn.live)
        # and it still reads: a single cheer afterwards comes through
        st.settle()

    def test_broker_away_buffers_then_refuses(self):
        """With the broker down the bridge keeps reading: buffer_max events
        are held (and published once it is back), the rest refused."""
        st = self.start(4)
        conn = st.mock.current()
        st.broker.stop()
        h.wait_until(lambda: w.metric(self.port,
                                      "twitch2mqtt_mqtt_connected") == 0, 10,
                     desc="the bridge noticing the broker is gone")
        ids = st.mock.notify_burst("channel.cheer", cheers(10, "away"))
        self.assertEqual(len(ids), 10)
        h.wait_until(lambda: w.metric(
            self.port, "twitch2mqtt_events_received_total",
            source="eventsub-websocket", type="bits") == 10, 10,
            desc="all 10 read while the broker is away")
        self.assertEqual(w.metric(self.port,
                                  "twitch2mqtt_events_dropped_total",
                                  reason="buffer_full"), 6)
        self.assertEqual(w.metric(self.port, "twitch2mqtt_buffered_events"), 4)
        st.broker.start()
        h.wait_until(lambda: w.metric(
            self.port, "twitch2mqtt_events_published_total",
            type="bits") == 4, 20, desc="the 4 held cheers published")
        self.assertEqual([c for c in st.mock.connections()], [conn])
        st.sub.wait_connected(2, 15)
        st.settle(15)


class SizesTest(EsCase):

    def test_large_and_oversize(self):
        port = h.free_port()
        st = self.stack(env={
            "TWITCH2MQTT_HTTP_LISTEN": "127.0.0.1:%d" % port})
        self.ok_events(st.subscribe(["bits"]), ["bits"])
        text = "".join("%07d " % i for i in range(6000))    # 48 KB
        big = es.fixture("channel.cheer")
        big["message"] = text
        r = st.notify("channel.cheer", big)
        m = st.wait_event(BITS, r.message_id)
        self.assertEqual(m.json()["message"], text)
        huge = es.fixture("channel.cheer")
        huge["message"] = "x" * (1024 * 1024)
        st.notify("channel.cheer", huge)
        st.settle()
        self.assertEqual(w.metric(port, "twitch2mqtt_events_dropped_total",
                                  reason="oversize"), 1)
        self.assertEqual(len(st.mock.connections()), 1)

    def test_protocol_error_counted_and_reconnected(self):
        # A frame with reserved bits set (no extension was agreed): a
        # clear log line, a counter, the connection dropped, and a new
        # session with the subscriptions made again.
        port = h.free_port()
        st = self.stack(env={
            "TWITCH2MQTT_HTTP_LISTEN": "127.0.0.1:%d" % port})
        self.ok_events(st.subscribe(["bits"]), ["bits"])
        c1 = st.mock.current()
        mark = st.mock.mark()
        t = time.monotonic()
        st.mock.send_bytes(c1.session_id, b"\xc1\x00")
        st.br.wait_log(r"esws: the server broke the WebSocket protocol "
                       r"\(reserved bits set", 10)
        self.assertEqual(w.metric(port, "twitch2mqtt_events_dropped_total",
                                  reason="malformed"), 1)
        c2 = st.wait_conn(t, 15, desc="a new session after the error")
        st.wait_posts(c2.session_id, es.expected_keys(["bits"]), 10, mark)
        st.settle()
        self.assertTrue(st.br.alive())


if __name__ == "__main__":
    h.main()
