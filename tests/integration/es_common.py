"""
Shared pieces of the EventSub WebSocket tests (test_eventsub_ws*.py): a
stack of mock Twitch + mosquitto + twitch2mqtt + an MQTT collector, the
event -> EventSub subscription table the daemon must use, and checks that
every test repeats (no secret leaks, no frames from the client).
"""

import copy
import json
import os
import re
import sys
import time
import uuid

import harness as h
import mock_twitch as mt
from paho.mqtt.subscribeoptions import SubscribeOptions

CH = {"id": "1337", "login": "cool_streamer", "name": "Cool_Streamer"}
HV = {"id": "9001", "login": "happy_viewer", "name": "Happy_Viewer"}
SOURCE = "eventsub-websocket"


def specs(bid="1337", uid="1337"):
    """Contract event -> the EventSub subscriptions (type, version,
    condition) the bridge must create for channel bid with token user uid."""
    b = {"broadcaster_user_id": bid}
    bm = {"broadcaster_user_id": bid, "moderator_user_id": uid}
    return {
        "bits": [("channel.cheer", "1", b)],
        "channel_points": [
            ("channel.channel_points_custom_reward_redemption.add", "1", b)],
        "channel_points_update": [
            ("channel.channel_points_custom_reward_redemption.update", "1",
             b)],
        "subscription": [("channel.subscribe", "1", b),
                         ("channel.subscription.message", "1", b),
                         ("channel.subscription.gift", "1", b)],
        "follow": [("channel.follow", "2", bm)],
        "raid": [("channel.raid", "1", {"to_broadcaster_user_id": bid})],
        "stream": [("stream.online", "1", b), ("stream.offline", "1", b)],
        "channel_update": [("channel.update", "2", b)],
        "moderation": [("channel.moderate", "2", bm)],
        "whisper": [("user.whisper.message", "1", {"user_id": uid})],
        "hype_train": [("channel.hype_train.%s" % t, "2", b)
                       for t in ("begin", "progress", "end")],
        "poll": [("channel.poll.%s" % t, "1", b)
                 for t in ("begin", "progress", "end")],
        "prediction": [("channel.prediction.%s" % t, "1", b)
                       for t in ("begin", "progress", "lock", "end")],
        "ad_break": [("channel.ad_break.begin", "1", b)],
        "power_up": [("channel.bits.use", "1", b)],
        "chat": [("channel.chat.message", "1",
                  {"broadcaster_user_id": bid, "user_id": uid})],
        # user.update for a channel: that channel's user
        "user_update": [("user.update", "1", {"user_id": bid})],
        # a raw type requested by its Twitch name
        "channel.shoutout.create": [("channel.shoutout.create", "1", bm)],
    }


MAPPED_EVENTS = [e for e in specs() if "." not in e]


def spec_key(typ, ver, cond):
    return (typ, ver, json.dumps(cond, sort_keys=True))


def expected_keys(events, bid="1337", uid="1337"):
    sp = specs(bid, uid)
    return sorted(spec_key(*s) for e in events for s in sp[e])


def post_key(r):
    j = r.json or {}
    return (j.get("type"), j.get("version"),
            json.dumps(j.get("condition"), sort_keys=True))


def fmt_keys(keys):
    return "\n    ".join("%s v%s %s" % k for k in keys)


def fixture(typ):
    """A deep copy of the fixture event of an EventSub type."""
    return copy.deepcopy(mt.load_fixtures()[typ]["event"])


def cheer(text):
    """The fixture's channel.cheer event with its message set to text."""
    ev = fixture("channel.cheer")
    ev["message"] = text
    return ev


def to_cool_streamer(ev):
    """twitch-cli samples use random broadcasters: make it ours."""
    ev = copy.deepcopy(ev)
    for k, v in (("broadcaster_user_id", "1337"),
                 ("broadcaster_user_login", "cool_streamer"),
                 ("broadcaster_user_name", "Cool_Streamer")):
        if k in ev:
            ev[k] = v
    return ev


