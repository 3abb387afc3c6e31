"""CONTRACT 1 (--demo), 3 (topics), 4 (event shape): the built-in demo source."""

import harness as h
from harness import BridgeTestCase, is_event

DEMO_TYPES = ["bits", "channel_points", "subscription", "follow", "raid",
              "stream"]


class DemoTest(BridgeTestCase):

    @classmethod
    def setUpClass(cls):
        # One bridge for the whole class: the checks below are read-only
        # views on the same stream of demo events.
        cls.b = h.Broker().start()
        cls.sub = h.Mqtt(cls.b)
        cls.br = h.Bridge(cls.b, args=["--demo"])
        cls.br.start()
        cls.events = {}
        cls.startup_error = None
        try:
            cls.sub.wait_for(
                lambda m: cls._all_types_seen(), 12,
                desc="demo events of all six types on twitch/demo/<type>")
        except AssertionError as e:
            cls.startup_error = str(e)

    @classmethod
    def _all_types_seen(cls):
        seen = {m.topic.split("/")[2] for m in cls.sub.find(
            lambda m: is_event(m, "demo"))}
        return all(t in seen for t in DEMO_TYPES)

    @classmethod
    def tearDownClass(cls):
        cls.sub.close()
        cls.br.close()
        cls.b.close()

    def setUp(self):
        super().setUp()
        self._bridges.append(self.br)

    def demo_events(self, typ=None):
        out = []
        for m in self.sub.find(lambda m: is_event(m, "demo")):
            if typ is None or m.topic == "twitch/demo/" + typ:
                out.append((m, m.json()))
        return out

    def one(self, typ):
        got = self.demo_events(typ)
        self.assertTrue(got, "no event on twitch/demo/%s within 12 s (%s)"
                        % (typ, self.startup_error))
        return got

    # ---------------------------------------------------------------
    def test_all_six_types_arrive(self):
        self.assertIsNone(self.startup_error)

    def test_process_keeps_running(self):
        self.assertTrue(self.br.alive(), "twitch2mqtt exited: rc=%s"
                        % self.br.proc.poll())

    def check_user(self, u, what="user"):
        self.assertIsInstance(u, dict, what)
        self.assertEqual(list(u.keys()), ["id", "login", "name"],
                         "%s object keys" % what)
        for k in ("id", "login", "name"):
            self.assertIsInstance(u[k], str, "%s.%s" % (what, k))
        self.assertEqual(u["login"], u["login"].lower(),
                         "%s.login is lower-case" % what)

    def check_user_or_null(self, u, what="user"):
        if u is not None:
            self.check_user(u, what)

    def test_common_fields(self):
        evs = self.demo_events()
        self.assertTrue(evs, "no demo events at all")
        for m, e in evs:
            with self.subTest(topic=m.topic, id=e.get("id")):
                self.assertEqual(list(e.keys())[:8], h.COMMON_KEYS,
                                 "common fields in contract order: %s"
                                 % m.text)
                self.assertIsInstance(e["id"], str)
                self.assertTrue(e["id"])
                self.assertEqual(e["type"], m.topic.split("/")[2],
                                 "type matches the topic")
                self.assertIsInstance(e["event_type"], str)
                self.assertTrue(e["event_type"])
                self.assertEqual(e["source"], "demo")
                self.assertRegex(e["time"], h.TIME_MS_RE)
                self.assertIs(e["test"], True)
                self.check_user(e["channel"], "channel")
                self.assertEqual(e["channel"]["login"], "demo")
                self.check_user_or_null(e["user"])
                self.assertFalse(m.retain, "events are not retained")
                self.assertFalse(h.find_key(e, "event_types"),
                                 "no key named event_types: %s" % m.text)

    def test_ids_unique(self):
        ids = [e["id"] for _m, e in self.demo_events()]
        self.assertEqual(len(ids), len(set(ids)), "event ids repeat")

    def test_bits(self):
        for m, e in self.one("bits"):
            with self.subTest(event=m.text):
                self.assertEqual(e["event_type"], "cheer")
                self.assertIsInstance(e["bits"], int)
                self.assertNotIsInstance(e["bits"], bool)
                self.assertGreater(e["bits"], 0)
                self.assertIsInstance(e["message"], str)
                self.assertIsInstance(e["anonymous"], bool)
                self.assertIn("badge", e)
                if e["badge"] is not None:
                    self.assertIsInstance(e["badge"], dict)
                    self.assertIsInstance(e["badge"].get("tier"), int)
                if e["anonymous"]:
                    self.assertIsNone(e["user"], "anonymous -> user null")
                else:
                    self.check_user(e["user"])

    def test_channel_points(self):
        for m, e in self.one("channel_points"):
            with self.subTest(event=m.text):
                self.assertIsInstance(e["redemption_id"], str)
                r = e["reward"]
                self.assertIsInstance(r, dict)
                for k in ("id", "title", "cost", "prompt"):
                    self.assertIn(k, r)
                self.assertIsInstance(r["title"], str)
                self.assertIsInstance(r["cost"], int)
                self.assertEqual(e["event_type"], h.slug(r["title"]),
                                 "event_type is the reward title's slug")
                self.assertIn("input", e)
                self.assertIsInstance(e["status"], str)
                self.check_user(e["user"])

    def test_subscription(self):
        for m, e in self.one("subscription"):
            with self.subTest(event=m.text):
                self.assertIn(e["event_type"], ("sub", "resub", "gift"))
                self.assertIn(e["tier"], ("1000", "2000", "3000", "prime"))
                for k in ("months", "streak", "duration", "gift", "count",
                          "recipient", "message", "anonymous"):
                    self.assertIn(k, e)
                self.assertIsInstance(e["anonymous"], bool)
                self.assertIsInstance(e["gift"], bool)
                for k in ("months", "streak", "duration", "count"):
                    if e[k] is not None:
                        self.assertIsInstance(e[k], int, k)
                self.check_user_or_null(e["recipient"], "recipient")
                if e["anonymous"]:
                    self.assertIsNone(e["user"])
                if e["event_type"] == "gift":
                    self.assertIs(e["gift"], True)

    def test_follow(self):
        for m, e in self.one("follow"):
            with self.subTest(event=m.text):
                self.assertEqual(e["event_type"], "follow")
                self.assertRegex(e["followed_at"], h.RFC3339_RE)
                self.check_user(e["user"])

    def test_raid(self):
        for m, e in self.one("raid"):
            with self.subTest(event=m.text):
                self.assertEqual(e["event_type"], "raid")
                self.assertIsInstance(e["viewers"], int)
                self.assertNotIsInstance(e["viewers"], bool)
                self.check_user(e["user"], "user (the raiding channel)")

    def test_stream_and_state(self):
        evs = self.one("stream")
        for m, e in evs:
            with self.subTest(event=m.text):
                self.assertIn(e["event_type"], ("online", "offline"))
                self.assertIn("started_at", e)
                if e["event_type"] == "online":
                    self.assertRegex(e["started_at"], h.RFC3339_RE)
        # <base>/<channel>/state (retained) follows the stream events.
        last = evs[-1][1]
        live = last["event_type"] == "online"
        m = self.sub.wait_for(
            lambda m: m.topic == "twitch/demo/state" and
            m.json().get("live") is live, 5,
            desc="twitch/demo/state with live=%s" % live)
        st = m.json()
        self.assertIsInstance(st["live"], bool)
        for k in ("title", "category", "started_at"):
            self.assertIn(k, st)
        self.assertIsInstance(st["title"], str)
        self.assertIsInstance(st["category"], str)
        r = h.retained(self.b.port, "twitch/demo/state")
        self.assertIsNotNone(r, "twitch/demo/state is retained")
        self.assertIsInstance(r.json().get("live"), bool)

    def test_bridge_state_online_retained(self):
        r = h.retained(self.b.port, "twitch/bridge/state")
        self.assertIsNotNone(r, "retained twitch/bridge/state")
        self.assertEqual(r.text, "online")

    def test_bridge_info_retained(self):
        r = h.retained(self.b.port, "twitch/bridge/info")
        self.assertIsNotNone(r, "retained twitch/bridge/info")
        info = r.json()
        self.assertIsInstance(info, dict)
        self.assertIn("version", info)
        self.assertIsInstance(info["version"], str)

    def test_demo_availability_retained(self):
        r = h.retained(self.b.port, "twitch/demo/availability")
        self.assertIsNotNone(r, "retained twitch/demo/availability")
        self.assertEqual(r.text, "online")


if __name__ == "__main__":
    h.main()
