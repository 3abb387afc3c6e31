"""TLS on the listener (http.cert_file / http.key_file): a throwaway
self-signed certificate; a signed EventSub notification POSTed over https
with that CA is answered 204 and published; plain HTTP on that port gets
no answer; /healthz is served over TLS too."""

import os
import shutil
import subprocess
import tempfile

import es_common as es
import harness as h
import wh_common as w


class WebhookTlsTest(w.WhCase):

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="t2m-tls-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")
        r = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-subj", "/CN=127.0.0.1", "-addext",
             "subjectAltName=IP:127.0.0.1", "-days", "1",
             "-keyout", self.key, "-out", self.cert],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_signed_post_over_https(self):
        port = h.free_port()
        env = w.webhook_env(port)
        env.update({
            "TWITCH2MQTT_HTTP_CERT_FILE": self.cert,
            "TWITCH2MQTT_HTTP_KEY_FILE": self.key,
            "TWITCH2MQTT_WEBHOOK_PUBLIC_URL":
                "https://127.0.0.1:%d/webhook" % port})
        st = w.WhStack.__new__(w.WhStack)
        st.port = port
        es.Stack.__init__(st, env=env, start_bridge=False)
        self.addCleanup(st.close)
        self._bridges.append(st.br)
        self.st = st
        st.start_bridge()
        st.br.wait_log(r"listening on 127\.0\.0\.1:%d \(TLS\)" % port, 5)
        ctx = w.tls_context(self.cert)
        ev = es.fixture("channel.cheer")
        body, hd, mid = w.signed(w.notification_body("channel.cheer", ev))
        since = st.sub.mark()
        a = w.request(port, "POST", "/webhook", body, hd, tls=ctx)
        self.assertEqual(a.status, 204, a)
        m = st.wait_id(mid, 10, since, "twitch/cool_streamer/bits")
        self.assertEqual(m.json()["source"], w.WH_SOURCE)
        # a wrong signature is refused over TLS as well
        body, hd, _ = w.signed(w.notification_body("channel.cheer", ev),
                               secret="wrong-secret-99")
        self.assertEqual(w.request(port, "POST", "/webhook", body, hd,
                                   tls=ctx).status, 403)
        self.assertEqual(w.request(port, "GET", "/healthz",
                                   tls=ctx).status, 200)
        # plain HTTP on the TLS port: no HTTP answer
        r = w.Raw(port)
        try:
            r.send(w.raw_request("GET", "/healthz", {}))
            out, _how = r.read(3, until=w.whole_answer)
        finally:
            r.close()
        self.assertNotEqual(w.status_of(out), 200, out[:100])
        # and the daemon still serves TLS after it
        self.assertEqual(w.request(port, "GET", "/healthz",
                                   tls=ctx).status, 200)


if __name__ == "__main__":
    h.main()
