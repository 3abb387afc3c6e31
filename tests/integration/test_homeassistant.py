"""Home Assistant MQTT discovery (README "Home Assistant"; CONTRACT 2, 7):
every config topic and payload for a channel with three rewards, checked
against what the bridge really publishes: templates are evaluated on real
messages, event types against real events, topics against real topics.
Re-publication after a broker restart and after homeassistant/status
online; clean removal on unsubscribe; discovery off publishes nothing and
clears what an earlier run published."""

import re
import time

import es_common as es
import harness as h
from harness import BridgeTestCase, unique

PREFIX = "homeassistant"
CONFIG_RE = re.compile(r"^(?P<prefix>[^/]+)/(?P<component>binary_sensor|"
                       r"sensor|event|device_automation)/(?P<node>"
                       r"[a-zA-Z0-9_-]+)/(?P<object>[a-zA-Z0-9_-]+)/config$")
SAMPLE_REWARDS = [
    ("5a1e2c3d-0000-4000-8000-000000000001", "Hydrate!"),
    ("5a1e2c3d-0000-4000-8000-000000000002", "Lights: purple"),
    ("5a1e2c3d-0000-4000-8000-000000000003", "Play a sound"),
]
MOCK_REWARDS = [
    {"id": "aaaa0001-0000-4000-8000-000000000001", "title": "Hydrate!"},
    {"id": "aaaa0001-0000-4000-8000-000000000002", "title": "Lights: purple"},
    {"id": "aaaa0001-0000-4000-8000-000000000003", "title": "Posture check"},
]


# ------------------------------------------------ a tiny Jinja evaluator

def _path(value_json, dotted):
    v = value_json
    for k in dotted.split(".")[1:]:
        if not isinstance(v, dict) or k not in v:
            raise KeyError("%s undefined in %r" % (dotted, value_json))
        v = v[k]
    return v


def _jinja_str(v):
    if v is None:
        return "None"
    if isinstance(v, bool):
        return "True" if v else "False"
    return str(v)


def render(template, value_json):
    """The only template forms the bridge emits: {{ value_json.a.b }} and
    {{ 'X' if value_json.a else 'Y' }}. Anything else fails the test."""
    m = re.fullmatch(r"\{\{\s*(.*?)\s*\}\}", template)
    if not m:
        raise ValueError("not a single expression: %r" % template)
    expr = m.group(1)
    c = re.fullmatch(r"'([^']*)' if (value_json(?:\.\w+)+) else '([^']*)'",
                     expr)
    if c:
        return c.group(1) if _path(value_json, c.group(2)) else c.group(3)
    p = re.fullmatch(r"value_json(?:\.\w+)+", expr)
    if p:
        return _jinja_str(_path(value_json, expr))
    raise ValueError("template form the test cannot evaluate: %r" % template)


# ------------------------------------------------------------- helpers

def configs(port, prefix=PREFIX, settle=1.5):
    """Every retained config under <prefix>/ as a fresh subscriber sees it:
    {topic: payload dict}."""
    with h.Mqtt(port, topics=[prefix + "/#"]) as m:
        time.sleep(settle)
        out = {}
        for x in m.snapshot():
            if x.retain and x.payload:
                out[x.topic] = x.json()
        return out


def wait_configs(port, pred, timeout=15, prefix=PREFIX, desc="configs"):
    deadline = time.monotonic() + timeout
    while True:
        got = configs(port, prefix, settle=0.5)
        if pred(got):
            return got
        if time.monotonic() >= deadline:
            raise AssertionError("timed out waiting for %s; retained under "
                                 "%s/: %s" % (desc, prefix, sorted(got)))


def of_node(cfgs, node):
    return {t: c for t, c in cfgs.items() if "/%s/" % node in t}


def node_of(channel_id):
    return "twitch_" + channel_id


