"""Twitch allows 300 enabled subscriptions on one EventSub WebSocket and
three WebSockets per user: past 300 the bridge opens a second session
instead of failing (issue 3: "up to 300 subscriptions per connection and
more connections (max 3) when needed")."""

import collections
import time

import es_common as es
import harness as h

CHANNELS = 151          # x 2 (stream.online, stream.offline) = 302 specs


class SessionsTest(es.EsCase):

    def test_more_than_300_subscriptions_use_a_second_session(self):
        st = self.stack()
        for i in range(CHANNELS):
            ans = st.subscribe(["stream"], channel="chan_%03d" % i,
                               channel_id=str(200000 + i))
            self.assertEqual(ans.get("status"), "ok", ans)
            self.assertEqual(ans["data"]["events"], {"stream": "enabled"})
        posts = st.mock.sub_posts(ok=True)
        self.assertEqual(len(posts), 2 * CHANNELS,
                         "one POST per spec, none twice")
        per = collections.Counter(p.json["transport"]["session_id"]
                                  for p in posts)
        self.assertEqual(len(per), 2, "two sessions: %s" % dict(per))
        self.assertLessEqual(max(per.values()), 300, dict(per))
        live = [c for c in st.mock.connections() if c.live]
        self.assertEqual(len(live), 2, "two live sockets: %s" % live)

        # Every channel's events arrive, whichever session holds them.
        for i in (0, CHANNELS - 1):
            ev = {"id": "s%d" % i, "broadcaster_user_id": str(200000 + i),
                  "broadcaster_user_login": "chan_%03d" % i,
                  "broadcaster_user_name": "Chan_%03d" % i,
                  "type": "live", "started_at": "2026-11-21T20:00:00Z"}
            st.notify("stream.online", ev,
                      condition={"broadcaster_user_id": str(200000 + i)})
            m = st.sub.wait_topic("twitch/chan_%03d/stream" % i, 10)
            self.assertEqual(m.json()["event_type"], "online")

        # Unsubscribing enough to fit one session closes nothing in use:
        # a session left without subscriptions is closed by the bridge.
        for i in range(CHANNELS - 1, 140, -1):
            ans = st.request("unsubscribe", {"channel": "chan_%03d" % i})
            self.assertEqual(ans.get("status"), "ok", ans)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            live = [c for c in st.mock.connections() if c.live]
            if len(live) == 1:
                break
            time.sleep(0.1)
        self.assertEqual(len(live), 1, "the empty session is closed: %s"
                         % live)


if __name__ == "__main__":
    h.main()
