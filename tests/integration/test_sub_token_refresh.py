"""A subscription's own token pair (CONTRACT 5 `token`, and the extension
`refresh_token`): when Twitch refuses the token (401 from Helix on the
EventSub WebSocket, ERR_BADAUTH on a PubSub LISTEN) the bridge refreshes
the pair once with the refresh grant, stores the rotated pair (0600, and
uses it after a restart), publishes `token_refreshed` naming the channel
and makes the call again; a refresh token Twitch refuses gives
`auth_failed` and `failed: bad auth`, one refresh and no loop. Neither
token ever appears on MQTT or in the log."""

import json
import time

import es_common as es
import harness as h
import ps_common as pc
from es_common import EsCase

BAD_AUTH = "failed: bad auth ("


def check_no_leaks(tc, st):
    """Our own requests carry tokens of course."""
    es.check_no_leaks(tc, st, requests_too=False)


def own_refreshes(mock, refresh, since=0):
    return [q for q in mock.token_reqs("refresh_token", since)
            if (q.form or {}).get("refresh_token") == refresh]


class WsTest(EsCase):

    def stored(self, st, needle):
        """Files in the state dir holding needle: [(path, mode)]."""
        return [(p, mode) for p, mode, data in st.br.state_files()
                if needle.encode() in data]

    def test_refresh_retry_restore(self):
        st = self.stack()
        mock = st.mock
        own = mock.current_tokens()
        acc, ref = mock.issue_user_tokens("1337")
        self.ok_events(st.subscribe(["bits"], token=acc, refresh_token=ref),
                       ["bits"])
        posts = mock.sub_posts(ok=True)
        self.assertTrue(posts and all(p.token == acc for p in posts), posts)
        self.assertTrue(self.stored(st, ref), "refresh_token stored")

        # Round 1: Twitch stops taking the token; the session is lost and
        # the subscription is created again on the next one.
        mock.invalidate_access(acc)
        since = st.sub.mark()
        mark = mock.mark()
        t = time.monotonic()
        mock.drop(mock.current())
        new = st.wait_conn(t, 20, desc="a new session after the drop")
        posted = st.wait_posts(new.session_id, es.expected_keys(["bits"]),
                               15, mark)
        d = st.wait_bridge_event("token_refreshed", 10, since)
        es.check_bridge_event(self, d, "token_refreshed", "cool_streamer")
        self.assertEqual(d["source"], es.SOURCE, d)
        self.assertEqual(d["events"], ["bits"], d)
        r = own_refreshes(mock, ref, mark)
        self.assertEqual(len(r), 1, "one refresh with the request's "
                         "refresh token: %s" % mock.token_reqs(since=mark))
        self.assertEqual(r[0].status, 200, r[0])
        self.assertEqual(r[0].form.get("client_id"), mock.client_id)
        self.assertEqual(r[0].form.get("client_secret"), mock.client_secret)
        acc2, ref2 = mock.rotated(ref)
        self.assertEqual([p.token for p in posted], [acc2],
                         "created again with the refreshed token")
        got401 = mock.sub_posts(mark, ok=False)
        self.assertTrue(got401 and all(q.status == 401 and q.token == acc
                                       for q in got401), got401)
        self.assertEqual(len(mock.token_reqs(since=mark)), 1,
                         "the bridge's own token was not refreshed")
        self.assertEqual(mock.current_tokens(), own)
        self.assertEqual(st.held_ws()["events"], {"bits": "enabled"})
        c = st.notify("channel.cheer", es.fixture("channel.cheer"))
        st.wait_event("twitch/cool_streamer/bits", c.message_id, 10, since)
        # the rotated pair replaced the old one on disk, privately
        for needle in (acc2, ref2):
            where = self.stored(st, needle)
            self.assertTrue(where, "the refreshed pair is stored")
            self.assertTrue(all(mode == 0o600 for _p, mode in where), where)
        self.assertFalse(self.stored(st, ref), "the spent refresh token "
                         "is still stored")

        # Round 2: a request without a token uses the stored pair, and
        # its refresh uses the rotated refresh token.
        mock.invalidate_access(acc2)
        since = st.sub.mark()
        mark = mock.mark()
        ans = st.subscribe(["follow"])
        self.assertEqual(ans.get("status"), "ok", ans)
        self.assertEqual(ans["data"]["events"], {"follow": "enabled"})
        self.assertEqual(len(own_refreshes(mock, ref2, mark)), 1)
        self.assertEqual(len(mock.token_reqs(since=mark)), 1)
        acc3, ref3 = mock.rotated(ref2)
        ok = mock.sub_posts(mark, ok=True)
        self.assertEqual([p.token for p in ok], [acc3], ok)
        d = st.wait_bridge_event("token_refreshed", 10, since)
        self.assertEqual(d["channel"], "cool_streamer", d)

        # Round 3: the channel lookup of a new request meets the 401.
        acc4, ref4 = mock.issue_user_tokens("9001")
        mock.invalidate_access(acc4)
        mark = mock.mark()
        ans = st.subscribe(["stream"], channel="happy_viewer", token=acc4,
                           refresh_token=ref4)
        self.assertEqual(ans.get("status"), "ok", ans)
        self.assertEqual(ans["data"]["events"], {"stream": "enabled"})
        looks = mock.reqs("GET", "/helix/users", mark)
        self.assertEqual([(q.token, q.status) for q in looks],
                         [(acc4, 401), (mock.rotated(ref4)[0], 200)])
        self.assertEqual(len(own_refreshes(mock, ref4, mark)), 1)

        # After a restart the newest pair is what the bridge holds.
        st.br.stop()
        mark = mock.mark()
        t = time.monotonic()
        st.br.start()
        st.sub.wait_bridge(timeout=15)
        new = st.wait_conn(t, 20, desc="a session after the restart")
        st.wait_posts(new.session_id, es.expected_keys(["bits", "follow"]) +
                      es.expected_keys(["stream"], bid="9001"), 15, mark)
        tokens = {p.json["condition"].get("broadcaster_user_id",
                                          p.json["condition"].get(
                                              "to_broadcaster_user_id")):
                  p.token for p in mock.sub_posts(mark, ok=True)}
        self.assertEqual(tokens, {"1337": acc3,
                                  "9001": mock.rotated(ref4)[0]})
        self.assertEqual(mock.token_reqs(since=mark)[1:], [],
                         "nothing to refresh after the restart")
        held = st.held()
        text = json.dumps(held)
        self.assertNotIn("token", text, "the mirror names no token")
        check_no_leaks(self, st)
        es.check_no_violations(self, st)

    def test_refused_refresh(self):
        st = self.stack()
        mock = st.mock
        acc, ref = mock.issue_user_tokens("1337")
        self.ok_events(st.subscribe(["bits"], token=acc, refresh_token=ref),
                       ["bits"])
        mock.invalidate_access(acc)
        mock.expire_refresh(ref)
        since = st.sub.mark()
        mark = mock.mark()
        log_at = len(st.br.log_text())
        ans = st.subscribe(["follow"])
        self.assertEqual(ans.get("status"), "error", ans)
        self.assertTrue(ans["data"]["events"]["follow"].startswith(BAD_AUTH),
                        ans)
        d = st.wait_bridge_event("auth_failed", 10, since)
        es.check_bridge_event(self, d, "auth_failed", "cool_streamer")
        self.assertEqual(d["source"], es.SOURCE, d)
        r = own_refreshes(mock, ref, mark)
        self.assertEqual([q.status for q in r], [400])
        self.assertRegex(st.br.log_text()[log_at:], r"(?i)refused the "
                         r"refresh token")
        # The session is lost: bits fails too, without another refresh
        # or another auth_failed; the bridge's own token is not involved.
        t = time.monotonic()
        mock.drop(mock.current())
        st.wait_conn(t, 20, desc="a new session after the drop")

        def bits_failed():
            s = st.held_ws()
            return s and s["events"]["bits"].startswith(BAD_AUTH) and s
        s = h.wait_until(bits_failed, 15, desc="bits failed: bad auth")
        self.assertTrue(s["events"]["follow"].startswith(BAD_AUTH), s)
        time.sleep(3)
        self.assertEqual(len(mock.token_reqs(since=mark)), 1,
                         "one refresh, no loop: %s" %
                         mock.token_reqs(since=mark))
        self.assertEqual(len(st.bridge_events("auth_failed", since)), 1,
                         st.bridge_events("auth_failed", since))
        self.assertLessEqual(len(mock.sub_posts(mark)), 4, "no POST loop")
        ans = st.subscribe(["stream"], channel="happy_viewer")
        self.assertEqual(ans.get("status"), "ok", ans)
        # A new pair brings it back.
        acc2, ref2 = mock.issue_user_tokens("1337")
        ans = st.subscribe(["bits", "follow"], token=acc2,
                           refresh_token=ref2)
        self.ok_events(ans, ["bits", "follow"])
        self.assertFalse([p for p, _m, data in st.br.state_files()
                          if ref.encode() in data])
        self.assertTrue(st.br.alive())
        check_no_leaks(self, st)