class HaCase(BridgeTestCase):

    def check_configs(self, cfgs, login, node, events, rewards,
                      prefix=PREFIX, base="twitch"):
        """Shape of every config of a channel and of the bridge device;
        returns {unique_id or topic: topic}."""
        bridge_node = "twitch2mqtt_" + base
        want = {
            "%s/binary_sensor/%s/connection/config" % (prefix, bridge_node),
            "%s/binary_sensor/%s/live/config" % (prefix, node),
            "%s/sensor/%s/title/config" % (prefix, node),
            "%s/sensor/%s/category/config" % (prefix, node),
        }
        want |= {"%s/event/%s/%s/config" % (prefix, node, e) for e in events}
        if "channel_points" in events:
            want |= {"%s/device_automation/%s/reward_%s/config"
                     % (prefix, node, rid) for rid, _t in rewards}
        mine = {t: c for t, c in cfgs.items()
                if "/%s/" % node in t or "/%s/" % bridge_node in t}
        self.assertEqual(sorted(mine), sorted(want))
        avail = ["%s/bridge/state" % base, "%s/%s/availability" % (base, login)]
        uids = {}
        for topic, c in mine.items():
            m = CONFIG_RE.match(topic)
            self.assertTrue(m, topic)
            self.assertEqual(m.group("prefix"), prefix)
            self.assertIsInstance(c, dict, topic)
            self.assertNotIn("object_id", c, topic)
            self.assertEqual(c["origin"]["name"], "twitch2mqtt", topic)
            self.assertTrue(c["device"]["identifiers"], topic)
            if m.group("component") == "device_automation":
                self.assertEqual(c["automation_type"], "trigger")
                self.assertEqual(c["type"], "redeemed")
                self.assertEqual(c["topic"], "%s/%s/channel_points"
                                 % (base, login))
                self.assertEqual(c["value_template"],
                                 "{{ value_json.reward.id }}")
                self.assertIn((c["payload"], c["subtype"]), rewards)
                self.assertEqual(c["device"]["identifiers"], [node])
                uids[topic] = topic
                continue
            self.assertNotIn(c["unique_id"], uids, "unique ids are unique")
            uids[c["unique_id"]] = topic
            if m.group("node") == bridge_node:
                self.assertEqual(c["device_class"], "connectivity")
                self.assertEqual(c["entity_category"], "diagnostic")
                self.assertEqual(c["state_topic"], "%s/bridge/state" % base)
                continue
            self.assertTrue(c["unique_id"].startswith(node + "_"))
            self.assertEqual([a["topic"] for a in c["availability"]], avail)
            self.assertEqual(c["availability_mode"], "all")
            self.assertEqual(c["device"]["identifiers"], [node])
            self.assertEqual(c["device"]["via_device"], bridge_node)
            if m.group("component") == "event":
                typ = m.group("object")
                self.assertEqual(c["state_topic"], "%s/%s/%s"
                                 % (base, login, typ))
                if typ == "channel_points":
                    self.assertEqual(sorted(c["event_types"]), sorted(
                        h.slug(t) for _r, t in rewards))
            else:
                self.assertEqual(c["state_topic"], "%s/%s/state"
                                 % (base, login))
        return uids

    def check_state_entities(self, cfgs, node, state):
        """The Live/Title/Category templates on the real state message."""
        live = cfgs["%s/binary_sensor/%s/live/config" % (PREFIX, node)]
        self.assertEqual(render(live["value_template"], state),
                         "ON" if state["live"] else "OFF")
        title = cfgs["%s/sensor/%s/title/config" % (PREFIX, node)]
        self.assertEqual(render(title["value_template"], state),
                         state["title"])
        cat = cfgs["%s/sensor/%s/category/config" % (PREFIX, node)]
        self.assertEqual(render(cat["value_template"], state),
                         state["category"])

    def check_event(self, cfgs, node, msg):
        """An event message against its entity and the reward triggers."""
        ev = msg.json()
        self.assertNotIn("event_types", ev)
        ent = [c for t, c in cfgs.items() if "/event/%s/" % node in t
               and c["state_topic"] == msg.topic]
        self.assertEqual(len(ent), 1, "one event entity reads %s"
                         % msg.topic)
        self.assertIn(ev["event_type"], ent[0]["event_types"],
                      "HA ignores an event_type not in event_types")
        fired = [c for t, c in cfgs.items()
                 if "/device_automation/%s/" % node in t and
                 c["topic"] == msg.topic and
                 render(c["value_template"], ev) == c["payload"]]
        return fired

    def assert_cleared(self, port, topics):
        left = configs(port)
        self.assertFalse(set(topics) & set(left),
                         "still retained: %s" % sorted(set(topics) & set(left)))


