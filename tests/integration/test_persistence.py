"""CONTRACT 5: subscriptions are persisted in <state_dir>, restored on start,
and mirrored on the retained <base>/bridge/subscriptions."""

import json

import harness as h
from harness import BridgeTestCase, unique


def summary(subs):
    # The built-in demo (README: with no credentials and nothing held the
    # bridge holds channel demo on the demo transport) is left out.
    return sorted((s["channel"]["login"], s.get("transport"),
                   tuple(sorted(s["events"]))) for s in subs
                  if s["channel"]["login"] != "demo")


class PersistenceTest(BridgeTestCase):

    def test_subscriptions_survive_restart(self):
        b = self.broker()
        sub = self.mqtt(b)
        one, two = unique("persist_one"), unique("persist_two")
        br = self.bridge(b)
        sub.wait_bridge()
        ans = sub.request("subscribe", {"channel": one, "transport": "demo"})
        self.assertEqual(ans.get("status"), "ok", ans)
        ans = sub.request("subscribe", {"channel": two, "transport": "demo",
                                        "events": ["bits", "raid"]})
        self.assertEqual(ans.get("status"), "ok", ans)
        before = sub.request("subscriptions", {})
        self.assertEqual(before.get("status"), "ok", before)
        want = [(one, "demo", tuple(sorted(h.DEFAULT_EVENTS))),
                (two, "demo", ("bits", "raid"))]
        self.assertEqual(summary(before["data"]), want)

        self.assertEqual(br.stop(), 0, "SIGTERM exits 0")

        # Files holding the subscriptions are private.
        holding = [(p, mode) for p, mode, data in br.state_files()
                   if one.encode() in data]
        self.assertTrue(holding, "no file in the state dir %s holds the "
                        "subscriptions: %s" % (br.state_dir, [
                            p for p, _m, _d in br.state_files()]))
        for p, mode in holding:
            self.assertEqual(mode, 0o600, "%s has mode %o" % (p, mode))

        # Forget the old retained mirror so that what we see next comes
        # from the restarted bridge.
        sub.clear_retained("twitch/bridge/subscriptions")
        h.wait_until(lambda: h.retained(b.port,
                                        "twitch/bridge/subscriptions",
                                        0.5) is None, 5,
                     desc="retained subscriptions cleared")

        br2 = self.bridge(b, state_dir=br.state_dir)
        sub.wait_bridge()
        after = sub.request("subscriptions", {})
        self.assertEqual(after.get("status"), "ok", after)
        self.assertEqual(summary(after["data"]), want,
                         "restored subscriptions: %s" % after)
        for s in after["data"]:
            self.assertEqual(set(s["events"].values()), {"enabled"}, s)

        def mirrored():
            r = h.retained(b.port, "twitch/bridge/subscriptions", 2)
            return r if r is not None and summary(r.json()) == want else None
        try:
            h.wait_until(mirrored, 10, desc="retained mirror")
        except AssertionError:
            r = h.retained(b.port, "twitch/bridge/subscriptions", 2)
            self.fail("after restart, retained twitch/bridge/subscriptions "
                      "is %r, want %r" % (r and r.text, want))
        self.assertTrue(br2.alive())

    def test_unsubscribe_is_persisted(self):
        b = self.broker()
        sub = self.mqtt(b)
        ch = unique("persist_rm")
        keep = unique("persist_keep")
        br = self.bridge(b)
        sub.wait_bridge()
        for c in (ch, keep):
            ans = sub.request("subscribe", {"channel": c, "transport": "demo",
                                            "events": ["bits"]})
            self.assertEqual(ans.get("status"), "ok", ans)
        ans = sub.request("unsubscribe", {"channel": ch, "transport": "demo"})
        self.assertEqual(ans.get("status"), "ok", ans)
        self.assertEqual(br.stop(), 0)
        self.bridge(b, state_dir=br.state_dir)
        sub.wait_bridge()
        after = sub.request("subscriptions", {})
        self.assertEqual(summary(after["data"]),
                         [(keep, "demo", ("bits",))], after)
        self.assertNotIn(ch, json.dumps(after))


if __name__ == "__main__":
    h.main()
