"""CONTRACT 6: the HTTP server's /healthz and /metrics."""

import json
import re
import time
import urllib.error
import urllib.request

import harness as h
from harness import BridgeTestCase


def get(port, path, timeout=3):
    """(status, headers, body text); connection errors -> (None, {}, err)."""
    url = "http://127.0.0.1:%d%s" % (port, path)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode("utf-8",
                                                              "replace")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as e:
        return None, {}, str(e)


def metric(text, name, labels=None):
    """Value of the sample name{labels...} in Prometheus text, or None.
    labels: dict that must be a subset of the sample's labels."""
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)',
                     line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                              m.group(3) or ""))
        if labels and any(got.get(k) != v for k, v in labels.items()):
            continue
        return float(m.group(4))
    return None


class HttpTest(BridgeTestCase):

    def setUp(self):
        super().setUp()
        self.b = self.broker()
        self.sub = self.mqtt(self.b)
        self.port = h.free_port()
        self.br = self.bridge(self.b, args=["--demo"], env={
            "TWITCH2MQTT_HTTP_LISTEN": "127.0.0.1:%d" % self.port})

    def wait_status(self, path, status, timeout):
        last = [None]

        def ok():
            last[0] = get(self.port, path)
            return last[0][0] == status
        try:
            h.wait_until(ok, timeout, interval=0.2)
        except AssertionError:
            self.fail("GET %s: wanted %s within %ss, last answer %r"
                      % (path, status, timeout, last[0]))
        return last[0]

    def test_healthz_follows_mqtt(self):
        st, hdr, body = self.wait_status("/healthz", 200, 10)
        d = json.loads(body)
        self.assertEqual(d.get("status"), "ok", body)
        self.b.stop()
        st, hdr, body = self.wait_status("/healthz", 503, 8)
        self.assertIn("mqtt", body.lower(), "503 says what is down: "
                      + body)
        self.b.start()
        self.wait_status("/healthz", 200, 15)

    def test_metrics(self):
        self.wait_status("/healthz", 200, 10)
        self.sub.wait_for(lambda m: m.topic == "twitch/demo/bits", 12,
                          desc="a demo bits event")
        last = [None]

        def has_bits():
            last[0] = get(self.port, "/metrics")
            st, _hdr, body = last[0]
            # published counts the broker's acknowledgement, which may
            # trail the subscriber's copy: wait for both.
            return st == 200 and (metric(body, "twitch2mqtt_events_"
                                         "received_total",
                                         {"source": "demo",
                                          "type": "bits"}) or 0) >= 1 and \
                (metric(body, "twitch2mqtt_events_published_total",
                        {"type": "bits"}) or 0) >= 1
        try:
            h.wait_until(has_bits, 5, interval=0.2)
        except AssertionError:
            self.fail("/metrics lacks twitch2mqtt_events_received_total"
                      "{source=\"demo\",type=\"bits\"} >= 1 or "
                      "twitch2mqtt_events_published_total{type=\"bits\"} "
                      ">= 1: %r" % (last[0],))
        st, hdr, text = last[0]
        ctype = {k.lower(): v for k, v in hdr.items()}.get("content-type", "")
        self.assertTrue(ctype.startswith("text/plain"), ctype)
        self.assertGreaterEqual(
            metric(text, "twitch2mqtt_events_published_total",
                   {"type": "bits"}) or 0, 1, text)
        self.assertEqual(metric(text, "twitch2mqtt_mqtt_connected"), 1,
                         text)
        self.assertIsNotNone(metric(text, "twitch2mqtt_buffered_events"),
                             text)
        # Labelled counters may have no samples yet; they must at least be
        # declared.
        for name in ("twitch2mqtt_events_dropped_total",
                     "twitch2mqtt_webhook_rejected_total",
                     "twitch2mqtt_reconnects_total"):
            self.assertRegex(text, r"(?m)^(# TYPE %s counter|%s[{ ])"
                             % (name, name), "%s in /metrics" % name)

    def test_metrics_when_broker_down(self):
        self.wait_status("/healthz", 200, 10)
        self.b.stop()

        def down():
            st, _h, body = get(self.port, "/metrics")
            return st == 200 and metric(body, "twitch2mqtt_mqtt_connected") \
                == 0 and body
        body = h.wait_until(down, 8, interval=0.2,
                            desc="twitch2mqtt_mqtt_connected 0")
        time.sleep(2.5)   # demo events pile up in the buffer
        st, _h, body = get(self.port, "/metrics")
        self.assertGreaterEqual(metric(body, "twitch2mqtt_buffered_events")
                                or 0, 1, "events buffered while the broker "
                                "is away")

    def test_unknown_path(self):
        self.wait_status("/healthz", 200, 10)
        st, _h, _b = get(self.port, "/no/such/path")
        self.assertEqual(st, 404)


if __name__ == "__main__":
    h.main()