class RapMqtt(h.Mqtt):
    """The harness collector, subscribed with MQTT 5 Retain As Published so
    that m.retain tells whether the bridge published it retained (a live
    delivery otherwise always has retain 0)."""

    def _on_connect(self, c, userdata, flags, rc, properties=None):
        rcv = rc.value if hasattr(rc, "value") else rc
        if rcv != 0:
            return
        for t in self.topics:
            c.subscribe(t, options=SubscribeOptions(
                qos=self.qos, retainAsPublished=True))
        with self.cond:
            self.connects += 1
            self.connected = True
            self.cond.notify_all()


class Stack:
    """mock Twitch + mosquitto + twitch2mqtt (-v) + MQTT collector."""

    def __init__(self, keepalive=10, mock_kw=None, env=None, args=("-v",),
                 start_bridge=True):
        self.keepalive = keepalive
        self.mock = mt.MockTwitch(**(mock_kw or {})).start()
        self.broker = None
        self.sub = None
        self.br = None
        try:
            self.broker = h.Broker().start()
            self.sub = RapMqtt(self.broker)
            e = self.mock.env(keepalive)
            e.update(env or {})
            self.br = h.Bridge(self.broker, args=list(args), env=e)
            if start_bridge:
                self.start_bridge()
        except BaseException:
            # The test case never got this stack, so its tearDown cannot
            # show why the bridge did not come up.
            if self.br is not None and self.br.proc is not None:
                dump_stack(self)
            self.close()
            raise

    def start_bridge(self):
        self.br.start()
        self.sub.wait_bridge(timeout=15)
        return self

    @property
    def base_path(self):
        """The path+query of the configured eventsub_url."""
        return "/ws?keepalive_timeout_seconds=%s" % self.keepalive

    def close(self):
        for x in (self.sub, self.br, self.broker):
            if x is not None:
                try:
                    x.close()
                except Exception:
                    pass
        self.mock.shutdown()

    # ------------------------------------------------------- requests
    def request(self, action, payload, timeout=20):
        """Like harness Mqtt.request (dict payload, a unique transaction),
        but fails at once, naming the exit status, when twitch2mqtt dies
        while we wait for the answer."""
        p = dict(payload)
        tx = p.setdefault("transaction", "tx-" + uuid.uuid4().hex)
        topic = "twitch/bridge/response/" + action
        since = self.sub.mark()
        self.sub.publish("twitch/bridge/request/" + action, p)
        deadline = time.monotonic() + timeout
        while True:
            got = self.sub.find(
                lambda m: m.topic == topic and
                isinstance(m.try_json(), dict) and
                m.try_json().get("transaction") == tx, since)
            if got:
                return got[0].json()
            if self.br is not None and self.br.proc is not None and \
                    not self.br.alive():
                raise AssertionError(
                    "twitch2mqtt exited (status %s%s) while handling %s %s"
                    % (self.br.proc.poll(), " = SIGSEGV"
                       if self.br.proc.poll() == -11 else "", action,
                       json.dumps(p)))
            if time.monotonic() >= deadline:
                raise AssertionError("no answer on %s within %ss to %s"
                                     % (topic, timeout, json.dumps(p)))
            time.sleep(0.05)

    def subscribe(self, events=None, channel="cool_streamer", timeout=20,
                  **extra):
        p = {"channel": channel}
        if events is not None:
            p["events"] = events
        p.update(extra)
        return self.request("subscribe", p, timeout)

    def held(self):
        ans = self.request("subscriptions", {})
        assert ans.get("status") == "ok", ans
        return ans["data"]

    def held_ws(self, login="cool_streamer"):
        for s in self.held():
            if s.get("transport") == "websocket" and \
                    s["channel"]["login"] == login:
                return s
        return None

    # ------------------------------------------------------ eventsub
    def wait_conn(self, since_t, timeout=15, pred=None, desc=None):
        return self.mock.wait_conn(timeout, since_t, pred, desc)

    def wait_posts(self, session, want_keys, timeout=15, since=0):
        """Waits until the 202-answered POSTs for session cover want_keys
        exactly (as a multiset); returns them. Raises with what was posted
        instead."""
        want = sorted(want_keys)
        deadline = time.monotonic() + timeout
        while True:
            got = self.mock.sub_posts(since, session=session, ok=True)
            keys = sorted(post_key(r) for r in got)
            if keys == want:
                return got
            if time.monotonic() >= deadline or len(keys) > len(want):
                allp = self.mock.sub_posts(since)
                raise AssertionError(
                    "POST /helix/eventsub/subscriptions for session %s:\n"
                    "  wanted:\n    %s\n  got (202):\n    %s\n  all POSTs "
                    "since: %s" % (session, fmt_keys(want), fmt_keys(keys),
                                   allp[-12:]))
            time.sleep(0.05)

    def notify(self, typ, event, **kw):
        r = self.mock.notify(typ, event, **kw)
        assert r, ("mock: no live connection holds a %s subscription "
                   "(subscriptions: %s)" % (typ, [
                       (s["type"], s["status"])
                       for s in self.mock.subscriptions()]))
        return r

    def wait_event(self, topic, message_id, timeout=10, since=0):
        m = self.sub.wait_for(
            lambda m: m.topic == topic and
            m.try_json().get("id") == message_id, timeout, since,
            desc="event %s on %s" % (message_id, topic))
        return m

    def settle(self, timeout=10):
        """Sends a sentinel cheer and waits for it: whatever the bridge
        received before has been handled by then."""
        r = self.notify("channel.cheer", cheer("sentinel"))
        self.wait_event("twitch/cool_streamer/bits", r.message_id, timeout)
        return r.message_id

    def bridge_events(self, typ, since=0):
        return [m.json() for m in self.sub.find(
            lambda m: m.topic == "twitch/bridge/event" and
            isinstance(m.try_json(), dict) and
            m.try_json().get("type") == typ, since)]

    def wait_bridge_event(self, typ, timeout=15, since=0, pred=None):
        m = self.sub.wait_for(
            lambda m: m.topic == "twitch/bridge/event" and
            m.json().get("type") == typ and (pred is None or pred(m.json())),
            timeout, since, desc="a %r event on twitch/bridge/event" % typ)
        return m.json()


