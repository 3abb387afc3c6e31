"""EventSub over WebSocket, staying connected (twitch/eventsub.md 2.4, 2.6;
CONTRACT 4 dedupe, 7 timing): session_reconnect with events on both
sockets during the overlap, keepalive silence, Ping/Pong, a refused
reconnect_url, and the rule that the client sends nothing but Pongs."""

import sys
import time
import uuid

import es_common as es
import harness as h
from es_common import EsCase, cheer

BITS = "twitch/cool_streamer/bits"


class ReconnectTest(EsCase):

    def test_session_reconnect_overlap(self):
        st = self.stack()
        self.ok_events(st.subscribe(["bits", "raid"]), ["bits", "raid"])
        mock = st.mock
        c1 = mock.current()
        ids = {k: str(uuid.uuid4()) for k in
               ("before", "early_old", "old_before_welcome", "dup",
                "new_after_welcome", "after")}
        since = st.sub.mark()
        st.notify("channel.cheer", cheer("before"), message_id=ids["before"])
        mark = mock.mark()
        t_rc = time.monotonic()
        url = mock.reconnect(
            c1,
            after_reconnect=[("channel.cheer", cheer("early"),
                              ids["early_old"], "old")],
            before_welcome=[
                ("channel.cheer", cheer("dup"), ids["dup"], "old"),
                ("channel.cheer", cheer("old 2"), ids["old_before_welcome"],
                 "old")],
            after_welcome=[
                ("channel.cheer", cheer("dup"), ids["dup"], "new"),
                ("channel.cheer", cheer("new"), ids["new_after_welcome"],
                 "new")])

        def refused():
            return [c for c in mock.connections(t_rc) if c.close_code == 4007]
        try:
            c2 = st.wait_conn(t_rc, 10,
                              pred=lambda c: c.reconnect_of is c1,
                              desc="a connection to the reconnect_url")
        except AssertionError:
            if refused():
                self.fail("the reconnect_url was refused with 4007 (old "
                          "socket closed before connecting the new one?): "
                          "%s" % mock.connections())
            raise
        self.assertTrue(c2.url_exact, "reconnect_url used exactly as given:"
                        " %s vs %s" % (c2.path_qs, url))
        h.wait_until(lambda: c1.closed is not None, 10,
                     desc="the bridge to close the old socket after the "
                     "new welcome (the mock would close it 4004 at 30 s)")
        self.assertIn(c1.close_by, ("client", "client-drop"),
                      "closed by the client, not by the mock: %r" % c1)
        self.assertGreaterEqual(c1.closed, c2.welcomed,
                                "old socket closed only after the new "
                                "welcome")
        # Both sockets' events, afterwards a normal one on the new socket.
        st.notify("channel.cheer", cheer("after"), message_id=ids["after"])
        st.settle()
        on_old = {s[2] for s in c1.sent}
        on_new = {s[2] for s in c2.sent}
        for k in ("before", "early_old", "dup", "old_before_welcome"):
            self.assertIn(ids[k], on_old, "mock sent %s on the old socket"
                          % k)
        for k in ("dup", "new_after_welcome", "after"):
            self.assertIn(ids[k], on_new, "mock sent %s on the new socket"
                          % k)
        for k, mid in ids.items():
            got = st.sub.find(lambda m: m.topic == BITS and
                              m.json().get("id") == mid, since)
            self.assertEqual(len(got), 1, "event %r (%s) published %d "
                             "times, want exactly once"
                             % (k, mid, len(got)))
        self.assertEqual(mock.sub_posts(mark), [],
                         "no POST /eventsub/subscriptions after a "
                         "session_reconnect (subscriptions move with it)")
        self.assertEqual([c for c in mock.connections(t_rc)
                          if c is not c2], [],
                         "no other connection than to reconnect_url")
        subs = mock.subscriptions(status="enabled")
        self.assertEqual({s["transport"]["session_id"] for s in subs},
                         {c2.session_id})
        self.assertIsNone(c2.closed)
        held = st.held_ws()
        self.assertEqual(held["events"], {"bits": "enabled",
                                          "raid": "enabled"})
        es.check_no_violations(self, st)
        es.check_no_leaks(self, st)

    def test_keepalive_silence(self):
        # Mock-only: keepalive 2 s (Twitch's minimum is 10) to stay fast.
        st = self.stack(keepalive=2, mock_kw={"min_keepalive": 2})
        evs = ["bits", "follow", "stream"]
        self.ok_events(st.subscribe(evs), evs)
        mock = st.mock
        c1 = mock.current()
        self.assertEqual(c1.keepalive, 2)
        since = st.sub.mark()
        mark = mock.mark()
        mock.set_keepalive(c1, False)     # Pings go on, as in twitch-cli
        t_off = time.monotonic()
        c2 = st.wait_conn(t_off, 2 + 5 + 8,
                          pred=lambda c: c.path_qs == st.base_path,
                          desc="a new connection to eventsub_url after "
                          "keepalive silence")
        silent = c2.opened - c1.last_text
        sys.stderr.write("\n  keepalive %ds: new connection %.1fs after the "
                         "last message\n" % (c1.keepalive, silent))
        self.assertGreaterEqual(silent, c1.keepalive - 0.2,
                                "reconnected %.1fs after the last message, "
                                "before the keepalive window ended" % silent)
        self.assertLessEqual(silent, c1.keepalive + 5 + 4,
                             "reconnected %.1fs after the last message "
                             "(keepalive %ds + 5 s)" % (silent,
                                                        c1.keepalive))
        st.wait_posts(c2.session_id, es.expected_keys(evs), 10, mark)
        h.wait_until(lambda: c1.closed is not None, 5,
                     desc="the bridge to drop the silent socket")
        self.assertIn(c1.close_by, ("client", "client-drop"), c1)
        d = st.wait_bridge_event("reconnect", 10, since)
        es.check_bridge_event(self, d, "reconnect")
        self.assertEqual(d["source"], es.SOURCE)
        r = st.notify("channel.cheer", cheer("after silence"))
        self.assertEqual([c.id for c in r.conns], [c2.id])
        st.wait_event(BITS, r.message_id, 10, since)
        es.check_no_violations(self, st)

    def test_pings_answered_nothing_else_sent(self):
        # Mock-only: a Ping every 1.5 s instead of 5 s.
        st = self.stack(mock_kw={"ping_interval": 1.5})
        self.ok_events(st.subscribe(["bits"]), ["bits"])
        c = st.mock.current()
        h.wait_until(lambda: len(c.pongs) >= 4 or c.closed is not None, 15,
                     desc="4 Pongs")
        self.assertIsNone(c.closed, "connection closed: %r" % c)
        self.assertGreaterEqual(len(c.pings), 4)
        self.assertEqual(c.pong_mismatch, [],
                         "each Pong echoes its Ping's payload (RFC 6455 "
                         "5.5.3)")
        for (tp, _p), (to, _o) in zip(c.pings, c.pongs):
            self.assertLess(to - tp, 1.0, "Pong within 1 s of the Ping")
        es.check_no_violations(self, st)
        r = st.notify("channel.cheer", cheer("still alive"))
        st.wait_event(BITS, r.message_id, 5)

    def test_refused_reconnect_url_falls_back_to_base(self):
        st = self.stack()
        evs = ["bits", "raid"]
        self.ok_events(st.subscribe(evs), evs)
        mock = st.mock
        c1 = mock.current()
        mark = mock.mark()
        t = time.monotonic()
        mock.reconnect(c1, valid=False)
        bad = h.wait_until(
            lambda: [c for c in mock.connections(t) if c.close_code == 4007],
            10, desc="the bridge to try the reconnect_url")
        self.assertIn("reconnect_id=", bad[0].path_qs)
        c3 = st.wait_conn(t, 20, pred=lambda c: c.path_qs == st.base_path,
                          desc="a fresh connection to eventsub_url after "
                          "4007")
        st.wait_posts(c3.session_id, es.expected_keys(evs), 10, mark)
        since = st.sub.mark()
        r = st.notify("channel.cheer", cheer("after 4007"),
                      sessions=[c3])
        st.wait_event(BITS, r.message_id, 10, since)
        es.check_no_violations(self, st)


if __name__ == "__main__":
    h.main()