# ----------------------------------------------------------- the demo

class DemoDiscoveryTest(HaCase):
    """The demo channel (CONTRACT 7) with the three sample rewards."""

    def start(self, **kw):
        b = self.broker()
        sub = self.mqtt(b, topics=["#"])
        br = self.bridge(b, **kw)
        sub.wait_bridge()
        return b, sub, br

    def demo_node(self, sub):
        ans = sub.request("subscriptions", {})
        demo = [s for s in ans["data"] if s["channel"]["login"] == "demo"]
        return node_of(demo[0]["channel"]["id"])

    def test_demo_configs_templates_and_events(self):
        b, sub, br = self.start(args=["--demo"])
        node = self.demo_node(sub)
        cfgs = wait_configs(b.port, lambda c: len(of_node(c, node)) == 12)
        self.check_configs(cfgs, "demo", node, h.DEFAULT_EVENTS,
                           SAMPLE_REWARDS)
        # availability topics are real and online
        for t in ("twitch/bridge/state", "twitch/demo/availability"):
            self.assertEqual(h.retained(b.port, t).text, "online", t)
        # every event type: the event entity takes it, templates evaluate
        # simulate picks one of the three rewards at random: 12 tries missed
        # one about 2% of the time, 60 miss one once in 10^10
        seen_rewards = set()
        for typ in h.DEFAULT_EVENTS:
            for _ in range(60 if typ == "channel_points" else 1):
                if typ == "channel_points" and len(seen_rewards) == 3:
                    break
                since = sub.mark()
                ans = sub.request("simulate", {"channel": "demo",
                                               "type": typ})
                self.assertEqual(ans["status"], "ok", ans)
                msg = sub.wait_topic("twitch/demo/" + typ, since=since,
                                     pred=lambda m: m.json()["id"] ==
                                     ans["data"]["id"])
                fired = self.check_event(cfgs, node, msg)
                if typ == "channel_points":
                    self.assertEqual(len(fired), 1, "one trigger fires")
                    self.assertEqual(fired[0]["subtype"],
                                     msg.json()["reward"]["title"])
                    seen_rewards.add(fired[0]["payload"])
                else:
                    self.assertEqual(fired, [])
        self.assertEqual(len(seen_rewards), 3)
        self.check_state_entities(cfgs, node, h.retained(
            b.port, "twitch/demo/state").json())

    def test_unique_ids_stable_across_restarts(self):
        b, sub, br = self.start(args=["--demo"])
        node = self.demo_node(sub)
        first = wait_configs(b.port, lambda c: len(of_node(c, node)) == 12)
        self.assertEqual(br.stop(), 0)
        since = sub.mark()
        br.start()
        sub.wait_bridge()
        sub.wait_for(lambda m: m.topic.startswith(PREFIX + "/"), 10, since)
        again = configs(b.port)
        self.assertEqual(sorted(first), sorted(again))
        self.assertEqual({t: c.get("unique_id") for t, c in first.items()},
                         {t: c.get("unique_id") for t, c in again.items()})

    def test_republished_after_broker_restart(self):
        b, sub, br = self.start(args=["--demo"])
        node = self.demo_node(sub)
        before = wait_configs(b.port, lambda c: len(of_node(c, node)) == 12)
        b.restart()           # not persistent: every retained message gone
        sub.wait_connected(2, 15)
        after = wait_configs(b.port, lambda c: sorted(c) == sorted(before),
                             desc="every config after the broker restart")
        self.assertEqual(after, before)
        self.assertEqual(h.retained(b.port, "twitch/demo/availability").text,
                         "online")
        self.assertEqual(h.retained(b.port, "twitch/bridge/state").text,
                         "online")

    def test_homeassistant_status_online_custom_prefix(self):
        b, sub, br = self.start(args=["--demo"], env={
            "TWITCH2MQTT_HOMEASSISTANT_PREFIX": "ha_itest"})
        node = self.demo_node(sub)
        before = wait_configs(b.port, lambda c: len(of_node(c, node)) == 12,
                              prefix="ha_itest")
        self.assertEqual(configs(b.port, settle=0.5), {},
                         "nothing under the default prefix")
        since = sub.mark()
        sub.publish("ha_itest/status", "online")
        got = sub.wait_count(lambda m: m.topic in before, len(before), 10,
                             since, desc="configs again")
        self.assertEqual({m.topic for m in got}, set(before))
        last_cfg = max(m.seq for m in got)
        # then the state HA may have missed, after the configs
        for t in ("twitch/demo/availability", "twitch/bridge/state"):
            m = sub.wait_topic(t, 10, since=last_cfg)
            self.assertEqual(m.text, "online")
        sub.wait_topic("twitch/demo/state", 10, since=last_cfg)
        # an offline will and other payloads change nothing
        since = sub.mark()
        sub.publish("ha_itest/status", "offline")
        time.sleep(1)
        self.assertEqual(sub.find(lambda m: m.topic in before, since), [])

    def test_unsubscribe_clears_configs(self):
        b, sub, br = self.start(args=["--demo"])
        ch = unique("ha_unsub")
        ans = sub.request("subscribe", {"channel": ch, "transport": "demo",
                                        "events": ["bits", "channel_points",
                                                   "raid"]})
        self.assertEqual(ans["status"], "ok", ans)
        node = node_of(ans["data"]["channel"]["id"])
        cfgs = wait_configs(b.port, lambda c: len(of_node(c, node)) == 9)
        self.check_configs(cfgs, ch, node, ["bits", "channel_points", "raid"],
                           SAMPLE_REWARDS)
        gone = [t for t in of_node(cfgs, node)
                if "/channel_points/" in t or "/device_automation/" in t]
        self.assertEqual(len(gone), 4)
        since = sub.mark()
        ans = sub.request("unsubscribe", {"channel": ch, "transport": "demo",
                                          "events": ["channel_points"]})
        self.assertEqual(ans["status"], "ok", ans)
        for t in gone:
            m = sub.wait_topic(t, 10, since=since)
            self.assertEqual(m.payload, b"", "an empty payload deletes")
        self.assert_cleared(b.port, gone)
        left = of_node(configs(b.port), node)
        self.assertEqual(len(left), 5)
        ans = sub.request("unsubscribe", {"channel": ch, "transport": "demo"})
        self.assertEqual(ans["status"], "ok", ans)
        wait_configs(b.port, lambda c: not of_node(c, node),
                     desc="no config of the channel")
        # the demo channel keeps its own
        self.assertEqual(len(of_node(configs(b.port),
                                     self.demo_node(sub))), 12)

    def test_discovery_off_publishes_nothing(self):
        b, sub, br = self.start(args=["--demo"], env={
            "TWITCH2MQTT_HOMEASSISTANT_DISCOVERY": "false"})
        sub.request("simulate", {"channel": "demo", "type": "channel_points"})
        sub.publish(PREFIX + "/status", "online")
        time.sleep(2)
        ours = sub.find(lambda m: m.topic.startswith(PREFIX + "/") and
                        m.topic != PREFIX + "/status")
        self.assertEqual(ours, [])
        self.assertEqual(configs(b.port, settle=0.5), {})

    def test_discovery_off_clears_earlier_configs(self):
        """Turning discovery off clears, at the next start, every config an
        earlier run published, and publishes nothing more."""
        b, sub, br = self.start(args=["--demo"])
        node = self.demo_node(sub)
        before = wait_configs(b.port, lambda c: len(of_node(c, node)) == 12)
        self.assertEqual(br.stop(), 0)
        br.extra_env["TWITCH2MQTT_HOMEASSISTANT_DISCOVERY"] = "false"
        since = sub.mark()
        br.start()
        sub.wait_bridge()
        for t in before:
            m = sub.wait_topic(t, 10, since=since)
            self.assertEqual(m.payload, b"", "an empty payload deletes")
        wait_configs(b.port, lambda c: c == {}, desc="no config left")
        # and the next start has nothing left to clear
        self.assertEqual(br.stop(), 0)
        since = sub.mark()
        br.start()
        sub.wait_bridge()
        time.sleep(1)
        self.assertEqual(sub.find(lambda m: m.topic.startswith(PREFIX + "/"),
                                  since), [])


