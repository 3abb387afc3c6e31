"""EventSub over WebSocket, subscribing (CONTRACT 3, 5; twitch/eventsub.md
2.1-2.3, 4.1, 4.5): the bridge connects to twitch.eventsub_url only while a
websocket subscription is held, resolves the channel with Helix, creates
one subscription per EventSub type with the welcome's session id inside
the keepalive window, and answers per event.

Other files: test_eventsub_ws_events.py (every event on MQTT),
test_eventsub_ws_reconnect.py (session_reconnect, keepalive, ping),
test_eventsub_ws_close.py (close codes), test_eventsub_ws_auth.py
(revocation, token refresh, secrets)."""

import time

import es_common as es
import harness as h
from es_common import CH, EsCase


class SubscribeTest(EsCase):

    def test_lazy_connect_default_events_exact_bodies(self):
        st = self.stack()
        mock = st.mock
        # Nothing held: no connection to eventsub_url.
        time.sleep(1.5)
        self.assertEqual(mock.connections(), [],
                         "the bridge connected to eventsub_url while no "
                         "websocket subscription is held")
        mark = mock.mark()
        t0 = time.monotonic()
        # transport websocket is the default; events default to six.
        ans = st.subscribe(transaction="t-ws-1")
        self.assertEqual(ans.get("transaction"), "t-ws-1")
        self.ok_events(ans, h.DEFAULT_EVENTS)

        conns = mock.connections(t0)
        self.assertEqual(len(conns), 1, "one EventSub connection: %s" % conns)
        c = conns[0]
        self.assertEqual(c.path_qs, st.base_path,
                         "connected to eventsub_url exactly")
        self.assertIsNone(c.closed, "connection still open: %r" % c)
        # login -> id with Helix, Bearer user token and Client-Id
        users = mock.reqs("GET", "/helix/users", mark)
        self.assertTrue(users, "no GET /helix/users")
        self.assertEqual(users[0].q("login"), ["cool_streamer"])
        self.assertEqual(users[0].status, 200)
        self.assertEqual(users[0].headers.get("client-id"), mock.client_id)
        self.assertEqual(users[0].headers.get("authorization"),
                         "Bearer " + mock.access_token)
        posts = st.wait_posts(c.session_id,
                              es.expected_keys(h.DEFAULT_EVENTS), 5, mark)
        for r in posts:
            self.assertEqual(r.json["transport"],
                             {"method": "websocket",
                              "session_id": c.session_id},
                             "transport of %s" % r)
            self.assertEqual(sorted(r.json), ["condition", "transport",
                                              "type", "version"],
                             "body members of %s" % r)
            self.assertEqual(r.headers.get("client-id"), mock.client_id)
            self.assertIn("application/json", r.headers.get("content-type",
                                                            ""))
            self.assertLess(r.t - c.welcomed, c.keepalive,
                            "subscription created inside the keepalive "
                            "window after the welcome")
        self.assertEqual(mock.sub_posts(mark, ok=False), [],
                         "no failed POST")
        # availability, subscriptions mirror
        m = st.sub.wait_topic("twitch/cool_streamer/availability", 5,
                              pred=lambda m: m.text == "online")
        self.assertTrue(m.retain, "availability is retained")
        held = st.held_ws()
        self.assertIsNotNone(held, "subscriptions lists the websocket "
                             "subscription: %s" % st.held())
        self.assertEqual(held["channel"], CH)
        self.assertEqual(held["events"],
                         {e: "enabled" for e in h.DEFAULT_EVENTS})
        r = h.wait_until(
            lambda: (lambda x: x if x is not None and any(
                s.get("transport") == "websocket" and
                s["channel"]["login"] == "cool_streamer"
                for s in x.json()) else None)(
                h.retained(st.broker.port, "twitch/bridge/subscriptions", 2)),
            8, desc="retained twitch/bridge/subscriptions with the "
            "websocket subscription")
        self.assertIn(held, r.json())

        # Unsubscribing everything: answer removed, offline, socket closed
        # by the client (it connects only while something is held).
        mark2 = st.sub.mark()
        ans = st.request("unsubscribe", {"channel": "cool_streamer",
                                         "transport": "websocket"})
        self.assertEqual(ans.get("status"), "ok", ans)
        self.assertEqual(ans["data"]["events"],
                         {e: "removed" for e in h.DEFAULT_EVENTS})
        st.sub.wait_topic("twitch/cool_streamer/availability", 5, mark2,
                          pred=lambda m: m.text == "offline" and m.retain)
        h.wait_until(lambda: c.closed is not None, 10,
                     desc="the bridge to close the EventSub socket once "
                     "nothing is held")
        # (a close frame is what RFC 6455 asks for; a bare TCP close from
        # the client is accepted here)
        self.assertIn(c.close_by, ("client", "client-drop"), c)
        self.assertIsNone(st.held_ws())
        es.check_no_violations(self, st)
        es.check_no_leaks(self, st)
        self.assertEqual(mock.unknown_reqs(), [], "requests to paths "
                         "Twitch does not have")

    def test_unknown_channel(self):
        st = self.stack()
        mark = st.mock.mark()
        ans = st.subscribe(["bits"], channel="no_such_streamer")
        self.assertEqual(ans.get("status"), "error", ans)
        self.assertIn("no_such_streamer", ans.get("error", ""),
                      "the error names the channel")
        self.assertIn("data", ans)
        self.assertEqual(st.mock.sub_posts(mark), [],
                         "no subscription created for an unknown channel")
        self.assertEqual([s for s in st.held()
                          if s["channel"]["login"] == "no_such_streamer"],
                         [], "nothing held for an unknown channel")
        q = st.mock.reqs("GET", "/helix/users", mark)
        self.assertTrue(q and q[0].q("login") == ["no_such_streamer"], q)

    def test_channel_id_skips_login_lookup(self):
        st = self.stack()
        mark = st.mock.mark()
        ans = st.subscribe(["bits"], channel_id="1337")
        self.assertEqual(ans.get("status"), "ok", ans)
        self.assertEqual(ans["data"]["events"], {"bits": "enabled"})
        ch = ans["data"]["channel"]
        self.assertEqual(list(ch), ["id", "login", "name"])
        self.assertEqual((ch["id"], ch["login"]), ("1337", "cool_streamer"))
        # Without a lookup the display name may be unknown: the login
        # stands in for it.
        self.assertIn(ch["name"], ("Cool_Streamer", "cool_streamer"), ch)
        lookups = [r for r in st.mock.reqs("GET", "/helix/users", mark)
                   if r.q("login")]
        self.assertEqual(lookups, [], "channel_id given: no lookup by "
                         "login")
        c = st.mock.current()
        st.wait_posts(c.session_id, es.expected_keys(["bits"]), 5, mark)

    def test_helix_403_fails_only_that_event(self):
        st = self.stack()
        st.mock.fail_type("channel.follow", 403,
                          "subscription missing proper authorization")
        ans = st.subscribe(["bits", "follow", "raid"])
        self.assertEqual(ans.get("status"), "error", ans)
        self.assertIsInstance(ans.get("error"), str)
        self.assertTrue(ans["error"].strip())
        ev = ans["data"]["events"]
        self.assertEqual(ev.get("bits"), "enabled", ans)
        self.assertEqual(ev.get("raid"), "enabled", ans)
        f = ev.get("follow", "")
        self.assertTrue(f.startswith("failed: "), "follow: %r" % f)
        self.assertRegex(f.lower(), r"403|missing proper authorization")
        self.assertEqual(ans["data"]["channel"], CH)
        # Whatever is held is consistent with the answer.
        held = st.held_ws()
        if held is not None:
            self.assertEqual(held["events"].get("bits"), "enabled", held)
            self.assertNotEqual(held["events"].get("follow"), "enabled",
                                held)

    def test_other_channel_uses_its_id(self):
        # Types needing no authorization work for any channel, with that
        # channel's id in the condition (user.update: user_id of it).
        st = self.stack()
        mark = st.mock.mark()
        evs = ["stream", "channel_update", "raid", "user_update"]
        ans = st.subscribe(evs, channel="happy_viewer")
        self.assertEqual(ans.get("status"), "ok", ans)
        self.assertEqual(ans["data"]["channel"], es.HV)
        self.assertEqual(ans["data"]["events"], {e: "enabled" for e in evs})
        c = st.mock.current()
        st.wait_posts(c.session_id, es.expected_keys(evs, bid="9001"), 5,
                      mark)
        # bits needs the broadcaster's authorization: Twitch says 403.
        ans = st.subscribe(["bits"], channel="happy_viewer")
        self.assertEqual(ans.get("status"), "error", ans)
        self.assertTrue(ans["data"]["events"]["bits"].startswith("failed:"),
                        ans)

    def test_second_subscribe_reuses_the_session(self):
        st = self.stack()
        t0 = time.monotonic()
        self.ok_events(st.subscribe(["bits"]), ["bits"])
        c = st.mock.current()
        mark = st.mock.mark()
        ans = st.subscribe(["raid", "stream"], channel="happy_viewer")
        self.assertEqual(ans.get("status"), "ok", ans)
        st.wait_posts(c.session_id, es.expected_keys(["raid", "stream"],
                                                     bid="9001"), 5, mark)
        self.assertEqual(len(st.mock.connections(t0)), 1,
                         "one connection for both channels")
        # unsubscribing one event deletes its subscription or at least
        # stops its events
        sub_id = st.mock.subscriptions("channel.cheer")[0]["id"]
        ans = st.request("unsubscribe", {"channel": "cool_streamer",
                                         "events": ["bits"]})
        self.assertEqual(ans.get("status"), "ok", ans)
        deleted = [s["id"] for s in st.mock.deleted_subs()]
        if sub_id not in deleted:
            since = st.sub.mark()
            r = st.mock.notify("channel.cheer", es.fixture("channel.cheer"),
                               sessions=[c])
            self.assertTrue(r)
            ev = es.fixture("stream.online")
            ev.update(broadcaster_user_id="9001",
                      broadcaster_user_login="happy_viewer",
                      broadcaster_user_name="Happy_Viewer")
            s2 = st.notify("stream.online", ev)
            st.wait_event("twitch/happy_viewer/stream", s2.message_id, 10,
                          since)
            self.assertEqual(st.sub.find(
                lambda m: m.topic == "twitch/cool_streamer/bits", since),
                [], "bits published after unsubscribing bits")
        self.assertIsNone(c.closed, "the connection stays: happy_viewer is "
                          "still held")
        es.check_no_violations(self, st)

    def test_channels_from_configuration(self):
        # channels (here TWITCH2MQTT_CHANNELS) are held from the start; the
        # transport defaults to websocket.
        st = self.stack(env={"TWITCH2MQTT_CHANNELS": "cool_streamer:bits+raid"})
        c = st.wait_conn(0, 15, desc="a connection for the configured "
                         "channels")
        self.assertEqual(c.path_qs, st.base_path)
        st.wait_posts(c.session_id, es.expected_keys(["bits", "raid"]), 10)
        held = h.wait_until(st.held_ws, 10, desc="cool_streamer held")
        self.assertEqual(held["events"], {"bits": "enabled",
                                          "raid": "enabled"})
        r = st.notify("channel.raid", es.fixture("channel.raid"))
        st.wait_event("twitch/cool_streamer/raid", r.message_id)

    def test_restored_after_restart(self):
        st = self.stack()
        evs = ["bits", "raid"]
        self.ok_events(st.subscribe(evs), evs)
        c1 = st.mock.current()
        self.assertEqual(st.br.stop(), 0)
        h.wait_until(lambda: c1.closed is not None, 5,
                     desc="the EventSub socket closed when the bridge exits")
        old = st.br
        self.addCleanup(old.close)
        st.br = h.Bridge(st.broker, args=["-v"], env=old.extra_env,
                         state_dir=old.state_dir)
        self._bridges.append(st.br)
        mark = st.mock.mark()
        t = time.monotonic()
        st.br.start()
        c2 = st.wait_conn(t, 15, desc="a connection after the restart")
        st.wait_posts(c2.session_id, es.expected_keys(evs), 10, mark)
        st.sub.wait_bridge()
        held = h.wait_until(st.held_ws, 10, desc="cool_streamer held")
        self.assertEqual(held["events"], {e: "enabled" for e in evs})
        since = st.sub.mark()
        r = st.notify("channel.cheer", es.fixture("channel.cheer"))
        st.wait_event("twitch/cool_streamer/bits", r.message_id, 10, since)
        es.check_no_leaks(self, st)


if __name__ == "__main__":
    h.main()