def check_bridge_event(tc, d, typ, channel=None):
    """CONTRACT 3: {"type","time","source","channel","events","detail"}."""
    for k in ("type", "time", "source", "channel", "events", "detail"):
        tc.assertIn(k, d, "bridge event has %s: %s" % (k, d))
    tc.assertEqual(d["type"], typ)
    tc.assertRegex(d["time"], h.RFC3339_RE)
    tc.assertIsInstance(d["events"], list)
    tc.assertIsInstance(d["detail"], str)
    tc.assertGreater(len(d["detail"].strip()), 10, "detail is a sentence")
    if channel is not None:
        tc.assertEqual(d["channel"], channel, d)
    else:
        tc.assertTrue(d["channel"] is None or isinstance(d["channel"], str))


def check_common(tc, m, typ, message_id, channel=CH):
    """CONTRACT 4: the common fields of an EventSub WebSocket event."""
    e = m.json()
    tc.assertFalse(m.retain, "events are not retained")
    tc.assertEqual(list(e.keys())[:8], h.COMMON_KEYS,
                   "common fields in contract order: %s" % m.text)
    tc.assertEqual(e["id"], message_id, "id is the metadata message_id")
    tc.assertEqual(e["type"], typ)
    tc.assertIsInstance(e["event_type"], str)
    tc.assertTrue(e["event_type"])
    tc.assertEqual(e["source"], SOURCE)
    tc.assertRegex(e["time"], h.TIME_MS_RE)
    tc.assertIs(e["test"], False)
    tc.assertEqual(e["channel"], channel)
    if e["user"] is not None:
        check_user(tc, e["user"])
    return e


