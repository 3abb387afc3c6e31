"""
Shared pieces of the PubSub tests (test_pubsub*.py): mock Twitch (Helix
and OAuth) + mock PubSub + mosquitto + twitch2mqtt + an MQTT collector,
the byte-exact example frames of shared/twitch/pubsub.md, and the topic
strings the bridge must LISTEN to.
"""

import json
import os
import re

import es_common as es
import harness as h
from mock_pubsub import MockPubSub

CH = es.CH
SOURCE = "pubsub"
CID = "1337"        # cool_streamer; also the mock token's user

TOPICS = {
    "bits": "channel-bits-events-v2.%s",
    "bits_badge": "channel-bits-badge-unlocks.%s",
    "channel_points": "channel-points-channel-v1.%s",
    "channel_points_update": "channel-points-channel-v1.%s",
    "subscription": "channel-subscribe-events-v1.%s",
    "moderation": "chat_moderator_actions." + CID + ".%s",
    "whisper": "whispers." + CID,
}


def topic(event, cid=CID):
    t = TOPICS[event]
    return t % cid if "%s" in t else t


def bits(mid, text="Cheer1"):
    """The inner document (data.message) of a bits MESSAGE, id mid."""
    return {"data": {"user_id": "9001", "user_name": "happy_viewer",
                     "bits_used": 1, "chat_message": text},
            "message_type": "bits_event", "message_id": mid}


def md_frames():
    """The json blocks of pubsub.md section 7, as dicts, in order."""
    root = os.environ.get("BR_SOURCE_DIR") or os.path.join(
        os.path.dirname(__file__), "..", "..")
    with open(os.path.join(root, "..", "shared", "twitch",
                           "pubsub.md")) as f:
        text = f.read()
    text = text[text.index("## 7. Test fixtures"):]
    return [json.loads(b) for b in re.findall(r"```json\n(.*?)\n```", text,
                                              re.S)]


class PsStack(es.Stack):
    """es.Stack with a mock PubSub the bridge is pointed at."""

    def __init__(self, args=("-v",), env=None, **kw):
        super().__init__(args=args, env=env, start_bridge=False, **kw)
        try:
            self.ps = MockPubSub(twitch=self.mock).start()
            self.br.extra_env["TWITCH2MQTT_TWITCH_PUBSUB_URL"] = self.ps.url
            self.start_bridge()
        except BaseException:
            self.close()
            raise

    def close(self):
        super().close()
        ps = getattr(self, "ps", None)
        if ps is not None:
            ps.shutdown()

    def subscribe_ps(self, events, channel="cool_streamer", **extra):
        return self.subscribe(events, channel=channel, transport="pubsub",
                              **extra)

    def ps_events(self, typ=None, since=0):
        return [m for m in self.sub.find(
            lambda m: isinstance(m.try_json(), dict) and
            m.try_json().get("source") == SOURCE and
            (typ is None or m.try_json().get("type") == typ), since)]

    def wait_ps_event(self, topic, pred=None, timeout=10, since=0,
                      desc=None):
        return self.sub.wait_for(
            lambda m: m.topic == topic and isinstance(m.try_json(), dict)
            and (pred is None or pred(m.json())), timeout, since,
            desc=desc or "an event on %s" % topic).json()


def check_common(tc, e, typ, channel=CH):
    tc.assertEqual(list(e.keys())[:8], h.COMMON_KEYS, e)
    tc.assertEqual(e["type"], typ)
    tc.assertIsInstance(e["event_type"], str)
    tc.assertTrue(e["id"])
    tc.assertEqual(e["source"], SOURCE)
    tc.assertRegex(e["time"], h.TIME_MS_RE)
    tc.assertIs(e["test"], False)
    tc.assertEqual(e["channel"], channel)
    if e["user"] is not None:
        es.check_user(tc, e["user"])
