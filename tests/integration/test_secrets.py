"""Secrets never leave the process: not on MQTT (any topic, payload or
property), not in the log (even with -v), not in -n output; files in the
state dir that hold them are 0600 (CONTRACT 1, 2, 3, 5)."""

import os
import time

import harness as h
from harness import BridgeTestCase, unique

SECRETS = {
    "mqtt_password": "mqttpw_SECRET_5f1c2e9a7b",
    "client_secret": "clisec_SECRET_8d3b6a0f4e",
    "access_token": "acctok_SECRET_2c7e9f1a5d",
    "refresh_token": "reftok_SECRET_6a4d0b8c3f",
    "webhook_secret": "whsec_SECRET_9e2f7c1b4a",
    "sub_token": "tok_SECRET_3b8e5d2a9c",
    "sub_token_ws": "tok_SECRET_ws_7f0a1e6c2d",
    "sub_refresh": "ref_SECRET_1d9c4b7e2a",
    "sub_refresh_ws": "ref_SECRET_ws_5b2e8a0c6f",
}


class SecretsTest(BridgeTestCase):

    def setUp(self):
        super().setUp()
        self.b = self.broker()
        self.sub = self.mqtt(self.b)
        dead = h.free_port()   # Twitch endpoints that refuse connections
        tmp = h.mktemp("t2m-secrets-")
        self.addCleanup(lambda: __import__("shutil").rmtree(
            tmp, ignore_errors=True))

        def secret_file(name, value):
            p = os.path.join(tmp, name)
            with open(p, "w") as f:
                f.write(value + "\n")   # Docker secrets often end in \n
            return p
        self.config = {
            "twitch": {
                "client_id": "itestclientid0123456789",
                "access_token": SECRETS["access_token"],
                "api_url": "http://127.0.0.1:%d/helix" % dead,
                "auth_url": "http://127.0.0.1:%d/oauth2" % dead,
                "eventsub_url": "ws://127.0.0.1:%d/ws" % dead,
                "pubsub_url": "ws://127.0.0.1:%d" % dead,
            },
            "bridge": {"log_level": "debug"},
        }
        self.env = {
            "TWITCH2MQTT_MQTT_USERNAME": "itest_user",
            "TWITCH2MQTT_MQTT_PASSWORD_FILE":
                secret_file("mqtt_pw", SECRETS["mqtt_password"]),
            "TWITCH2MQTT_TWITCH_CLIENT_SECRET": SECRETS["client_secret"],
            "TWITCH2MQTT_TWITCH_REFRESH_TOKEN_FILE":
                secret_file("refresh", SECRETS["refresh_token"]),
            "TWITCH2MQTT_WEBHOOK_SECRET": SECRETS["webhook_secret"],
        }

    def assert_clean(self, text, where):
        for name, s in SECRETS.items():
            self.assertNotIn(s, text, "%s (%s) appears in %s"
                             % (name, s, where))
        self.assertNotIn("SECRET", text, "a secret fragment in %s" % where)

    def test_check_mode_does_not_print_secrets(self):
        br = self.bridge(self.b, start=False, config=self.config,
                         env=self.env)
        cp = h.run_cli(["-n", "-c", br.config_path], env=br.env())
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assert_clean(cp.stdout + cp.stderr, "-n output")

    def test_nothing_leaks(self):
        br = self.bridge(self.b, args=["--demo", "-v"], config=self.config,
                         env=self.env)
        sub = self.sub
        sub.wait_bridge()
        ch = unique("secret_chan")
        ans = sub.request("subscribe", {"channel": ch, "transport": "demo",
                                        "events": ["bits"],
                                        "token": SECRETS["sub_token"],
                                        "refresh_token":
                                            SECRETS["sub_refresh"]},
                          timeout=15)
        self.assertEqual(ans.get("status"), "ok", ans)
        # on an error path too
        ans = sub.request("subscribe", {"channel": unique("secret_ws"),
                                        "token": SECRETS["sub_token_ws"],
                                        "refresh_token":
                                            SECRETS["sub_refresh_ws"]})
        self.assertEqual(ans.get("status"), "error", ans)
        ans = sub.request("subscribe", {"channel": unique("secret_rt"),
                                        "transport": "demo",
                                        "refresh_token":
                                            SECRETS["sub_refresh_ws"]})
        self.assertEqual(ans.get("status"), "error", ans)
        self.assertIn("refresh_token needs token", ans.get("error"), ans)
        ans = sub.request("subscribe", {"channel": unique("secret_bad"),
                                        "transport": "demo",
                                        "events": ["nonsense"],
                                        "token": SECRETS["sub_token_ws"]})
        self.assertEqual(ans.get("status"), "error", ans)
        for action in ("subscriptions", "health"):
            ans = sub.request(action, {})
            self.assertEqual(ans.get("status"), "ok", ans)
        ans = sub.request("simulate", {"channel": ch, "type": "bits"})
        self.assertEqual(ans.get("status"), "ok", ans)
        # some demo traffic and retained state
        sub.wait_for(lambda m: h.is_event(m, "demo"), 10,
                     desc="a demo event (--demo given explicitly)")
        info = h.retained(self.b.port, "twitch/bridge/info")
        self.assertIsNotNone(info, "retained twitch/bridge/info")
        time.sleep(1.0)
        self.assertEqual(br.stop(), 0)

        for m in sub.snapshot():
            if m.topic.startswith("twitch/bridge/request/"):
                continue   # our own requests
            where = "MQTT message on %s" % m.topic
            self.assert_clean(m.topic, where)
            self.assert_clean(m.payload.decode("utf-8", "replace"), where)
            if m.properties is not None:
                self.assert_clean(str(m.properties), where + " properties")
            d = m.try_json()
            if d is not None:
                self.assertFalse(h.find_key(d, "token"),
                                 "a key named token in %s: %s" % (where,
                                                                  m.text))
        log = br.log_text()
        self.assertTrue(log.strip(), "-v produced no log at all")
        self.assert_clean(log, "the log")

        # The subscription's token is stored, privately.
        files = br.state_files()
        for name in ("sub_token", "sub_refresh"):
            holding = [(p, mode) for p, mode, data in files
                       if SECRETS[name].encode() in data]
            self.assertTrue(holding, "the subscription's %s is not stored "
                            "in the state dir (files: %s)" % (
                                name, [p for p, _m, _d in files]))
        for p, mode, data in files:
            if any(s.encode() in data for s in SECRETS.values()):
                self.assertEqual(mode, 0o600, "%s holds a secret with mode "
                                 "%o" % (p, mode))
            for name in ("sub_token_ws", "sub_refresh_ws"):
                self.assertNotIn(SECRETS[name].encode(), data, "a failed "
                                 "request's %s was stored in %s" % (name, p))


if __name__ == "__main__":
    h.main()