# ------------------------------------------------- EventSub WebSocket

class EventSubDiscoveryTest(es.EsCase, HaCase):
    """cool_streamer over EventSub with three rewards from Get Custom
    Reward (the token is the broadcaster's, with the scope)."""

    def setUp(self):
        super().setUp()
        st = self.stack(start_bridge=False)
        st.mock.set_rewards("1337", MOCK_REWARDS)
        st.start_bridge()

    def rewards(self, extra=()):
        return [(r["id"], r["title"]) for r in MOCK_REWARDS] + list(extra)

    def redeem(self, rid, title):
        ev = es.fixture("channel.channel_points_custom_reward_redemption.add")
        ev["reward"]["id"] = rid
        ev["reward"]["title"] = title
        since = self.st.sub.mark()
        r = self.st.notify(
            "channel.channel_points_custom_reward_redemption.add", ev)
        return self.st.wait_event("twitch/cool_streamer/channel_points",
                                  r.message_id, since=since)

    def test_rewards_from_helix_triggers_and_refresh(self):
        st = self.st
        events = ["bits", "channel_points", "stream"]
        self.ok_events(st.subscribe(events), events)
        node = node_of("1337")
        cfgs = wait_configs(st.broker.port,
                            lambda c: len(of_node(c, node)) == 9)
        self.check_configs(cfgs, "cool_streamer", node, events,
                           self.rewards())
        asked = st.mock.reqs("GET", "/helix/channel_points/custom_rewards")
        self.assertTrue(asked)
        self.assertIn(asked[0].q("broadcaster_id"), ("1337", ["1337"]))
        # a redemption of each reward fires exactly its trigger
        for r in MOCK_REWARDS:
            msg = self.redeem(r["id"], r["title"])
            fired = self.check_event(cfgs, node, msg)
            self.assertEqual([c["payload"] for c in fired], [r["id"]])
        # a stream event: the Live template on the state it moved
        ev = es.fixture("stream.online")
        ev = es.to_cool_streamer(ev)
        since = st.sub.mark()
        r = st.notify("stream.online", ev)
        msg = st.wait_event("twitch/cool_streamer/stream", r.message_id,
                            since=since)
        self.check_event(cfgs, node, msg)
        state = st.sub.wait_topic("twitch/cool_streamer/state",
                                  since=since).json()
        self.assertTrue(state["live"])
        self.check_state_entities(cfgs, node, state)
        # a reward created after start: learned from the redemption, and
        # Twitch is asked for the list again
        new = ("bbbb0002-0000-4000-8000-000000000009", "Stretch break")
        n_asked = len(asked)
        st.mock.set_rewards("1337", MOCK_REWARDS + [
            {"id": new[0], "title": new[1]}])
        self.redeem(*new)
        cfgs = wait_configs(st.broker.port,
                            lambda c: len(of_node(c, node)) == 10)
        self.check_configs(cfgs, "cool_streamer", node, events,
                           self.rewards([new]))
        h.wait_until(lambda: len(st.mock.reqs(
            "GET", "/helix/channel_points/custom_rewards")) > n_asked, 10,
            desc="Get Custom Reward asked again")
        msg = self.redeem(*new)
        fired = self.check_event(cfgs, node, msg)
        self.assertEqual([c["subtype"] for c in fired], [new[1]])
        # unsubscribe: the channel's configs go, the bridge's stay
        ans = st.request("unsubscribe", {"channel": "cool_streamer"})
        self.assertEqual(ans["status"], "ok", ans)
        left = wait_configs(st.broker.port, lambda c: not of_node(c, node),
                            desc="no config of cool_streamer")
        self.assertEqual(len(left), 1, left)


if __name__ == "__main__":
    h.main()
