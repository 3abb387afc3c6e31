"""
PubSub connections: the pool (60 topics -> 50 + 10), PING/PONG and a
missing PONG, RECONNECT with an overlap, a dropped socket, ERR_BADAUTH
(auth_failed, refresh, retry; failed: bad auth without a refresh),
ERR_BADTOPIC / ERR_SERVER, and garbage frames the connection survives.
"""

import json
import time
import unittest

import es_common as es
import harness as h
import ps_common as pc

FIVE = ["bits", "bits_badge", "channel_points", "subscription", "moderation"]


class PubSubConnTest(h.BridgeTestCase):

    def stack(self, args=("-v",)):
        st = pc.PsStack(args=args)
        self.addCleanup(st.close)
        return st

    def subscribe(self, st, events=("bits",)):
        ans = st.subscribe_ps(list(events))
        self.assertEqual(ans["status"], "ok", ans)
        st.ps.wait_topics([pc.topic(e) for e in events])

    def counter(self, st, name):
        ans = st.request("health", {})
        return ans["data"]["counters"].get(name, 0)

    def test_pool_60_topics(self):
        st = self.stack()
        for i in range(12):
            ans = st.request("subscribe", {
                "channel": "chan_%02d" % i, "channel_id": str(700000 + i),
                "transport": "pubsub", "events": FIVE})
            self.assertEqual(ans["status"], "ok", ans)
            self.assertEqual(set(ans["data"]["events"].values()),
                             {"enabled"}, ans)
        topics = [pc.topic(e, str(700000 + i)) for i in range(12)
                  for e in FIVE]
        self.assertEqual(len(set(topics)), 60)
        st.ps.wait_topics(topics)
        live = st.ps.live()
        self.assertEqual(sorted(len(c.topics) for c in live), [10, 50],
                         "60 topics packed into 50 + 10: %s" % live)
        self.assertEqual(len(st.ps.conns), 2, "no connection per request")
        # every LISTEN frame: nonce answered, at most 50 topics
        for c in live:
            nonces = [f["nonce"] for f in c.listens()]
            self.assertEqual(len(nonces), len(set(nonces)))
            self.assertEqual(sorted(n for n, _ in c.responses),
                             sorted(nonces))

    def test_ping_and_missing_pong(self):
        st = self.stack(args=("-v", "--pubsub-ping", "1000",
                              "--pubsub-pong", "800"))
        self.subscribe(st)
        c = st.ps.live()[0]
        st.ps.wait(lambda: len(c.pings) >= 2, desc="two PINGs")
        gaps = [b - a for a, b in zip(c.pings, c.pings[1:])]
        self.assertTrue(all(0.7 < g < 1.5 for g in gaps), gaps)
        since = st.sub.mark()
        st.ps.set_pong(False)
        st.ps.wait(lambda: c.closed is not None, 5, "the bridge closing a "
                   "connection without PONG")
        st.ps.set_pong(True)
        st.ps.wait_topics([pc.topic("bits")], 10)
        d = st.wait_bridge_event("reconnect", since=since)
        es.check_bridge_event(self, d, "reconnect")
        self.assertEqual(d["source"], "pubsub")
        st.ps.send(pc.topic("bits"), pc.bits("after-pong"))
        st.wait_ps_event("twitch/cool_streamer/bits",
                         lambda e: e["id"] == "after-pong")

    def test_reconnect_overlap(self):
        st = self.stack()
        self.subscribe(st, ["bits", "subscription"])
        old = st.ps.live()[0]
        since = st.sub.mark()
        # the new socket's LISTEN is answered late: an overlap to test in
        st.ps.response_delay = 1.5
        st.ps.reconnect(old)
        # the old socket still delivers while the new one LISTENs
        st.ps.send(pc.topic("bits"), pc.bits("during-1"), conns=[old])
        new = st.ps.wait(lambda: [c for c in st.ps.live() if c is not old
                                  and c.listens()], desc="a LISTEN on a "
                         "new connection")[0]
        self.assertIsNone(old.closed, "the old socket stays until the new "
                          "one is confirmed")
        # both sockets carry the same message: published once
        st.ps.send(pc.topic("bits"), pc.bits("both"), conns=[old, new])
        st.ps.wait(lambda: old.closed is not None, desc="the old "
                   "connection closed")
        listened = min(t for t, f in new.frames
                       if isinstance(f, dict) and f.get("type") == "LISTEN")
        self.assertLess(listened, old.closed, "LISTEN on the new socket "
                        "before the old one closed")
        self.assertEqual(sorted(new.topics), sorted(
            [pc.topic("bits"), pc.topic("subscription")]))
        st.ps.response_delay = 0
        st.ps.send(pc.topic("bits"), pc.bits("after"))
        st.wait_ps_event("twitch/cool_streamer/bits",
                         lambda e: e["id"] == "after", since=since)
        ids = [m.json()["id"] for m in st.ps_events("bits", since)]
        self.assertEqual(ids.count("during-1"), 1, ids)
        self.assertEqual(ids.count("both"), 1, ids)
        self.assertEqual(ids.count("after"), 1, ids)
        d = st.wait_bridge_event("reconnect", since=since)
        self.assertEqual(d["source"], "pubsub")

    def test_drop_back_within_seconds(self):
        st = self.stack()
        self.subscribe(st, ["bits", "moderation"])
        c = st.ps.live()[0]
        since = st.sub.mark()
        t0 = time.monotonic()
        st.ps.drop(c)
        st.ps.wait(lambda: [x for x in st.ps.live() if x is not c and
                            len(x.topics) == 2], 10, "re-LISTEN")
        self.assertLess(time.monotonic() - t0, 5)
        st.wait_bridge_event("reconnect", since=since)
        st.ps.send(pc.topic("bits"), pc.bits("back"))
        st.wait_ps_event("twitch/cool_streamer/bits",
                         lambda e: e["id"] == "back")
        # a mock that is gone for a while: back soon after it returns
        self.assertTrue(st.br.alive())

    def test_badauth_refresh_retry(self):
        st = self.stack()
        self.subscribe(st, ["bits", "whisper"])
        first = st.mock.current_tokens()[0]
        st.mock.invalidate_access()
        since = st.sub.mark()
        mark = st.mock.mark()
        st.ps.drop(st.ps.live()[0])
        d = st.wait_bridge_event("auth_failed", since=since)
        es.check_bridge_event(self, d, "auth_failed", channel="cool_streamer")
        self.assertEqual(d["source"], "pubsub")
        self.assertTrue(set(d["events"]) & {"bits", "whisper"}, d)
        self.assertNotIn(first, json.dumps(d))
        st.ps.wait_topics([pc.topic("bits"), pc.topic("whisper")], 15)
        new = st.mock.current_tokens()[0]
        self.assertNotEqual(new, first)
        self.assertTrue(st.mock.token_reqs("refresh_token", mark))
        good = [f for c in st.ps.live() for f in c.listens()
                if f["data"]["auth_token"] == new]
        self.assertTrue(good, "LISTEN again with the refreshed token")
        st.ps.send(pc.topic("bits"), pc.bits("after-refresh"))
        st.wait_ps_event("twitch/cool_streamer/bits",
                         lambda e: e["id"] == "after-refresh")
        es.check_no_leaks(self, st)

    def test_badauth_without_refresh(self):
        st = self.stack()
        self.subscribe(st, ["bits"])
        st.mock.invalidate_access()
        st.mock.expire_refresh()
        since = st.sub.mark()
        st.ps.drop(st.ps.live()[0])
        st.wait_bridge_event("auth_failed", since=since)

        def failed():
            s = [x for x in st.held() if x["transport"] == "pubsub"]
            return s and s[0]["events"]["bits"].startswith("failed: bad auth")
        deadline = time.monotonic() + 10
        while not failed():
            self.assertLess(time.monotonic(), deadline, st.held())
            time.sleep(0.2)
        n = len([f for c in st.ps.conns for f in c.listens()])
        time.sleep(2)
        self.assertEqual(n, len([f for c in st.ps.conns
                                 for f in c.listens()]), "no LISTEN loop")
        # a new request with a new token: LISTENed again
        with st.mock.lock:
            tok = st.mock._new_access("1337")
        ans = st.subscribe_ps(["bits"], token=tok)
        self.assertEqual(ans["status"], "ok", ans)
        self.assertEqual(ans["data"]["events"]["bits"], "enabled")
        self.assertNotIn(tok, json.dumps(ans))

    def test_listen_errors(self):
        st = self.stack()
        st.ps.fail_listen("ERR_BADTOPIC", 1, prefix="channel-bits-badge")
        ans = st.subscribe_ps(["bits_badge"])
        self.assertEqual(ans["status"], "error", ans)
        self.assertIn("ERR_BADTOPIC", ans["data"]["events"]["bits_badge"])
        st.ps.fail_listen("ERR_SERVER", 1, prefix="channel-bits-events")
        ans = st.subscribe_ps(["bits"])
        self.assertEqual(ans["data"]["events"]["bits"], "enabled", ans)
        rs = [e for c in st.ps.conns for _, e in c.responses]
        self.assertIn("ERR_SERVER", rs)

    def test_garbage_frames(self):
        st = self.stack()
        self.subscribe(st)
        c = st.ps.live()[0]
        before = self.counter(st, "events_dropped_total")
        t = pc.topic("bits")
        junk = [
            "not json at all",
            "{\"type\":\"MESSAGE\"}",
            json.dumps({"type": "MESSAGE", "data": {"topic": t,
                                                    "message": "{oops"}}),
            json.dumps({"type": "MESSAGE", "data": {"topic": t, "message":
                        json.dumps(json.dumps(pc.bits("double")))}}),
            json.dumps({"type": "MESSAGE", "data": {"topic": t,
                                                    "message": 42}}),
            "{\"type\":\"MESSAGE\",\"data\":{\"topic\":\"" + t +
            "\",\"message\":\"" + "A" * (1024 * 1024) + "\"}}",
            "[" * 100000,
        ]
        for j in junk:
            st.ps.send_raw(c, j)
        st.ps.send(t, pc.bits("survivor"))
        st.wait_ps_event("twitch/cool_streamer/bits",
                         lambda e: e["id"] == "survivor", timeout=15)
        self.assertIsNone(c.closed, "the connection stays up")
        self.assertEqual(len(st.ps.conns), 1)
        after = self.counter(st, "events_dropped_total")
        self.assertGreaterEqual(after - before, len(junk), (before, after))
        self.assertTrue(st.br.alive())


if __name__ == "__main__":
    unittest.main(verbosity=2)
