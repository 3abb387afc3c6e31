"""EventSub over WebSocket, events (CONTRACT 3, 4): every mapped type
arrives on twitch/cool_streamer/<type> with the contract's fields, "id" =
the metadata message_id, "source" eventsub-websocket; a raw type on
twitch/cool_streamer/eventsub/<type>; stream/channel updates move the
retained state; duplicates (same message_id) are dropped.

One bridge for the class: setUpClass subscribes every event at once."""

import os
import unittest

import es_common as es
import harness as h
import mock_twitch as mt
from es_common import CH, HV

ALL = es.MAPPED_EVENTS + ["channel.shoutout.create"]
T = "twitch/cool_streamer/"


class EventsTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.st = es.Stack()
        cls.sub_answer = None
        cls.sub_error = None
        try:
            cls.mark = cls.st.mock.mark()
            cls.sub_answer = cls.st.subscribe(ALL, timeout=30)
        except AssertionError as e:
            cls.sub_error = str(e)

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    _es_failed = es.EsCase._es_failed

    def tearDown(self):
        if self._es_failed() or os.environ.get("ITEST_VERBOSE"):
            es.dump_stack(self.st)

    def setUp(self):
        if self.sub_error:
            self.fail("subscribe to every event got no answer: %s"
                      % self.sub_error)
        if not self.st.mock.connections():
            self.fail("no EventSub connection after subscribing; the "
                      "answer was %s" % self.sub_answer)

    # -------------------------------------------------------- helpers
    def send(self, typ, event, topic, message_id=None):
        """Notifies typ and returns (message_id, parsed event, Msg)."""
        since = self.st.sub.mark()
        r = self.st.notify(typ, event, message_id=message_id)
        m = self.st.wait_event(topic, r.message_id, 10, since)
        return r.message_id, m.json(), m

    def common(self, m, typ, mid):
        return es.check_common(self, m, typ, mid)

    # ---------------------------------------------------------- tests
    def test_00_subscribe_answer_and_exact_bodies(self):
        ans = self.sub_answer
        self.assertEqual(ans["data"]["channel"], CH, ans)
        self.assertEqual(ans["data"]["events"], {e: "enabled" for e in ALL},
                         ans)
        self.assertEqual(ans.get("status"), "ok", ans)
        c = self.st.mock.current()
        self.assertIsNotNone(c)
        self.st.wait_posts(c.session_id, es.expected_keys(ALL), 5, self.mark)

    def test_availability_online(self):
        r = h.retained(self.st.broker.port, T + "availability")
        self.assertIsNotNone(r, "retained availability")
        self.assertEqual(r.text, "online")

    def test_bits(self):
        mid, e, m = self.send("channel.cheer", es.fixture("channel.cheer"),
                              T + "bits")
        self.common(m, "bits", mid)
        self.assertEqual(e["event_type"], "cheer")
        es.check_user(self, e["user"], HV)
        self.assertEqual(e["bits"], 100)
        self.assertEqual(e["message"], "Cheer100 lights to purple please")
        self.assertIs(e["anonymous"], False)
        self.assertIn("badge", e)
        if e["badge"] is not None:
            self.assertIsInstance(e["badge"].get("tier"), int)

    def test_bits_anonymous(self):
        # twitch-cli's anonymous cheer: user fields "" (sample 031)
        ev = es.to_cool_streamer(mt.load_cli_sample(
            "031-notification-channel.cheer-anonymous")["event"])
        self.assertEqual(ev["user_id"], "")
        mid, e, m = self.send("channel.cheer", ev, T + "bits")
        self.common(m, "bits", mid)
        self.assertIsNone(e["user"], "anonymous cheer: user null")
        self.assertIs(e["anonymous"], True)
        self.assertEqual(e["bits"], 100)
        # Twitch documents null user fields
        ev2 = dict(ev, user_id=None, user_login=None, user_name=None)
        mid, e, m = self.send("channel.cheer", ev2, T + "bits")
        self.assertIsNone(e["user"])
        self.assertIs(e["anonymous"], True)

    def test_channel_points(self):
        fx = es.fixture("channel.channel_points_custom_reward_redemption.add")
        mid, e, m = self.send(
            "channel.channel_points_custom_reward_redemption.add", fx,
            T + "channel_points")
        self.common(m, "channel_points", mid)
        self.assertEqual(e["event_type"], "turn_the_lights_purple")
        self.assertEqual(e["redemption_id"],
                         "17fa2df1-ad76-4804-bfa5-a40ef63efe63")
        self.assertEqual({k: e["reward"].get(k) for k in
                          ("id", "title", "cost", "prompt")}, fx["reward"])
        self.assertIn(e["input"], ("", None))
        self.assertEqual(e["status"], "unfulfilled")
        es.check_user(self, e["user"], HV)
        # a title that slugs to nothing
        fx2 = es.fixture(
            "channel.channel_points_custom_reward_redemption.add")
        fx2["reward"]["title"] = "!!!"
        fx2["user_input"] = "purple please"
        _mid, e2, _m = self.send(
            "channel.channel_points_custom_reward_redemption.add", fx2,
            T + "channel_points")
        self.assertEqual(e2["event_type"], "reward")
        self.assertEqual(e2["input"], "purple please")

    def test_channel_points_update(self):
        fx = es.fixture(
            "channel.channel_points_custom_reward_redemption.update")
        mid, e, m = self.send(
            "channel.channel_points_custom_reward_redemption.update", fx,
            T + "channel_points_update")
        self.common(m, "channel_points_update", mid)
        self.assertEqual(e["event_type"], "fulfilled")
        self.assertEqual(e["status"], "fulfilled")
        self.assertEqual(e["redemption_id"], fx["id"])
        self.assertEqual(e["reward"]["title"], "Turn the lights purple")
        es.check_user(self, e["user"], HV)

    def _sub_fields(self, e):
        for k in ("tier", "months", "streak", "duration", "gift", "count",
                  "recipient", "message", "anonymous"):
            self.assertIn(k, e, "subscription field %s" % k)
        if e["recipient"] is not None:
            es.check_user(self, e["recipient"], what="recipient")

    def test_subscription_sub(self):
        mid, e, m = self.send("channel.subscribe",
                              es.fixture("channel.subscribe"),
                              T + "subscription")
        self.common(m, "subscription", mid)
        self._sub_fields(e)
        self.assertEqual(e["event_type"], "sub")
        self.assertEqual(e["tier"], "1000")
        self.assertIs(e["gift"], False)
        self.assertIs(e["anonymous"], False)
        es.check_user(self, e["user"], HV)

    def test_subscription_resub(self):
        mid, e, m = self.send("channel.subscription.message",
                              es.fixture("channel.subscription.message"),
                              T + "subscription")
        self.common(m, "subscription", mid)
        self._sub_fields(e)
        self.assertEqual(e["event_type"], "resub")
        self.assertEqual(e["tier"], "2000")
        self.assertEqual((e["months"], e["streak"], e["duration"]),
                         (24, 12, 1))
        self.assertEqual(e["message"], "Two years already Kappa")
        self.assertIs(e["gift"], False)
        es.check_user(self, e["user"], HV)

    def test_subscription_gift(self):
        mid, e, m = self.send("channel.subscription.gift",
                              es.fixture("channel.subscription.gift"),
                              T + "subscription")
        self.common(m, "subscription", mid)
        self._sub_fields(e)
        self.assertEqual(e["event_type"], "gift")
        self.assertIs(e["gift"], True)
        self.assertEqual(e["count"], 5)
        self.assertEqual(e["tier"], "1000")
        self.assertIs(e["anonymous"], False)
        es.check_user(self, e["user"], HV)

    def test_subscription_gift_anonymous(self):
        # twitch-cli's anonymous gift: user "ananonymousgifter" (sample 032)
        ev = es.to_cool_streamer(mt.load_cli_sample(
            "032-notification-channel.subscription.gift-anonymous")["event"])
        self.assertEqual(ev["user_login"], "ananonymousgifter")
        mid, e, m = self.send("channel.subscription.gift", ev,
                              T + "subscription")
        self.common(m, "subscription", mid)
        self.assertEqual(e["event_type"], "gift")
        self.assertIsNone(e["user"], "ananonymousgifter is user null")
        self.assertIs(e["anonymous"], True)
        self.assertEqual(e["count"], 5)

    def test_follow(self):
        fx = es.fixture("channel.follow")
        mid, e, m = self.send("channel.follow", fx, T + "follow")
        self.common(m, "follow", mid)
        self.assertEqual(e["event_type"], "follow")
        es.check_user(self, e["user"], HV)
        es.same_instant(self, e["followed_at"], fx["followed_at"],
                        "followed_at")

    def test_raid(self):
        mid, e, m = self.send("channel.raid", es.fixture("channel.raid"),
                              T + "raid")
        self.common(m, "raid", mid)
        self.assertEqual(e["event_type"], "raid")
        self.assertEqual(e["viewers"], 87)
        es.check_user(self, e["user"], {"id": "4242",
                                        "login": "friendly_raider",
                                        "name": "Friendly_Raider"},
                      "user (the raiding channel)")

    def test_stream_and_state(self):
        fx = es.fixture("stream.online")
        since = self.st.sub.mark()
        mid, e, m = self.send("stream.online", fx, T + "stream")
        self.common(m, "stream", mid)
        self.assertEqual(e["event_type"], "online")
        es.same_instant(self, e["started_at"], fx["started_at"],
                        "started_at")
        s = self.st.sub.wait_topic(T + "state", 5, since,
                                   pred=lambda m: m.json()["live"] is True)
        self.assertTrue(s.retain, "state is retained")
        d = s.json()
        for k in ("live", "title", "category", "started_at"):
            self.assertIn(k, d)
        es.same_instant(self, d["started_at"], fx["started_at"],
                        "state.started_at")
        # channel.update moves title/category
        cu = es.fixture("channel.update")
        since = self.st.sub.mark()
        self.send("channel.update", cu, T + "channel_update")
        s = self.st.sub.wait_topic(
            T + "state", 5, since,
            pred=lambda m: m.json().get("title") == cu["title"])
        d = s.json()
        self.assertTrue(s.retain)
        self.assertIs(d["live"], True, "still live after channel.update")
        self.assertEqual(d["category"], "Science & Technology")
        # offline
        since = self.st.sub.mark()
        mid, e, m = self.send("stream.offline", es.fixture("stream.offline"),
                              T + "stream")
        self.common(m, "stream", mid)
        self.assertEqual(e["event_type"], "offline")
        s = self.st.sub.wait_topic(T + "state", 5, since,
                                   pred=lambda m: m.json()["live"] is False)
        self.assertTrue(s.retain)
        self.assertEqual(s.json()["title"], cu["title"],
                         "title kept when going offline")
        r = h.retained(self.st.broker.port, T + "state")
        self.assertIs(r.json()["live"], False)

    def test_channel_update(self):
        cu = es.fixture("channel.update")
        mid, e, m = self.send("channel.update", cu, T + "channel_update")
        self.common(m, "channel_update", mid)
        self.assertEqual(e["event_type"], "update")
        self.assertEqual(e["title"], cu["title"])
        self.assertEqual(e["category"], {"id": "509670",
                                         "name": "Science & Technology"})
        self.assertEqual(e["language"], "en")

    def test_moderation(self):
        mid, e, m = self.send("channel.moderate",
                              es.fixture("channel.moderate"),
                              T + "moderation")
        self.common(m, "moderation", mid)
        self.assertEqual(e["event_type"], "timeout")
        es.check_user(self, e["moderator"], {"id": "5150",
                                             "login": "helpful_mod",
                                             "name": "Helpful_Mod"},
                      "moderator")
        es.check_user(self, e["target"], {"id": "6666",
                                          "login": "spammy_user",
                                          "name": "Spammy_User"}, "target")
        self.assertEqual(e["reason"], "link spam")
        self.assertIn("duration", e)
        self.assertIn("args", e)

    def test_whisper(self):
        mid, e, m = self.send("user.whisper.message",
                              es.fixture("user.whisper.message"),
                              T + "whisper")
        self.common(m, "whisper", mid)
        self.assertEqual(e["event_type"], "whisper")
        self.assertEqual(e["message"], "your porch light is still on")
        es.check_user(self, e["user"], HV)
        es.check_user(self, e["recipient"], CH, "recipient")

    def test_hype_train(self):
        want = {"begin": (1, 1500, 1800, 1500),
                "progress": (2, 2600, 2100, 800)}
        for t in ("begin", "progress", "end"):
            with self.subTest(phase=t):
                typ = "channel.hype_train." + t
                mid, e, m = self.send(typ, es.fixture(typ), T + "hype_train")
                self.common(m, "hype_train", mid)
                self.assertEqual(e["event_type"], t)
                for k in ("level", "total", "goal", "progress"):
                    self.assertIn(k, e)
                if t in want:
                    self.assertEqual((e["level"], e["total"], e["goal"],
                                      e["progress"]), want[t])
                else:
                    self.assertEqual((e["level"], e["total"]), (3, 4100))

    def test_poll(self):
        for t in ("begin", "progress", "end"):
            with self.subTest(phase=t):
                typ = "channel.poll." + t
                mid, e, m = self.send(typ, es.fixture(typ), T + "poll")
                self.common(m, "poll", mid)
                self.assertEqual(e["event_type"], t)
                self.assertEqual(e["title"],
                                 "Light colour for the next hour?")
                self.assertIsInstance(e["choices"], list)
                self.assertEqual(len(e["choices"]), 2)

    def test_prediction(self):
        for t in ("begin", "progress", "lock", "end"):
            with self.subTest(phase=t):
                typ = "channel.prediction." + t
                mid, e, m = self.send(typ, es.fixture(typ), T + "prediction")
                self.common(m, "prediction", mid)
                self.assertEqual(e["event_type"], t)
                self.assertEqual(e["title"], "Will the relay click on?")
                self.assertIsInstance(e["outcomes"], list)
                self.assertEqual(len(e["outcomes"]), 2)

    def test_ad_break(self):
        mid, e, m = self.send("channel.ad_break.begin",
                              es.fixture("channel.ad_break.begin"),
                              T + "ad_break")
        self.common(m, "ad_break", mid)
        self.assertEqual(e["event_type"], "begin")
        self.assertEqual(e["duration"], 90)
        self.assertIs(e["automatic"], True)
        # Twitch's own examples have sent these as strings (#857)
        ev = es.fixture("channel.ad_break.begin")
        ev.update(duration_seconds="60", is_automatic="false")
        _mid, e, _m = self.send("channel.ad_break.begin", ev, T + "ad_break")
        self.assertEqual(e["duration"], 60)
        self.assertIs(e["automatic"], False)

    def test_power_up(self):
        ev = es.fixture("channel.bits.use")
        ev.update(bits=50, type="power_up",
                  power_up={"type": "message_effect", "emote": None,
                            "message_effect_id": "cosmic-abyss"},
                  message={"text": "lights go brr", "fragments": [
                      {"type": "text", "text": "lights go brr",
                       "cheermote": None, "emote": None}]})
        mid, e, m = self.send("channel.bits.use", ev, T + "power_up")
        self.common(m, "power_up", mid)
        self.assertEqual(e["event_type"], "message_effect")
        self.assertEqual(e["bits"], 50)
        self.assertEqual(e["message"], "lights go brr")
        es.check_user(self, e["user"], HV)

    def test_bits_use_cheer_not_published(self):
        # channel.bits.use of type cheer duplicates channel.cheer: dropped
        since = self.st.sub.mark()
        r = self.st.notify("channel.bits.use", es.fixture("channel.bits.use"))
        self.st.settle()
        got = self.st.sub.find(lambda m: (m.try_json() or {}).get("id") ==
                               r.message_id, since)
        self.assertEqual(got, [], "a plain cheer from channel.bits.use is "
                         "not published (it would double channel.cheer)")

    def test_chat(self):
        fx = es.fixture("channel.chat.message")
        mid, e, m = self.send("channel.chat.message", fx, T + "chat")
        self.common(m, "chat", mid)
        self.assertEqual(e["event_type"], "message")
        self.assertEqual(e["message"], "!lights blue @Cool_Streamer")
        self.assertEqual(e["message_id"],
                         "c0ffee00-1234-4abc-8def-0123456789ab")
        es.check_user(self, e["user"], HV)

    def test_user_update(self):
        mid, e, m = self.send("user.update", es.fixture("user.update"),
                              T + "user_update")
        self.common(m, "user_update", mid)
        self.assertEqual(e["event_type"], "update")
        self.assertEqual(e["login"], "cool_streamer")
        self.assertEqual(e["name"], "Cool_Streamer")
        self.assertEqual(e["description"], "I stream smart-home builds.")
        self.assertNotIn("streamer@example.org", m.text,
                         "no e-mail address on MQTT")

    def test_raw_type(self):
        ev = {"broadcaster_user_id": "1337",
              "broadcaster_user_login": "cool_streamer",
              "broadcaster_user_name": "Cool_Streamer",
              "moderator_user_id": "1337",
              "moderator_user_login": "cool_streamer",
              "moderator_user_name": "Cool_Streamer",
              "to_broadcaster_user_id": "4242",
              "to_broadcaster_user_login": "friendly_raider",
              "to_broadcaster_user_name": "Friendly_Raider",
              "started_at": "2025-03-14T18:22:05.123456789Z",
              "viewer_count": 860,
              "cooldown_ends_at": "2025-03-14T18:24:05.123456789Z",
              "target_cooldown_ends_at": "2025-03-14T19:22:05.123456789Z"}
        topic = T + "eventsub/channel.shoutout.create"
        mid, e, m = self.send("channel.shoutout.create", ev, topic)
        self.assertFalse(m.retain)
        self.assertEqual(list(e.keys())[:8], h.COMMON_KEYS, m.text)
        self.assertEqual(e["id"], mid)
        self.assertEqual(e["source"], es.SOURCE)
        self.assertEqual(e["channel"], CH)
        self.assertRegex(e["time"], h.TIME_MS_RE)
        self.assertIs(e["test"], False)
        self.assertEqual(e["event"], ev, "the Twitch event as is")

    def test_duplicate_message_id_dropped(self):
        since = self.st.sub.mark()
        fx = es.fixture("channel.raid")
        r1 = self.st.notify("channel.raid", fx)
        self.st.notify("channel.raid", fx, message_id=r1.message_id)
        self.st.settle()
        got = self.st.sub.find(lambda m: m.topic == T + "raid" and
                               m.json()["id"] == r1.message_id, since)
        self.assertEqual(len(got), 1, "one event per message_id: %s" % got)

    def test_robust_against_odd_frames(self):
        # Unknown message types and unknown fields are to be ignored
        # (twitch/eventsub.md 1): the session goes on.
        c = self.st.mock.current()
        self.st.mock.send_raw(c, '{"metadata":{"message_id":"x1",'
                              '"message_type":"brand_new_type",'
                              '"message_timestamp":"%s"},"payload":{}}'
                              % mt.ts9())
        ev = es.fixture("channel.cheer")
        ev["a_field_from_the_future"] = {"x": [1, 2]}
        self.send("channel.cheer", ev, T + "bits")
        self.assertTrue(self.st.br.alive())
        self.assertIsNone(c.closed, "session kept: %r" % c)

    def test_zz_no_violations_no_leaks(self):
        es.check_no_violations(self, self.st)
        es.check_no_leaks(self, self.st)
        self.assertEqual(len(self.st.mock.connections()), 1,
                         "one connection for the whole class: %s"
                         % self.st.mock.connections())


if __name__ == "__main__":
    unittest.main(verbosity=2)
