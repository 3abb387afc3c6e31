"""PubSub, the receiving side under load.

Backpressure, as on the EventSub WebSocket: when the edge sends faster
than the broker takes events, the bridge stops reading the connection
while the broker is connected and its backlog is at 512 events
(mqtt.buffer_max when smaller), and reads on once that drained. Nothing is
refused or lost, and the connection stays; a PONG that waits in the socket
meanwhile does not count as missing."""

import ps_common as pc
import harness as h

BITS = "twitch/cool_streamer/bits"


class PubSubBackpressureTest(h.BridgeTestCase):

    def test_burst_waits_in_the_socket(self):
        """600 MESSAGEs back to back against a buffer of 4 events, with
        PINGs every 300 ms and 200 ms for the PONG: every event arrives
        once, in order, none refused, one connection throughout."""
        st = pc.PsStack(args=("-v", "--pubsub-ping", "300",
                              "--pubsub-pong", "200"),
                        env={"TWITCH2MQTT_MQTT_BUFFER_MAX": "4",
                             "TWITCH2MQTT_MQTT_QOS": "1"})
        self.addCleanup(st.close)
        self._bridges.append(st.br)     # its log, should the test fail
        ans = st.subscribe_ps(["bits"])
        self.assertEqual(ans["status"], "ok", ans)
        st.ps.wait_topics([pc.topic("bits")])
        conn = st.ps.live()[0]
        since = st.sub.mark()
        ids = ["burst-%04d" % i for i in range(600)]
        sent = st.ps.send_burst(pc.topic("bits"),
                                [pc.bits(i, "burst %s" % i) for i in ids])
        self.assertEqual(sent, 600)

        def got():
            return [m.json()["id"] for m in st.sub.find(
                lambda m: m.topic == BITS, since)]
        h.wait_until(lambda: len(got()) >= 600, 60,
                     desc="600 bits events on %s" % BITS)
        self.assertEqual(got(), ids, "every event once, in PubSub's order")
        counters = st.request("health", {})["data"]["counters"]
        self.assertEqual(counters.get("events_dropped_total"), 0, counters)
        self.assertEqual(counters.get("events_received_total"), 600, counters)
        self.assertEqual(st.ps.live(), [conn], "the connection stayed")
        self.assertEqual(len(st.ps.conns), 1)


if __name__ == "__main__":
    h.main()
