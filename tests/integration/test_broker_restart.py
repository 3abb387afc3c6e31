"""A broker restart in the middle of a burst loses no event (CONTRACT 1:
events are buffered while the broker is away; QoS 1 is at-least-once)."""

import re
import time
import urllib.request

import harness as h
from harness import BridgeTestCase

TOTAL = 5000
RESTARTS_AT = (1500, 3500)   # distinct events seen before each restart
STALL = 8                    # give up once no new id came for this long


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
        http_port = h.free_port()
        br = self.bridge(b, args=["--demo", "--demo-rate", "1000",
                                  "--demo-count", str(TOTAL)],
                         env={"TWITCH2MQTT_MQTT_QOS": "1",
                              "TWITCH2MQTT_HTTP_LISTEN":
                              "127.0.0.1:%d" % http_port})

        def ids():
            out = set()
            for m in sub.snapshot():
                if h.is_event(m, "demo"):
                    out.add(m.json()["id"])
            return out

        seen_at = []
        for n in RESTARTS_AT:
            h.wait_until(lambda: len(ids()) >= n or not br.alive(), 20,
                         desc="%d demo events before a broker restart" % n)
            self.assertTrue(br.alive(), "bridge exited early, rc=%s"
                            % br.proc.poll())
            seen_at.append(len(ids()))
            if seen_at[-1] >= TOTAL:
                break
            connects = sub.connects
            b.stop()
            time.sleep(0.5)   # let the bridge notice and buffer a while
            b.start()
            sub.wait_connected(connects + 1, 15)
        self.assertLess(seen_at[0], TOTAL,
                        "all events arrived before the first restart: the "
                        "test did not exercise a restart")

        deadline = time.monotonic() + 45
        last_n, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:
            n = len(ids())
            if n >= TOTAL:
                break
            if n != last_n:
                last_n, last_change = n, time.monotonic()
            elif time.monotonic() - last_change > STALL:
                break
            time.sleep(0.2)
        got = ids()
        total_msgs = len([m for m in sub.snapshot() if h.is_event(m)])
        dropped = re.findall(r"(?m)^.*drop.*$", br.log_text())
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics"
                                        % http_port, timeout=3) as r:
                counters = re.findall(r"(?m)^twitch2mqtt_events_dropped_total"
                                      r".*$", r.read().decode())
        except OSError as e:
            counters = ["(/metrics: %s)" % e]
        self.assertEqual(
            len(got), TOTAL,
            "distinct demo event ids: %d of %d (%d event messages in all; "
            "distinct ids seen before each broker restart: %s); bridge log "
            "lines about dropping: %s; /metrics: %s"
            % (len(got), TOTAL, total_msgs, seen_at, dropped[:5], counters))
        self.assertTrue(br.alive(), "bridge still running")


class RepublishTest(BridgeTestCase):

    def test_retained_state_republished_after_reconnect(self):
        # CONTRACT 3: bridge/state is re-published on every (re)connect; a
        # broker without persistence forgets every retained message.
        b = self.broker()
        sub = self.mqtt(b)
        self.bridge(b, args=["--demo"])
        sub.wait_bridge()
        ch = h.unique("repub")
        ans = sub.request("subscribe", {"channel": ch, "transport": "demo",
                                        "events": ["bits"]})
        self.assertEqual(ans.get("status"), "ok", ans)
        connects = sub.connects
        b.stop()
        b.start()
        sub.wait_connected(connects + 1, 15)
        for topic, check in (
                ("twitch/bridge/state", lambda r: r.text == "online"),
                ("twitch/bridge/info", lambda r: "version" in r.json()),
                ("twitch/bridge/subscriptions",
                 lambda r: ch in [s["channel"]["login"] for s in r.json()]),
                ("twitch/%s/availability" % ch,
                 lambda r: r.text == "online")):
            with self.subTest(topic=topic):
                def ok(topic=topic, check=check):
                    r = h.retained(b.port, topic, 1)
                    return r is not None and h._safe(check, r)
                try:
                    h.wait_until(ok, 10, interval=0.3)
                except AssertionError:
                    self.fail("after the broker restart, retained %s is %r"
                              % (topic, h.retained(b.port, topic, 1)))


if __name__ == "__main__":
    h.main()
