"""CONTRACT 1: SIGTERM/SIGINT (offline, exit 0 within 5 s, unpublished
events saved to <state_dir> and published after the next start) and SIGHUP
(reload; keep the old configuration if the new one is invalid; channels
reconciled at once)."""

import json
import signal
import time

import harness as h
from harness import BridgeTestCase, unique


def events_in(data):
    """Event objects (dicts with id, type and event_type) anywhere in a
    state file: one JSON document, or JSON lines."""
    found = []

    def walk(o):
        if isinstance(o, dict):
            if all(k in o for k in ("id", "type", "event_type")):
                found.append(o)
            else:
                for v in o.values():
                    walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
        elif isinstance(o, str) and o.lstrip().startswith("{"):
            try:
                walk(json.loads(o))   # an event stored as a JSON string
            except ValueError:
                pass
    text = data.decode("utf-8", "replace")
    try:
        walk(json.loads(text))
    except ValueError:
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                walk(json.loads(line))
            except ValueError:
                pass
    return found


class StopSignalTest(BridgeTestCase):

    def stop_with(self, sig):
        b = self.broker()
        sub = self.mqtt(b)
        br = self.bridge(b, args=["--demo"])
        sub.wait_for(lambda m: m.topic == "twitch/bridge/state" and
                     m.text == "online", 10, desc="bridge online")
        since = sub.mark()
        t0 = time.monotonic()
        br.terminate(sig)
        rc = br.wait_exit(5)
        took = time.monotonic() - t0
        self.assertEqual(rc, 0, "exit code after %s" % sig.name)
        self.assertLess(took, 5.0)
        sub.wait_for(lambda m: m.topic == "twitch/bridge/state" and
                     m.text == "offline", 3, since,
                     desc="offline on twitch/bridge/state")
        r = h.retained(b.port, "twitch/bridge/state")
        self.assertIsNotNone(r)
        self.assertEqual(r.text, "offline", "retained state after exit")

    def test_sigterm(self):
        self.stop_with(signal.SIGTERM)

    def test_sigint(self):
        self.stop_with(signal.SIGINT)


class LastWillTest(BridgeTestCase):

    def test_killed_bridge_goes_offline(self):
        # CONTRACT 3: twitch/bridge/state offline is the last will.
        b = self.broker()
        sub = self.mqtt(b)
        br = self.bridge(b, args=["--demo"])
        sub.wait_for(lambda m: m.topic == "twitch/bridge/state" and
                     m.text == "online", 10, desc="bridge online")
        since = sub.mark()
        br.kill()
        sub.wait_for(lambda m: m.topic == "twitch/bridge/state" and
                     m.text == "offline", 5, since,
                     desc="the last will (offline) after SIGKILL")
        r = h.retained(b.port, "twitch/bridge/state")
        self.assertEqual(r and r.text, "offline", "the will is retained")


class ReloadTest(BridgeTestCase):

    def start_with_config(self, cfg):
        b = self.broker()
        sub = self.mqtt(b)
        br = self.bridge(b, config=cfg)
        ans = sub.wait_bridge()
        self.assertEqual(ans.get("status"), "ok", ans)
        return b, sub, br

    def test_sighup_valid_config_keeps_running(self):
        b, sub, br = self.start_with_config(
            {"bridge": {"log_level": "info"}})
        br.write_config({"bridge": {"log_level": "debug"}})
        br.terminate(signal.SIGHUP)
        time.sleep(1.0)
        self.assertTrue(br.alive(), "twitch2mqtt exited on SIGHUP: rc=%s"
                        % br.proc.poll())
        ans = sub.request("health", {})
        self.assertEqual(ans.get("status"), "ok", ans)
        self.assertEqual(br.stop(), 0)

    def test_sighup_invalid_config_keeps_old(self):
        b, sub, br = self.start_with_config(
            {"bridge": {"log_level": "info"}})
        mark = len(br.log_text())
        br.write_config({"bridge": {"log_level": "loud"},
                         "bogus_key_xyz": 1})
        br.terminate(signal.SIGHUP)
        # one log line that mentions the configuration and keeping the old
        m = br.wait_log(r"(?im)^(?=.*config)(?=.*(keep|kept|old|previous|"
                        r"unchanged|retain|still)).*$", 5, mark)
        self.assertTrue(br.alive(), "twitch2mqtt exited on a bad SIGHUP")
        tail = br.log_text()[mark:]
        self.assertRegex(tail, r"bogus_key_xyz|log_level",
                         "the reload failure names the bad key")
        ans = sub.request("health", {})
        self.assertEqual(ans.get("status"), "ok", ans)
        # still the old config: a second, valid reload works as usual
        br.write_config({"bridge": {"log_level": "info"}})
        br.terminate(signal.SIGHUP)
        time.sleep(0.5)
        self.assertTrue(br.alive())
        self.assertEqual(br.stop(), 0)
        del m

    def test_sighup_reconciles_channels(self):
        ch = unique("hup_chan")
        b, sub, br = self.start_with_config({"channels": []})
        br.write_config({"channels": [{"channel": ch, "transport": "demo",
                                       "events": ["bits", "raid"]}]})
        br.terminate(signal.SIGHUP)

        def held():
            ans = sub.request("subscriptions", {})
            return [s for s in ans.get("data") or []
                    if s["channel"]["login"] == ch]
        got = h.wait_until(held, 5, interval=0.3,
                           desc="%s held after SIGHUP" % ch)
        self.assertEqual(got[0]["events"],
                         {"bits": "enabled", "raid": "enabled"})
        # removing it from channels drops it again
        br.write_config({"channels": []})
        br.terminate(signal.SIGHUP)
        h.wait_until(lambda: not held(), 5, interval=0.3,
                     desc="%s released after SIGHUP" % ch)
        self.assertTrue(br.alive())


class PendingEventsTest(BridgeTestCase):

    def test_unpublished_events_saved_and_sent_after_restart(self):
        b = self.broker()
        sub = self.mqtt(b)
        br = self.bridge(b, args=["--demo", "--demo-rate", "10"])
        sub.wait_for(lambda m: h.is_event(m, "demo"), 10,
                     desc="first demo event")
        b.stop()
        # give the demo source time to produce events nobody can take
        time.sleep(2.0)
        t0 = time.monotonic()
        br.terminate(signal.SIGTERM)
        rc = br.wait_exit(5)
        self.assertEqual(rc, 0, "SIGTERM with the broker away exits 0")
        self.assertLess(time.monotonic() - t0, 5.0)

        pending = {}
        for p, mode, data in br.state_files():
            for e in events_in(data):
                pending[e["id"]] = p
        self.assertTrue(pending, "no file in the state dir holds the "
                        "unpublished events; files: %s" % [
                            p for p, _m, _d in br.state_files()])

        # Subscriber first (it reconnects on its own), then the bridge.
        connects = sub.connects
        b.start()
        sub.wait_connected(connects + 1, 15)
        since = sub.mark()
        self.bridge(b, state_dir=br.state_dir)

        def arrived():
            return {m.json()["id"] for m in sub.snapshot(since)
                    if h.is_event(m)}
        try:
            h.wait_until(lambda: set(pending) <= arrived(), 15,
                         desc="saved events published after restart")
        except AssertionError:
            missing = sorted(set(pending) - arrived())
            self.fail("%d of %d saved events never arrived after the "
                      "restart, e.g. %s" % (len(missing), len(pending),
                                            missing[:5]))


if __name__ == "__main__":
    h.main()
