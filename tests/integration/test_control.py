"""CONTRACT 5: requests on <base>/bridge/request/<action>, answers on
<base>/bridge/response/<action> (and an MQTT 5 Response Topic)."""

import json
import sys

import harness as h
from harness import BridgeTestCase, unique


def sort_subs(subs):
    return sorted(subs, key=lambda s: (s["channel"]["login"],
                                       s.get("transport", "")))


class ControlTest(BridgeTestCase):

    @classmethod
    def setUpClass(cls):
        cls.b = h.Broker().start()
        cls.sub = h.Mqtt(cls.b)
        cls.br = h.Bridge(cls.b)
        cls.br.start()
        try:
            cls.sub.wait_bridge()
        except AssertionError:
            sys.stderr.write(cls.br.log_text()[-4000:])
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.sub.close()
        cls.br.close()
        cls.b.close()

    def setUp(self):
        super().setUp()
        self._bridges.append(self.br)

    # ------------------------------------------------------------ helpers
    def req(self, action, payload=None, **kw):
        return self.sub.request(action, payload, **kw)

    def assert_ok(self, ans, what=""):
        self.assertIsInstance(ans, dict)
        self.assertEqual(ans.get("status"), "ok", "%s: %s" % (what, ans))
        self.assertIn("data", ans, "every answer has data: %s" % ans)
        self.assertNotIn("error", ans, "error only on status error: %s"
                         % ans)

    def assert_error(self, ans, *must_contain, what=""):
        self.assertIsInstance(ans, dict)
        self.assertEqual(ans.get("status"), "error", "%s: %s" % (what, ans))
        self.assertIsInstance(ans.get("error"), str, "error sentence: %s"
                              % ans)
        self.assertTrue(ans["error"].strip(), "error sentence not empty")
        self.assertIn("data", ans, "every answer has data: %s" % ans)
        for s in must_contain:
            self.assertRegex(ans["error"].lower(), s.lower(),
                             "%s: error should mention %r" % (what, s))

    def subscribe_demo(self, channel, events=None, **extra):
        p = {"channel": channel, "transport": "demo"}
        if events is not None:
            p["events"] = events
        p.update(extra)
        return self.req("subscribe", p)

    def held(self):
        ans = self.req("subscriptions", {})
        self.assert_ok(ans, "subscriptions")
        self.assertIsInstance(ans["data"], list)
        return ans["data"]

    def check_channel(self, ch, login):
        self.assertIsInstance(ch, dict)
        for k in ("id", "login", "name"):
            self.assertIn(k, ch)
        self.assertEqual(ch["login"], login)

    # -------------------------------------------------------- subscribe
    def test_subscribe_demo_transport_default_events(self):
        ch = unique("demo_sub")
        ans = self.subscribe_demo(ch, transaction="t1")
        self.assert_ok(ans, "subscribe transport demo")
        self.assertEqual(ans["transaction"], "t1")
        self.check_channel(ans["data"]["channel"], ch)
        self.assertEqual(ans["data"]["events"],
                         {e: "enabled" for e in h.DEFAULT_EVENTS})

    def test_subscribe_demo_transport_some_events(self):
        ch = unique("demo_some")
        ans = self.subscribe_demo(ch, ["bits", "raid"])
        self.assert_ok(ans)
        self.assertEqual(ans["data"]["events"],
                         {"bits": "enabled", "raid": "enabled"})

    def test_subscribe_login_is_lowercased(self):
        ch = unique("mixed")
        ans = self.subscribe_demo(ch.upper().replace("MIXED", "Mixed"),
                                  ["bits"])
        self.assert_ok(ans)
        self.check_channel(ans["data"]["channel"], ch)

    def test_subscribe_default_transport_needs_credentials(self):
        # CONTRACT 5: missing credentials for the transport is an error
        # that says what is missing. This bridge has no Twitch token.
        ans = self.req("subscribe", {"channel": unique("ws")})
        self.assert_error(ans, "user token", what="default transport")
        ans = self.req("subscribe", {"channel": unique("wh"),
                                     "transport": "webhook"})
        self.assert_error(ans, "http.listen", what="webhook transport")
        ans = self.req("subscribe", {"channel": unique("ps"),
                                     "transport": "pubsub",
                                     "events": ["bits"]})
        self.assert_error(ans, "user token", what="pubsub transport")
        held = self.req("subscriptions", {})
        self.assertFalse([s for s in held["data"]
                          if s["transport"] != "demo"],
                         "a refused subscribe holds nothing: %s" % held)

    def test_subscribe_bare_channel_name(self):
        # A bare login as the whole payload is a subscribe with defaults:
        # it must get exactly the answer the JSON form gets, not a JSON
        # error.
        ch = "cool_streamer"
        bare = self.req("subscribe", ch, transaction=None)
        js = self.req("subscribe", {"channel": ch}, transaction=None)
        self.assertEqual(bare.get("status"), js.get("status"),
                         "bare %s vs JSON %s" % (bare, js))
        self.assertEqual(bare.get("error"), js.get("error"),
                         "bare name parsed as a subscribe of it")
        self.assertNotIn("transaction", bare)
        if bare.get("status") == "error":
            self.assertNotRegex(bare["error"].lower(), r"\bjson\b",
                                "bare name must not be a JSON error")

    def test_events_empty(self):
        ans = self.subscribe_demo(unique("empty"), [])
        self.assert_error(ans, "empty", what="events []")

    def test_unknown_event(self):
        ans = self.subscribe_demo(unique("unk"), ["bits", "frobnication"])
        self.assert_error(ans, "frobnication", what="unknown event")

    def test_not_json(self):
        ans = self.req("subscribe", '{"channel": "x", ', transaction=None)
        self.assert_error(ans, what="not JSON")
        self.assertNotIn("transaction", ans)

    def test_wrong_types(self):
        for p, word in (({"channel": 42}, "channel"),
                        ({"channel": "ok_name", "events": "bits"}, "events"),
                        ({"channel": "ok_name", "transport": 5},
                         "transport")):
            with self.subTest(payload=p):
                ans = self.req("subscribe", p)
                self.assert_error(ans, word, what="wrong type")

    def test_bad_login(self):
        ans = self.subscribe_demo("not a/login#")
        self.assert_error(ans, "channel", what="invalid login")

    def test_unknown_transport(self):
        ans = self.req("subscribe", {"channel": unique("tr"),
                                     "transport": "carrier_pigeon"})
        self.assert_error(ans, "carrier_pigeon", "websocket",
                          what="unknown transport")

    def test_unknown_action(self):
        ans = self.req("frobnicate", {"transaction": "tx-unknown"})
        self.assert_error(ans, "frobnicate", what="unknown action")
        for a in h.ACTIONS:
            self.assertIn(a, ans["error"],
                          "unknown action error lists accepted action %s"
                          % a)
        self.assertEqual(ans["transaction"], "tx-unknown")

    # ------------------------------------------------------ unsubscribe
    def test_unsubscribe_not_held(self):
        ans = self.req("unsubscribe", {"channel": unique("nothere")})
        self.assert_error(ans, r"not (held|subscribed)",
                          what="unsubscribe not held")

    def test_unsubscribe_event_not_held(self):
        ch = unique("partial")
        self.assert_ok(self.subscribe_demo(ch, ["bits"]))
        ans = self.req("unsubscribe", {"channel": ch, "events": ["raid"],
                                       "transport": "demo"})
        self.assert_error(ans, r"not (held|subscribed)",
                          what="unsubscribe event not held")

    def test_unsubscribe_some_then_all(self):
        ch = unique("unsub")
        self.assert_ok(self.subscribe_demo(ch, ["bits", "raid", "follow"]))
        ans = self.req("unsubscribe", {"channel": ch, "events": ["bits"],
                                       "transport": "demo"})
        self.assert_ok(ans, "unsubscribe bits")
        self.check_channel(ans["data"]["channel"], ch)
        self.assertEqual(ans["data"]["events"], {"bits": "removed"})
        mine = [s for s in self.held() if s["channel"]["login"] == ch]
        self.assertEqual(len(mine), 1, mine)
        self.assertEqual(sorted(mine[0]["events"]), ["follow", "raid"])
        # no events: all
        ans = self.req("unsubscribe", {"channel": ch, "transport": "demo"})
        self.assert_ok(ans, "unsubscribe all")
        self.assertEqual(ans["data"]["events"],
                         {"raid": "removed", "follow": "removed"})
        self.assertEqual([s for s in self.held()
                          if s["channel"]["login"] == ch], [])

    # ---------------------------------------------------- subscriptions
    def test_subscriptions_and_retained_mirror(self):
        a, b = unique("list_a"), unique("list_b")
        self.assert_ok(self.subscribe_demo(a))
        self.assert_ok(self.subscribe_demo(b, ["bits", "stream"],
                                           token="tok_control_never_shown"))
        held = self.held()
        mine = {s["channel"]["login"]: s for s in held
                if s["channel"]["login"] in (a, b)}
        self.assertEqual(sorted(mine), sorted([a, b]), held)
        for login, ev in ((a, h.DEFAULT_EVENTS), (b, ["bits", "stream"])):
            s = mine[login]
            self.check_channel(s["channel"], login)
            self.assertEqual(s["transport"], "demo")
            self.assertEqual(s["events"], {e: "enabled" for e in ev})
            self.assertNotIn("token", s)
        self.assertNotIn("tok_control_never_shown", json.dumps(held))
        # The retained mirror: a late subscriber sees the same array.
        want = sort_subs(held)

        def mirrored():
            r = h.retained(self.b.port, "twitch/bridge/subscriptions", 3)
            return r if r is not None and sort_subs(r.json()) == want \
                else None
        try:
            r = h.wait_until(mirrored, 8,
                             desc="retained twitch/bridge/subscriptions "
                             "== subscriptions answer")
        except AssertionError:
            last = h.retained(self.b.port, "twitch/bridge/subscriptions", 3)
            self.fail("retained twitch/bridge/subscriptions %r does not "
                      "mirror the subscriptions answer %r" % (last, held))
        self.assertFalse(h.find_key(r.json(), "token"))
        self.assertNotIn("tok_control_never_shown", r.text)

    def test_invalid_requests_change_nothing(self):
        ch = unique("keep")
        self.assert_ok(self.subscribe_demo(ch, ["bits", "raid"]))
        before = sort_subs(self.held())
        bad = [("subscribe", {"channel": ch, "transport": "demo",
                              "events": ["bits", "nonsense"]}),
               ("subscribe", {"channel": ch, "transport": "demo",
                              "events": []}),
               ("subscribe", {"channel": ch, "events": ["follow"]}),
               ("unsubscribe", {"channel": ch, "transport": "demo",
                                "events": ["bits", "nonsense"]}),
               ("unsubscribe", {"channel": ch, "transport": "demo",
                                "events": ["bits", "follow"]}),
               ("unsubscribe", {"channel": ch, "transport": "demo",
                                "events": []}),
               ("subscribe", "{not json"),
               ("unsubscribe", "[1, 2")]
        for action, p in bad:
            with self.subTest(action=action, payload=p):
                ans = self.req(action, p,
                               transaction=None if isinstance(p, str)
                               else h._AUTO)
                self.assertEqual(ans.get("status"), "error", ans)
        self.assertEqual(sort_subs(self.held()), before,
                         "a failed request changed what is held")

    def test_channel_availability(self):
        # CONTRACT 3: <base>/<channel>/availability, retained: online while
        # the channel's subscriptions are active, else offline.
        ch = unique("avail")
        topic = "twitch/%s/availability" % ch
        since = self.sub.mark()
        self.assert_ok(self.subscribe_demo(ch, ["bits"]))
        self.sub.wait_for(lambda m: m.topic == topic and m.text == "online",
                          5, since, desc="online on " + topic)
        r = h.retained(self.b.port, topic)
        self.assertIsNotNone(r, topic + " is retained")
        self.assertEqual(r.text, "online")
        since = self.sub.mark()
        self.assert_ok(self.req("unsubscribe", {"channel": ch,
                                                "transport": "demo"}))
        self.sub.wait_for(lambda m: m.topic == topic and m.text == "offline",
                          5, since, desc="offline on " + topic)
        r = h.retained(self.b.port, topic)
        self.assertEqual(r and r.text, "offline")

    # ------------------------------------------------------------ health
    def test_health(self):
        ans = self.req("health", {})
        self.assert_ok(ans, "health")
        d = ans["data"]
        self.assertIs(d["mqtt"]["connected"], True)
        self.assertIsInstance(d["sources"], dict)
        for k, v in d["sources"].items():
            self.assertIsInstance(v, str, "sources.%s" % k)
        self.assertIsInstance(d["uptime_s"], (int, float))
        self.assertNotIsInstance(d["uptime_s"], bool)
        self.assertGreaterEqual(d["uptime_s"], 0)
        self.assertIsInstance(d["counters"], dict)

    # ---------------------------------------------------------- simulate
    def test_simulate(self):
        since = self.sub.mark()
        ans = self.req("simulate", {"channel": "cool_streamer",
                                    "type": "bits"})
        self.assert_ok(ans, "simulate")
        ev = ans["data"]
        self.assertEqual(list(ev.keys())[:8], h.COMMON_KEYS)
        self.assertIs(ev["test"], True)
        self.assertEqual(ev["type"], "bits")
        self.assertEqual(ev["channel"]["login"], "cool_streamer")
        self.assertIsInstance(ev["bits"], int)
        m = self.sub.wait_for(
            lambda m: m.topic == "twitch/cool_streamer/bits" and
            m.json().get("id") == ev["id"], 5, since,
            desc="the simulated event on twitch/cool_streamer/bits")
        self.assertEqual(m.json(), ev, "published event == answer data")

    def test_simulate_every_default_type(self):
        for typ in h.DEFAULT_EVENTS:
            with self.subTest(type=typ):
                ans = self.req("simulate", {"channel": "sim_chan",
                                            "type": typ})
                self.assert_ok(ans, "simulate %s" % typ)
                self.assertEqual(ans["data"]["type"], typ)
                self.sub.wait_for(
                    lambda m, i=ans["data"]["id"]:
                    m.topic == "twitch/sim_chan/" + typ and
                    m.json().get("id") == i, 5)

    def test_simulate_unknown_type(self):
        ans = self.req("simulate", {"channel": "cool_streamer",
                                    "type": "frobnication"})
        self.assert_error(ans, "frobnication", what="simulate unknown type")

    # ------------------------------------------------------- transaction
    def test_transaction_echo(self):
        for tx in ("string-tx", 12345, {"k": [1, "two"]}):
            ch = unique("tx")
            with self.subTest(transaction=tx):
                ok = self.req("subscribe", {"channel": ch,
                                            "transport": "demo",
                                            "events": ["bits"]},
                              transaction=tx)
                self.assert_ok(ok)
                self.assertEqual(ok["transaction"], tx)
                err = self.req("subscribe", {"channel": ch, "events": []},
                               transaction=tx)
                self.assert_error(err)
                self.assertEqual(err["transaction"], tx)

    def test_transaction_absent_when_not_sent(self):
        ok = self.req("health", {}, transaction=None)
        self.assert_ok(ok)
        self.assertNotIn("transaction", ok)
        err = self.req("subscribe", {"channel": unique("notx"),
                                     "events": []}, transaction=None)
        self.assert_error(err)
        self.assertNotIn("transaction", err)

    # ------------------------------------------------- MQTT 5 reply-to
    def test_response_topic_and_correlation(self):
        since = self.sub.mark()
        props = h.response_props("my/reply", b"abc")
        ans = self.req("health", {"transaction": "rt1"}, props=props)
        self.assert_ok(ans)
        m = self.sub.wait_for(lambda m: m.topic == "my/reply", 5, since,
                              desc="answer on the Response Topic my/reply")
        self.assertEqual(m.json(), ans)
        cd = getattr(m.properties, "CorrelationData", None)
        self.assertEqual(cd, b"abc", "Correlation Data echoed")
        # an error answer goes there too
        since = self.sub.mark()
        props = h.response_props("my/reply", b"\x00\x01err")
        ans = self.req("subscribe", {"channel": "x", "events": []},
                       props=props)
        self.assert_error(ans)
        m = self.sub.wait_for(lambda m: m.topic == "my/reply", 5, since)
        self.assertEqual(getattr(m.properties, "CorrelationData", None),
                         b"\x00\x01err")


