"""EventSub webhooks on the HTTP endpoint (CONTRACT 4, 6): every captured
twitch-cli webhook sample, re-signed with a fresh id and timestamp (the raw
body exactly as captured), and a generated notification for every type in
eventsub-fixtures.json arrive normalized on MQTT with "source"
"eventsub-webhook" and "id" = Twitch-Eventsub-Message-Id; the captured
challenge is echoed (200 text/plain); revocations for subscriptions the
bridge does not hold are answered 2xx and publish nothing; duplicates (the
fixed-id sample twice) are published once; header names are
case-insensitive and the HMAC is over the raw body (any JSON whitespace).

One bridge for the class; no subscription is held (a correctly signed
notification for a subscription the bridge does not hold is still
published, CONTRACT 6)."""

import json
import os
import unittest

import es_common as es
import harness as h
import wh_common as w
from es_common import CH, HV

T = "twitch/cool_streamer/"

# twitch-cli sample -> (contract type, event_type, the channel's login,
# extra checks on the event e given the sample's Twitch event x)
def _user(x, p="user"):
    return {"id": x[p + "_id"], "login": x[p + "_login"].lower(),
            "name": x[p + "_name"]}


SAMPLE_MAP = {
    "channel.cheer": ("bits", "cheer", lambda t, e, x: (
        t.assertEqual(e["bits"], x["bits"]),
        t.assertEqual(e["message"], x["message"]),
        t.assertIs(e["anonymous"], x["is_anonymous"]),
        t.assertEqual(e["user"], None if x["is_anonymous"] else _user(x)))),
    "channel.channel_points_custom_reward_redemption.add": (
        "channel_points", "test_reward_from_cli", lambda t, e, x: (
            t.assertEqual(e["redemption_id"], x["id"]),
            t.assertEqual(e["reward"]["title"], x["reward"]["title"]),
            t.assertEqual(e["reward"]["cost"], x["reward"]["cost"]),
            t.assertEqual(e["input"], x["user_input"]),
            t.assertEqual(e["status"], x["status"]),
            t.assertEqual(e["user"], _user(x)))),
    "channel.channel_points_custom_reward_redemption.update": (
        "channel_points_update", "unfulfilled", lambda t, e, x: (
            t.assertEqual(e["redemption_id"], x["id"]),
            t.assertEqual(e["status"], x["status"]))),
    "channel.subscribe": ("subscription", "sub", lambda t, e, x: (
        t.assertEqual(e["tier"], x["tier"]),
        t.assertIs(e["gift"], x["is_gift"]),
        t.assertEqual(e["user"], _user(x)))),
    "channel.subscription.gift": ("subscription", "gift", lambda t, e, x: (
        t.assertEqual(e["count"], x["total"]),
        t.assertIs(e["anonymous"], x["is_anonymous"]),
        t.assertEqual(e["user"], None if x["is_anonymous"] else _user(x)))),
    "channel.subscription.message": ("subscription", "resub",
                                     lambda t, e, x: (
        t.assertEqual(e["months"], x["cumulative_months"]),
        t.assertEqual(e["streak"], x["streak_months"]),
        t.assertEqual(e["message"], x["message"]["text"]))),
    "channel.follow": ("follow", "follow", lambda t, e, x: (
        t.assertEqual(e["followed_at"], x["followed_at"]),
        t.assertEqual(e["user"], _user(x)))),
    "channel.raid": ("raid", "raid", lambda t, e, x: (
        t.assertEqual(e["viewers"], x["viewers"]),
        t.assertEqual(e["user"], _user(x, "from_broadcaster_user")))),
    "stream.online": ("stream", "online", lambda t, e, x:
                      es.same_instant(t, e["started_at"], x["started_at"],
                                      "started_at")),
    "stream.offline": ("stream", "offline", None),
    "user.update": ("user_update", "update", lambda t, e, x: (
        t.assertEqual(e["login"], x["user_login"].lower()),
        t.assertEqual(e["description"], x["description"]))),
    "channel.ban": ("moderation", "ban", lambda t, e, x: (
        t.assertEqual(e["target"], _user(x)),
        t.assertEqual(e["moderator"], _user(x, "moderator_user")),
        t.assertEqual(e["reason"], x["reason"]))),
    "channel.unban": ("moderation", "unban", lambda t, e, x:
                      t.assertEqual(e["target"], _user(x))),
    "channel.hype_train.begin": ("hype_train", "begin", lambda t, e, x: (
        t.assertEqual(e["level"], x["level"]),
        t.assertEqual(e["total"], x["total"]))),
    "channel.hype_train.progress": ("hype_train", "progress",
                                    lambda t, e, x:
                                    t.assertEqual(e["total"], x["total"])),
    "channel.hype_train.end": ("hype_train", "end", lambda t, e, x:
                               t.assertEqual(e["level"], x["level"])),
    "channel.poll.begin": ("poll", "begin", lambda t, e, x: (
        t.assertEqual(e["title"], x["title"]),
        t.assertEqual(len(e["choices"]), len(x["choices"])))),
    "channel.poll.progress": ("poll", "progress", lambda t, e, x:
                              t.assertEqual(e["title"], x["title"])),
    "channel.poll.end": ("poll", "end", lambda t, e, x:
                         t.assertEqual(e["title"], x["title"])),
    "channel.prediction.begin": ("prediction", "begin", lambda t, e, x: (
        t.assertEqual(e["title"], x["title"]),
        t.assertEqual(len(e["outcomes"]), len(x["outcomes"])))),
    "channel.prediction.progress": ("prediction", "progress", None),
    "channel.prediction.lock": ("prediction", "lock", None),
    "channel.prediction.end": ("prediction", "end", None),
    "channel.ad_break.begin": ("ad_break", "begin", lambda t, e, x: (
        t.assertEqual(e["duration"], x["duration_seconds"]),
        t.assertIs(e["automatic"], x["is_automatic"]))),
    "channel.update": ("channel_update", "update", lambda t, e, x: (
        t.assertEqual(e["title"], x["title"]),
        t.assertEqual(e["category"], {"id": x["category_id"],
                                      "name": x["category_name"]}),
        t.assertEqual(e["language"], x["language"]))),
    # not in the contract's table: published raw under eventsub/<type>
    "user.authorization.revoke": ("eventsub", "user.authorization.revoke",
                                  lambda t, e, x:
                                  t.assertEqual(e["event"], x)),
}

