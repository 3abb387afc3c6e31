"""Legacy WebSub (CONTRACT 4-6, eventsub.md 7): the captured twitch-cli
requests (GET intent verification, follows, streams up, streams down)
replayed on the endpoint; "transport":"websub" subscribes each topic at
<twitch.api_url>/webhooks/hub (app token, a lease, the secret, a callback
of its own per channel and topic), the hub's GET is echoed, its
notifications (X-Hub-Signature over the raw body) become follow, stream
online / channel_update / stream offline and user_update events; a
denied subscription is logged and reported; unsubscribe says
hub.mode=unsubscribe; a lease is renewed before it ends."""

import urllib.parse

import es_common as es
import harness as h
import wh_common as w
from es_common import CH

T = "twitch/cool_streamer/"
EVENTS = ["follow", "stream", "user_update"]
WHICH = {"follow": "follows", "stream": "streams", "user_update": "users"}


def websub_headers(s):
    hd = {k: v for k, v in s["headers"].items()
          if k not in ("Host", "Content-Length", "Accept-Encoding")}
    return hd


class WebsubTest(w.WhCase):

    # ------------------------------------------------- captured requests
    def test_captured_requests(self):
        st = self.stack()
        # GET intent verification, as twitch-cli 1.1.1 sends it
        g = w.sample("003-GET-verification", "websub")
        a = st.get("/webhook?" + g["path"].split("?", 1)[1])
        self.assertEqual(a.status, 200, a)
        self.assertTrue(a.headers["content-type"].startswith("text/plain"))
        self.assertEqual(a.text, g["query"]["hub.challenge"])
        # the notifications, signed as captured, on a callback of ours
        f = w.sample("000-notification-follows", "websub")
        since = st.sub.mark()
        a = st.post(f["body_raw"].encode(), websub_headers(f),
                    "/webhook?channel=50051442&topic=follows")
        self.assertEqual(a.status, 204, a)
        nid = f["headers"]["Twitch-Notification-Id"]
        m = st.wait_id(nid, 10, since, "twitch/testbroadcaster/follow")
        e = m.json()
        d = f["body"]["data"][0]
        self.assertEqual(e["type"], "follow")
        self.assertEqual(e["event_type"], "follow")
        self.assertEqual(e["source"], w.WS_SOURCE)
        self.assertEqual(e["channel"]["id"], d["to_id"])
        self.assertEqual(e["user"], {"id": d["from_id"],
                                     "login": "testfromuser",
                                     "name": d["from_name"]})
        self.assertEqual(e["followed_at"], d["followed_at"])
        up = w.sample("001-notification-streams-up", "websub")
        a = st.post(up["body_raw"].encode(), websub_headers(up),
                    "/webhook?channel=25929816&topic=streams")
        self.assertEqual(a.status, 204, a)
        m = st.wait_id(up["headers"]["Twitch-Notification-Id"], 10, since,
                       "twitch/testbroadcaster/stream")
        self.assertEqual(m.json()["event_type"], "online")
        self.assertEqual(m.json()["started_at"],
                         up["body"]["data"][0]["started_at"])
        # replayed: a duplicate
        a = st.post(up["body_raw"].encode(), websub_headers(up),
                    "/webhook?channel=25929816&topic=streams")
        self.assertEqual(a.status, 204, a)
        # altered: refused
        a = st.post(up["body_raw"].encode().replace(b"85019", b"85018"),
                    websub_headers(up),
                    "/webhook?channel=25929816&topic=streams")
        self.assertEqual(a.status, 403, a)
        st.settle()
        self.assertEqual(len(st.events_with_id(
            up["headers"]["Twitch-Notification-Id"], since)), 1)
        # without our topic argument it cannot be attributed
        dn = w.sample("002-notification-streams-down", "websub")
        a = st.post(dn["body_raw"].encode(), websub_headers(dn), "/webhook")
        self.assertEqual(a.status, 400, a)

    def test_signature_required(self):
        st = self.stack()
        body = b'{"data":[]}'
        q = "/webhook?channel=1337&topic=streams"
        for hd, reason in (({}, "missing_headers"),
                           ({"X-Hub-Signature": w.hub_sign("wrong-secret-1",
                                                           body)},
                            "bad_signature"),
                           ({"X-Hub-Signature": "sha256=zz"},
                            "bad_signature")):
            with self.subTest(reason=reason, headers=hd):
                before = w.rejected(st.port, reason)
                a = st.post(body, dict(hd, **{"Content-Type":
                                              "application/json"}), q)
                self.assertEqual(a.status, 403, a)
                self.assertEqual(w.rejected(st.port, reason), before + 1)
        # the test vector of eventsub.md 7
        self.assertEqual(w.hub_sign(w.SECRET, body), "sha256=08e82296b2f0"
                         "21120cdad86a04f9e97b97e67ee00698266465a76e1c7853abb"
                         "e")

    # ------------------------------------------------------ the hub
    def subscribe_all(self, st):
        mark = st.mock.mark()
        ans = st.subscribe(EVENTS, transport="websub", timeout=30)
        return ans, mark

    def test_subscribe_notify_unsubscribe(self):
        st = self.stack()
        ans, mark = self.subscribe_all(st)
        self.ok_events(ans, EVENTS)
        posts = st.mock.hub_posts(mark)
        self.assertEqual(len(posts), 3, posts)
        api = st.mock.base + "/helix"
        want = {
            "follows": api + "/users/follows?first=1&to_id=1337",
            "streams": api + "/streams?user_id=1337",
            "users": api + "/users?id=1337"}
        for r in posts:
            p = r.json
            self.assertTrue(st.mock.access[r.token]["kind"] == "app", r)
            which = urllib.parse.parse_qs(urllib.parse.urlsplit(
                p["hub.callback"]).query)["topic"][0]
            self.assertEqual(p["hub.callback"], st.callback +
                             "?channel=1337&topic=" + which)
            self.assertEqual(p["hub.mode"], "subscribe")
            self.assertEqual(p["hub.topic"], want[which])
            self.assertGreater(int(p["hub.lease_seconds"]), 0)
            self.assertEqual(p["hub.secret"], w.SECRET)
        checks = h.wait_until(
            lambda: len(st.mock.hub_checks("subscribe")) == 3 and
            st.mock.hub_checks("subscribe"), 5, desc="three hub checks")
        self.assertTrue(all(c.ok for c in checks), checks)
        self.assertEqual(len(st.mock.leases()), 3)
        held = [s for s in st.held() if s["transport"] == "websub"]
        self.assertEqual(held[0]["events"], {e: "enabled" for e in EVENTS})

        since = st.sub.mark()
        # follows -> follow
        c = st.mock.websub_notify("follows", "1337", [{
            "from_id": "9001", "from_login": "happy_viewer",
            "from_name": "Happy_Viewer", "to_id": "1337",
            "to_login": "cool_streamer", "to_name": "Cool_Streamer",
            "followed_at": "2026-11-21T20:15:07Z"}])
        self.assertEqual(c.status, 204, c)
        e = st.wait_id(c.message_id, 10, since, T + "follow").json()
        self.assertEqual(e["channel"], CH)
        self.assertEqual(e["source"], w.WS_SOURCE)
        es.check_user(self, e["user"], es.HV)
        # streams, not live -> stream online, state live
        live = dict(w.sample("001-notification-streams-up",
                             "websub")["body"]["data"][0],
                    user_id="1337", user_login="cool_streamer",
                    user_name="Cool_Streamer", title="Smart home night",
                    game_name="Science & Technology")
        c = st.mock.websub_notify("streams", "1337", [live])
        e = st.wait_id(c.message_id, 10, since, T + "stream").json()
        self.assertEqual(e["event_type"], "online")
        self.assertEqual(e["channel"], CH)
        st.sub.wait_topic(T + "state", 10, since, pred=lambda m:
                          m.json().get("live") is True)
        # streams while live -> channel_update
        c = st.mock.websub_notify("streams", "1337",
                                  [dict(live, title="New title")])
        e = st.wait_id(c.message_id, 10, since, T + "channel_update").json()
        self.assertEqual(e["event_type"], "update")
        self.assertEqual(e["title"], "New title")
        # streams empty -> stream offline (attributed by the callback)
        mark_s = st.sub.mark()
        c = st.mock.websub_notify("streams", "1337", [], link=False)
        e = st.wait_id(c.message_id, 10, since, T + "stream").json()
        self.assertEqual(e["event_type"], "offline")
        st.sub.wait_topic(T + "state", 10, mark_s, pred=lambda m:
                          m.json().get("live") is False)
        # users -> user_update
        c = st.mock.websub_notify("users", "1337", [{
            "id": "1337", "login": "cool_streamer",
            "display_name": "Cool_Streamer", "type": "",
            "broadcaster_type": "affiliate",
            "description": "New bio", "profile_image_url": "",
            "offline_image_url": "", "view_count": 0}])
        e = st.wait_id(c.message_id, 10, since, T + "user_update").json()
        self.assertEqual(e["description"], "New bio")
        self.assertEqual(e["login"], "cool_streamer")
        # a redelivery (same notification id) is dropped
        c2 = st.mock.websub_notify("users", "1337", [{"id": "1337"}],
                                   notification_id=c.message_id)
        self.assertEqual(c2.status, 204)
        st.settle()
        self.assertEqual(len(st.events_with_id(c.message_id, since)), 1)

        # unsubscribe: hub.mode=unsubscribe for that callback and topic
        mark = st.mock.mark()
        ans = st.request("unsubscribe", {"channel": "cool_streamer",
                                         "events": ["follow"],
                                         "transport": "websub"})
        self.assertEqual(ans["status"], "ok", ans)
        h.wait_until(lambda: st.mock.hub_posts(mark, "unsubscribe"), 10,
                     desc="an unsubscribe at the hub")
        p = st.mock.hub_posts(mark, "unsubscribe")[0].json
        self.assertEqual(p["hub.topic"], want["follows"])
        self.assertEqual(p["hub.callback"],
                         st.callback + "?channel=1337&topic=follows")
        h.wait_until(lambda: len(st.mock.leases()) == 2, 10,
                     desc="the hub's unsubscribe verified")
        self.assertTrue(st.mock.hub_checks("unsubscribe")[0].ok)

    def test_denied(self):
        st = self.stack()
        st.mock.deny_websub("/streams?", "unauthorized client")
        since = st.sub.mark()
        ans, _ = self.subscribe_all(st)
        d = st.wait_bridge_event("revoked", 10, since)
        es.check_bridge_event(self, d, "revoked", "cool_streamer")
        self.assertEqual(d["source"], w.WS_SOURCE)
        self.assertEqual(d["events"], ["stream"])
        self.assertIn("unauthorized client", d["detail"])
        st.br.wait_log(r"denied .*streams.*unauthorized client", 5)
        den = h.wait_until(lambda: st.mock.hub_checks("denied"), 5,
                           desc="the hub's denial answered")
        self.assertEqual(len(den), 1, den)
        self.assertEqual(den[0].status, 200, den)

        def held():
            s = [x for x in st.held() if x["transport"] == "websub"]
            return s and s[0]["events"]
        ev = h.wait_until(lambda: held() if held() and held()["follow"]
                          == "enabled" and held()["stream"].startswith(
                              "failed") else None, 10,
                          desc="stream failed, follow enabled: %s"
                          % (held(),))
        self.assertIn("denied", ev["stream"])
        self.assertEqual(ev["user_update"], "enabled")
        self.assertEqual(ans["data"]["events"]["follow"], "enabled", ans)

    def test_lease_renewed_before_it_ends(self):
        """The hub grants shorter leases than asked (hub.lease_seconds in
        its GET): the bridge renews within it, and the renewal is
        verified like the first subscription."""
        st = self.stack(mock_kw={"hub_lease_grant": 4})
        ans = st.subscribe(["follow"], transport="websub", timeout=30)
        self.assertEqual(ans["data"]["events"], {"follow": "enabled"}, ans)
        first = h.wait_until(lambda: st.mock.hub_checks("subscribe"), 5,
                             desc="the hub's check recorded")
        self.assertEqual(len(first), 1)
        self.assertEqual(first[0].lease, 4)
        h.wait_until(lambda: len(st.mock.hub_checks("subscribe")) >= 3,
                     15, desc="two renewals of a 4 s lease")
        checks = st.mock.hub_checks("subscribe")
        for a, b in zip(checks, checks[1:]):
            self.assertLess(b.t - a.t, 4, "renewed before the lease ended: "
                            "%s" % [c.t for c in checks])
            self.assertGreater(b.t - a.t, 1, "not a renewal storm")
        self.assertTrue(all(c.ok for c in checks))
        self.assertEqual(len(st.mock.leases()), 1)
        held = [s for s in st.held() if s["transport"] == "websub"]
        self.assertEqual(held[0]["events"], {"follow": "enabled"})


if __name__ == "__main__":
    h.main()
