"""A broker restart in the middle of a burst loses no event (CONTRACT 1:
events are buffered while the broker is away; QoS 1 is at-least-once)."""

import time

import harness as h
from harness import BridgeTestCase

TOTAL = 5000
RESTART_AFTER = 1500


class BrokerRestartTest(BridgeTestCase):

    def test_no_loss_across_broker_restart(self):
        # Persistent broker; unlimited queue for the offline subscriber
        # session (mosquitto's default of 1000 would drop, not the bridge).
        b = self.broker(persistence=True,
                        extra_conf=["max_queued_messages 0",
                                    "max_inflight_messages 100"])
        sub = self.mqtt(b, topics=["twitch/demo/+"], version=5, qos=1,
                        client_id=h.unique("itest_persist"), clean=False,
                        session_expiry=600)
        br = self.bridge(b, args=["--demo", "--demo-rate", "1000",
                                  "--demo-count", str(TOTAL)],
                         env={"TWITCH2MQTT_MQTT_QOS": "1"})

        def ids():
            out = set()
            for m in sub.snapshot():
                if h.is_event(m, "demo"):
                    out.add(m.json()["id"])
            return out

        h.wait_until(lambda: len(ids()) >= RESTART_AFTER or not br.alive(),
                     20, desc="%d demo events before the restart"
                     % RESTART_AFTER)
        self.assertTrue(br.alive(), "bridge exited early, rc=%s"
                        % br.proc.poll())
        seen_at_stop = len(ids())
        self.assertLess(seen_at_stop, TOTAL,
                        "all events arrived before the restart: the test "
                        "did not exercise the restart (rate too high?)")
        connects = sub.connects
        b.stop()
        time.sleep(0.5)   # let the bridge notice and buffer for a while
        b.start()
        sub.wait_connected(connects + 1, 15)

        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and len(ids()) < TOTAL:
            time.sleep(0.2)
        got = ids()
        total_msgs = len([m for m in sub.snapshot() if h.is_event(m)])
        self.assertEqual(
            len(got), TOTAL,
            "distinct demo event ids: %d of %d (%d event messages in all; "
            "%d seen before the broker restart)"
            % (len(got), TOTAL, total_msgs, seen_at_stop))
        self.assertTrue(br.alive(), "bridge still running")


if __name__ == "__main__":
    h.main()
