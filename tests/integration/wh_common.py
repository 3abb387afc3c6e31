"""
Shared pieces of the webhook tests (test_webhook*.py, test_websub*.py):
signing EventSub and WebSub requests the way Twitch (and twitch-cli) does,
the captured twitch-cli samples, plain and raw-socket HTTP clients, and a
stack of mock Twitch + mosquitto + twitch2mqtt (with http.listen,
webhook.secret, webhook.public_url) + an MQTT collector.
"""

import hashlib
import hmac
import http.client
import json
import os
import socket
import ssl
import time
import uuid

import es_common as es
import harness as h
import mock_twitch as mt

SECRET = "s3cr3tvalue123"        # the secret of every captured sample
SAMPLES = os.path.join(mt.SHARED, "twitch", "twitch-cli-samples")
WH_SOURCE = "eventsub-webhook"
WS_SOURCE = "websub"


# ---------------------------------------------------------------- signing

def ts_now(offset_s=0.0):
    """RFC 3339 UTC with 9 fraction digits (Twitch's format), offset_s
    seconds from now."""
    return mt.ts9(time.time_ns() + int(offset_s * 1e9))


def es_sign(secret, mid, ts, body):
    """EventSub: sha256= hex HMAC over id + timestamp + raw body."""
    if isinstance(body, str):
        body = body.encode()
    mac = hmac.new(secret.encode(), mid.encode() + ts.encode() + body,
                   hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def hub_sign(secret, body):
    """WebSub: sha256= hex HMAC over the raw body only."""
    if isinstance(body, str):
        body = body.encode()
    return "sha256=" + hmac.new(secret.encode(), body,
                                hashlib.sha256).hexdigest()


def es_headers(mid, ts, sig, mtype="notification", stype="channel.cheer",
               version="1"):
    """The headers twitch-cli sends (captures in twitch-cli-samples)."""
    return {
        "User-Agent": "twitch-cli/source",
        "Content-Type": "application/json",
        "Twitch-Eventsub-Message-Id": mid,
        "Twitch-Eventsub-Message-Retry": "0",
        "Twitch-Eventsub-Message-Signature": sig,
        "Twitch-Eventsub-Message-Timestamp": ts,
        "Twitch-Eventsub-Message-Type": mtype,
        "Twitch-Eventsub-Subscription-Type": stype,
        "Twitch-Eventsub-Subscription-Version": version,
    }


def signed(body, mtype="notification", stype="channel.cheer", version="1",
           mid=None, ts=None, secret=SECRET):
    """(raw body bytes, headers, message id) of a freshly signed EventSub
    request."""
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body, separators=(",", ":"))
    if isinstance(body, str):
        body = body.encode()
    mid = mid or str(uuid.uuid4())
    ts = ts or ts_now()
    return body, es_headers(mid, ts, es_sign(secret, mid, ts, body), mtype,
                            stype, version), mid


def notification_body(typ, event, version="1", sub_id=None,
                      condition=None, callback="null"):
    """An EventSub webhook notification body for event."""
    cond = condition or {"broadcaster_user_id": event.get(
        "broadcaster_user_id", event.get("to_broadcaster_user_id", "1337"))}
    return {"subscription": {
        "id": sub_id or str(uuid.uuid4()), "status": "enabled",
        "type": typ, "version": version, "condition": cond,
        "transport": {"method": "webhook", "callback": callback},
        "created_at": ts_now(), "cost": 0}, "event": event}


_SANITIZED = None


def sanitized():
    """True when the binary is built with AddressSanitizer: its memory
    figures (quarantine, shadow) say nothing about the program's."""
    global _SANITIZED
    if _SANITIZED is None:
        try:
            with open(h.BINARY, "rb") as f:
                _SANITIZED = b"__asan_init" in f.read()
        except OSError:
            _SANITIZED = False
    return _SANITIZED


# ---------------------------------------------------------------- samples

def sample_names(kind="webhook"):
    return sorted(n[:-5] for n in os.listdir(os.path.join(SAMPLES, kind))
                  if n.endswith(".json"))


def sample(name, kind="webhook"):
    with open(os.path.join(SAMPLES, kind, name + ".json")) as f:
        return json.load(f)


def resign_sample(s, mid=None, ts=None, secret=SECRET):
    """(body, headers, mid) of a captured EventSub sample with its raw body
    as captured, re-signed with a fresh (or the given) id and timestamp;
    every other header as captured."""
    body = s["body_raw"].encode()
    mid = mid or str(uuid.uuid4())
    ts = ts or ts_now()
    hd = dict(s["headers"])
    for k in ("Host", "Content-Length", "Accept-Encoding"):
        hd.pop(k, None)
    hd["Twitch-Eventsub-Message-Id"] = mid
    hd["Twitch-Eventsub-Message-Timestamp"] = ts
    hd["Twitch-Eventsub-Message-Signature"] = es_sign(secret, mid, ts, body)
    return body, hd, mid


# ------------------------------------------------------------------- HTTP

class Answer:
    __slots__ = ("status", "headers", "body", "elapsed")

    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers          # lower-case names
        self.body = body                # bytes
        self.elapsed = elapsed

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "<Answer %s %r (%.3fs)>" % (self.status, self.body[:200],
                                           self.elapsed)


