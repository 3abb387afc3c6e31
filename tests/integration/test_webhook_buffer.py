"""A webhook notification is answered 2xx only once its event is queued
for MQTT (CONTRACT 6): with the broker away and mqtt.buffer_max events
held, the next notification is answered 503 (and counted as buffer_full)
so that Twitch delivers it again; its id is not remembered, so the same
request later, once the broker is back, is answered 2xx and published.
Nothing answered 2xx is lost."""

import es_common as es
import harness as h
import wh_common as w

T = "twitch/cool_streamer/"
BUFFER = 5


class WebhookBufferTest(w.WhCase):

    def cheer(self, i):
        ev = es.fixture("channel.cheer")
        ev["message"] = "buffered %d" % i
        return w.signed(w.notification_body("channel.cheer", ev))

    def test_buffer_full_503_then_accepted(self):
        st = self.stack(env={"TWITCH2MQTT_MQTT_BUFFER_MAX": str(BUFFER)})
        st.settle()
        st.broker.stop()
        h.wait_until(lambda: w.metric(st.port, "twitch2mqtt_mqtt_connected")
                     == 0, 15, desc="the bridge to see the broker gone")
        ok, refused = [], []
        for i in range(BUFFER + 3):
            body, hd, mid = self.cheer(i)
            a = st.post(body, hd)
            self.assertIn(a.status, (204, 503), a)
            (ok if a.status == 204 else refused).append((body, hd, mid, a))
        self.assertEqual(len(ok), BUFFER, "the buffer holds buffer_max "
                         "events: %s" % [(x[2], x[3]) for x in ok + refused])
        self.assertEqual(len(refused), 3)
        for _b, _h, _m, a in refused:
            self.assertTrue(a.text, "the 503 says why")
        self.assertEqual(w.rejected(st.port, "buffer_full"), 3)
        self.assertEqual(w.metric(st.port, "twitch2mqtt_buffered_events"),
                         BUFFER)
        # Twitch retries while still full: 503 again, not a duplicate 2xx
        body, hd, mid, _a = refused[0]
        self.assertEqual(st.post(body, hd).status, 503)
        # a duplicate of an accepted one is still a duplicate
        self.assertEqual(st.post(ok[0][0], ok[0][1]).status, 204)

        since = st.sub.mark()
        st.broker.start()
        st.sub.wait_connected(st.sub.connects + 1, 20)
        for _b, _h, mid, _a in ok:
            st.wait_id(mid, 20, 0, T + "bits")
        # the buffer frees an event when the broker acknowledged it, which
        # may be a moment after a subscriber has it
        h.wait_until(lambda: w.metric(st.port, "twitch2mqtt_buffered_events")
                     == 0, 10, desc="the buffer drained")
        # the same requests again (Twitch's redelivery): accepted, published
        for body, hd, mid, _a in refused:
            a = st.post(body, hd)
            self.assertEqual(a.status, 204, a)
            st.wait_id(mid, 10, since, T + "bits")
        st.settle()
        for _b, _h, mid, _a in ok + refused:
            self.assertEqual(len(st.events_with_id(mid)), 1,
                             "event %s published exactly once" % mid)

    def test_stream_state_is_not_counted(self):
        """The buffer counts events only: a stream.online (event + retained
        state) takes one slot."""
        st = self.stack(env={"TWITCH2MQTT_MQTT_BUFFER_MAX": "2"})
        st.settle()
        st.broker.stop()
        h.wait_until(lambda: w.metric(st.port, "twitch2mqtt_mqtt_connected")
                     == 0, 15, desc="the bridge to see the broker gone")
        a, _ = st.deliver("stream.online", es.fixture("stream.online"))
        self.assertEqual(a.status, 204, a)
        a, _ = st.deliver("channel.cheer", es.fixture("channel.cheer"))
        self.assertEqual(a.status, 204, a)
        a, _ = st.deliver("channel.cheer", es.fixture("channel.cheer"))
        self.assertEqual(a.status, 503, a)


if __name__ == "__main__":
    h.main()