class PsTest(h.BridgeTestCase):

    def stack(self):
        st = pc.PsStack(args=("-v",))
        self.addCleanup(st.close)
        return st

    def listens_with(self, st, token):
        return [f for c in st.ps.conns for f in c.listens()
                if f["data"]["auth_token"] == token]

    def test_badauth_refresh_listen(self):
        st = self.stack()
        mock = st.mock
        own = mock.current_tokens()
        acc, ref = mock.issue_user_tokens("1337")
        ans = st.subscribe_ps(["bits", "subscription"], token=acc,
                              refresh_token=ref)
        self.assertEqual(ans["status"], "ok", ans)
        topics = [pc.topic("bits"), pc.topic("subscription")]
        st.ps.wait_topics(topics)
        self.assertEqual(len(self.listens_with(st, acc)), 1)
        mock.invalidate_access(acc)
        since = st.sub.mark()
        mark = mock.mark()
        st.ps.drop(st.ps.live()[0])
        d = st.wait_bridge_event("token_refreshed", 15, since)
        es.check_bridge_event(self, d, "token_refreshed", "cool_streamer")
        self.assertEqual(d["source"], "pubsub", d)
        self.assertEqual(sorted(d["events"]), ["bits", "subscription"], d)
        st.ps.wait_topics(topics, 15)
        acc2, _ref2 = mock.rotated(ref)
        self.assertEqual(len(self.listens_with(st, acc2)), 1,
                         "one LISTEN again, with the refreshed token")
        bad = [e for c in st.ps.conns for _n, e in c.responses
               if e == "ERR_BADAUTH"]
        self.assertEqual(len(bad), 1, bad)
        self.assertEqual(len(own_refreshes(mock, ref, mark)), 1)
        self.assertEqual(len(mock.token_reqs(since=mark)), 1)
        self.assertEqual(mock.current_tokens(), own)
        self.assertEqual(st.bridge_events("auth_failed", since), [])
        st.ps.send(pc.topic("bits"), pc.bits("after-own-refresh"))
        st.wait_ps_event("twitch/cool_streamer/bits",
                         lambda e: e["id"] == "after-own-refresh")
        s = [x for x in st.held() if x["transport"] == "pubsub"][0]
        self.assertEqual(s["events"], {"bits": "enabled",
                                       "subscription": "enabled"})
        check_no_leaks(self, st)

    def test_badauth_refused_refresh(self):
        st = self.stack()
        mock = st.mock
        acc, ref = mock.issue_user_tokens("1337")
        ans = st.subscribe_ps(["bits", "subscription"], token=acc,
                              refresh_token=ref)
        self.assertEqual(ans["status"], "ok", ans)
        st.ps.wait_topics([pc.topic("bits"), pc.topic("subscription")])
        mock.invalidate_access(acc)
        mock.expire_refresh(ref)
        since = st.sub.mark()
        mark = mock.mark()
        st.ps.drop(st.ps.live()[0])
        d = st.wait_bridge_event("auth_failed", 15, since)
        es.check_bridge_event(self, d, "auth_failed", "cool_streamer")

        def failed():
            s = [x for x in st.held() if x["transport"] == "pubsub"]
            return s and all(v.startswith(BAD_AUTH)
                             for v in s[0]["events"].values())
        h.wait_until(failed, 10, desc="both events failed: bad auth")
        n = len([f for c in st.ps.conns for f in c.listens()])
        time.sleep(3)
        self.assertEqual(n, len([f for c in st.ps.conns
                                 for f in c.listens()]), "no LISTEN loop")
        self.assertEqual([q.status for q in own_refreshes(mock, ref, mark)],
                         [400])
        self.assertEqual(len(mock.token_reqs(since=mark)), 1)
        self.assertEqual(len(st.bridge_events("auth_failed", since)), 1)
        self.assertEqual(st.bridge_events("token_refreshed", since), [])
        check_no_leaks(self, st)


if __name__ == "__main__":
    h.main()
