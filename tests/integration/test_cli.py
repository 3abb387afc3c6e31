"""CONTRACT 1 and 2: command line, -n configuration check, exit codes."""

import json
import os
import re
import shutil

import harness as h
from harness import run_cli


class CliTest(h.BridgeTestCase):

    def setUp(self):
        super().setUp()
        self.tmp = h.mktemp("t2m-cli-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def cfg(self, obj, name="config.json"):
        p = os.path.join(self.tmp, name)
        with open(p, "w") as f:
            f.write(obj if isinstance(obj, str) else json.dumps(obj))
        return p

    def out(self, cp):
        return cp.stdout + cp.stderr

    def test_version(self):
        cp = run_cli(["--version"])
        self.assertEqual(cp.returncode, 0, self.out(cp))
        self.assertRegex(self.out(cp), r"\d+\.\d+\.\d+")

    def test_help(self):
        for opt in ("-h", "--help"):
            with self.subTest(opt=opt):
                cp = run_cli([opt])
                self.assertEqual(cp.returncode, 0, self.out(cp))
                self.assertRegex(self.out(cp).lower(), r"usage")
                self.assertIn("-c", self.out(cp))

    def test_check_good_config(self):
        p = self.cfg({"mqtt": {"url": "mqtt://127.0.0.1:1883", "qos": 2,
                               "base_topic": "tw"},
                      "bridge": {"log_level": "debug"}})
        cp = run_cli(["-n", "-c", p])
        self.assertEqual(cp.returncode, 0, self.out(cp))
        self.assertIn("configuration OK", self.out(cp))

    def test_check_no_file_is_valid(self):
        cp = run_cli(["-n"], cwd=self.tmp)
        self.assertEqual(cp.returncode, 0, self.out(cp))
        self.assertIn("configuration OK", self.out(cp))

    def test_check_bad_keys(self):
        p = self.cfg({"mqtt": {"qos": 7, "bogus_mqtt_key": 1},
                      "bridge": {"log_level": "loud"},
                      "nonsense_section": True})
        cp = run_cli(["-n", "-c", p])
        self.assertEqual(cp.returncode, 2, self.out(cp))
        o = self.out(cp)
        self.assertNotIn("configuration OK", o)
        for key in ("mqtt.qos", "mqtt.bogus_mqtt_key", "bridge.log_level",
                    "nonsense_section"):
            self.assertIn(key, o, "each problem names its key")

    def test_check_wrong_type(self):
        p = self.cfg({"mqtt": {"qos": "one"}})
        cp = run_cli(["-n", "-c", p])
        self.assertEqual(cp.returncode, 2, self.out(cp))
        self.assertIn("mqtt.qos", self.out(cp))

    def test_config_missing(self):
        for args in (["-n", "-c", "/nonexistent/t2m.json"],
                     ["-c", "/nonexistent/t2m.json"]):
            with self.subTest(args=args):
                cp = run_cli(args, timeout=10)
                self.assertEqual(cp.returncode, 2, self.out(cp))
                self.assertIn("/nonexistent/t2m.json", self.out(cp))

    def test_config_unparsable(self):
        p = self.cfg('{"mqtt": {"qos": 1,,}')
        for args in (["-n", "-c", p], ["-c", p]):
            with self.subTest(args=args):
                cp = run_cli(args, timeout=10)
                self.assertEqual(cp.returncode, 2, self.out(cp))

    def test_unknown_option(self):
        cp = run_cli(["--frobnicate"], timeout=10)
        self.assertEqual(cp.returncode, 2, self.out(cp))

    def test_invalid_env_value(self):
        cp = run_cli(["-n"], env={"TWITCH2MQTT_MQTT_QOS": "7"})
        self.assertEqual(cp.returncode, 2, self.out(cp))
        self.assertIn("TWITCH2MQTT_MQTT_QOS", self.out(cp))

    def test_env_overrides_file(self):
        p = self.cfg({"mqtt": {"qos": 7}})
        cp = run_cli(["-n", "-c", p], env={"TWITCH2MQTT_MQTT_QOS": "1"})
        self.assertEqual(cp.returncode, 0, "env overrides the file's key: "
                         + self.out(cp))

    def test_config_from_env_variable(self):
        p = self.cfg({"mqtt": {"qos": 9}}, "from_env.json")
        cp = run_cli(["-n"], env={"TWITCH2MQTT_CONFIG": p}, cwd=self.tmp)
        self.assertEqual(cp.returncode, 2, "$TWITCH2MQTT_CONFIG is read: "
                         + self.out(cp))
        self.assertIn("mqtt.qos", self.out(cp))

    def test_config_from_cwd(self):
        self.cfg({"mqtt": {"qos": 9}}, "twitch2mqtt.json")
        cp = run_cli(["-n"], cwd=self.tmp)
        self.assertEqual(cp.returncode, 2, "./twitch2mqtt.json is read: "
                         + self.out(cp))
        self.assertIn("mqtt.qos", self.out(cp))

    def test_secret_file_variable(self):
        pw = os.path.join(self.tmp, "pw")
        with open(pw, "w") as f:
            f.write("cli_pw_value\n")
        cp = run_cli(["-n"], env={"TWITCH2MQTT_MQTT_PASSWORD_FILE": pw})
        self.assertEqual(cp.returncode, 0, self.out(cp))
        cp = run_cli(["-n"], env={"TWITCH2MQTT_MQTT_PASSWORD_FILE":
                                  "/nonexistent/pw"})
        self.assertEqual(cp.returncode, 2, "unreadable _FILE: "
                         + self.out(cp))
        self.assertIn("TWITCH2MQTT_MQTT_PASSWORD_FILE", self.out(cp))

    def test_channels_env(self):
        cp = run_cli(["-n"], env={"TWITCH2MQTT_CHANNELS":
                                  "cool_streamer,other:bits+raid"})
        self.assertEqual(cp.returncode, 0, self.out(cp))
        cp = run_cli(["-n"], env={"TWITCH2MQTT_CHANNELS": json.dumps(
            [{"channel": "cool_streamer", "events": ["follow"]}])})
        self.assertEqual(cp.returncode, 0, self.out(cp))
        cp = run_cli(["-n"], env={"TWITCH2MQTT_CHANNELS":
                                  "cool_streamer:bits+frobnication"})
        self.assertEqual(cp.returncode, 2, self.out(cp))
        self.assertRegex(self.out(cp), r"frobnication")

    def test_invalid_env_values(self):
        # (4, the wire level of 3.1.1, is accepted as 3: an extension)
        for var, val in (("TWITCH2MQTT_MQTT_VERSION", "6"),
                         ("TWITCH2MQTT_BRIDGE_LOG_LEVEL", "loud"),
                         ("TWITCH2MQTT_MQTT_URL", "http://x"),
                         ("TWITCH2MQTT_MQTT_TLS_INSECURE", "maybe")):
            with self.subTest(var=var):
                cp = run_cli(["-n"], env={var: val})
                self.assertEqual(cp.returncode, 2, self.out(cp))
                self.assertIn(var, self.out(cp))

    def test_every_documented_key_accepted(self):
        # CONTRACT 2's table: a file naming every key is valid.
        p = self.cfg({
            "mqtt": {"url": "mqtt://127.0.0.1:1883", "client_id": "x",
                     "username": "", "password": "", "base_topic": "twitch",
                     "qos": 1, "version": 5, "ca_file": "", "cert_file": "",
                     "key_file": "", "tls_insecure": False,
                     "buffer_max": 100000},
            "twitch": {"client_id": "", "client_secret": "",
                       "access_token": "", "refresh_token": "",
                       "api_url": "https://api.twitch.tv/helix",
                       "auth_url": "https://id.twitch.tv/oauth2",
                       "eventsub_url": "wss://eventsub.wss.twitch.tv/ws",
                       "pubsub_url": "wss://pubsub-edge.twitch.tv",
                       "ca_file": ""},
            "http": {"listen": ""},
            "webhook": {"path": "/webhook", "public_url": "", "secret": ""},
            "channels": [],
            "homeassistant": {"discovery": True, "prefix": "homeassistant"},
            "bridge": {"state_dir": os.path.join(self.tmp, "st"),
                       "log_level": "info"}})
        cp = run_cli(["-n", "-c", p])
        self.assertEqual(cp.returncode, 0, self.out(cp))
        self.assertIn("configuration OK", self.out(cp))

    def test_usage_mentions_options(self):
        cp = run_cli(["--help"])
        o = self.out(cp)
        for opt in ("-n", "--demo", "-v", "--version"):
            self.assertIn(opt, o)
        self.assertTrue(re.search(r"auth", o), "usage mentions auth")


if __name__ == "__main__":
    h.main()
