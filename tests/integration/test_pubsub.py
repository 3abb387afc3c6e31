"""
PubSub transport: subscribe requests -> LISTEN frames (topic strings,
nonces, token), every example frame of pubsub.md and variants of every
kind -> the contract's events, unsubscribe -> UNLISTEN and closing the
empty connection.
"""

import json
import time
import unittest

import es_common as es
import harness as h
import ps_common as pc

ALL = ["bits", "bits_badge", "channel_points", "channel_points_update",
       "subscription", "moderation", "whisper"]


class PubSubTest(h.BridgeTestCase):

    def setUp(self):
        self.st = pc.PsStack()
        self.addCleanup(self.st.close)

    def subscribe_all(self):
        ans = self.st.subscribe_ps(ALL)
        self.assertEqual(ans["status"], "ok", ans)
        self.assertEqual(ans["data"]["events"], {e: "enabled" for e in ALL})
        self.assertEqual(ans["data"]["channel"], pc.CH)
        return ans

    def test_listen_frames(self):
        self.subscribe_all()
        ps = self.st.ps
        live = ps.live()
        self.assertEqual(len(live), 1, "one connection for one channel")
        ls = live[0].listens()
        self.assertEqual(len(ls), 1, "one LISTEN per token: %s" % ls)
        f = ls[0]
        self.assertIsInstance(f["nonce"], str)
        self.assertTrue(f["nonce"])
        self.assertEqual(f["data"]["auth_token"],
                         self.st.mock.current_tokens()[0])
        self.assertEqual(sorted(f["data"]["topics"]), sorted({
            "channel-bits-events-v2.1337",
            "channel-bits-badge-unlocks.1337",
            "channel-points-channel-v1.1337",
            "channel-subscribe-events-v1.1337",
            "chat_moderator_actions.1337.1337",
            "whispers.1337"}))
        self.assertEqual(live[0].responses, [(f["nonce"], "")])
        held = [s for s in self.st.held() if s["transport"] == "pubsub"]
        self.assertEqual(held[0]["events"], {e: "enabled" for e in ALL})
        # a second request for another channel packs into the same socket
        ans = self.st.subscribe_ps(["bits"], channel="happy_viewer")
        self.assertEqual(ans["status"], "ok", ans)
        self.assertEqual(len(ps.live()), 1)
        self.assertIn("channel-bits-events-v2.9001", ps.live()[0].topics)
        # moderator_id from the request names the moderation topic
        ans = self.st.subscribe_ps(["moderation"], channel="friendly_raider",
                                   moderator_id="5150")
        self.assertEqual(ans["status"], "ok", ans)
        ps.wait_topics(["chat_moderator_actions.5150.4242"])
        es.check_no_leaks(self, self.st)

    def send(self, event, inner, cid=pc.CID):
        n = self.st.ps.send(pc.topic(event, cid), inner)
        self.assertEqual(n, 1, "one connection holds %s" % event)

    def test_md_frames(self):
        self.subscribe_all()
        frames = pc.md_frames()
        self.assertEqual(len(frames), 6)
        kinds = ["bits", "bits_badge", "channel_points", "subscription",
                 "moderation", "whisper"]
        since = self.st.sub.mark()
        for kind, fr in zip(kinds, frames):
            self.send(kind, fr["data"]["message"])
        got = {}
        for kind in kinds:
            leaf = "mossy_owl" if kind == "whisper" else "cool_streamer"
            got[kind] = self.st.wait_ps_event("twitch/%s/%s" % (leaf, kind),
                                              since=since)
        b = got["bits"]
        pc.check_common(self, b, "bits")
        self.assertEqual(b["id"], "1f0c3a52-8b7e-5d21-9c4f-2a6e0b9d7c14")
        self.assertEqual(b["event_type"], "cheer")
        self.assertEqual(b["time"], "2024-11-02T19:04:11.512Z")
        self.assertEqual(b["user"], {"id": "41522301", "login": "pixelfox",
                                     "name": "pixelfox"})
        self.assertEqual((b["bits"], b["message"], b["anonymous"],
                          b["badge"]), (100, "Cheer100", False, None))
        g = got["bits_badge"]
        pc.check_common(self, g, "bits_badge")
        self.assertEqual((g["event_type"], g["tier"], g["message"]),
                         ("badge", 1000, "Finally the 1k badge!"))
        p = got["channel_points"]
        pc.check_common(self, p, "channel_points")
        self.assertEqual(p["id"], "e4a7c1d2-95b3-4f08-b6e2-3d1c7a9f5e20")
        self.assertEqual(p["event_type"], "hydrate")
        self.assertEqual(p["reward"], {
            "id": "7d0b7c5e-2f4a-4c1e-9a53-1c9e0f6b2a11",
            "title": "Hydrate!", "cost": 500,
            "prompt": "Make the streamer drink water"})
        self.assertEqual((p["redemption_id"], p["input"], p["status"]),
                         (p["id"], "extra ice please", "unfulfilled"))
        s = got["subscription"]
        pc.check_common(self, s, "subscription")
        self.assertEqual((s["event_type"], s["tier"], s["months"],
                          s["streak"], s["duration"], s["gift"], s["count"],
                          s["recipient"], s["message"], s["anonymous"]),
                         ("resub", "1000", 14, 6, 1, False, 1, None,
                          "14 months already riverHype", False))
        m = got["moderation"]
        pc.check_common(self, m, "moderation")
        self.assertEqual(m["event_type"], "ban")
        self.assertEqual(m["target"], {"id": "99004521",
                                       "login": "spambot_4521",
                                       "name": "spambot_4521"})
        self.assertEqual((m["reason"], m["duration"], m["args"]),
                         ("link spam", None, ["spambot_4521", "link spam"]))
        self.assertEqual(m["moderator"]["id"], "88112077")
        w = got["whisper"]
        pc.check_common(self, w, "whisper", channel={
            "id": "88112077", "login": "mossy_owl", "name": "Mossy_Owl"})
        self.assertEqual(w["id"], "a8e4d2c0-6b1f-4937-8e5a-2c7d9f0b1e34")
        self.assertEqual(w["message"], "are you streaming tonight?")
        self.assertEqual(w["user"]["login"], "pixelfox")
        # the same frames again: duplicates, dropped
        for kind, fr in zip(kinds, frames):
            self.send(kind, fr["data"]["message"])
        self.st.ps.send(pc.topic("bits"), {"data": {"user_id": "9",
                        "user_name": "x", "bits_used": 1},
                        "message_id": "sentinel"})
        self.st.wait_ps_event("twitch/cool_streamer/bits",
                              lambda e: e["id"] == "sentinel", since=since)
        self.assertEqual(len(self.st.ps_events(since=since)), 7,
                         "redelivered frames are dropped as duplicates")

    def test_variants(self):
        self.subscribe_all()
        since = self.st.sub.mark()
        cases = [
            ("bits", {"data": {"bits_used": 5, "chat_message": "Cheer5",
                               "is_anonymous": True},
                      "message_type": "bits_event", "message_id": "anon1",
                      "is_anonymous": True},
             "bits", lambda e: e["user"] is None and e["anonymous"]),
            ("bits", {"data": {"user_id": "9001", "user_name": "happy_viewer",
                               "bits_used": 1000, "badge_entitlement": {
                                   "new_version": 1000,
                                   "previous_version": 100}},
                      "message_id": "badge1"},
             "bits", lambda e: e["badge"] == {"tier": 1000,
                                              "previous_tier": 100}),
            ("channel_points_update", {
                "type": "redemption-status-update", "data": {
                    "timestamp": "2024-11-02T19:08:00Z", "redemption": {
                        "id": "red1", "user": {"id": "9001",
                                               "login": "happy_viewer",
                                               "display_name": "Happy_Viewer"},
                        "reward": {"id": "r", "title": "Hydrate!",
                                   "cost": 500},
                        "status": "ACTION_TAKEN"}}},
             "channel_points_update",
             lambda e: e["event_type"] == "action_taken" and
             e["redemption_id"] == "red1"),
            ("subscription", {"context": "anonsubgift", "is_gift": True,
                              "sub_plan": "1000", "recipient_id": "9001",
                              "recipient_user_name": "happy_viewer",
                              "recipient_display_name": "Happy_Viewer",
                              "multi_month_duration": 6},
             "subscription",
             lambda e: e["event_type"] == "gift" and e["user"] is None and
             e["anonymous"] and e["duration"] == 6 and
             e["recipient"]["id"] == "9001"),
            ("subscription", {"context": "subgift", "is_gift": True,
                              "user_id": "5150", "user_name": "helpful_mod",
                              "sub_plan": "Prime", "recipient_id": "9001",
                              "recipient_user_name": "happy_viewer"},
             "subscription",
             lambda e: e["user"]["login"] == "helpful_mod" and
             e["tier"] == "prime"),
            ("moderation", {"type": "moderator_removed", "data": {
                "target_user_id": "5150", "target_user_login": "helpful_mod",
                "moderation_action": "unmod", "created_by_user_id": "1337",
                "created_by": "cool_streamer"}},
             "moderation", lambda e: e["event_type"] == "unmod" and
             e["target"]["id"] == "5150"),
            ("moderation", {"type": "vip_added", "data": {
                "target_user_id": "9001", "target_user_login": "happy_viewer",
                "created_by_user_id": "1337", "created_by": "cool_streamer"}},
             "moderation", lambda e: e["event_type"] == "vip"),
            ("moderation", {"type": "channel_terms_action", "data": {
                "type": "add_blocked_term", "id": "t1", "text": "badword",
                "requester_id": "1337", "requester_login": "cool_streamer",
                "expires_at": "", "updated_at": "2024-11-02T19:00:00Z"}},
             "moderation", lambda e: e["event_type"] == "add_blocked_term"
             and e["args"] == ["badword"]),
            ("moderation", {"type": "deny_unban_request", "data": {
                "moderation_action": "DENY_UNBAN_REQUEST",
                "created_by_id": "1337", "created_by_login": "cool_streamer",
                "moderator_message": "no", "target_user_id": "6666",
                "target_user_login": "spammy_user"}},
             "moderation", lambda e: e["event_type"] == "deny_unban_request"
             and e["reason"] == "no"),
            ("moderation", {"type": "brand_new_kind", "data": {"x": 1}},
             "moderation", lambda e: e["event_type"] == "brand_new_kind" and
             e["data"] == {"x": 1}),
            ("whisper", {"type": "whisper_received", "data": json.dumps({
                "message_id": "wh2", "body": "hi", "from_id": 9001,
                "tags": {"login": "happy_viewer",
                         "display_name": "Happy_Viewer"},
                "recipient": {"id": 1337, "username": "cool_streamer",
                              "display_name": "Cool_Streamer"}})},
             "whisper", lambda e: e["id"] == "wh2" and
             e["channel"] == pc.CH and e["message"] == "hi"),
        ]
        for ev, inner, typ, pred in cases:
            self.send(ev, inner)
            e = self.st.wait_ps_event("twitch/cool_streamer/" + typ, pred,
                                      since=since, desc="%s %s" % (
                                          typ, json.dumps(inner)[:80]))
            pc.check_common(self, e, typ)
        # kinds that are not events: no crash, nothing published
        self.send("channel_points", {"type": "custom-reward-updated",
                                     "data": {"updated_reward": {}}})
        self.send("whisper", {"type": "whisper_sent", "data_object": {}})
        self.send("bits", {"data": {"user_id": "9", "bits_used": 1},
                           "message_id": "last"})
        self.st.wait_ps_event("twitch/cool_streamer/bits",
                              lambda e: e["id"] == "last", since=since)
        self.assertTrue(self.st.br.alive())

    def test_unsubscribe(self):
        self.subscribe_all()
        ps = self.st.ps
        c = ps.live()[0]
        ans = self.st.request("unsubscribe", {"channel": "cool_streamer",
                                              "transport": "pubsub",
                                              "events": ["bits"]})
        self.assertEqual(ans["status"], "ok", ans)
        ps.wait(lambda: any(u["data"]["topics"] ==
                            ["channel-bits-events-v2.1337"]
                            for u in c.unlistens()), desc="UNLISTEN bits")
        # channel_points_update still needs the shared topic
        ans = self.st.request("unsubscribe", {"channel": "cool_streamer",
                                              "transport": "pubsub",
                                              "events": ["channel_points"]})
        time.sleep(0.5)
        self.assertNotIn("channel-points-channel-v1.1337",
                         [t for u in c.unlistens()
                          for t in u["data"]["topics"]])
        ans = self.st.request("unsubscribe", {"channel": "cool_streamer",
                                              "transport": "pubsub"})
        self.assertEqual(ans["status"], "ok", ans)
        ps.wait(lambda: c.closed is not None, desc="the empty connection "
                "closed")
        self.assertEqual(ps.live(), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
