"""Self-test of mock_twitch.py (no twitch2mqtt involved): the mock must speak
EventSub WebSocket, Helix and OAuth the way Twitch (and twitch-cli's mock,
see shared/twitch/twitch-cli-samples) does, or the EventSub tests prove
nothing."""

import asyncio
import json
import re
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import aiohttp

import mock_twitch as mt

TS9 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")


def http(method, url, headers=None, body=None, form=None):
    data = None
    headers = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    req = urllib.request.Request(url, data=data, headers=headers,
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, json.loads(raw) if raw else None


async def recv_json(ws, timeout=5):
    while True:
        msg = await ws.receive(timeout=timeout)
        if msg.type == aiohttp.WSMsgType.TEXT:
            return json.loads(msg.data)
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                        aiohttp.WSMsgType.CLOSING):
            return {"closed": ws.close_code}


async def recv_until_close(ws, timeout=5):
    msgs = []
    while True:
        msg = await ws.receive(timeout=timeout)
        if msg.type == aiohttp.WSMsgType.TEXT:
            msgs.append(json.loads(msg.data))
            continue
        return msg, msgs


class MockTest(unittest.TestCase):

    def setUp(self):
        self.m = mt.MockTwitch(min_keepalive=2, ping_interval=1.0,
                               reconnect_grace=2.0).start()
        self.addCleanup(self.m.shutdown)
        self.auth = {"Authorization": "Bearer " + self.m.access_token,
                     "Client-Id": self.m.client_id}

    def post_sub(self, typ, ver, cond, session, headers=None):
        return http("POST", self.m.base + "/helix/eventsub/subscriptions",
                    headers or self.auth,
                    {"type": typ, "version": ver, "condition": cond,
                     "transport": {"method": "websocket",
                                   "session_id": session}})

    def run_async(self, coro):
        return asyncio.run(asyncio.wait_for(coro, 40))

    # ------------------------------------------------------------------
    def test_welcome_keepalive_notify_reconnect(self):
        m = self.m

        async def go():
            async with aiohttp.ClientSession() as s:
                ws = await s.ws_connect(m.eventsub_url(3))
                w = await recv_json(ws)
                md, sess = w["metadata"], w["payload"]["session"]
                self.assertEqual(md["message_type"], "session_welcome")
                self.assertRegex(md["message_timestamp"], TS9)
                self.assertEqual(sess["keepalive_timeout_seconds"], 3)
                self.assertEqual(sess["status"], "connected")
                self.assertIsNone(sess["reconnect_url"])
                sid = sess["id"]
                st, ans = await asyncio.to_thread(
                    self.post_sub, "channel.cheer", "1",
                    {"broadcaster_user_id": "1337"}, sid)
                self.assertEqual(st, 202, ans)
                d = ans["data"][0]
                self.assertEqual(d["status"], "enabled")
                self.assertEqual(d["transport"]["session_id"], sid)
                for k in ("total", "total_cost", "max_total_cost"):
                    self.assertIn(k, ans)
                st, ans = await asyncio.to_thread(
                    self.post_sub, "channel.cheer", "1",
                    {"broadcaster_user_id": "1337"}, sid)
                self.assertEqual(st, 409, ans)
                ka = await recv_json(ws, 5)
                self.assertEqual(ka["metadata"]["message_type"],
                                 "session_keepalive")
                self.assertEqual(ka["payload"], {})
                fx = mt.load_fixtures()["channel.cheer"]["event"]
                r = await asyncio.to_thread(m.notify, "channel.cheer", fx)
                self.assertTrue(r)
                n = await recv_json(ws)
                while n["metadata"]["message_type"] != "notification":
                    n = await recv_json(ws)
                self.assertEqual(n["metadata"]["message_id"], r.message_id)
                self.assertEqual(n["metadata"]["subscription_type"],
                                 "channel.cheer")
                self.assertEqual(n["payload"]["event"], fx)
                self.assertEqual(n["payload"]["subscription"]["id"], d["id"])
                # reconnect with overlap notifications
                url = await asyncio.to_thread(
                    m.reconnect, sid,
                    before_welcome=[("channel.cheer", fx, "dup-1", "old")],
                    after_welcome=[("channel.cheer", fx, "dup-1", "new"),
                                   ("channel.cheer", fx, "new-1", "new")])
                rc = await recv_json(ws)
                while rc["metadata"]["message_type"] != "session_reconnect":
                    rc = await recv_json(ws)
                self.assertEqual(rc["payload"]["session"]["reconnect_url"],
                                 url)
                self.assertIsNone(
                    rc["payload"]["session"]["keepalive_timeout_seconds"])
                ws2 = await s.ws_connect(url)
                w2 = await recv_json(ws2)
                self.assertEqual(w2["metadata"]["message_type"],
                                 "session_welcome")
                sid2 = w2["payload"]["session"]["id"]
                self.assertNotEqual(sid2, sid)
                self.assertEqual(w2["payload"]["session"][
                    "keepalive_timeout_seconds"], 3)
                got_old = await recv_json(ws)
                self.assertEqual(got_old["metadata"]["message_id"], "dup-1")
                a = await recv_json(ws2)
                b = await recv_json(ws2)
                self.assertEqual([a["metadata"]["message_id"],
                                  b["metadata"]["message_id"]],
                                 ["dup-1", "new-1"])

                async def reader():     # aiohttp pongs only while reading
                    while True:
                        msg = await ws2.receive()
                        if msg.type in (aiohttp.WSMsgType.CLOSE,
                                        aiohttp.WSMsgType.CLOSED,
                                        aiohttp.WSMsgType.CLOSING):
                            return
                rt = asyncio.ensure_future(reader())
                subs = m.subscriptions("channel.cheer", "enabled")
                self.assertEqual([x["transport"]["session_id"]
                                  for x in subs], [sid2])
                # old socket: closed 4004 after the grace (2 s here)
                msg, _ = await recv_until_close(ws, 6)
                self.assertEqual(ws.close_code, 4004)
                # reconnect_id reuse -> 4007
                ws3 = await s.ws_connect(url)
                msg, msgs = await recv_until_close(ws3, 5)
                self.assertEqual(msgs, [])
                self.assertEqual(ws3.close_code, 4007)
                # pings answered by aiohttp (while reading): no 4002
                await asyncio.sleep(2.5)
                self.assertFalse(ws2.closed)
                rt.cancel()
                c2 = m.conn(sid2)
                self.assertGreaterEqual(len(c2.pongs), 2)
                self.assertEqual(c2.pong_mismatch, [])
                self.assertTrue(c2.url_exact)
                await ws2.close()
        self.run_async(go())
        self.assertEqual(self.m.violations(), [])

    def test_inbound_4001_and_keepalive_clamp(self):
        m = self.m

        async def go():
            async with aiohttp.ClientSession() as s:
                ws = await s.ws_connect(
                    m.eventsub_url(None) + "?keepalive_timeout_seconds=900")
                w = await recv_json(ws)
                self.assertEqual(w["payload"]["session"][
                    "keepalive_timeout_seconds"], 600)
                await ws.send_str("hello")
                await recv_until_close(ws)
                self.assertEqual(ws.close_code, 4001)
                ws = await s.ws_connect(m.eventsub_url(None))
                w = await recv_json(ws)
                self.assertEqual(w["payload"]["session"][
                    "keepalive_timeout_seconds"], 10)
                await ws.close()
                c = m.conn(w["payload"]["session"]["id"])
                await asyncio.sleep(0.2)
                self.assertEqual((c.close_by, c.close_code), ("client", 1000))
                ws = await s.ws_connect(m.eventsub_url(None))
                await recv_json(ws)
                await ws.ping(b"client ping")
                await recv_until_close(ws)
                self.assertEqual(ws.close_code, 4001, "client Ping -> 4001")
                ws = await s.ws_connect(m.eventsub_url(1))
                w = await recv_json(ws)
                self.assertEqual(w["payload"]["session"][
                    "keepalive_timeout_seconds"], 2)
                sid = w["payload"]["session"]["id"]
                await asyncio.to_thread(m.close, sid, 4006)
                await recv_until_close(ws)
                self.assertEqual(ws.close_code, 4006)
                ws = await s.ws_connect(m.eventsub_url(2))
                w = await recv_json(ws)
                sid = w["payload"]["session"]["id"]
                await asyncio.to_thread(m.drop, sid)
                msg, _ = await recv_until_close(ws)
                self.assertNotIn(ws.close_code, range(4000, 5000))
        self.run_async(go())
        v = m.violations()
        self.assertEqual([x[2] for x in v], ["text", "ping"], v)

    def test_unused_4003(self):
        m = mt.MockTwitch(unused_timeout=1.0).start()
        self.addCleanup(m.shutdown)

        async def go():
            async with aiohttp.ClientSession() as s:
                ws = await s.ws_connect(m.eventsub_url())
                await recv_json(ws)
                t = time.monotonic()
                await recv_until_close(ws)
                self.assertEqual(ws.close_code, 4003)
                self.assertLess(time.monotonic() - t, 3)
        self.run_async(go())

    def test_helix_validation(self):
        m = self.m

        async def go():
            async with aiohttp.ClientSession() as s:
                ws = await s.ws_connect(m.eventsub_url())
                sid = (await recv_json(ws))["payload"]["session"]["id"]
                cases = [
                    (("channel.follow", "2", {"broadcaster_user_id": "1337"}),
                     400),
                    (("channel.follow", "1", {"broadcaster_user_id": "1337"}),
                     410),
                    (("channel.nonexistent", "1", {}), 400),
                    (("channel.cheer", "1", {"broadcaster_user_id": "9001"}),
                     403),
                    (("channel.raid", "1", {"to_broadcaster_user_id": "9001",
                                            "from_broadcaster_user_id": "1"}),
                     400),
                    (("stream.online", "1", {"broadcaster_user_id": "9001"}),
                     202),
                    (("channel.follow", "2", {"broadcaster_user_id": "1337",
                                              "moderator_user_id": "1337"}),
                     202),
                ]
                for (typ, ver, cond), want in cases:
                    st, ans = await asyncio.to_thread(self.post_sub, typ,
                                                      ver, cond, sid)
                    self.assertEqual(st, want, (typ, cond, ans))
                st, ans = await asyncio.to_thread(
                    self.post_sub, "stream.offline", "1",
                    {"broadcaster_user_id": "1"}, "nosuchsession")
                self.assertEqual(st, 400)
                self.assertIn("session", ans["message"])
                m.fail_type("channel.ad_break.begin", 403,
                            "subscription missing proper authorization")
                st, ans = await asyncio.to_thread(
                    self.post_sub, "channel.ad_break.begin", "1",
                    {"broadcaster_user_id": "1337"}, sid)
                self.assertEqual((st, ans["message"]),
                                 (403, "subscription missing proper "
                                  "authorization"))
                await ws.close()
        self.run_async(go())
        st, ans = http("GET", m.base + "/helix/users?login=cool_streamer"
                       "&login=nobody_here&id=9001", self.auth)
        self.assertEqual(st, 200)
        self.assertEqual(sorted((u["login"], u["id"], u["display_name"])
                                for u in ans["data"]),
                         [("cool_streamer", "1337", "Cool_Streamer"),
                          ("happy_viewer", "9001", "Happy_Viewer")])
        st, ans = http("GET", m.base + "/helix/eventsub/subscriptions",
                       self.auth)
        self.assertEqual(st, 200)
        self.assertEqual(ans["total"], 2)
        sub_id = ans["data"][0]["id"]
        st, _ = http("DELETE", m.base + "/helix/eventsub/subscriptions?id="
                     + sub_id, self.auth)
        self.assertEqual(st, 204)
        st, _ = http("DELETE", m.base + "/helix/eventsub/subscriptions?id="
                     + sub_id, self.auth)
        self.assertEqual(st, 404)
        bad = dict(self.auth, Authorization="Bearer nope")
        st, ans = http("GET", m.base + "/helix/users?login=x", bad)
        self.assertEqual((st, ans), (401, {"error": "Unauthorized",
                                           "status": 401,
                                           "message": "Invalid OAuth token"}))

    def test_oauth(self):
        m = self.m
        st, ans = http("GET", m.base + "/oauth2/validate",
                       {"Authorization": "OAuth " + m.access_token})
        self.assertEqual(st, 200)
        self.assertEqual((ans["login"], ans["user_id"], ans["client_id"]),
                         ("cool_streamer", "1337", m.client_id))
        m.invalidate_access()
        st, _ = http("GET", m.base + "/oauth2/validate",
                     {"Authorization": "OAuth " + m.access_token})
        self.assertEqual(st, 401)
        st, _ = http("GET", m.base + "/helix/users?login=cool_streamer",
                     self.auth)
        self.assertEqual(st, 401)
        old_ref = m.refresh_token
        st, ans = http("POST", m.base + "/oauth2/token", form={
            "grant_type": "refresh_token", "refresh_token": old_ref,
            "client_id": m.client_id, "client_secret": m.client_secret})
        self.assertEqual(st, 200, ans)
        self.assertNotEqual(ans["refresh_token"], old_ref)
        self.assertEqual(m.current_tokens(), (ans["access_token"],
                                              ans["refresh_token"]))
        st, _ = http("GET", m.base + "/helix/users?login=cool_streamer",
                     {"Authorization": "Bearer " + ans["access_token"],
                      "Client-Id": m.client_id})
        self.assertEqual(st, 200)
        st, ans2 = http("POST", m.base + "/oauth2/token", form={
            "grant_type": "refresh_token", "refresh_token": old_ref,
            "client_id": m.client_id, "client_secret": m.client_secret})
        self.assertEqual((st, ans2["message"]),
                         (400, "Invalid refresh token"))
        m.expire_refresh()
        st, ans2 = http("POST", m.base + "/oauth2/token", form={
            "grant_type": "refresh_token",
            "refresh_token": ans["refresh_token"],
            "client_id": m.client_id, "client_secret": m.client_secret})
        self.assertEqual(st, 400)
        st, app = http("POST", m.base + "/oauth2/token", form={
            "grant_type": "client_credentials", "client_id": m.client_id,
            "client_secret": m.client_secret})
        self.assertEqual(st, 200)
        self.assertEqual(app["token_type"], "bearer")
        st, dev = http("POST", m.base + "/oauth2/device", form={
            "client_id": m.client_id, "scopes": "bits:read"})
        self.assertEqual(st, 200)
        form = {"client_id": m.client_id, "scopes": "bits:read",
                "device_code": dev["device_code"],
                "grant_type": "urn:ietf:params:oauth:grant-type:device_code"}
        st, a = http("POST", m.base + "/oauth2/token", form=form)
        self.assertEqual((st, a["message"]), (400, "authorization_pending"))
        st, a = http("POST", m.base + "/oauth2/token", form=form)
        self.assertEqual(st, 200)
        self.assertIn("refresh_token", a)
        self.assertEqual(len(m.token_reqs("refresh_token")), 3)

    def test_oauth_other_pair(self):
        # a broadcaster's own pair (for a subscribe request): refreshing
        # it leaves current_tokens() alone; invalidation can be targeted
        m = self.m
        own = m.current_tokens()
        acc, ref = m.issue_user_tokens("1337")
        self.assertNotIn(acc, own)
        m.invalidate_access(acc)
        users = m.base + "/helix/users?login=cool_streamer"
        st, _ = http("GET", users, {"Authorization": "Bearer " + acc,
                                    "Client-Id": m.client_id})
        self.assertEqual(st, 401)
        st, _ = http("GET", users, self.auth)
        self.assertEqual(st, 200, "only the named token was invalidated")
        st, ans = http("POST", m.base + "/oauth2/token", form={
            "grant_type": "refresh_token", "refresh_token": ref,
            "client_id": m.client_id, "client_secret": m.client_secret})
        self.assertEqual(st, 200, ans)
        self.assertEqual(m.rotated(ref), (ans["access_token"],
                                          ans["refresh_token"]))
        self.assertEqual(m.current_tokens(), own)
        m.expire_refresh(ans["refresh_token"])
        st, _ = http("POST", m.base + "/oauth2/token", form={
            "grant_type": "refresh_token",
            "refresh_token": ans["refresh_token"],
            "client_id": m.client_id, "client_secret": m.client_secret})
        self.assertEqual(st, 400)
        self.assertIsNone(m.rotated(ans["refresh_token"]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