# fixture type -> contract type (the same table the WebSocket tests use)
FIXTURE_TYPES = {spec[0]: ev for ev, specs in es.specs().items()
                 for spec in specs if "." not in ev}
FIXTURE_TYPES.update({"channel.ban": "moderation",
                      "channel.unban": "moderation",
                      # a bits.use of type "cheer" is not a power-up: the
                      # cheer comes as channel.cheer (CONTRACT 4)
                      "channel.bits.use": None})


def channel_of(x):
    """The login the contract puts in the topic for a Twitch event."""
    for p in ("broadcaster_user", "to_broadcaster_user", "user"):
        if x.get(p + "_login"):
            return {"id": x[p + "_id"], "login": x[p + "_login"].lower(),
                    "name": x[p + "_name"]}
    return None


class WebhookEventsTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.st = w.WhStack()

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    _es_failed = es.EsCase._es_failed

    def tearDown(self):
        if self._es_failed() or os.environ.get("ITEST_VERBOSE"):
            es.dump_stack(self.st)

    def common(self, m, typ, mid, channel, event_type=None):
        e = m.json()
        self.assertFalse(m.retain, "events are not retained")
        self.assertEqual(list(e.keys())[:8], h.COMMON_KEYS, m.text)
        self.assertEqual(e["id"], mid, "id is Twitch-Eventsub-Message-Id")
        self.assertEqual(e["type"], typ)
        if event_type is not None:
            self.assertEqual(e["event_type"], event_type)
        self.assertEqual(e["source"], w.WH_SOURCE)
        self.assertRegex(e["time"], h.TIME_MS_RE)
        self.assertIs(e["test"], False)
        self.assertEqual(e["channel"], channel)
        if e["user"] is not None:
            es.check_user(self, e["user"])
        for k in ("moderator", "target", "recipient"):
            if e.get(k) is not None:
                es.check_user(self, e[k], what=k)
        return e

    # ---------------------------------------------------------- samples
    def test_every_captured_notification(self):
        names = [n for n in w.sample_names() if "-notification-" in n]
        self.assertEqual(len(names), 30, names)
        seen_types = set()
        for n in names:
            with self.subTest(sample=n):
                s = w.sample(n)
                stype = s["headers"]["Twitch-Eventsub-Subscription-Type"]
                x = s["body"]["event"]
                typ, etype, check = SAMPLE_MAP[stype]
                ch = channel_of(x)
                topic = "twitch/%s/%s" % (ch["login"], typ if typ !=
                                          "eventsub" else "eventsub/" +
                                          stype)
                since = self.st.sub.mark()
                body, hd, mid = w.resign_sample(s)
                a = self.st.post(body, hd)
                self.assertEqual(a.status, 204, a)
                self.assertEqual(a.body, b"")
                m = self.st.wait_id(mid, 10, since)
                self.assertEqual(m.topic, topic)
                e = self.common(m, typ, mid, ch, etype)
                if check is not None:
                    check(self, e, x)
                seen_types.add(stype)
        self.assertEqual(seen_types, set(SAMPLE_MAP))

    def test_every_fixture_type(self):
        """A generated notification per type of eventsub-fixtures.json
        (for cool_streamer), signed like Twitch."""
        fx = es.mt.load_fixtures()
        for stype in sorted(fx):
            with self.subTest(type=stype):
                sub = fx[stype]["subscription"]
                x = fx[stype]["event"]
                body = {"subscription": dict(sub, transport={
                    "method": "webhook", "callback": self.st.callback}),
                    "event": x}
                since = self.st.sub.mark()
                raw, hd, mid = w.signed(body, stype=stype,
                                        version=sub["version"])
                a = self.st.post(raw, hd)
                self.assertEqual(a.status, 204, a)
                self.assertIn(stype, FIXTURE_TYPES)
                typ = FIXTURE_TYPES[stype]
                if typ is None:
                    self.assertEqual(x["type"], "cheer")
                    self.st.settle()
                    self.assertEqual(self.st.events_with_id(mid, since), [])
                    continue
                m = self.st.wait_id(mid, 10, since)
                # a whisper's channel is its recipient: cool_streamer here
                self.assertEqual(m.topic, T + typ)
                e = self.common(m, typ, mid, CH)
                if typ == "bits":
                    self.assertEqual(e["bits"], x["bits"])
                    es.check_user(self, e["user"], HV)

    def test_challenge_sample_echoed(self):
        s = w.sample("000-webhook_callback_verification-channel.cheer")
        body, hd, _mid = w.resign_sample(s)
        a = self.st.post(body, hd)
        self.assertEqual(a.status, 200, a)
        self.assertTrue(a.headers.get("content-type", "").startswith(
            "text/plain"), a.headers)
        self.assertEqual(a.body, s["body"]["challenge"].encode(),
                         "the challenge exactly: no quotes, no newline")

    def test_challenge_needs_signature(self):
        s = w.sample("000-webhook_callback_verification-channel.cheer")
        body, hd, _mid = w.resign_sample(s, secret="not-the-secret-0")
        a = self.st.post(body, hd)
        self.assertEqual(a.status, 403, a)
        self.assertNotIn(s["body"]["challenge"].encode(), a.body)

    def test_revocation_samples(self):
        for n in ("028-revocation-channel.cheer",
                  "029-revocation-channel.follow"):
            with self.subTest(sample=n):
                since = self.st.sub.mark()
                body, hd, mid = w.resign_sample(w.sample(n))
                a = self.st.post(body, hd)
                self.assertEqual(a.status, 204, a)
                self.st.settle()
                self.assertEqual(self.st.events_with_id(mid, since), [])
        self.st.br.wait_log(r"revocation for a subscription we do not hold",
                            5)

    def test_duplicate_fixed_id_published_once(self):
        s = w.sample("030-notification-channel.cheer-fixed-id-and-"
                     "timestamp")
        mid = "dup-" + os.urandom(6).hex()
        since = self.st.sub.mark()
        answers = []
        for _ in range(3):
            body, hd, _ = w.resign_sample(s, mid=mid)   # fresh timestamp
            answers.append(self.st.post(body, hd).status)
        self.assertEqual(answers, [204, 204, 204],
                         "a duplicate is answered 2xx (Twitch resends)")
        self.st.settle()
        self.assertEqual(len(self.st.events_with_id(mid, since)), 1)

    def test_captured_stale_timestamp(self):
        """Sample 030 as captured (2024 timestamp, original signature)."""
        s = w.sample("030-notification-channel.cheer-fixed-id-and-"
                     "timestamp")
        hd = {k: v for k, v in s["headers"].items()
              if k not in ("Host", "Content-Length", "Accept-Encoding")}
        since = self.st.sub.mark()
        a = self.st.post(s["body_raw"].encode(), hd)
        self.assertEqual(a.status, 403, a)
        self.st.settle()
        self.assertEqual(self.st.events_with_id(
            s["headers"]["Twitch-Eventsub-Message-Id"], since), [])

    def test_header_names_case_insensitive(self):
        ev = es.fixture("channel.cheer")
        for f in (str.lower, str.upper):
            with self.subTest(case=f.__name__):
                body, hd, mid = w.signed(w.notification_body(
                    "channel.cheer", ev))
                hd = {f(k): v for k, v in hd.items()}
                since = self.st.sub.mark()
                a = self.st.post(body, hd)
                self.assertEqual(a.status, 204, a)
                self.st.wait_id(mid, 10, since, T + "bits")

    def test_raw_body_whitespace(self):
        """The HMAC covers the bytes as sent: pretty-printed JSON with CRLF
        and tabs verifies; the event is the same."""
        ev = es.fixture("channel.cheer")
        raw = json.dumps(w.notification_body("channel.cheer", ev),
                         indent="\t").replace("\n", "\r\n") + "\r\n"
        body, hd, mid = w.signed(raw)
        since = self.st.sub.mark()
        a = self.st.post(body, hd)
        self.assertEqual(a.status, 204, a)
        m = self.st.wait_id(mid, 10, since, T + "bits")
        self.assertEqual(m.json()["bits"], ev["bits"])

    def test_metrics_count_received(self):
        before = w.metric(self.st.port, "twitch2mqtt_events_received_total",
                          source=w.WH_SOURCE, type="bits")
        self.st.settle()
        after = w.metric(self.st.port, "twitch2mqtt_events_received_total",
                         source=w.WH_SOURCE, type="bits")
        self.assertEqual(after, before + 1)


if __name__ == "__main__":
    h.main()
