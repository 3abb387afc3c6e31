"""The webhook endpoint refuses what it must (CONTRACT 6, eventsub.md 3.3,
3.6): wrong secret, altered body, altered timestamp, stale or future
timestamp, missing headers -> 403; bad JSON, unknown message type -> 400;
a 2 MiB body -> 413 without reading it into memory; garbage bytes,
truncated bodies and slow-loris clients get no 2xx and never hold up other
requests (each answered in under a second meanwhile). Every refusal is
counted in twitch2mqtt_webhook_rejected_total{reason} and publishes
nothing.

One bridge for the class, no subscription held."""

import json
import os
import socket
import threading
import time
import unittest

import es_common as es
import harness as h
import wh_common as w

T = "twitch/cool_streamer/"
MIB = 1024 * 1024
STUCK = 50          # slow-loris connections that never finish


def vm(pid, key):
    """VmRSS / VmHWM of a process in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class WebhookRejectTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.st = w.WhStack()

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    _es_failed = es.EsCase._es_failed

    def tearDown(self):
        if self._es_failed() or os.environ.get("ITEST_VERBOSE"):
            es.dump_stack(self.st)

    # ------------------------------------------------------- helpers
    def cheer(self):
        return w.notification_body("channel.cheer", es.fixture("channel.cheer"))

    def refused(self, body, hd, status, reason, check_text=None):
        """POSTs; asserts status, the metric for reason went up by one and
        that nothing was published for the message id."""
        before = w.rejected(self.st.port, reason)
        since = self.st.sub.mark()
        a = self.st.post(body, hd)
        self.assertEqual(a.status, status, a)
        self.assertTrue(a.headers.get("content-type", "").startswith(
            "text/plain"), a.headers)
        if check_text:
            self.assertIn(check_text, a.text)
        self.assertNotIn(w.SECRET, a.text)
        self.assertEqual(w.rejected(self.st.port, reason), before + 1,
                         "twitch2mqtt_webhook_rejected_total{reason=%r}"
                         % reason)
        self.st.settle()
        mid = {k.lower(): v for k, v in hd.items()}.get(
            "twitch-eventsub-message-id")
        if mid:
            self.assertEqual(self.st.events_with_id(mid, since), [])
        self.assertEqual(self.st.sub.find(
            lambda m: h.is_event(m) and m.json().get("message") ==
            "Cheer100 lights to purple please", since), [],
            "a refused notification published nothing")
        return a

    def accepted_quickly(self, n=5, limit=1.0):
        """n signed notifications, each answered 204 within limit seconds
        and published."""
        since = self.st.sub.mark()
        ids = []
        for _ in range(n):
            ev = es.fixture("channel.cheer")
            ev["message"] = "meanwhile"
            a, mid = self.st.deliver("channel.cheer", ev)
            self.assertEqual(a.status, 204, a)
            self.assertLess(a.elapsed, limit, "answered in %.3fs" %
                            a.elapsed)
            ids.append(mid)
        for mid in ids:
            self.st.wait_id(mid, 10, since)
        return ids

    # ------------------------------------------------------ signature
    def test_wrong_secret(self):
        body, hd, _ = w.signed(self.cheer(), secret="wrong-secret-123")
        self.refused(body, hd, 403, "bad_signature")

    def test_altered_body(self):
        body, hd, _ = w.signed(self.cheer())
        altered = body.replace(b'"bits":100', b'"bits":900')
        self.assertNotEqual(altered, body)
        self.refused(altered, hd, 403, "bad_signature")
        # one byte of whitespace added
        self.refused(body + b" ", hd, 403, "bad_signature")

    def test_altered_timestamp(self):
        body, hd, _ = w.signed(self.cheer())
        ts = hd["Twitch-Eventsub-Message-Timestamp"]
        # the same instant written differently is a different string
        hd["Twitch-Eventsub-Message-Timestamp"] = ts[:-2] + (
            "1Z" if ts[-2] != "1" else "2Z")
        self.refused(body, hd, 403, "bad_signature")

    def test_altered_id(self):
        body, hd, _ = w.signed(self.cheer())
        hd["Twitch-Eventsub-Message-Id"] = "x" + hd[
            "Twitch-Eventsub-Message-Id"][1:]
        self.refused(body, hd, 403, "bad_signature")

    def test_signature_forms(self):
        body, hd, _ = w.signed(self.cheer())
        sig = hd["Twitch-Eventsub-Message-Signature"]
        for bad in (sig[len("sha256="):], "sha1=" + sig[7:], sig[:-2],
                    "sha256=" + "0" * 64, "SHA256=" + sig[7:]):
            with self.subTest(signature=bad[:20]):
                hd2 = dict(hd, **{"Twitch-Eventsub-Message-Signature": bad})
                self.refused(body, hd2, 403, "bad_signature")
        # upper-case hex is the same digest
        since = self.st.sub.mark()
        hd2 = dict(hd, **{"Twitch-Eventsub-Message-Signature":
                          "sha256=" + sig[7:].upper()})
        a = self.st.post(body, hd2)
        self.assertEqual(a.status, 204, a)
        self.st.wait_id(hd["Twitch-Eventsub-Message-Id"], 10, since)

    # ---------------------------------------------------- replay window
    def test_stale_and_future_timestamps(self):
        for off in (-11 * 60, -3600, 11 * 60):
            with self.subTest(offset_s=off):
                body, hd, _ = w.signed(self.cheer(), ts=w.ts_now(off))
                self.refused(body, hd, 403, "stale")
        body, hd, _ = w.signed(self.cheer(), ts="yesterday")
        self.refused(body, hd, 403, "stale")
        # inside the window: taken
        since = self.st.sub.mark()
        body, hd, mid = w.signed(self.cheer(), ts=w.ts_now(-9 * 60))
        a = self.st.post(body, hd)
        self.assertEqual(a.status, 204, a)
        self.st.wait_id(mid, 10, since)

    # --------------------------------------------------------- headers
    def test_missing_headers(self):
        body, hd, _ = w.signed(self.cheer())
        for k in ("Twitch-Eventsub-Message-Id",
                  "Twitch-Eventsub-Message-Timestamp",
                  "Twitch-Eventsub-Message-Signature",
                  "Twitch-Eventsub-Message-Type"):
            with self.subTest(missing=k):
                hd2 = {a: b for a, b in hd.items() if a != k}
                self.refused(body, hd2, 403, "missing_headers", k)
            with self.subTest(empty=k):
                self.refused(body, dict(hd, **{k: ""}), 403,
                             "missing_headers", k)
        self.refused(body, {"Content-Type": "application/json"}, 403,
                     "missing_headers")

    def test_bad_json_and_unknown_type(self):
        body, hd, _ = w.signed(b'{"subscription": {"type": "channel.ch')
        self.refused(body, hd, 400, "bad_json")
        body, hd, _ = w.signed(b'[1, 2, 3]')
        self.refused(body, hd, 400, "bad_json")
        body, hd, _ = w.signed(self.cheer(), mtype="telegram")
        self.refused(body, hd, 400, "unknown_type")

    def test_challenge_without_challenge(self):
        body, hd, _ = w.signed({"subscription": {"id": "x", "type":
                                                 "channel.cheer"}},
                               mtype="webhook_callback_verification")
        self.refused(body, hd, 400, "bad_challenge")

    def test_duplicate_id(self):
        since = self.st.sub.mark()
        body, hd, mid = w.signed(self.cheer())
        self.assertEqual(self.st.post(body, hd).status, 204)
        for ts_fresh in (False, True):
            if ts_fresh:
                body, hd, _ = w.signed(self.cheer(), mid=mid)
            a = self.st.post(body, hd)
            self.assertEqual(a.status, 204, a)
        self.st.settle()
        self.assertEqual(len(self.st.events_with_id(mid, since)), 1)

    def test_keep_alive_connection(self):
        """Many notifications on one keep-alive connection (as Twitch and
        every HTTP client send them): each answered 204 in turn, each
        published once, nothing refused."""
        import http.client
        before = sum(v for (n, _l), v in w.metrics(self.st.port).items()
                     if n == "twitch2mqtt_webhook_rejected_total")
        since = self.st.sub.mark()
        c = http.client.HTTPConnection("127.0.0.1", self.st.port, timeout=5)
        ids, statuses = [], []
        try:
            for i in range(200):
                ev = es.fixture("channel.cheer")
                ev["message"] = "keep-alive %d" % i
                body, hd, mid = w.signed(w.notification_body(
                    "channel.cheer", ev))
                c.request("POST", "/webhook", body, hd)
                r = c.getresponse()
                r.read()
                statuses.append(r.status)
                ids.append(mid)
        finally:
            c.close()
        self.assertEqual(statuses, [204] * 200)
        self.st.wait_id(ids[-1], 10, since)
        self.st.settle()
        got = [m.json()["id"] for m in self.st.sub.find(h.is_event, since)]
        self.assertEqual(sorted(set(ids) & set(got)), sorted(ids))
        self.assertEqual(len(got), len(set(got)), "no event twice")
        after = sum(v for (n, _l), v in w.metrics(self.st.port).items()
                    if n == "twitch2mqtt_webhook_rejected_total")
        self.assertEqual(after, before, "nothing refused")

    # ------------------------------------------------------ big bodies
    def test_2mib_body_declared(self):
        """Content-Length: 2 MiB: 413 before the body is sent, so it is
        never read into memory."""
        before = w.rejected(self.st.port, "too_large")
        body, hd, _ = w.signed(self.cheer())
        hd["Content-Length"] = str(2 * MIB)
        r = w.Raw(self.st.port)
        try:
            r.send(w.raw_request("POST", "/webhook", hd))
            out, how = r.read(3, until=w.whole_answer)
        finally:
            r.close()
        self.assertEqual(w.status_of(out), 413, (out[:200], how))
        self.assertEqual(w.rejected(self.st.port, "too_large"), before + 1)

    def test_2mib_body_sent(self):
        """A 2 MiB body sent whole (declared and chunked): 413; the
        daemon's memory does not grow by the bodies; meanwhile other
        requests are answered at once."""
        pid = self.st.br.pid
        hwm0 = vm(pid, "VmHWM")
        before = w.rejected(self.st.port, "too_large")
        big = json.dumps({"subscription": {"type": "channel.cheer"},
                          "event": {"pad": "x" * (2 * MIB)}}).encode()
        results = []

        def upload(chunked):
            body, hd, _ = w.signed(big)
            try:
                r = w.Raw(self.st.port, timeout=10)
                if chunked:
                    hd["Transfer-Encoding"] = "chunked"
                    r.send(w.raw_request("POST", "/webhook", hd))
                    for i in range(0, len(body), 65536):
                        part = body[i:i + 65536]
                        r.send(b"%x\r\n" % len(part) + part + b"\r\n")
                    r.send(b"0\r\n\r\n")
                else:
                    hd["Content-Length"] = str(len(body))
                    r.send(w.raw_request("POST", "/webhook", hd, body))
                out, how = r.read(5, until=w.whole_answer)
                results.append((chunked, w.status_of(out), how))
            except (BrokenPipeError, ConnectionResetError) as e:
                # the server answered and closed before all was sent
                out, how = r.read(2, until=w.whole_answer)
                results.append((chunked, w.status_of(out), repr(e)))
            finally:
                r.close()
        threads = [threading.Thread(target=upload, args=(c,))
                   for c in (False, True, False, True)]
        for t in threads:
            t.start()
        self.accepted_quickly(3)
        for t in threads:
            t.join(30)
        self.assertEqual(sorted(r[1] for r in results), [413] * 4, results)
        self.assertEqual(w.rejected(self.st.port, "too_large"), before + 4)
        grew = vm(pid, "VmHWM") - hwm0
        # four 2 MiB bodies at once would be 8 MiB; at most 1 MiB of each
        # chunked one is ever held before the refusal (under ASan the
        # figure is the sanitizer's)
        if not w.sanitized():
            self.assertLess(grew, 4 * 1024, "peak RSS grew by %d KiB"
                            % grew)
        self.accepted_quickly(2)

    def test_exactly_1mib_is_not_too_large(self):
        base = json.dumps(w.notification_body(
            "channel.cheer", dict(es.fixture("channel.cheer"),
                                  message="big")), separators=(",", ":"))
        head = base[:-1] + ',"pad":"'
        body = (head + "x" * (MIB - len(head) - 2) + '"}').encode()
        self.assertEqual(len(body), MIB)
        raw, hd, mid = w.signed(body)
        since = self.st.sub.mark()
        a = self.st.post(raw, hd)
        self.assertEqual(a.status, 204, a)
        self.st.wait_id(mid, 10, since, T + "bits")
        # one byte more is too large
        raw, hd, mid = w.signed(body[:-1] + b' }')
        self.assertEqual(self.st.post(raw, hd).status, 413)

    # --------------------------------------------- malformed and slow
    def test_garbage_bytes(self):
        cases = [os.urandom(512), b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc"
                 + os.urandom(64), b"HELLO WORLD\r\n\r\n",
                 b"POST /webhook HTTP/1.1\r\nHost x\r\n\r\n",
                 b"POST " + b"/a" * 4000 + b" HTTP/1.1\r\n\r\n",
                 b"POST /webhook HTTP/9.9\r\n" + b"X: y\r\n" * 500 +
                 b"\r\n", b"\r\n" * 64, b"\x00" * 300 + b"\r\n\r\n"]
        for i, data in enumerate(cases):
            with self.subTest(case=i):
                r = w.Raw(self.st.port)
                try:
                    try:
                        r.send(data)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    out, how = r.read(1.5, until=w.whole_answer)
                finally:
                    r.close()
                st = w.status_of(out)
                self.assertTrue(st is None or 400 <= st < 500,
                                "no 2xx for garbage: %r" % out[:120])
                self.accepted_quickly(1)

    def test_truncated_bodies(self):
        full, hd, mid = w.signed(self.cheer())
        cut = full[:len(full) // 2]
        # cut in transit, Content-Length of what arrived: the HMAC fails
        self.refused(cut, hd, 403, "bad_signature")
        # a truncated JSON text, signed as such: bad JSON
        raw, hd2, _ = w.signed(cut)
        self.refused(raw, hd2, 400, "bad_json")
        # Content-Length of the whole body, only half sent, then the
        # client half-closes: no answer other than closing, nothing
        # published, and nobody else waits
        since = self.st.sub.mark()
        r = w.Raw(self.st.port)
        try:
            r.send(w.raw_request("POST", "/webhook", dict(
                hd, **{"Content-Length": str(len(full))}), cut))
            self.accepted_quickly(3)
            r.s.shutdown(socket.SHUT_WR)
            out, how = r.read(15)
        finally:
            r.close()
        st = w.status_of(out)
        self.assertTrue(st is None or st >= 400, out[:200])
        self.assertIn(how, ("eof", "reset"), "the server closes it")
        self.st.settle()
        self.assertEqual(self.st.events_with_id(mid, since), [])

    def test_truncated_body_held_open(self):
        """The client stops sending mid-body and keeps the connection: the
        server drops it after its timeout, answering no 2xx; others are
        served meanwhile."""
        full, hd, mid = w.signed(self.cheer())
        since = self.st.sub.mark()
        r = w.Raw(self.st.port)
        t0 = time.monotonic()
        try:
            r.send(w.raw_request("POST", "/webhook", dict(
                hd, **{"Content-Length": str(len(full))}), full[:40]))
            self.accepted_quickly(5)
            out, how = r.read(30)
        finally:
            r.close()
        took = time.monotonic() - t0
        st = w.status_of(out)
        self.assertTrue(st is None or st >= 400, out[:200])
        self.assertIn(how, ("eof", "reset"))
        self.assertLess(took, 25, "dropped after %.1fs" % took)
        self.assertEqual(self.st.events_with_id(mid, since), [])

    def test_slow_loris(self):
        """Headers one byte a second on STUCK connections at once: other
        requests are answered in under a second meanwhile; a slow client
        that finishes in time is served; those that never finish are
        dropped by the server."""
        body, hd, mid = w.signed(self.cheer())
        req = w.raw_request("POST", "/webhook", dict(
            hd, **{"Content-Length": str(len(body))}), body)
        done = {}

        def loris(name, data, slow_bytes, finish):
            r = w.Raw(self.st.port, timeout=40)
            t0 = time.monotonic()
            try:
                for i in range(slow_bytes):
                    r.send(data[i:i + 1])
                    time.sleep(1)
                if finish:
                    r.send(data[slow_bytes:])
                    out, how = r.read(5, until=w.whole_answer)
                else:
                    out, how = r.read(40)
            except (BrokenPipeError, ConnectionResetError) as e:
                out, how = b"", repr(e)
            finally:
                r.close()
            done[name] = (w.status_of(out), how, time.monotonic() - t0)

        since = self.st.sub.mark()
        threads = [threading.Thread(target=loris,
                                    args=("finisher", req, 5, True))]
        threads += [threading.Thread(target=loris,
                                     args=("stuck%d" % i, req, 4, False))
                    for i in range(STUCK)]
        for t in threads:
            t.start()
        t_end = time.monotonic() + 5
        n = 0
        while time.monotonic() < t_end:
            self.accepted_quickly(1)
            n += 1
            time.sleep(0.2)
        self.assertGreater(n, 10)
        for t in threads:
            t.join(45)
        self.assertEqual(done["finisher"][0], 204, done)
        self.st.wait_id(mid, 10, since, T + "bits")
        for i in range(STUCK):
            st, how, took = done["stuck%d" % i]
            self.assertIsNone(st, done)
            self.assertIn(how, ("eof", "reset"), done)
            self.assertLess(took, 35, done)

    def test_get_without_hub_mode(self):
        before = w.rejected(self.st.port, "bad_request")
        a = self.st.get("/webhook")
        self.assertEqual(a.status, 400, a)
        a = self.st.get("/webhook?hub.mode=subscribe")
        self.assertEqual(a.status, 400, a)
        self.assertEqual(w.rejected(self.st.port, "bad_request"), before + 2)


if __name__ == "__main__":
    h.main()