def check_user(tc, u, want=None, what="user"):
    tc.assertIsInstance(u, dict, what)
    tc.assertEqual(list(u.keys()), ["id", "login", "name"],
                   "%s object is {id,login,name}: %s" % (what, u))
    if want is not None:
        tc.assertEqual(u, want, what)


def same_instant(tc, got, want, what):
    """An RFC 3339 time equal to want at least to the millisecond."""
    tc.assertIsInstance(got, str, what)
    tc.assertRegex(got, h.RFC3339_RE, what)
    tc.assertEqual(got[:19], want[:19], what)
    fg = (re.search(r"\.(\d+)", got) or [None, ""])[1]
    fw = (re.search(r"\.(\d+)", want) or [None, ""])[1]
    n = min(len(fg), 3)
    tc.assertEqual(fg[:n], fw[:n], "%s: %s vs %s" % (what, got, want))


def check_no_leaks(tc, st, requests_too=True):
    """No secret handed out by the mock (client secret, access, refresh
    and app tokens, including refreshed ones) in any MQTT message or the
    bridge log. requests_too=False leaves out our own requests, which
    carry a subscription's tokens by design."""
    secs = st.mock.secrets()
    log = st.br.log_text() if st.br else ""
    for m in st.sub.snapshot():
        if not requests_too and m.topic.startswith("twitch/bridge/request/"):
            continue
        for s in secs:
            if s.encode() in m.payload or s in m.topic:
                tc.fail("secret %s... published on %s" % (s[:10], m.topic))
    for s in secs:
        if s in log:
            tc.fail("secret %s... appears in the bridge log" % s[:10])


def check_no_violations(tc, st):
    v = st.mock.violations()
    tc.assertEqual(v, [], "the bridge sent frames other than Pong on the "
                   "EventSub socket (Twitch closes with 4001): %s" % v)


def dump_stack(st, log=True):
    """Writes the bridge log and the mock's record to stderr."""
    w = sys.stderr.write
    if log and st.br is not None:
        w("\n----- twitch2mqtt log (%s, rc=%s) -----\n%s\n" % (
            st.br.log_path, st.br.proc.poll() if st.br.proc else None,
            st.br.log_text()[-8000:]))
    w("----- mock Twitch record -----\n")
    for r in st.mock.reqs()[-40:]:
        w("  %r\n" % (r,))
    for c in st.mock.connections():
        w("  %r\n" % (c,))
    w("-----\n")


class EsCase(h.BridgeTestCase):
    """A test case owning one Stack per test (self.st)."""

    def stack(self, **kw):
        st = Stack(**kw)
        self.addCleanup(st.close)
        self._bridges.append(st.br)
        self.st = st
        return st

    def _es_failed(self):
        # tearDown runs in a fresh part of the unittest outcome (Python
        # 3.11): ask the result whether this test failed.
        outcome = getattr(self, "_outcome", None)
        result = getattr(outcome, "result", None)
        if result is None:
            return False
        for test, _tb in list(result.failures) + list(result.errors):
            if test is self or getattr(test, "test_case", None) is self:
                return True
        return False

    def tearDown(self):
        st = getattr(self, "st", None)
        failed = self._es_failed()
        if st is not None and (failed or os.environ.get("ITEST_VERBOSE")):
            # a harness with _failed prints the bridge log itself
            dump_stack(st, log=not hasattr(h.BridgeTestCase, "_failed"))
        super().tearDown()

    def ok_events(self, ans, events):
        self.assertEqual(ans.get("status"), "ok", ans)
        self.assertNotIn("error", ans)
        self.assertEqual(ans["data"]["channel"], CH, ans)
        self.assertEqual(ans["data"]["events"],
                         {e: "enabled" for e in events}, ans)
