"""EventSub over WebSocket, close codes (twitch/eventsub.md 2.8; CONTRACT
3 bridge events): after 4000, 4001, 4002, 4004, 4005, 4006, 4007 or a TCP
drop the bridge connects to eventsub_url again, re-creates every
subscription on the new session and publishes a `reconnect` event; 4003
(connection unused) does not make it loop."""

import sys
import time

import es_common as es
import harness as h
from es_common import EsCase

EVS = ["bits", "follow", "stream"]


class CloseCodesTest(EsCase):

    def test_close_codes_and_drop(self):
        st = self.stack()
        self.ok_events(st.subscribe(EVS), EVS)
        mock = st.mock
        want = es.expected_keys(EVS)
        timings = []
        first = st.notify("channel.cheer", es.fixture("channel.cheer"))
        st.wait_event("twitch/cool_streamer/bits", first.message_id)
        for code in (4000, 4001, 4002, 4004, 4005, 4006, 4007, "drop"):
            with self.subTest(close=code):
                cur = mock.current()
                self.assertIsNotNone(cur, "no live session before %s" % code)
                mark = mock.mark()
                since = st.sub.mark()
                t = time.monotonic()
                if code == "drop":
                    mock.drop(cur)
                else:
                    mock.close(cur, code)
                new = st.wait_conn(
                    t, 20, pred=lambda c: c.path_qs == st.base_path,
                    desc="a new connection to eventsub_url after %s" % code)
                st.wait_posts(new.session_id, want, 10, mark)
                took = time.monotonic() - t
                timings.append((code, round(new.opened - t, 2),
                                round(took, 2)))
                d = st.wait_bridge_event("reconnect", 10, since)
                es.check_bridge_event(self, d, "reconnect")
                self.assertEqual(d["source"], es.SOURCE, d)
                self.assertIn(d["channel"], (None, "cool_streamer"), d)
                base = [c for c in mock.connections(t)]
                self.assertEqual(base, [new], "one new connection after "
                                 "%s: %s" % (code, base))
                r = st.notify("channel.cheer", es.fixture("channel.cheer"))
                st.wait_event("twitch/cool_streamer/bits", r.message_id, 10,
                              since)
        # a message id seen before all these reconnects is still a
        # duplicate (CONTRACT 4: across reconnects)
        since = st.sub.mark()
        st.notify("channel.cheer", es.fixture("channel.cheer"),
                  message_id=first.message_id)
        st.settle()
        self.assertEqual(st.sub.find(
            lambda m: (m.try_json() or {}).get("id") == first.message_id,
            since), [], "a redelivered message id was published again")
        sys.stderr.write("\n  close -> (connect after s, resubscribed "
                         "after s): %s\n" % timings)
        held = st.held_ws()
        self.assertEqual(held["events"], {e: "enabled" for e in EVS})
        es.check_no_violations(self, st)
        es.check_no_leaks(self, st)

    def test_4003_no_tight_loop(self):
        st = self.stack()
        self.ok_events(st.subscribe(["bits"]), ["bits"])
        mock = st.mock
        # From now on every new connection is closed 4003 right after its
        # welcome (before any subscription can be made on it).
        mock.set_auto_close(4003, after=0.0)
        t = time.monotonic()
        mock.close(mock.current(), 4003)
        time.sleep(6)       # observe: how often does it connect?
        n = len(mock.connections(t))
        tokens = len(mock.token_reqs())
        # A loop without backoff makes dozens; jittered backoff a few.
        self.assertLessEqual(n, 8, "%d connections in 6 s after 4003: a "
                             "loop without backoff" % n)
        posts = mock.sub_posts()
        self.assertLessEqual(len(posts), 2 + n, "POSTs: %d" % len(posts))
        self.assertTrue(st.br.alive())
        ans = st.request("health", {}, timeout=5)
        self.assertEqual(ans.get("status"), "ok", ans)
        mock.set_auto_close(None)
        sys.stderr.write("\n  4003: %d connections in 6 s, %d token "
                         "requests\n" % (n, tokens))


if __name__ == "__main__":
    h.main()
