"""Subscribing with "transport":"webhook" (CONTRACT 5, eventsub.md 3, 4):
EventSub subscriptions are created with the APP token, webhook.public_url
as callback and webhook.secret; the mock then POSTs a signed
webhook_callback_verification like Twitch, and the subscription moves from
webhook_callback_verification_pending to enabled when the exact challenge
comes back, which the control answer reports. Notifications from the mock
are published; a revocation drops the event and says so on
twitch/bridge/event; unsubscribe deletes at Twitch; on start the held
subscriptions are reconciled with Helix's list (adopted, re-created if
missing or broken, stale ones deleted, other callbacks left alone)."""

import time

import es_common as es
import harness as h
import wh_common as w
from es_common import CH

T = "twitch/cool_streamer/"
PENDING = "webhook_callback_verification_pending"


class WebhookSubsTest(w.WhCase):

    def app_token(self, r):
        info = self.st.mock.access.get(r.token)
        return info is not None and info["kind"] == "app"

    def posts(self, since=0):
        return self.st.mock.reqs("POST", "/helix/eventsub/subscriptions",
                                 since)

    def ours(self, status=None):
        """The mock's webhook subscriptions for this bridge's callback."""
        return [s for s in self.st.mock.webhook_subs(status=status)
                if s["transport"]["callback"] == self.st.callback]

    def keys(self, subs):
        return sorted(es.spec_key(s["type"], s["version"], s["condition"])
                      for s in subs)

    # ------------------------------------------------------------ tests
    def test_subscribe_verify_enable_notify(self):
        st = self.stack()
        mark = st.mock.mark()
        events = ["bits", "follow", "stream", "channel_points"]
        ans = st.subscribe(events, transport="webhook")
        self.ok_events(ans, events)
        posts = self.posts(mark)
        self.assertEqual(sorted(es.post_key(r) for r in posts),
                         es.expected_keys(events))
        for r in posts:
            self.assertEqual(r.status, 202, r)
            self.assertTrue(self.app_token(r), "created with the app token")
            self.assertEqual(r.json["transport"], {
                "method": "webhook", "callback": st.callback,
                "secret": w.SECRET})
        # each was verified by a signed challenge answered exactly (the
        # mock records it once it has read the answer: poll)
        h.wait_until(lambda: len(self.ours("enabled")) == len(posts) and
                     len(st.mock.verifications()) == len(posts), 5,
                     desc="the mock's verifications recorded")
        subs = self.ours()
        self.assertEqual(len(subs), len(posts))
        for s in subs:
            self.assertEqual(s["status"], "enabled", s)
            v = st.mock.verifications(s["id"])
            self.assertEqual(len(v), 1, v)
            self.assertTrue(v[0].ok, v)
            self.assertEqual(v[0].status, 200)
            self.assertEqual(v[0].text, v[0].challenge)
        # the user token was never spent on webhook subscriptions
        for r in st.mock.reqs(path="/helix/eventsub/subscriptions",
                              since=mark):
            self.assertTrue(self.app_token(r), r)
        # held and mirrored
        held = [s for s in st.held() if s["transport"] == "webhook"]
        self.assertEqual(len(held), 1, held)
        self.assertEqual(held[0]["channel"], CH)
        self.assertEqual(held[0]["events"], {e: "enabled" for e in events})
        # Twitch's notifications are published
        since = st.sub.mark()
        for typ, topic in (("channel.cheer", "bits"),
                           ("channel.follow", "follow"),
                           ("stream.online", "stream")):
            calls = st.mock.wh_notify(typ, es.fixture(typ))
            self.assertEqual(len(calls), 1, calls)
            self.assertEqual(calls[0].status, 204, calls)
            m = st.wait_id(calls[0].message_id, 10, since, T + topic)
            self.assertEqual(m.json()["source"], w.WH_SOURCE)
            self.assertEqual(m.json()["channel"], CH)
        es.check_no_leaks(self, st)
        self.assertNotIn(w.SECRET, st.br.log_text())

    def test_challenge_before_the_202(self):
        """Twitch may call before its 202 reaches the bridge."""
        st = self.stack()
        st.mock.webhook_verify_first = True
        ans = st.subscribe(["bits"], transport="webhook")
        self.ok_events(ans, ["bits"])
        h.wait_until(lambda: [s["status"] for s in self.ours()] ==
                     ["enabled"], 5, desc="the subscription enabled")

    def test_slow_verification_reports_pending_then_enabled(self):
        st = self.stack(mock_kw={"webhook_verify_delay": 12})
        t0 = time.monotonic()
        ans = st.subscribe(["bits"], transport="webhook", timeout=30)
        took = time.monotonic() - t0
        self.assertEqual(ans["data"]["events"], {"bits": PENDING}, ans)
        self.assertGreater(took, 8, "the answer waits for the challenge")
        self.assertLess(took, 12.5)
        h.wait_until(lambda: self.ours("enabled"), 10,
                     desc="the mock's challenge answered")
        h.wait_until(lambda: any(
            s["transport"] == "webhook" and s["events"] == {"bits":
                                                            "enabled"}
            for s in st.held()), 5, desc="the held status enabled")

    def test_pending_answer_is_not_an_error(self):
        """CONTRACT 5: status "error" is for failures ("failed: ..."); a
        subscription Twitch is still verifying has not failed. (control.c
        answers "error" for anything not "enabled".)"""
        st = self.stack(mock_kw={"webhook_verify_delay": 11})
        ans = st.subscribe(["bits"], transport="webhook", timeout=30)
        self.assertEqual(ans["data"]["events"], {"bits": PENDING}, ans)
        self.assertEqual(ans["status"], "ok", ans)

    def test_failed_verification_then_reconciled_on_restart(self):
        st = self.stack()
        # Twitch signs with a secret that is not ours: the bridge refuses
        # the challenge and the subscription fails verification
        st.mock.webhook_verify_secret = "another-secret-42"
        ans = st.subscribe(["bits"], transport="webhook", timeout=30)
        self.assertEqual(ans["data"]["events"], {"bits": PENDING}, ans)
        failed = self.ours("webhook_callback_verification_failed")
        self.assertEqual(len(failed), 1, self.ours())
        v = st.mock.verifications(failed[0]["id"])
        self.assertEqual(v[0].status, 403, v)
        self.assertGreaterEqual(w.rejected(st.port, "bad_signature"), 1)
        # after a restart the broken one is deleted and made again
        st.mock.webhook_verify_secret = None
        st.br.stop()
        mark = st.mock.mark()
        st.start_bridge()
        h.wait_until(lambda: self.ours("enabled"), 15,
                     desc="a new, verified subscription")
        self.assertEqual([s["id"] for s in st.mock.deleted_subs()],
                         [failed[0]["id"]])
        self.assertEqual(len(self.ours()), 1, self.ours())
        lists = st.mock.reqs("GET", "/helix/eventsub/subscriptions", mark)
        self.assertTrue(lists and all(self.app_token(r) for r in lists))

    def test_revocation(self):
        st = self.stack()
        self.ok_events(st.subscribe(["bits", "raid"], transport="webhook"),
                       ["bits", "raid"])
        cheer = self.ours()
        cheer = [s for s in cheer if s["type"] == "channel.cheer"][0]
        since = st.sub.mark()
        c = st.mock.wh_revoke(cheer["id"], "authorization_revoked")
        self.assertEqual(c.status, 204, c)
        d = st.wait_bridge_event("revoked", 10, since)
        es.check_bridge_event(self, d, "revoked", "cool_streamer")
        self.assertEqual(d["events"], ["bits"])
        self.assertEqual(d["source"], w.WH_SOURCE)
        self.assertIn("authorization_revoked", d["detail"])
        h.wait_until(lambda: any(
            s["transport"] == "webhook" and
            s["events"].get("bits", "").startswith("revoked") and
            s["events"].get("raid") == "enabled" for s in st.held()),
            5, desc="bits revoked, raid still enabled")
        # the same revocation again (a redelivery) is a duplicate
        self.assertEqual(len(st.bridge_events("revoked", since)), 1)

    def test_unsubscribe_deletes_at_twitch(self):
        st = self.stack()
        self.ok_events(st.subscribe(["bits", "follow"], transport="webhook"),
                       ["bits", "follow"])
        cheer = [s for s in self.ours() if s["type"] == "channel.cheer"][0]
        ans = st.request("unsubscribe", {"channel": "cool_streamer",
                                         "events": ["bits"],
                                         "transport": "webhook"})
        self.assertEqual(ans["status"], "ok", ans)
        self.assertEqual(ans["data"]["events"], {"bits": "removed"})
        h.wait_until(lambda: [s["id"] for s in st.mock.deleted_subs()]
                     == [cheer["id"]], 10, desc="DELETE of the cheer sub")
        self.assertEqual([s["type"] for s in self.ours()],
                         ["channel.follow"])
        dels = st.mock.reqs("DELETE", "/helix/eventsub/subscriptions")
        self.assertTrue(all(self.app_token(r) for r in dels), dels)

    def test_reconcile_on_start(self):
        st = self.stack(mock_kw={"list_page_size": 2})
        events = ["bits", "follow", "stream"]
        self.ok_events(st.subscribe(events, transport="webhook"), events)
        want = es.expected_keys(events)
        self.assertEqual(self.keys(self.ours()), want)
        st.br.stop()
        # meanwhile at Twitch: one gone, one broken, one stale, one of
        # another bridge
        by_type = {s["type"]: s for s in self.ours()}
        with st.mock.lock:
            del st.mock.subs[by_type["channel.cheer"]["id"]]
            st.mock.subs[by_type["stream.offline"]["id"]]["status"] = \
                "notification_failures_exceeded"
        stale = st.mock.add_webhook_sub(
            "channel.raid", "1", {"to_broadcaster_user_id": "1337"},
            st.callback)
        other = st.mock.add_webhook_sub(
            "channel.cheer", "1", {"broadcaster_user_id": "4242"},
            "https://other.example/webhook")
        kept = {by_type["channel.follow"]["id"],
                by_type["stream.online"]["id"]}
        mark = st.mock.mark()
        st.start_bridge()
        h.wait_until(lambda: self.keys(self.ours("enabled")) == want and
                     len(self.ours()) == len(want), 15,
                     desc="Twitch's list reconciled")
        deleted = {s["id"] for s in st.mock.deleted_subs()}
        self.assertEqual(deleted, {stale["id"],
                                   by_type["stream.offline"]["id"]})
        self.assertTrue(kept <= {s["id"] for s in self.ours()},
                        "working subscriptions are adopted, not re-made")
        self.assertIn(other["id"], {s["id"] for s in
                                    st.mock.webhook_subs()})
        made = self.posts(mark)
        self.assertEqual(sorted(es.post_key(r) for r in made), sorted(
            es.spec_key(t, v, c) for t, v, c in
            [("channel.cheer", "1", {"broadcaster_user_id": "1337"}),
             ("stream.offline", "1", {"broadcaster_user_id": "1337"})]))
        pages = st.mock.reqs("GET", "/helix/eventsub/subscriptions", mark)
        self.assertGreaterEqual(len(pages), 3, "every page of the list")
        held = [s for s in st.held() if s["transport"] == "webhook"]
        self.assertEqual(held[0]["events"], {e: "enabled" for e in events})

    def test_needs_public_url(self):
        st = self.stack(env={"TWITCH2MQTT_WEBHOOK_PUBLIC_URL": ""})
        mark = st.mock.mark()
        ans = st.subscribe(["bits"], transport="webhook")
        self.assertEqual(ans["status"], "error", ans)
        self.assertIn("webhook.public_url", ans["error"])
        self.assertEqual(self.posts(mark), [])


if __name__ == "__main__":
    h.main()