def request(port, method, path, body=None, headers=None, timeout=10,
            tls=None, host="127.0.0.1"):
    """One request on a fresh connection; an Answer."""
    t0 = time.monotonic()
    if tls is not None:
        c = http.client.HTTPSConnection(host, port, timeout=timeout,
                                        context=tls)
    else:
        c = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return Answer(r.status, {k.lower(): v for k, v in r.getheaders()},
                      data, time.monotonic() - t0)
    finally:
        c.close()


def metrics(port):
    """/metrics as {(name, frozenset(labels.items())): value}."""
    a = request(port, "GET", "/metrics")
    assert a.status == 200, a
    out = {}
    for line in a.text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, val = line.rpartition(" ")
        labels = {}
        if "{" in name:
            name, _, rest = name.partition("{")
            for part in rest.rstrip("}").split(","):
                if part:
                    k, _, v = part.partition("=")
                    labels[k] = v.strip('"')
        out[(name, frozenset(labels.items()))] = float(val)
    return out


def metric(port, name, **labels):
    return metrics(port).get((name, frozenset(labels.items())), 0.0)


def rejected(port, reason):
    return metric(port, "twitch2mqtt_webhook_rejected_total", reason=reason)


class Raw:
    """A raw TCP client for malformed and slow requests."""

    def __init__(self, port, timeout=5):
        self.s = socket.create_connection(("127.0.0.1", port), timeout)

    def send(self, data):
        self.s.sendall(data)

    def read(self, timeout=5, until=None):
        """Bytes until EOF, timeout, or (with until) once until(bytes) is
        true. Returns (bytes, how it ended: 'eof'|'timeout'|'reset'|'done')."""
        self.s.settimeout(0.2)
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError):
                return out, "reset"
            if not d:
                return out, "eof"
            out += d
            if until is not None and until(out):
                return out, "done"
        return out, "timeout"

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def status_of(raw_bytes):
    """The status code of a raw HTTP answer, or None."""
    if not raw_bytes.startswith(b"HTTP/1."):
        return None
    try:
        return int(raw_bytes.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def whole_answer(b):
    """True once b holds the head and the Content-Length body."""
    head, sep, rest = b.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            return len(rest) >= int(v.strip())
    return True


def raw_request(method, path, headers, body=b""):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1"]
    lines += ["%s: %s" % kv for kv in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def tls_context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    return ctx


# ------------------------------------------------------------------ stack

def webhook_env(port, secret=SECRET, path="/webhook"):
    return {
        "TWITCH2MQTT_HTTP_LISTEN": "127.0.0.1:%d" % port,
        "TWITCH2MQTT_WEBHOOK_SECRET": secret,
        "TWITCH2MQTT_WEBHOOK_PATH": path,
        "TWITCH2MQTT_WEBHOOK_PUBLIC_URL": "http://127.0.0.1:%d%s" % (port,
                                                                     path),
    }


class WhStack(es.Stack):
    """es.Stack with the HTTP listener and the webhook settings: mock
    Twitch + mosquitto + twitch2mqtt (-v) + MQTT collector. self.port is
    the bridge's HTTP port."""

    def __init__(self, env=None, mock_kw=None, secret=SECRET,
                 start_bridge=True, **kw):
        self.port = h.free_port()
        e = webhook_env(self.port, secret)
        e.update(env or {})
        super().__init__(env=e, mock_kw=mock_kw, start_bridge=start_bridge,
                         **kw)

    def start_bridge(self):
        self.br.start()
        h.wait_until(lambda: h.port_open(self.port) or not self.br.alive(),
                     15, desc="the bridge's HTTP port %d" % self.port)
        assert self.br.alive(), "twitch2mqtt exited: %s" % \
            self.br.log_text()[-3000:]
        self.sub.wait_bridge(timeout=15)
        return self

    @property
    def callback(self):
        return "http://127.0.0.1:%d/webhook" % self.port

    def post(self, body, headers, path="/webhook", timeout=10):
        return request(self.port, "POST", path, body, headers, timeout)

    def get(self, path, timeout=10):
        return request(self.port, "GET", path, None, None, timeout)

    def deliver(self, typ, event, version="1", mid=None, ts=None,
                secret=SECRET, mtype="notification"):
        """Signs and POSTs a notification; (Answer, message id)."""
        body, hd, mid = signed(notification_body(typ, event, version),
                               mtype, typ, version, mid, ts, secret)
        return self.post(body, hd), mid

    def wait_id(self, mid, timeout=10, since=0, topic=None):
        """The event with id mid (on topic, if given)."""
        return self.sub.wait_for(
            lambda m: h.is_event(m) and m.json().get("id") == mid and
            (topic is None or m.topic == topic), timeout, since,
            desc="event %s%s" % (mid, " on " + topic if topic else ""))

    def events_with_id(self, mid, since=0):
        return self.sub.find(lambda m: h.is_event(m) and
                             m.json().get("id") == mid, since)

    def settle(self, timeout=10):
        """A fresh signed cheer, waited for: what was handled before it has
        been published by then."""
        ev = es.fixture("channel.cheer")
        ev["message"] = "sentinel"
        since = self.sub.mark()
        a, mid = self.deliver("channel.cheer", ev)
        assert a.status == 204, a
        self.wait_id(mid, timeout, since)
        return mid


class WhCase(es.EsCase):
    def stack(self, **kw):
        st = WhStack(**kw)
        self.addCleanup(st.close)
        self._bridges.append(st.br)
        self.st = st
        return st
