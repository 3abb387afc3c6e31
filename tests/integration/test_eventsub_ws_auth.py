"""EventSub over WebSocket, authorization (twitch/eventsub.md 2.7, 5;
CONTRACT 1 `auth`, 3 bridge events, 7 tokens): revocation, refresh on 401
and retry, a refused refresh token, /validate at start, refresh before
expiry, the device-code flow, and no secret ever on MQTT or in the log."""

import json
import os
import shutil
import time

import es_common as es
import harness as h
import mock_twitch as mt
from es_common import EsCase

AUTH_WORDS = r"auth|token|401|refresh|unauthori[sz]ed|credential"


class AuthTest(EsCase):

    def test_validate_at_start(self):
        st = self.stack()
        r = h.wait_until(lambda: st.mock.reqs("GET", "/oauth2/validate"), 10,
                         desc="GET /oauth2/validate at start")
        self.assertEqual(r[0].headers.get("authorization"),
                         "OAuth " + st.mock.access_token)
        self.assertEqual(r[0].status, 200)

    def test_refresh_when_expiring_soon(self):
        # /validate says 120 s left: fewer than 5 minutes -> refresh.
        st = self.stack(mock_kw={"first_token_expires_in": 120})
        first = st.mock.initial_access
        r = h.wait_until(lambda: st.mock.token_reqs("refresh_token"), 10,
                         desc="a refresh of a token expiring in 120 s")
        self.assertEqual(r[0].status, 200, r[0])
        self.assertEqual(r[0].form.get("refresh_token"),
                         st.mock.initial_refresh)
        mark = st.mock.mark()
        self.ok_events(st.subscribe(["bits"]), ["bits"])
        for q in st.mock.reqs(since=mark, pred=lambda q: q.token):
            self.assertNotEqual(q.token, first, "old token used after the "
                                "refresh: %r" % q)
        self.assertEqual(len(st.mock.token_reqs("refresh_token")), 1,
                         "one refresh (the new token lasts 4 h)")
        es.check_no_leaks(self, st)

    def test_revocation(self):
        st = self.stack()
        evs = ["bits", "follow"]
        self.ok_events(st.subscribe(evs), evs)
        mock = st.mock
        cheer = mock.subscriptions("channel.cheer", "enabled")[0]
        since = st.sub.mark()
        mark = mock.mark()
        self.assertTrue(mock.revoke(cheer["id"], "authorization_revoked"))
        d = st.wait_bridge_event("revoked", 10, since)
        es.check_bridge_event(self, d, "revoked", "cool_streamer")
        self.assertIn("bits", d["events"], d)
        self.assertEqual(d["source"], es.SOURCE, d)

        def bits_status():
            s = st.held_ws()
            return s and s["events"].get("bits") != "enabled" and s
        s = h.wait_until(bits_status, 10, desc="bits no longer enabled in "
                         "subscriptions")
        self.assertIn("revoked", s["events"]["bits"], s)
        self.assertEqual(s["events"].get("follow"), "enabled", s)
        # the mirror follows
        h.wait_until(lambda: (lambda r: r is not None and any(
            x.get("transport") == "websocket" and
            x["events"].get("bits") == s["events"]["bits"]
            for x in r.json()))(
            h.retained(st.broker.port, "twitch/bridge/subscriptions", 2)),
            8, desc="retained twitch/bridge/subscriptions shows the "
            "revocation")
        # other events still flow; no retry storm for the revoked one
        r = st.notify("channel.follow", es.fixture("channel.follow"))
        st.wait_event("twitch/cool_streamer/follow", r.message_id, 10, since)
        time.sleep(2)
        again = [p for p in mock.sub_posts(mark)
                 if p.json.get("type") == "channel.cheer"]
        self.assertLessEqual(len(again), 1, "re-created a revoked "
                             "subscription repeatedly: %s" % again)
        es.check_no_violations(self, st)

    def test_401_refresh_retry(self):
        # Round 1: the POST gets the 401 (the channel is known); round 2:
        # the user lookup of a new channel gets it. Each refresh must use
        # the refresh token of the one before (Twitch rotates them).
        st = self.stack()
        mock = st.mock
        self.ok_events(st.subscribe(["bits"]), ["bits"])
        old_acc, old_ref = mock.current_tokens()
        for round_, (channel, ev) in enumerate((("cool_streamer", "follow"),
                                                ("happy_viewer", "stream"))):
            with self.subTest(round=round_):
                mock.invalidate_access()
                since = st.sub.mark()
                mark = mock.mark()
                ans = st.subscribe([ev], channel=channel)
                self.assertEqual(ans.get("status"), "ok", ans)
                self.assertEqual(ans["data"]["events"], {ev: "enabled"})
                refreshes = mock.token_reqs("refresh_token", mark)
                self.assertEqual(len(refreshes), 1,
                                 "one refresh: %s" % refreshes)
                f = refreshes[0].form
                self.assertEqual(f.get("refresh_token"), old_ref,
                                 "refreshed with the current refresh token "
                                 "(round %d)" % round_)
                self.assertEqual(f.get("client_id"), mock.client_id)
                self.assertEqual(f.get("client_secret"), mock.client_secret)
                self.assertEqual(refreshes[0].status, 200)
                new_acc, new_ref = mock.current_tokens()
                self.assertNotEqual(new_acc, old_acc)
                got401 = [q for q in mock.reqs(since=mark)
                          if q.status == 401]
                self.assertTrue(got401, "the stale token got a 401 first")
                self.assertTrue(all(q.seq < refreshes[0].seq
                                    for q in got401), got401)
                after = [q for q in mock.reqs(since=refreshes[0].seq)
                         if q.token]
                self.assertTrue(after, "requests after the refresh")
                for q in after:
                    self.assertEqual(q.token, new_acc, "retried with the "
                                     "new token: %r" % q)
                bid = "1337" if channel == "cool_streamer" else "9001"
                posts = mock.sub_posts(mark, ok=True)
                self.assertEqual(sorted(es.post_key(p) for p in posts),
                                 es.expected_keys([ev], bid=bid), posts)
                d = st.wait_bridge_event("token_refreshed", 10, since)
                es.check_bridge_event(self, d, "token_refreshed")
                old_acc, old_ref = new_acc, new_ref
        held = st.held_ws()
        self.assertEqual(held["events"], {"bits": "enabled",
                                          "follow": "enabled"})
        self.assertEqual(st.held_ws("happy_viewer")["events"],
                         {"stream": "enabled"})
        for p, mode, data in st.br.state_files():
            for s in mock.secrets():
                if s.encode() in data:
                    self.assertEqual(mode, 0o600, "%s holds a secret with "
                                     "mode %o" % (p, mode))
        es.check_no_leaks(self, st)
        es.check_no_violations(self, st)

    def test_refused_refresh_token(self):
        st = self.stack()
        mock = st.mock
        self.ok_events(st.subscribe(["bits"]), ["bits"])
        mock.invalidate_access()
        mock.expire_refresh()
        since = st.sub.mark()
        mark = mock.mark()
        log_at = len(st.br.log_text())
        ans = st.subscribe(["follow"])
        self.assertEqual(ans.get("status"), "error", ans)
        text = ans.get("error", "") + " " + json.dumps(
            ans.get("data", {}).get("events", {}))
        self.assertRegex(text.lower(), AUTH_WORDS,
                         "the answer gives an auth reason: %s" % ans)
        f = ans.get("data", {}).get("events", {}).get("follow")
        if f is not None:
            self.assertTrue(f.startswith("failed"), ans)
        d = st.wait_bridge_event("auth_failed", 10, since)
        es.check_bridge_event(self, d, "auth_failed")
        log = st.br.log_text()[log_at:]
        self.assertRegex(log, r"(?i)(refresh|token|auth)[^\n]{0,120}"
                         r"(fail|invalid|refus|reject|400|expired)|"
                         r"(fail|invalid|refus|reject)[^\n]{0,120}"
                         r"(refresh|token)",
                         "a log line says the refresh token was refused")
        time.sleep(5)
        n = len(mock.token_reqs(since=mark))
        self.assertLessEqual(n, 2, "%d token requests: refresh loop" % n)
        self.assertTrue(st.br.alive())
        self.assertEqual(st.request("health", {}, timeout=5).get("status"),
                         "ok")
        es.check_no_leaks(self, st)

    def test_auth_device_flow_cli(self):
        mock = mt.MockTwitch(device_interval=1, device_pending_polls=1)
        mock.start()
        self.addCleanup(mock.shutdown)
        tmp = h.mktemp("t2m-auth-")
        if not h.KEEP_TMP:
            self.addCleanup(shutil.rmtree, tmp, True)
        state = os.path.join(tmp, "state")
        env = mock.env(tokens=False)
        env["TWITCH2MQTT_BRIDGE_STATE_DIR"] = state
        r = h.run_cli(["auth", "--scopes", "bits:read channel:read:polls"],
                      env=env, cwd=tmp, timeout=30)
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, out)
        dev = mock.reqs("POST", "/oauth2/device")
        self.assertEqual(len(dev), 1, dev)
        self.assertEqual(dev[0].form.get("client_id"), mock.client_id)
        self.assertEqual(dev[0].form.get("scopes"),
                         "bits:read channel:read:polls")
        user_code = dev[0].response["user_code"]
        self.assertIn(user_code, out, "prints the code")
        self.assertIn("https://www.twitch.tv/activate", out,
                      "prints the verification URL")
        polls = mock.token_reqs(
            "urn:ietf:params:oauth:grant-type:device_code")
        self.assertEqual([p.status for p in polls], [400, 200])
        gap = polls[1].t - polls[0].t
        self.assertGreaterEqual(gap, 0.9, "polls no faster than interval")
        acc, ref = mock.current_tokens()
        p = os.path.join(state, "tokens.json")
        self.assertTrue(os.path.exists(p), "tokens.json written")
        self.assertEqual(os.stat(p).st_mode & 0o777, 0o600)
        with open(p) as f:
            data = f.read()
        self.assertIn(acc, data)
        self.assertIn(ref, data)
        self.assertNotIn(acc, out, "access token printed")
        self.assertNotIn(ref, out, "refresh token printed")


if __name__ == "__main__":
    h.main()