class BaseTopicTest(BridgeTestCase):

    def test_base_topic(self):
        # CONTRACT 3: every topic is under mqtt.base_topic.
        b = self.broker()
        sub = self.mqtt(b)
        self.bridge(b, args=["--demo"],
                    env={"TWITCH2MQTT_MQTT_BASE_TOPIC": "tw2"})
        ans = sub.wait_bridge(base="tw2")
        self.assertEqual(ans.get("status"), "ok", ans)
        sub.wait_for(lambda m: h.is_event(m, "demo", base="tw2"), 10,
                     desc="a demo event under tw2/demo/")
        r = h.retained(b.port, "tw2/bridge/state")
        self.assertEqual(r and r.text, "online")
        stray = [m.topic for m in sub.snapshot()
                 if not m.topic.startswith(("tw2/", "homeassistant/"))]
        self.assertEqual(stray, [], "topics outside the base topic")


class Mqtt311Test(BridgeTestCase):

    def test_v311_bridge_answers(self):
        b = self.broker()
        sub = self.mqtt(b, version=3)
        self.bridge(b, env={"TWITCH2MQTT_MQTT_VERSION": "3"})
        ans = sub.wait_bridge()
        self.assertEqual(ans.get("status"), "ok", ans)
        self.assertIs(ans["data"]["mqtt"]["connected"], True)
        ch = unique("v3")
        ans = sub.request("subscribe", {"channel": ch, "transport": "demo",
                                        "events": ["bits"]})
        self.assertEqual(ans.get("status"), "ok", ans)
        ans = sub.request("subscribe", {"channel": ch, "events": []})
        self.assertEqual(ans.get("status"), "error", ans)
        r = h.retained(b.port, "twitch/bridge/state", version=3)
        self.assertIsNotNone(r)
        self.assertEqual(r.text, "online")


if __name__ == "__main__":
    h.main()
