"""EventSub over wss:// and Helix over https:// (twitch.ca_file), as Twitch
serves them: the bridge's own WebSocket client does TLS itself, checks the
server's certificate against twitch.ca_file and its address against the
certificate, answers pings and follows a session_reconnect over TLS. A
certificate it does not trust is refused with a clear log line, and the
bridge keeps trying, with backoff, without crashing."""

import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid

import es_common as es
import harness as h
from es_common import EsCase, cheer

BITS = "twitch/cool_streamer/bits"


def make_cert(d, name, san="IP:127.0.0.1"):
    cert = os.path.join(d, name + "-cert.pem")
    key = os.path.join(d, name + "-key.pem")
    r = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-subj", "/CN=twitch2mqtt test", "-addext", "subjectAltName=" + san,
         "-days", "1", "-keyout", key, "-out", cert],
        capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return cert, key


class TlsTest(EsCase):

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="t2m-wss-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.tls = make_cert(self.dir, "twitch")

    def test_wss_events_pings_and_reconnect(self):
        st = self.stack(mock_kw={"tls": self.tls, "ping_interval": 1.0})
        self.assertTrue(st.mock.eventsub_url().startswith("wss://"))
        self.ok_events(st.subscribe(["bits"]), ["bits"])
        st.br.wait_log(r"connecting to wss://127\.0\.0\.1:%d" %
                       st.mock.port, 5)
        c1 = st.mock.current()
        r = st.notify("channel.cheer", cheer("over tls"))
        m = st.wait_event(BITS, r.message_id, 10)
        self.assertEqual(m.json()["message"], "over tls")
        # Pings over TLS get their Pongs, echoing the payload.
        h.wait_until(lambda: len(c1.pongs) >= 2 or c1.closed is not None,
                     10, desc="2 Pongs over TLS")
        self.assertIsNone(c1.closed, "connection closed: %r" % c1)
        self.assertEqual(c1.pong_mismatch, [])
        # session_reconnect to a wss:// reconnect_url: no loss, no
        # duplicate, no new subscription.
        mark = st.mock.mark()
        t_rc = time.monotonic()
        ids = [str(uuid.uuid4()) for _ in range(2)]
        st.mock.reconnect(c1, after_welcome=[
            ("channel.cheer", cheer("dup"), ids[0], "old"),
            ("channel.cheer", cheer("dup"), ids[0], "new"),
            ("channel.cheer", cheer("new"), ids[1], "new")])
        c2 = st.wait_conn(t_rc, 10, pred=lambda c: c.reconnect_of is c1,
                          desc="a connection to the wss:// reconnect_url")
        self.assertTrue(c2.url_exact, "opened the reconnect_url exactly")
        since = 0
        for i in ids:
            st.wait_event(BITS, i, 10, since)
        time.sleep(0.5)
        got = [m.json()["id"] for m in st.sub.on_topic(BITS)]
        self.assertEqual(got.count(ids[0]), 1, "the duplicate was dropped")
        self.assertEqual(st.mock.sub_posts(mark), [],
                         "no subscription re-created after the reconnect")
        es.check_no_violations(self, st)

    def test_system_ca_directory(self):
        # No twitch.ca_file: the system's CAs, read from a hashed
        # directory ($SSL_CERT_DIR stands in for /etc/ssl/certs), for the
        # WebSocket and for Helix alike.
        cadir = os.path.join(self.dir, "certs")
        os.mkdir(cadir)
        shutil.copy(self.tls[0], os.path.join(cadir, "twitch.pem"))
        r = subprocess.run(["openssl", "rehash", cadir],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        st = self.stack(mock_kw={"tls": self.tls},
                        env={"TWITCH2MQTT_TWITCH_CA_FILE": "",
                             "SSL_CERT_DIR": cadir,
                             "SSL_CERT_FILE": "/nonexistent"})
        self.ok_events(st.subscribe(["bits"]), ["bits"])
        r = st.notify("channel.cheer", cheer("system CAs"))
        st.wait_event(BITS, r.message_id, 10)

    def test_host_name_checked(self):
        # A certificate for the name "localhost" only: good for
        # wss://localhost (SNI and the name check), refused for
        # wss://127.0.0.1, which it does not name.
        tls = make_cert(self.dir, "named", san="DNS:localhost")
        mock = es.mt.MockTwitch(tls=tls).start()
        self.addCleanup(mock.shutdown)
        env = {k: v.replace("127.0.0.1", "localhost")
               for k, v in mock.env().items()}
        st = self.stack(env=env)
        self.ok_events(st.subscribe(["bits"]), ["bits"])
        self.assertIsNotNone(mock.current(), "no WebSocket to localhost")
        r = mock.notify("channel.cheer", cheer("by name"))
        self.assertTrue(r)
        st.wait_event(BITS, r.message_id, 10)
        st.close()

        env["TWITCH2MQTT_TWITCH_EVENTSUB_URL"] = mock.eventsub_url()
        st = self.stack(env=env)
        st.sub.publish("twitch/bridge/request/subscribe",
                       {"channel": "cool_streamer", "events": ["bits"],
                        "transaction": "t-by-ip"})
        st.br.wait_log(r"TLS handshake failed", 15)
        self.assertRegex(st.br.log_text(), r"esws.*TLS handshake failed: "
                         r"certificate: IP address mismatch")

    def test_untrusted_certificate_refused_clearly(self):
        other, _ = make_cert(self.dir, "other")
        # libcurl would refuse the certificate for Helix as well, and the
        # subscribe would fail before any WebSocket; what is tested here
        # is the WebSocket's own check, so Helix is a plain-HTTP mock.
        plain = es.mt.MockTwitch().start()
        self.addCleanup(plain.shutdown)
        env = {k: v for k, v in plain.env().items()
               if "EVENTSUB" not in k and "PUBSUB" not in k}
        env["TWITCH2MQTT_TWITCH_CA_FILE"] = other
        st = self.stack(mock_kw={"tls": self.tls}, env=env)
        st.sub.publish("twitch/bridge/request/subscribe",
                       {"channel": "cool_streamer", "events": ["bits"],
                        "transaction": "t-untrusted"})
        st.br.wait_log(r"certificate", 15)
        log = st.br.log_text()
        self.assertRegex(log, r"esws.*TLS handshake failed: certificate: "
                         r"(self[- ]signed|unable to get local issuer)")
        self.assertEqual(st.mock.connections(), [],
                         "no WebSocket was opened over an untrusted TLS "
                         "connection")
        # It keeps trying, with backoff, and stays up.
        time.sleep(2.0)
        self.assertTrue(st.br.alive(), "the bridge died")
        tries = len(re.findall(r"connecting to wss://", st.br.log_text()))
        self.assertGreaterEqual(tries, 2, "it tried again")
        self.assertLess(tries, 20, "no busy loop: %d tries" % tries)


if __name__ == "__main__":
    h.main()
