"""
A mock Twitch for integration tests: EventSub WebSocket (/ws), Helix
(/helix) and OAuth (/oauth2) in one aiohttp app on 127.0.0.1:<free port>,
run on a background thread, driven from the test thread through methods of
a MockTwitch object, and recording every request and every WebSocket
connection.

Shapes and behaviour follow Twitch's documentation and captures of Twitch's
own mock (twitch-cli `event websocket start-server`, see
shared/twitch/twitch-cli-samples/websocket):

  /ws          session_welcome on connect (new session id per connection,
               keepalive_timeout_seconds from the query, clamped 10..600,
               default 10); session_keepalive every keepalive seconds (a
               fixed ticker, like twitch-cli); a WebSocket Ping every 5 s
               (a missing Pong by the next Ping: close 4002); any text,
               binary or client Ping frame from the client is recorded as a
               violation and answered with close 4001 "sent inbound
               traffic"; a session that holds no subscription
               keepalive_timeout_seconds (at least 10) after its welcome is
               closed 4003 "connection unused" (Twitch does this; twitch-cli
               only with --require-subscription).
               reconnect(session) sends session_reconnect with
               reconnect_url ws://127.0.0.1:<port>/ws?reconnect_id=<token>;
               a connection to that URL gets its own welcome (new session id)
               and the session's subscriptions move to it; the old socket is
               closed 4004 after the grace period (default 30 s) unless the
               client closed it; a used or unknown reconnect_id, or one
               whose old socket is already gone, is closed 4007.
  /helix       POST/GET/DELETE /eventsub/subscriptions, GET /users,
               GET /channel_points/custom_rewards (set_rewards()).
               Transport "webhook" (app token only): the subscription is
               created webhook_callback_verification_pending, answered 202,
               and then, like Twitch, a signed webhook_callback_verification
               is POSTed to the callback; the exact challenge back (2xx,
               text/plain) makes it enabled, anything else
               webhook_callback_verification_failed. GET lists webhook
               subscriptions (with their callback, never the secret) to an
               app token and WebSocket ones to a user token.
               POST /webhooks/hub: the legacy WebSub hub (app token): 202,
               then a GET to hub.callback with hub.mode, hub.topic,
               hub.challenge and (subscribe) hub.lease_seconds; the echoed
               challenge makes the lease active (or ends it for
               unsubscribe). deny_websub() makes it answer hub.mode=denied.
  /oauth2      GET /validate, POST /token (refresh_token,
               client_credentials, device_code), POST /device, POST /revoke.

Mock-only extensions (not Twitch behaviour), for fast tests:
  - MockTwitch(min_keepalive=N) lets ?keepalive_timeout_seconds go down to
    N (Twitch's minimum is 10); the subscribe window (4003) stays >= 10 s
    unless unused_timeout is given.
  - ping_interval, reconnect_grace, device_interval are configurable.
  - control methods: notify, notify_burst, revoke, reconnect, close, drop,
    set_keepalive, set_pings, send_raw, send_bytes, fail_type,
    invalidate_access, expire_refresh, set_auto_close, ...

Run it by hand:  /usr/bin/python3 tests/integration/mock_twitch.py [--port P]
(prints the TWITCH2MQTT_* environment that points a bridge at it).
"""

import asyncio
import base64
import copy
import hashlib
import hmac
import json
import os
import secrets
import ssl
import sys
import threading
import time
import urllib.parse
import uuid

import aiohttp
from aiohttp import WSMsgType, web

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("BR_SHARED_DIR", "/work/shared")

CLOSE_REASONS = {
    4000: "internal server error",
    4001: "sent inbound traffic",
    4002: "failed ping pong",
    4003: "connection unused",
    4004: "client reconnect grace time expired",
    4005: "network timeout",
    4006: "network error",
    4007: "invalid reconnect attempt",
}

# Subscription status after the session ended with this close code.
CLOSE_STATUS = {
    4000: "websocket_internal_error",
    4001: "websocket_received_inbound_traffic",
    4002: "websocket_failed_ping_pong",
    4003: "websocket_connection_unused",
    4004: "websocket_failed_to_reconnect",
    4005: "websocket_network_timeout",
    4006: "websocket_network_error",
    4007: "websocket_disconnected",
}

MODERATE_SCOPES = [
    "moderator:read:blocked_terms|moderator:manage:blocked_terms",
    "moderator:read:chat_settings|moderator:manage:chat_settings",
    "moderator:read:unban_requests|moderator:manage:unban_requests",
    "moderator:read:banned_users|moderator:manage:banned_users",
    "moderator:read:chat_messages|moderator:manage:chat_messages",
    "moderator:read:warnings|moderator:manage:warnings",
    "moderator:read:moderators", "moderator:read:vips",
]

# (type, version) -> (required condition keys, optional keys, scopes: list
# of alternatives "a|b", all of which must be met; None: no authorization).
# channel.raid is special: exactly one of from_/to_broadcaster_user_id.
B = ["broadcaster_user_id"]
BM = ["broadcaster_user_id", "moderator_user_id"]
SUB_TYPES = {
    ("channel.cheer", "1"): (B, [], ["bits:read"]),
    ("channel.bits.use", "1"): (B, [], ["bits:read"]),
    ("channel.channel_points_custom_reward_redemption.add", "1"):
        (B, ["reward_id"],
         ["channel:read:redemptions|channel:manage:redemptions"]),
    ("channel.channel_points_custom_reward_redemption.update", "1"):
        (B, ["reward_id"],
         ["channel:read:redemptions|channel:manage:redemptions"]),
    ("channel.subscribe", "1"): (B, [], ["channel:read:subscriptions"]),
    ("channel.subscription.gift", "1"):
        (B, [], ["channel:read:subscriptions"]),
    ("channel.subscription.message", "1"):
        (B, [], ["channel:read:subscriptions"]),
    ("channel.subscription.end", "1"):
        (B, [], ["channel:read:subscriptions"]),
    ("channel.follow", "2"): (BM, [], ["moderator:read:followers"]),
    ("channel.raid", "1"): (None, None, None),
    ("stream.online", "1"): (B, [], None),
    ("stream.offline", "1"): (B, [], None),
    ("channel.update", "1"): (B, [], None),
    ("channel.update", "2"): (B, [], None),
    ("user.update", "1"): (["user_id"], [], None),
    ("channel.moderate", "1"): (BM, [], MODERATE_SCOPES),
    ("channel.moderate", "2"): (BM, [], MODERATE_SCOPES),
    ("channel.ban", "1"): (B, [], ["channel:moderate"]),
    ("channel.unban", "1"): (B, [], ["channel:moderate"]),
    ("channel.chat.message", "1"):
        (["broadcaster_user_id", "user_id"], [], ["user:read:chat"]),
    ("channel.chat.notification", "1"):
        (["broadcaster_user_id", "user_id"], [], ["user:read:chat"]),
    ("channel.ad_break.begin", "1"):
        (B, [], ["channel:read:ads|channel:manage:ads"]),
    ("user.whisper.message", "1"):
        (["user_id"], [], ["user:read:whispers|user:manage:whispers"]),
    ("channel.shoutout.create", "1"):
        (BM, [], ["moderator:read:shoutouts|moderator:manage:shoutouts"]),
    ("channel.shoutout.receive", "1"):
        (BM, [], ["moderator:read:shoutouts|moderator:manage:shoutouts"]),
}
for _t in ("begin", "progress", "end"):
    for _v in ("1", "2"):
        SUB_TYPES[("channel.hype_train." + _t, _v)] = (
            B, [], ["channel:read:hype_train"])
    SUB_TYPES[("channel.poll." + _t, "1")] = (
        B, [], ["channel:read:polls|channel:manage:polls"])
for _t in ("begin", "progress", "lock", "end"):
    SUB_TYPES[("channel.prediction." + _t, "1")] = (
        B, [], ["channel:read:predictions|channel:manage:predictions"])
GONE_TYPES = {("channel.follow", "1")}

ALL_SCOPES = sorted({a for v in SUB_TYPES.values() if v[2]
                     for s in v[2] for a in s.split("|")} |
                    {"user:read:email", "channel:bot", "user:bot"})

DEFAULT_USERS = [
    {"id": "1337", "login": "cool_streamer", "display_name": "Cool_Streamer",
     "broadcaster_type": "affiliate",
     "description": "I stream smart-home builds."},
    {"id": "9001", "login": "happy_viewer", "display_name": "Happy_Viewer",
     "broadcaster_type": "", "description": ""},
    {"id": "4242", "login": "friendly_raider",
     "display_name": "Friendly_Raider", "broadcaster_type": "partner",
     "description": ""},
    {"id": "5150", "login": "helpful_mod", "display_name": "Helpful_Mod",
     "broadcaster_type": "", "description": ""},
    {"id": "6666", "login": "spammy_user", "display_name": "Spammy_User",
     "broadcaster_type": "", "description": ""},
]

HTTP_REASON = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
               404: "Not Found", 409: "Conflict", 410: "Gone",
               429: "Too Many Requests", 500: "Internal Server Error",
               503: "Service Unavailable"}


def ts9(t_ns=None):
    """RFC 3339 UTC with 9 fraction digits, like Twitch."""
    ns = time.time_ns() if t_ns is None else t_ns
    s, frac = divmod(ns, 10 ** 9)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + \
        ".%09dZ" % frac


def _b64id(n=24):
    return base64.urlsafe_b64encode(secrets.token_bytes(n)).decode() \
        .rstrip("=").replace("-", "x").replace("_", "y")


def load_fixtures():
    """shared/twitch/eventsub-fixtures.json: type -> {subscription, event}."""
    with open(os.path.join(SHARED, "twitch", "eventsub-fixtures.json")) as f:
        return json.load(f)


def load_cli_sample(name):
    """A twitch-cli webhook capture's body (shared/twitch/twitch-cli-samples
    /webhook/<name>.json)."""
    p = os.path.join(SHARED, "twitch", "twitch-cli-samples", "webhook",
                     name + ".json")
    with open(p) as f:
        return json.load(f)["body"]


class Req:
    """One recorded HTTP request (and its answer)."""
    __slots__ = ("seq", "t", "method", "path", "query", "headers", "body",
                 "json", "form", "status", "response", "token")

    def __init__(self, seq, t, method, path, query, headers, body):
        self.seq = seq
        self.t = t
        self.method = method
        self.path = path
        self.query = query          # list of (key, value)
        self.headers = headers      # dict, lower-case names
        self.body = body            # str
        self.json = None
        self.form = None
        self.status = None
        self.response = None        # parsed JSON answer or None
        self.token = None           # the bearer/OAuth token, if any
        try:
            if body and "json" in headers.get("content-type", ""):
                self.json = json.loads(body)
        except ValueError:
            pass
        if body and "x-www-form-urlencoded" in headers.get(
                "content-type", ""):
            self.form = dict(urllib.parse.parse_qsl(body,
                                                    keep_blank_values=True))

    def q(self, key):
        return [v for k, v in self.query if k == key]

    def __repr__(self):
        b = self.body if len(self.body) < 300 else self.body[:300] + "..."
        return "<Req #%d %s %s%s %s -> %s>" % (
            self.seq, self.method, self.path,
            ("?" + urllib.parse.urlencode(self.query)) if self.query else "",
            b, self.status)


class Conn:
    """One EventSub WebSocket connection as the mock saw it. Attributes are
    written on the mock's thread and only read by tests."""

    def __init__(self, cid, path_qs, opened):
        self.id = cid
        self.path_qs = path_qs
        self.opened = opened               # monotonic
        self.session_id = None
        self.keepalive = None
        self.welcomed = None               # monotonic time welcome was sent
        self.reconnect_of = None           # Conn whose session moved here
        self.reconnect_url_given = None    # for a reconnect connection
        self.url_exact = None              # path+query exactly as given
        self.reconnect_sent = None         # monotonic: session_reconnect
        self.reconnect_url = None          # the URL sent in it
        self.migrated_to = None            # Conn the subscriptions moved to
        self.closed = None                 # monotonic
        self.close_by = None               # client | server | drop | client-drop
        self.close_code = None
        self.close_reason = None
        self.client_close_code = None
        self.violations = []               # (t, kind, data)
        self.pings = []                    # (t, payload)
        self.pongs = []                    # (t, payload)
        self.pong_mismatch = []
        self.sent = []                     # (t, message_type, message_id)
        self.last_text = None              # monotonic of last text frame
        self.keepalive_enabled = True
        self.pings_enabled = True
        self.overlap = {}
        self.close_sent = None
        self.ws = None
        self.request = None
        self.tasks = []

    @property
    def live(self):
        return self.closed is None and self.welcomed is not None

    def sent_types(self):
        return [s[1] for s in self.sent]

    def __repr__(self):
        return ("<Conn %d %s session=%s opened=%.2f welcomed=%s closed=%s "
                "by=%s code=%s pongs=%d violations=%d>" % (
                    self.id, self.path_qs, self.session_id, self.opened,
                    self.welcomed is not None, self.closed is not None,
                    self.close_by, self.close_code, len(self.pongs),
                    len(self.violations)))


class NotifyResult:
    def __init__(self, message_id, conns, frame):
        self.message_id = message_id
        self.conns = conns          # [Conn] it was sent on
        self.frame = frame          # the JSON frame (dict)

    def __bool__(self):
        return bool(self.conns)

    def __repr__(self):
        return "<Notify %s on %s>" % (self.message_id,
                                      [c.id for c in self.conns])


class WhCall:
    """One request the mock made to the bridge's webhook endpoint (a
    challenge, a notification, a revocation, a WebSub check or
    notification) and the answer."""

    def __init__(self, t, sub_id, mtype, message_id, status, content_type,
                 text, ok, **extra):
        self.t = t
        self.sub_id = sub_id
        self.mtype = mtype
        self.message_id = message_id
        self.status = status            # None: no answer (refused, timeout)
        self.content_type = content_type
        self.text = text
        self.ok = ok
        self.challenge = extra.get("challenge")
        self.url = extra.get("url")
        self.topic = extra.get("topic")
        self.callback = extra.get("callback")
        self.lease = extra.get("lease")

    def __repr__(self):
        return "<WhCall %s %s -> %s %r%s>" % (
            self.mtype, self.sub_id or self.topic or "", self.status,
            (self.text or "")[:80], " ok" if self.ok else "")


class MockTwitch:
    """See the module docstring. Construct, start(), use, close() (or use as
    a context manager)."""

    def __init__(self, port=0, min_keepalive=10, ping_interval=5.0,
                 reconnect_grace=30.0, unused_timeout=None,
                 require_subscription=True, enforce_pong=True,
                 client_pings_are_violations=True, users=None,
                 scopes=None, token_expires_in=14400,
                 first_token_expires_in=None, device_interval=1,
                 device_pending_polls=1, confidential=True,
                 webhook_verify_delay=0.05, hub_verify_delay=0.05,
                 list_page_size=100, hub_lease_grant=None, tls=None):
        self.host = "127.0.0.1"
        # (cert, key): serve https and wss with them instead
        self.tls = tls
        self.port = port
        self.min_keepalive = min_keepalive
        self.ping_interval = ping_interval
        self.reconnect_grace = reconnect_grace
        self.unused_timeout = unused_timeout
        self.require_subscription = require_subscription
        self.enforce_pong = enforce_pong
        self.client_pings_are_violations = client_pings_are_violations
        self.token_expires_in = token_expires_in
        self.device_interval = device_interval
        self.device_pending_polls = device_pending_polls
        self.confidential = confidential
        # webhook / WebSub (mock-only knobs, see the methods below)
        self.webhook_verify_delay = webhook_verify_delay
        self.webhook_verify_secret = None   # sign challenges with this
        self.webhook_verify_first = False   # challenge before the 202
        self.hub_verify_delay = hub_verify_delay
        self.hub_lease_grant = hub_lease_grant  # None: what was asked
        self.list_page_size = list_page_size

        self.client_id = "mockcid" + secrets.token_hex(12)
        self.client_secret = "mocksecret" + secrets.token_hex(12)
        self.users = {u["login"]: dict(u) for u in (users or DEFAULT_USERS)}
        self.token_user = "1337"
        self.scopes = list(scopes if scopes is not None else ALL_SCOPES)

        self.lock = threading.RLock()
        self.t0 = time.monotonic()
        self.requests = []
        self.conns = []
        self.subs = {}              # id -> subscription dict
        self.sub_created = {}       # id -> monotonic
        self.failures = {}          # type -> [status, message, times]
        self.auto_close = None      # (code, reason, after)
        self.reconnect_tokens = {}  # token -> Conn (old)
        self.used_reconnect_tokens = set()
        # tokens: token -> {"user_id", "scopes", "valid", "kind"}
        self.access = {}
        self.refresh = {}           # refresh token -> {"valid", "user_id"}
        self.rotations = {}         # spent refresh token -> (access, refresh)
        self.issued = []            # every token/secret string handed out
        self.devices = {}           # device_code -> {"polls", "authorized"}
        self.sub_session_ever = {}  # session id -> [sub ids created on it]
        self.deleted = []           # subscriptions removed by DELETE
        self.rewards = {}           # broadcaster id -> [custom reward]
        self.wh_secret = {}         # webhook sub id -> transport.secret
        self.wh_verifications = []  # WhCall of every challenge sent
        self.wh_calls = []          # WhCall of notifications/revocations
        self.hub_verifications = [] # WhCall of every hub GET
        self.hub_leases = {}        # (callback, topic) -> lease dict
        self.hub_denials = {}       # topic substring -> reason
        self._client = None
        self._bg = set()            # background tasks (verifications)
        self.access_token = self._new_access(
            self.token_user, expires_in=first_token_expires_in)
        self.refresh_token = self._new_refresh(self.token_user)
        # what the bridge is configured with (env())
        self.initial_access = self.access_token
        self.initial_refresh = self.refresh_token
        self.issued.append(self.client_secret)

        self._seq = 0
        self._conn_seq = 0
        self._loop = None
        self._thread = None
        self._runner = None
        self._started = threading.Event()
        self._start_error = None

    # ------------------------------------------------------------ tokens
    def _new_access(self, user_id, scopes=None, kind="user",
                    expires_in=None):
        t = "mockacc" + secrets.token_hex(15)
        if expires_in is None:
            expires_in = self.token_expires_in
        self.access[t] = {"user_id": user_id, "valid": True, "kind": kind,
                          "scopes": list(self.scopes if scopes is None
                                         else scopes),
                          "expires_at": time.monotonic() + expires_in}
        self.issued.append(t)
        return t

    def _new_refresh(self, user_id):
        t = "mockref" + secrets.token_hex(20)
        self.refresh[t] = {"valid": True, "user_id": user_id}
        self.issued.append(t)
        return t

    def secrets(self):
        """Every secret string the mock ever handed out (client secret,
        access, refresh and app tokens): none may appear on MQTT or in a
        log."""
        with self.lock:
            return list(self.issued)

    def issue_user_tokens(self, user_id="1337", expires_in=None):
        """A new (access, refresh) pair for user_id, as if that user had
        authorized the application too (a broadcaster's own token for a
        subscribe request). Does not change current_tokens()."""
        with self.lock:
            return (self._new_access(user_id, expires_in=expires_in),
                    self._new_refresh(user_id))

    def invalidate_access(self, *tokens):
        """Every access token issued so far (or only those given) answers
        401 from now on (the bridge must refresh)."""
        with self.lock:
            for k, v in self.access.items():
                if not tokens or k in tokens:
                    v["valid"] = False

    def expire_refresh(self, *tokens):
        """Every refresh token issued so far (or only those given) is
        refused (400 Invalid refresh token)."""
        with self.lock:
            for k, v in self.refresh.items():
                if not tokens or k in tokens:
                    v["valid"] = False

    def set_scopes(self, scopes):
        """Scopes of every currently valid user token (and new ones)."""
        with self.lock:
            self.scopes = list(scopes)
            for v in self.access.values():
                if v["kind"] == "user":
                    v["scopes"] = list(scopes)

    def rotated(self, refresh):
        """The (access, refresh) pair a refresh with refresh returned, or
        None."""
        with self.lock:
            return self.rotations.get(refresh)

    def current_tokens(self):
        """(access, refresh) most recently issued to the user."""
        with self.lock:
            return self.access_token, self.refresh_token

    # ----------------------------------------------------------- lifecycle
    @property
    def base(self):
        return "%s://%s:%d" % ("https" if self.tls else "http", self.host,
                               self.port)

    def eventsub_url(self, keepalive=10):
        u = "%s://%s:%d/ws" % ("wss" if self.tls else "ws", self.host,
                               self.port)
        if keepalive is not None:
            u += "?keepalive_timeout_seconds=%s" % keepalive
        return u

    def env(self, keepalive=10, tokens=True):
        """The TWITCH2MQTT_* environment pointing a bridge at this mock."""
        e = {
            "TWITCH2MQTT_TWITCH_CLIENT_ID": self.client_id,
            "TWITCH2MQTT_TWITCH_CLIENT_SECRET": self.client_secret,
            "TWITCH2MQTT_TWITCH_API_URL": self.base + "/helix",
            "TWITCH2MQTT_TWITCH_AUTH_URL": self.base + "/oauth2",
            "TWITCH2MQTT_TWITCH_EVENTSUB_URL": self.eventsub_url(keepalive),
            "TWITCH2MQTT_TWITCH_PUBSUB_URL": "%s://%s:%d/pubsub" % (
                "wss" if self.tls else "ws", self.host, self.port),
        }
        if self.tls:
            e["TWITCH2MQTT_TWITCH_CA_FILE"] = self.tls[0]
        if tokens:
            e["TWITCH2MQTT_TWITCH_ACCESS_TOKEN"] = self.initial_access
            e["TWITCH2MQTT_TWITCH_REFRESH_TOKEN"] = self.initial_refresh
        return e

    def start(self, timeout=10):
        self._thread = threading.Thread(target=self._run, name="mock-twitch",
                                        daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise AssertionError("mock Twitch did not start")
        if self._start_error:
            raise AssertionError("mock Twitch failed: %s" % self._start_error)
        return self

    def _run(self):
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            app = web.Application(middlewares=[self._record_mw],
                                  client_max_size=4 * 1024 * 1024)
            app.router.add_get("/ws", self._ws_handler)
            r = app.router
            r.add_post("/helix/eventsub/subscriptions", self._h_sub_create)
            r.add_get("/helix/eventsub/subscriptions", self._h_sub_list)
            r.add_delete("/helix/eventsub/subscriptions", self._h_sub_delete)
            r.add_get("/helix/users", self._h_users)
            r.add_get("/helix/channel_points/custom_rewards",
                      self._h_rewards)
            r.add_post("/helix/webhooks/hub", self._h_hub)
            r.add_get("/oauth2/validate", self._o_validate)
            r.add_post("/oauth2/token", self._o_token)
            r.add_post("/oauth2/device", self._o_device)
            r.add_post("/oauth2/revoke", self._o_revoke)
            self._runner = web.AppRunner(app, handle_signals=False,
                                         access_log=None)
            loop.run_until_complete(self._runner.setup())
            ctx = None
            if self.tls:
                ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                ctx.load_cert_chain(*self.tls)
            site = web.TCPSite(self._runner, self.host, self.port,
                               shutdown_timeout=1, ssl_context=ctx)
            loop.run_until_complete(site.start())
            self.port = self._runner.addresses[0][1]
        except Exception as e:          # pragma: no cover
            self._start_error = repr(e)
            self._started.set()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            try:
                loop.run_until_complete(self._shutdown())
            except Exception:
                pass
            loop.close()

    async def _shutdown(self):
        for t in list(self._bg):
            t.cancel()
        if self._client is not None:
            await self._client.close()
        for c in list(self.conns):
            for t in c.tasks:
                t.cancel()
            if c.closed is None and c.request is not None:
                tr = c.request.transport
                if tr is not None:
                    tr.abort()
        await self._runner.cleanup()

    def close(self, session=None, code=None, reason=None):
        """close(): shuts the mock down. close(session, code, reason):
        closes that session's connection with a close frame (see
        close_session)."""
        if session is not None:
            return self.close_session(session, code, reason)
        self.shutdown()

    def shutdown(self):
        if self._loop is None:
            return
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(10)
        self._loop = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.shutdown()

    def _call(self, coro, timeout=10):
        """Runs a coroutine on the mock's loop and returns its result."""
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return fut.result(timeout)

    def now(self):
        return time.monotonic()

    # ---------------------------------------------------------- recording
    @web.middleware
    async def _record_mw(self, request, handler):
        if request.path in ("/ws",):
            return await handler(request)
        body = (await request.read()).decode("utf-8", "replace")
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self.lock:
            self._seq += 1
            rq = Req(self._seq, time.monotonic(), request.method,
                     request.path, list(request.query.items()), headers, body)
            self.requests.append(rq)
        request["rec"] = rq
        try:
            resp = await handler(request)
        except web.HTTPException as e:
            resp = e
        rq.status = resp.status
        try:
            if getattr(resp, "body", None):
                rq.response = json.loads(resp.body)
        except (ValueError, TypeError):
            pass
        if isinstance(resp, web.HTTPException):
            raise resp
        return resp

    def mark(self):
        """A point in the request record (for since=)."""
        with self.lock:
            return self._seq

    def reqs(self, method=None, path=None, since=0, pred=None):
        with self.lock:
            out = [r for r in self.requests if r.seq > since]
        return [r for r in out
                if (method is None or r.method == method) and
                (path is None or r.path == path) and
                (pred is None or pred(r))]

    def sub_posts(self, since=0, session=None, ok=None):
        """Recorded POST /helix/eventsub/subscriptions (optionally only
        those for session, or only answered 202 (ok=True) / not (False))."""
        def p(r):
            if session is not None:
                tr = (r.json or {}).get("transport") or {}
                if tr.get("session_id") != session:
                    return False
            if ok is not None and (r.status == 202) != ok:
                return False
            return True
        return self.reqs("POST", "/helix/eventsub/subscriptions", since,
                         pred=p)

    def token_reqs(self, grant_type=None, since=0):
        return self.reqs("POST", "/oauth2/token", since,
                         pred=lambda r: grant_type is None or
                         (r.form or {}).get("grant_type") == grant_type)

    def unknown_reqs(self, since=0):
        """Requests no route served (404 on an unknown path)."""
        known = {"/ws", "/helix/eventsub/subscriptions", "/helix/users",
                 "/helix/channel_points/custom_rewards",
                 "/helix/webhooks/hub",
                 "/oauth2/validate", "/oauth2/token", "/oauth2/device",
                 "/oauth2/revoke"}
        return self.reqs(since=since, pred=lambda r: r.path not in known)

    # ------------------------------------------------------ ws: sessions
    def connections(self, since_t=None):
        with self.lock:
            cs = list(self.conns)
        if since_t is not None:
            cs = [c for c in cs if c.opened >= since_t]
        return cs

    def live_conns(self):
        return [c for c in self.connections() if c.live]

    def conn(self, session):
        """The Conn of a session id, a Conn, or a conn number."""
        if isinstance(session, Conn):
            return session
        with self.lock:
            for c in reversed(self.conns):
                if session == c.session_id or session == c.id:
                    return c
        raise KeyError("no connection for session %r" % (session,))

    def current(self):
        """The most recently welcomed live connection, or None."""
        live = [c for c in self.live_conns()]
        return max(live, key=lambda c: c.welcomed) if live else None

    def wait_conn(self, timeout=10, since_t=None, pred=None, desc=None):
        """Waits for a welcomed connection opened at or after since_t
        (monotonic) satisfying pred; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            for c in self.connections(since_t):
                if c.welcomed is not None and (pred is None or pred(c)):
                    return c
            if time.monotonic() >= deadline:
                raise AssertionError(
                    "timed out after %.1fs waiting for %s; connections: %s"
                    % (timeout, desc or "an EventSub WebSocket connection",
                       self.connections()))
            time.sleep(0.05)

    def violations(self):
        """[(conn id, t, kind, data)] of every frame a client sent that it
        must not have sent (text, binary, Ping)."""
        out = []
        for c in self.connections():
            for v in c.violations:
                out.append((c.id,) + tuple(v))
        return out

    # ---------------------------------------------------------- ws: logic
    def _clamp_keepalive(self, q):
        v = q.get("keepalive_timeout_seconds")
        if v is None:
            return 10
        try:
            n = int(v)
        except ValueError:
            try:
                n = int(float(v))
            except ValueError:
                return 10
        return max(self.min_keepalive, min(600, n))

    async def _send(self, c, obj):
        """Sends one text frame; False when the socket is gone."""
        ws = c.ws
        if ws is None or ws.closed or c.closed is not None:
            return False
        text = json.dumps(obj, separators=(",", ":"))
        try:
            await ws.send_str(text)
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            return False
        md = obj.get("metadata", {})
        c.sent.append((time.monotonic(), md.get("message_type"),
                       md.get("message_id")))
        c.last_text = time.monotonic()
        return True

    def _meta(self, mtype, message_id=None, sub=None):
        m = {"message_id": message_id or str(uuid.uuid4()),
             "message_type": mtype, "message_timestamp": ts9()}
        if sub is not None:
            m["subscription_type"] = sub["type"]
            m["subscription_version"] = sub["version"]
        return m

    async def _ws_handler(self, request):
        q = request.query
        now = time.monotonic()
        with self.lock:
            self._conn_seq += 1
            c = Conn(self._conn_seq, request.path_qs, now)
            self.conns.append(c)
            self._seq += 1
            rq = Req(self._seq, now, "WS", request.path,
                     list(q.items()),
                     {k.lower(): v for k, v in request.headers.items()}, "")
            rq.status = 101
            self.requests.append(rq)
        ws = web.WebSocketResponse(autoping=False, autoclose=False,
                                   timeout=2.0, max_msg_size=1 << 20)
        await ws.prepare(request)
        c.ws = ws
        c.request = request
        old = None
        if "reconnect_id" in q:
            rid = q.get("reconnect_id")
            with self.lock:
                old = self.reconnect_tokens.pop(rid, None)
                self.used_reconnect_tokens.add(rid)
            if old is None or old.closed is not None:
                await self._server_close(c, 4007)
                await self._drain(c)
                return ws
            c.reconnect_of = old
            c.reconnect_url_given = old.reconnect_url
            c.url_exact = (
                "%s://%s:%d%s" % ("wss" if self.tls else "ws", self.host,
                                  self.port, request.path_qs)
                == old.reconnect_url)
            c.keepalive = old.keepalive
        else:
            c.keepalive = self._clamp_keepalive(q)
        c.session_id = _b64id(24)
        if old is not None:
            await self._run_overlap(old, "before_welcome")
        welcome = {
            "metadata": self._meta("session_welcome"),
            "payload": {"session": {
                "id": c.session_id, "status": "connected",
                "keepalive_timeout_seconds": c.keepalive,
                "reconnect_url": None, "connected_at": ts9()}}}
        if old is not None:
            # the session's subscriptions move to the new connection
            with self.lock:
                for s in self.subs.values():
                    tr = s["transport"]
                    if tr.get("session_id") == old.session_id and \
                            s["status"] == "enabled":
                        tr["session_id"] = c.session_id
                        tr["connected_at"] = welcome["payload"]["session"][
                            "connected_at"]
                old.migrated_to = c
        await self._send(c, welcome)
        c.welcomed = time.monotonic()
        if old is not None:
            await self._run_overlap(old, "after_welcome", new=c)
        c.tasks = [asyncio.ensure_future(self._keepalive_task(c)),
                   asyncio.ensure_future(self._ping_task(c)),
                   asyncio.ensure_future(self._unused_task(c))]
        if self.auto_close is not None:
            code, reason, after = self.auto_close
            c.tasks.append(asyncio.ensure_future(
                self._delayed_close(c, after, code, reason)))
        await self._drain(c)
        return ws

    async def _next(self, c):
        """The next client frame. After our close frame the public receive()
        answers CLOSED at once, so read the frame reader directly then (the
        abort timer of _server_close bounds the wait)."""
        ws = c.ws
        if c.close_sent is None:
            return await ws.receive()
        try:
            return await ws._reader.read()
        except Exception:
            return None

    async def _drain(self, c):
        """Reads the client until the connection ends."""
        ws = c.ws
        try:
            while True:
                msg = await self._next(c)
                t = time.monotonic()
                if msg is None:
                    if c.closed is None:
                        c.closed = t
                        c.close_by = "client-drop"
                    break
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    data = msg.data if isinstance(msg.data, str) else \
                        repr(msg.data[:200])
                    c.violations.append((t, msg.type.name.lower(), data[:500]))
                    if c.closed is None:
                        await self._server_close(c, 4001)
                elif msg.type == WSMsgType.PING:
                    if self.client_pings_are_violations:
                        c.violations.append((t, "ping", repr(msg.data)))
                        if c.closed is None:
                            await self._server_close(c, 4001)
                    elif c.close_sent is None:
                        await ws.pong(msg.data)
                elif msg.type == WSMsgType.PONG:
                    c.pongs.append((t, bytes(msg.data)))
                    if c.pings and bytes(msg.data) != c.pings[-1][1]:
                        c.pong_mismatch.append((t, bytes(msg.data),
                                                c.pings[-1][1]))
                elif msg.type == WSMsgType.CLOSE:
                    c.client_close_code = msg.data
                    if c.closed is None:
                        # the client closes: answer with the same code
                        c.closed = t
                        c.close_by = "client"
                        c.close_code = msg.data
                        c.close_reason = msg.extra
                        try:
                            await ws.close(code=msg.data or 1000)
                        except Exception:
                            pass
                    break
                else:   # CLOSED, ERROR: the TCP connection is gone
                    if c.closed is None:
                        c.closed = t
                        c.close_by = "client-drop"
                    break
        except (asyncio.CancelledError, ConnectionError):
            if c.closed is None:
                c.closed = time.monotonic()
                c.close_by = "client-drop"
        finally:
            for tk in c.tasks:
                tk.cancel()
            self._session_ended(c)

    def _session_ended(self, c):
        with self.lock:
            if c.closed is None:
                c.closed = time.monotonic()
                c.close_by = "client-drop"
            for tok, old in list(self.reconnect_tokens.items()):
                if old is c:        # gone before the client reconnected
                    del self.reconnect_tokens[tok]
            if c.session_id is None:
                return
            if c.close_by == "server" and c.close_code in CLOSE_STATUS:
                status = CLOSE_STATUS[c.close_code]
            elif c.close_by == "drop":
                status = "websocket_network_error"
            else:
                status = "websocket_disconnected"
            for s in self.subs.values():
                tr = s["transport"]
                if tr.get("session_id") == c.session_id and \
                        s["status"] == "enabled":
                    s["status"] = status
                    tr.pop("connected_at", None)
                    tr["disconnected_at"] = ts9()

    async def _server_close(self, c, code, reason=None, wait=True):
        """Sends a close frame (code, reason); _drain then waits for the
        client's Close (skipping Pongs still in flight) and a timer drops
        the TCP connection if none comes within 2 s. (aiohttp's own close()
        gives up at the first non-Close frame, so the frame is written
        directly.)"""
        if c.closed is not None:
            return
        reason = CLOSE_REASONS.get(code, "") if reason is None else reason
        c.closed = time.monotonic()
        c.close_by = "server"
        c.close_code = code
        c.close_reason = reason
        ws = c.ws
        writer = getattr(ws, "_writer", None)
        c.close_sent = time.monotonic()
        if writer is None or not hasattr(ws, "_reader"):   # other aiohttp
            try:
                await ws.close(code=code, message=reason.encode())
            except Exception:
                pass
            return
        ws._closed = True       # no more sends; write_eof() won't close
        try:
            await writer.close(code, reason.encode())
        except Exception:
            pass
        asyncio.get_event_loop().call_later(2.0, self._abort, c)

    def _abort(self, c):
        tr = c.request.transport if c.request is not None else None
        if tr is not None and not tr.is_closing():
            tr.abort()

    async def _delayed_close(self, c, after, code, reason):
        await asyncio.sleep(after)
        await self._server_close(c, code, reason)

    async def _keepalive_task(self, c):
        while c.closed is None:
            await asyncio.sleep(c.keepalive)
            if c.closed is None and c.keepalive_enabled:
                await self._send(c, {"metadata": self._meta(
                    "session_keepalive"), "payload": {}})

    async def _ping_task(self, c):
        n = 0
        while c.closed is None:
            await asyncio.sleep(self.ping_interval)
            if c.closed is not None or not c.pings_enabled:
                continue
            if self.enforce_pong and c.pings and \
                    (not c.pongs or c.pongs[-1][0] < c.pings[-1][0]):
                await self._server_close(c, 4002)
                return
            n += 1
            payload = b"mock-ping-%d" % n
            c.pings.append((time.monotonic(), payload))
            try:
                await c.ws.ping(payload)
            except Exception:
                return

    async def _unused_task(self, c):
        if not self.require_subscription:
            return
        window = self.unused_timeout
        if window is None:
            window = max(c.keepalive, 10)
        await asyncio.sleep(window)
        if c.closed is not None or c.reconnect_of is not None:
            return
        with self.lock:
            ever = bool(self.sub_session_ever.get(c.session_id))
        if not ever:
            await self._server_close(c, 4003)

    # ----------------------------------------------------- ws: controls
    def _resolve_conns(self, sessions):
        if sessions is None:
            return None
        if isinstance(sessions, (str, int, Conn)):
            sessions = [sessions]
        return [self.conn(s) for s in sessions]

    def _find_sub(self, typ, version=None, condition=None, session=None,
                  enabled=True):
        with self.lock:
            subs = sorted(self.subs.values(), key=lambda s: s["created_at"])
        out = []
        for s in subs:
            if s["type"] != typ:
                continue
            if version is not None and s["version"] != version:
                continue
            if enabled and s["status"] != "enabled":
                continue
            if condition is not None and any(
                    s["condition"].get(k) != v for k, v in condition.items()):
                continue
            if session is not None and \
                    s["transport"].get("session_id") != session:
                continue
            out.append(s)
        return out

    def subscriptions(self, typ=None, status=None, session=None):
        """Copies of the subscriptions the mock holds."""
        with self.lock:
            subs = [copy.deepcopy(s) for s in self.subs.values()]
        return [s for s in subs
                if (typ is None or s["type"] == typ) and
                (status is None or s["status"] == status) and
                (session is None or
                 s["transport"].get("session_id") == session)]

    def _notification(self, sub, event, message_id, session_id):
        s = copy.deepcopy(sub)
        s["transport"] = {"method": "websocket", "session_id": session_id}
        return {"metadata": self._meta("notification", message_id, s),
                "payload": {"subscription": s, "event": event}}

    def notify(self, typ, event, sessions=None, message_id=None,
               version=None, condition=None):
        """Sends a notification of subscription type typ carrying event.

        sessions None: on the connection of every enabled subscription of
        that type (and version/condition when given). Otherwise on exactly
        these connections (session ids, Conns or conn numbers; e.g. the old
        and the new socket during a reconnect overlap), with the
        subscription of that type if one exists (else a made-up one).
        Returns a NotifyResult (falsy when it was sent nowhere)."""
        mid = message_id or str(uuid.uuid4())
        return self._call(self._notify(typ, event, sessions, mid, version,
                                       condition))

    async def _notify(self, typ, event, sessions, mid, version, condition):
        targets = []
        conns = self._resolve_conns(sessions)
        if conns is None:
            for s in self._find_sub(typ, version, condition):
                try:
                    c = self.conn(s["transport"]["session_id"])
                except KeyError:
                    continue
                if c.live:
                    targets.append((c, s))
        else:
            subs = self._find_sub(typ, version, condition) or \
                self._find_sub(typ, version, condition, enabled=False)
            if subs:
                sub = subs[-1]
            else:
                cond = {"broadcaster_user_id":
                        event.get("broadcaster_user_id", "1337")}
                sub = {"id": str(uuid.uuid4()), "status": "enabled",
                       "type": typ, "version": version or "1",
                       "condition": cond, "created_at": ts9(), "cost": 0,
                       "transport": {"method": "websocket"}}
            targets = [(c, sub) for c in conns]
        sent = []
        frame = None
        for c, s in targets:
            frame = self._notification(s, event, mid, c.session_id)
            if await self._send(c, frame):
                sent.append(c)
        return NotifyResult(mid, sent, frame)

    def notify_burst(self, typ, events):
        """Sends one notification per event in events, back to back in one
        go on the connection of the (first) enabled subscription of typ,
        as fast as the socket takes them (backpressure tests). Returns the
        message ids in order, [] when no connection holds typ."""
        return self._call(self._notify_burst(typ, list(events)), timeout=120)

    async def _notify_burst(self, typ, events):
        for s in self._find_sub(typ, None, None):
            try:
                c = self.conn(s["transport"]["session_id"])
            except KeyError:
                continue
            if not c.live:
                continue
            ids = []
            for ev in events:
                mid = str(uuid.uuid4())
                if not await self._send(c, self._notification(
                        s, ev, mid, c.session_id)):
                    break
                ids.append(mid)
            return ids
        return []

    def revoke(self, sub_id, status="authorization_revoked"):
        """Revokes a subscription: its status becomes status and a
        revocation message goes to its connection. Returns whether it was
        sent."""
        return self._call(self._revoke(sub_id, status))

    async def _revoke(self, sub_id, status):
        with self.lock:
            s = self.subs[sub_id]
            s["status"] = status
            sc = copy.deepcopy(s)
        try:
            c = self.conn(sc["transport"].get("session_id"))
        except KeyError:
            return False
        return await self._send(c, {
            "metadata": self._meta("revocation", None, sc),
            "payload": {"subscription": sc}})

    def reconnect(self, session, valid=True, before_welcome=(),
                  after_welcome=(), after_reconnect=()):
        """Sends session_reconnect on session's connection.

        valid=False hands out a reconnect_url whose reconnect_id the mock
        refuses (close 4007). Notifications can be scripted around the
        migration, each (type, event, message_id, where) with where one of
        "old", "new", "both":
          after_reconnect: sent on the old socket right after the
                           session_reconnect message;
          before_welcome:  sent (where old/both) on the old socket when the
                           client connects to reconnect_url, before the new
                           welcome;
          after_welcome:   sent right after the new welcome (old/new/both).
        Returns the reconnect_url."""
        c = self.conn(session)
        return self._call(self._reconnect(c, valid, list(before_welcome),
                                          list(after_welcome),
                                          list(after_reconnect)))

    async def _reconnect(self, c, valid, before, after, early):
        tok = _b64id(18)
        url = "%s://%s:%d/ws?reconnect_id=%s" % (
            "wss" if self.tls else "ws", self.host, self.port, tok)
        c.reconnect_url = url
        c.overlap = {"before_welcome": before, "after_welcome": after}
        if valid:
            with self.lock:
                self.reconnect_tokens[tok] = c
        msg = {"metadata": self._meta("session_reconnect"),
               "payload": {"session": {
                   "id": c.session_id, "status": "reconnecting",
                   "keepalive_timeout_seconds": None,
                   "reconnect_url": url, "connected_at": ts9()}}}
        await self._send(c, msg)
        c.reconnect_sent = time.monotonic()
        for typ, event, mid, _where in early:
            await self._notify(typ, event, [c], mid, None, None)
        c.tasks.append(asyncio.ensure_future(self._grace(c)))
        return url

    async def _run_overlap(self, old, phase, new=None):
        for typ, event, mid, where in old.overlap.get(phase, ()):
            targets = []
            if where in ("old", "both"):
                targets.append(old)
            if where in ("new", "both") and new is not None:
                targets.append(new)
            if targets:
                await self._notify(typ, event, targets, mid, None, None)

    async def _grace(self, c):
        await asyncio.sleep(self.reconnect_grace)
        if c.closed is None:
            await self._server_close(c, 4004)

    def close_session(self, session, code, reason=None):
        """Closes session's connection with a close frame code/reason
        (returns without waiting for the client's answer)."""
        c = self.conn(session)
        self._call(self._server_close(c, code, reason, wait=False))
        return c

    close_ws = close_session

    def drop(self, session):
        """Drops session's TCP connection without a close frame."""
        c = self.conn(session)

        async def _drop():
            if c.closed is None:
                c.closed = time.monotonic()
                c.close_by = "drop"
                c.close_code = 1006
                tr = c.request.transport
                if tr is not None:
                    tr.abort()
        self._call(_drop())
        return c

    def set_keepalive(self, session, enabled):
        self.conn(session).keepalive_enabled = bool(enabled)

    def set_pings(self, session, enabled):
        self.conn(session).pings_enabled = bool(enabled)

    def send_raw(self, session, text):
        """Sends an arbitrary text frame (robustness tests)."""
        c = self.conn(session)

        async def _s():
            if c.ws is None or c.ws.closed:
                return False
            await c.ws.send_str(text)
            c.sent.append((time.monotonic(), "raw", None))
            c.last_text = time.monotonic()
            return True
        return self._call(_s())

    def send_bytes(self, session, data):
        """Writes bytes on the socket as they are, outside any frame (a
        server breaking the WebSocket protocol)."""
        c = self.conn(session)

        async def _w():
            c.request.transport.write(data)
        self._call(_w())

    def set_auto_close(self, code=None, reason=None, after=0.2):
        """Closes every new connection `after` seconds after its welcome
        with code (None: stop doing so)."""
        self.auto_close = None if code is None else (
            code, CLOSE_REASONS.get(code, "") if reason is None else reason,
            after)

    # ------------------------------------------------------------- helix
    def fail_type(self, typ, status, message, times=None):
        """POSTs creating a subscription of type typ answer status with
        message (times: that many, then normally; None: always)."""
        with self.lock:
            self.failures[typ] = [status, message, times]

    def clear_failures(self):
        with self.lock:
            self.failures.clear()

    def add_user(self, login, uid, name=None, **kw):
        u = {"id": uid, "login": login, "display_name": name or login,
             "broadcaster_type": "", "description": ""}
        u.update(kw)
        with self.lock:
            self.users[login] = u
        return u

    @staticmethod
    def _err(status, message):
        return web.json_response({"error": HTTP_REASON.get(status, "Error"),
                                  "status": status, "message": message},
                                 status=status)

    def _helix_auth(self, request, user_only=False):
        """(token info, None) or (None, error response)."""
        rq = request.get("rec")
        auth = request.headers.get("Authorization", "")
        parts = auth.split(None, 1)
        if len(parts) != 2 or parts[0].lower() != "bearer":
            return None, self._err(401, "OAuth token is missing")
        tok = parts[1].strip()
        if rq is not None:
            rq.token = tok
        with self.lock:
            info = self.access.get(tok)
        if info is None or not info["valid"]:
            return None, self._err(401, "Invalid OAuth token")
        if request.headers.get("Client-Id") != self.client_id:
            return None, self._err(
                401, "Client ID and OAuth token do not match")
        return info, None

    async def _h_users(self, request):
        info, err = self._helix_auth(request)
        if err is not None:
            return err
        logins = [v.lower() for v in request.query.getall("login", [])]
        ids = request.query.getall("id", [])
        if len(logins) + len(ids) > 100:
            return self._err(400, "The sum of the number of login and id "
                             "parameters exceeds the maximum of 100")
        with self.lock:
            users = list(self.users.values())
        if not logins and not ids:
            if info["kind"] != "user":
                return self._err(400, "Must provide an ID, Login or OAuth "
                                 "Token")
            sel = [u for u in users if u["id"] == info["user_id"]]
        else:
            sel = [u for u in users if u["login"] in logins or
                   u["id"] in ids]
        data = []
        for u in sel:
            d = {"id": u["id"], "login": u["login"],
                 "display_name": u["display_name"], "type": "",
                 "broadcaster_type": u.get("broadcaster_type", ""),
                 "description": u.get("description", ""),
                 "profile_image_url": "https://static-cdn.example/%s.png"
                 % u["login"],
                 "offline_image_url": "", "view_count": 0,
                 "created_at": "2016-12-14T20:32:28Z"}
            data.append(d)
        return web.json_response({"data": data})

    def set_rewards(self, broadcaster_id, rewards):
        """The channel's custom rewards: [{"id","title",...}]; the missing
        fields of Twitch's shape are filled in."""
        full = []
        for r in rewards:
            d = {"broadcaster_id": broadcaster_id, "id": r["id"],
                 "title": r["title"], "prompt": r.get("prompt", ""),
                 "cost": r.get("cost", 100), "is_enabled": True,
                 "is_paused": False, "is_in_stock": True,
                 "is_user_input_required": False,
                 "background_color": "#9147FF", "image": None,
                 "default_image": {}, "global_cooldown_setting": {},
                 "max_per_stream_setting": {},
                 "max_per_user_per_stream_setting": {},
                 "should_redemptions_skip_request_queue": False,
                 "redemptions_redeemed_current_stream": None,
                 "cooldown_expires_at": None}
            full.append(d)
        with self.lock:
            self.rewards[broadcaster_id] = full

    async def _h_rewards(self, request):
        """Get Custom Reward: the broadcaster's own user token with
        channel:read:redemptions or channel:manage:redemptions."""
        info, err = self._helix_auth(request)
        if err is not None:
            return err
        bid = request.query.get("broadcaster_id")
        if not bid:
            return self._err(400, "Missing required parameter "
                             "\"broadcaster_id\"")
        if info["kind"] != "user" or info["user_id"] != bid:
            return self._err(401, "The ID in broadcaster_id must match the "
                             "user ID found in the request's OAuth token.")
        if not any(s in info["scopes"] for s in (
                "channel:read:redemptions", "channel:manage:redemptions")):
            return self._err(401, "Missing scope: channel:read:redemptions "
                             "or channel:manage:redemptions")
        with self.lock:
            data = copy.deepcopy(self.rewards.get(bid, []))
        return web.json_response({"data": data})

    def _check_condition(self, typ, version, cond, info, app=False):
        """None, or (status, message). app: an app token (webhook): the
        scopes are what the users granted the client (the mock's scopes),
        and no user has to match the token."""
        spec = SUB_TYPES[(typ, version)]
        if not isinstance(cond, dict) or any(
                not isinstance(v, str) for v in cond.values()):
            return 400, "The condition is not valid"
        if typ == "channel.raid":
            keys = set(cond)
            if keys not in ({"from_broadcaster_user_id"},
                            {"to_broadcaster_user_id"}) or \
                    not list(cond.values())[0]:
                return 400, "The condition is not valid: exactly one of " \
                    "from_broadcaster_user_id or to_broadcaster_user_id"
            return None
        req, opt, scopes = spec
        for k in req:
            if not cond.get(k):
                return 400, "The condition is missing %s" % k
        for k in cond:
            if k not in req and k not in opt:
                return 400, "The condition field %s is not valid for %s" % (
                    k, typ)
        if scopes is None:
            return None
        granted = self.scopes if app else info["scopes"]
        for alt in scopes:
            if not any(a in granted for a in alt.split("|")):
                return 403, "subscription missing proper authorization"
        if app:
            return None
        who = cond.get("moderator_user_id") or (
            cond.get("user_id") if "user_id" in req else None) or \
            cond.get("broadcaster_user_id")
        if who != info["user_id"]:
            return 403, "subscription missing proper authorization"
        if "user_id" in req and "broadcaster_user_id" in req and \
                cond["user_id"] != info["user_id"]:
            return 403, "subscription missing proper authorization"
        return None

    async def _h_sub_create(self, request):
        info, err = self._helix_auth(request)
        if err is not None:
            return err
        rq = request["rec"]
        if "application/json" not in request.headers.get("Content-Type", ""):
            return self._err(400, "Content-Type must be application/json")
        body = rq.json
        if not isinstance(body, dict):
            return self._err(400, "Malformed request body")
        typ, ver = body.get("type"), body.get("version")
        cond, tr = body.get("condition"), body.get("transport")
        if not isinstance(typ, str) or not isinstance(ver, str):
            return self._err(400, "type and version must be strings")
        if (typ, ver) in GONE_TYPES:
            return self._err(410, "This subscription type is not available.")
        if (typ, ver) not in SUB_TYPES:
            return self._err(400, "The combination of values in the type "
                             "and version fields is not valid")
        if isinstance(tr, dict) and tr.get("method") == "webhook":
            return await self._h_sub_create_webhook(info, typ, ver, cond, tr)
        if not isinstance(tr, dict) or tr.get("method") != "websocket":
            return self._err(400, "The transport method must be websocket "
                             "or webhook in this mock")
        if set(tr) != {"method", "session_id"}:
            return self._err(400, "The websocket transport takes exactly "
                             "method and session_id")
        if info["kind"] != "user":
            return self._err(400, "The websocket transport needs a user "
                             "access token")
        sid = tr.get("session_id")
        live = [c for c in self.live_conns() if c.session_id == sid]
        if not isinstance(sid, str) or not live:
            return self._err(400, "websocket transport session does not "
                             "exist or has already disconnected")
        bad = self._check_condition(typ, ver, cond, info)
        if bad:
            return self._err(*bad)
        with self.lock:
            f = self.failures.get(typ)
            if f is not None:
                status, message, times = f
                if times is not None:
                    f[2] = times - 1
                    if f[2] <= 0:
                        del self.failures[typ]
                return self._err(status, message)
            for s in self.subs.values():
                if s["type"] == typ and s["version"] == ver and \
                        s["condition"] == cond and s["status"] == "enabled" \
                        and s["transport"].get("session_id") == sid:
                    return self._err(409, "Subscription by the specified "
                                     "type and version combination for the "
                                     "specified Client ID already exists")
            n_on = sum(1 for s in self.subs.values()
                       if s["status"] == "enabled" and
                       s["transport"].get("session_id") == sid)
            if n_on >= 300:
                return self._err(429, "websocket transport subscription "
                                 "limit exceeded")
            sub = {"id": str(uuid.uuid4()), "status": "enabled",
                   "type": typ, "version": ver, "condition": dict(cond),
                   "created_at": ts9(),
                   "transport": {"method": "websocket", "session_id": sid,
                                 "connected_at": ts9()},
                   "cost": 0}
            self.subs[sub["id"]] = sub
            self.sub_created[sub["id"]] = time.monotonic()
            self.sub_session_ever.setdefault(sid, []).append(sub["id"])
            total = sum(1 for s in self.subs.values()
                        if s["status"] == "enabled")
        return web.json_response({"data": [copy.deepcopy(sub)],
                                  "total": total, "total_cost": 0,
                                  "max_total_cost": 10}, status=202)

    async def _h_sub_list(self, request):
        info, err = self._helix_auth(request)
        if err is not None:
            return err
        q = request.query
        with self.lock:
            subs = [copy.deepcopy(s) for s in self.subs.values()]
        if "status" in q:
            subs = [s for s in subs if s["status"] == q["status"]]
        if "type" in q:
            subs = [s for s in subs if s["type"] == q["type"]]
        if "subscription_id" in q:
            subs = [s for s in subs if s["id"] == q["subscription_id"]]
        if "user_id" in q:
            subs = [s for s in subs if q["user_id"] in s["condition"].values()]
        # Twitch: an app token lists webhook (and conduit) subscriptions,
        # a user token that user's WebSocket ones.
        app = info["kind"] == "app"
        subs = [s for s in subs
                if (s["transport"].get("method") != "websocket") == app]
        # The cursor names the last item given (opaque to clients), so
        # pages stay right while subscriptions are deleted in between.
        key = lambda s: s["created_at"] + "|" + s["id"]
        subs.sort(key=key)
        after = q.get("after")
        if after:
            try:
                after = base64.urlsafe_b64decode(after.encode()).decode()
            except (ValueError, UnicodeDecodeError):
                return self._err(400, "Invalid cursor")
            subs_after = [s for s in subs if key(s) > after]
        else:
            subs_after = subs
        page = subs_after[:self.list_page_size]
        more = len(subs_after) > len(page)
        cursor = base64.urlsafe_b64encode(key(page[-1]).encode()).decode() \
            if more else None
        return web.json_response({
            "total": len(subs), "total_cost": 0,
            "max_total_cost": 10000 if app else 10,
            "pagination": {"cursor": cursor} if cursor else {},
            "data": page})

    async def _h_sub_delete(self, request):
        info, err = self._helix_auth(request)
        if err is not None:
            return err
        sid = request.query.get("id")
        if not sid:
            return self._err(400, "Missing required parameter \"id\"")
        with self.lock:
            s = self.subs.pop(sid, None)
        if s is None:
            return self._err(404, "Subscription not found")
        with self.lock:
            self.deleted.append(s)
        return web.Response(status=204)

    # ------------------------------------------------- helix: webhooks
    async def _h_sub_create_webhook(self, info, typ, ver, cond, tr):
        if info["kind"] != "app":
            return self._err(401, "The webhook transport needs an app "
                             "access token")
        if set(tr) != {"method", "callback", "secret"}:
            return self._err(400, "The webhook transport takes exactly "
                             "method, callback and secret")
        cb, secret = tr.get("callback"), tr.get("secret")
        if not isinstance(cb, str) or not cb.startswith(("https://",
                                                         "http://")):
            return self._err(400, "The callback is not a valid URL")
        if not isinstance(secret, str) or not 10 <= len(secret) <= 100:
            return self._err(400, "The secret must be 10 to 100 characters")
        bad = self._check_condition(typ, ver, cond, info, app=True)
        if bad:
            return self._err(*bad)
        with self.lock:
            f = self.failures.get(typ)
            if f is not None:
                status, message, times = f
                if times is not None:
                    f[2] = times - 1
                    if f[2] <= 0:
                        del self.failures[typ]
                return self._err(status, message)
            for s in self.subs.values():
                if s["type"] == typ and s["version"] == ver and \
                        s["condition"] == cond and \
                        s["transport"].get("callback") == cb and \
                        s["status"] in ("enabled", "webhook_callback_"
                                        "verification_pending"):
                    return self._err(409, "Subscription by the specified "
                                     "type and version combination for the "
                                     "specified Client ID already exists")
            sub = {"id": str(uuid.uuid4()),
                   "status": "webhook_callback_verification_pending",
                   "type": typ, "version": ver, "condition": dict(cond),
                   "created_at": ts9(),
                   "transport": {"method": "webhook", "callback": cb},
                   "cost": 0}
            self.subs[sub["id"]] = sub
            self.sub_created[sub["id"]] = time.monotonic()
            self.wh_secret[sub["id"]] = secret
            total = sum(1 for s in self.subs.values()
                        if s["transport"].get("method") == "webhook")
            answer = copy.deepcopy(sub)
        if self.webhook_verify_first:
            await self._wh_verify(sub["id"], 0)
        else:
            self._spawn(self._wh_verify(sub["id"],
                                        self.webhook_verify_delay))
        return web.json_response({"data": [answer], "total": total,
                                  "total_cost": 0, "max_total_cost": 10000},
                                 status=202)

    def _spawn(self, coro):
        t = asyncio.ensure_future(coro)
        self._bg.add(t)
        t.add_done_callback(self._bg.discard)
        return t

    async def _http(self, method, url, body=None, headers=None, timeout=10):
        """(status, content type, text) of one outgoing request; status
        None when it failed (refused, timeout)."""
        if self._client is None:
            self._client = aiohttp.ClientSession()
        try:
            async with self._client.request(
                    method, url, data=body, headers=headers,
                    timeout=aiohttp.ClientTimeout(total=timeout)) as r:
                text = await r.text()
                return r.status, r.headers.get("Content-Type", ""), text
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            return None, "", repr(e)

    def _wh_headers(self, secret, mtype, sub, body, message_id=None,
                    timestamp=None):
        mid = message_id or str(uuid.uuid4())
        ts = timestamp or ts9()
        sig = "sha256=" + hmac.new(secret.encode(), mid.encode() +
                                   ts.encode() + body,
                                   hashlib.sha256).hexdigest()
        return mid, {
            "Content-Type": "application/json",
            "Twitch-Eventsub-Message-Id": mid,
            "Twitch-Eventsub-Message-Retry": "0",
            "Twitch-Eventsub-Message-Type": mtype,
            "Twitch-Eventsub-Message-Signature": sig,
            "Twitch-Eventsub-Message-Timestamp": ts,
            "Twitch-Eventsub-Subscription-Type": sub["type"],
            "Twitch-Eventsub-Subscription-Version": sub["version"],
        }

    async def _wh_verify(self, sub_id, delay):
        if delay:
            await asyncio.sleep(delay)
        with self.lock:
            s = self.subs.get(sub_id)
            if s is None:
                return
            sub = copy.deepcopy(s)
            secret = self.webhook_verify_secret or self.wh_secret[sub_id]
        challenge = secrets.token_urlsafe(24)
        body = json.dumps({"challenge": challenge, "subscription": sub},
                          separators=(",", ":")).encode()
        mid, hd = self._wh_headers(secret, "webhook_callback_verification",
                                   sub, body)
        t0 = time.monotonic()
        status, ctype, text = await self._http(
            "POST", sub["transport"]["callback"], body, hd)
        ok = status is not None and 200 <= status < 300 and \
            text == challenge and ctype.startswith("text/plain")
        with self.lock:
            self.wh_verifications.append(WhCall(
                t0, sub_id, "webhook_callback_verification", mid, status,
                ctype, text, ok, challenge=challenge))
            if sub_id in self.subs:
                self.subs[sub_id]["status"] = "enabled" if ok else \
                    "webhook_callback_verification_failed"

    # controls
    def add_webhook_sub(self, typ, version, condition, callback,
                        status="enabled", secret="s3cr3tvalue123"):
        """A webhook subscription the mock holds as if made earlier (e.g.
        by a bridge that has since stopped). Returns a copy."""
        with self.lock:
            sub = {"id": str(uuid.uuid4()), "status": status, "type": typ,
                   "version": version, "condition": dict(condition),
                   "created_at": ts9(),
                   "transport": {"method": "webhook", "callback": callback},
                   "cost": 0}
            self.subs[sub["id"]] = sub
            self.wh_secret[sub["id"]] = secret
            return copy.deepcopy(sub)

    def webhook_subs(self, typ=None, status=None):
        return [s for s in self.subscriptions(typ, status)
                if s["transport"].get("method") == "webhook"]

    def verifications(self, sub_id=None):
        with self.lock:
            return [v for v in self.wh_verifications
                    if sub_id is None or v.sub_id == sub_id]

    def wh_send(self, sub_id, mtype, payload, message_id=None,
                timestamp=None, secret=None):
        """Sends a signed message of type mtype to a webhook subscription's
        callback; payload is the body minus "subscription". Returns the
        WhCall."""
        return self._call(self._wh_send(sub_id, mtype, payload, message_id,
                                        timestamp, secret), 30)

    async def _wh_send(self, sub_id, mtype, payload, message_id, timestamp,
                       secret):
        with self.lock:
            sub = copy.deepcopy(self.subs[sub_id])
            secret = secret or self.wh_secret[sub_id]
        body = dict(payload)
        body["subscription"] = sub
        raw = json.dumps(body, separators=(",", ":")).encode()
        mid, hd = self._wh_headers(secret, mtype, sub, raw, message_id,
                                   timestamp)
        t0 = time.monotonic()
        status, ctype, text = await self._http(
            "POST", sub["transport"]["callback"], raw, hd)
        c = WhCall(t0, sub_id, mtype, mid, status, ctype, text,
                   status is not None and 200 <= status < 300)
        with self.lock:
            self.wh_calls.append(c)
        return c

    def wh_notify(self, typ, event, message_id=None, version=None):
        """A notification of typ carrying event to every enabled webhook
        subscription of that type; [WhCall]."""
        return [self.wh_send(s["id"], "notification", {"event": event},
                             message_id)
                for s in self.webhook_subs(typ, "enabled")
                if version is None or s["version"] == version]

    def wh_revoke(self, sub_id, status="authorization_revoked"):
        """Revokes a webhook subscription: its status becomes status and a
        revocation goes to its callback. Returns the WhCall."""
        with self.lock:
            self.subs[sub_id]["status"] = status
        return self.wh_send(sub_id, "revocation", {})

    # --------------------------------------------------- websub hub
    async def _h_hub(self, request):
        info, err = self._helix_auth(request)
        if err is not None:
            return err
        if info["kind"] != "app":
            return self._err(401, "The hub needs an app access token")
        rq = request["rec"]
        p = dict(request.query)
        if isinstance(rq.json, dict):
            p.update(rq.json)
        elif rq.form:
            p.update(rq.form)
        cb, mode, topic = (p.get("hub.callback"), p.get("hub.mode"),
                           p.get("hub.topic"))
        lease = p.get("hub.lease_seconds", 0)
        if mode not in ("subscribe", "unsubscribe"):
            return self._err(400, "hub.mode must be subscribe or "
                             "unsubscribe")
        if not isinstance(cb, str) or not cb.startswith(("http://",
                                                         "https://")):
            return self._err(400, "hub.callback is not a valid URL")
        base = self.base + "/helix/"
        if not isinstance(topic, str) or not topic.startswith(base) or \
                topic[len(base):].split("?")[0] not in (
                    "users/follows", "streams", "users"):
            return self._err(400, "hub.topic is not a valid topic URL")
        try:
            lease = int(lease)
        except (TypeError, ValueError):
            return self._err(400, "hub.lease_seconds is not a number")
        if not 0 <= lease <= 864000:
            return self._err(400, "hub.lease_seconds must be 0..864000")
        secret = p.get("hub.secret")
        if secret is not None and (not isinstance(secret, str) or
                                   len(secret) > 200):
            return self._err(400, "hub.secret is not valid")
        self._spawn(self._hub_verify(cb, mode, topic, lease, secret))
        return web.Response(status=202)

    async def _hub_verify(self, cb, mode, topic, lease, secret):
        await asyncio.sleep(self.hub_verify_delay)
        with self.lock:
            reason = next((r for k, r in self.hub_denials.items()
                           if k in topic), None)
        q = [("hub.mode", "denied" if reason else mode),
             ("hub.topic", topic)]
        challenge = None
        grant = lease if self.hub_lease_grant is None else \
            self.hub_lease_grant
        if reason:
            q.append(("hub.reason", reason))
        else:
            challenge = secrets.token_urlsafe(18)
            q.append(("hub.challenge", challenge))
            if mode == "subscribe":
                q.append(("hub.lease_seconds", str(grant)))
        # sorted by name, as Go's url.Values.Encode (twitch-cli) does:
        # hub.challenge, hub.lease_seconds, hub.mode, hub.topic
        url = cb + ("&" if "?" in cb else "?") + \
            urllib.parse.urlencode(sorted(q))
        t0 = time.monotonic()
        status, ctype, text = await self._http("GET", url)
        ok = reason is None and status is not None and \
            200 <= status < 300 and text == challenge
        with self.lock:
            self.hub_verifications.append(WhCall(
                t0, None, q[0][1], None, status, ctype, text, ok,
                challenge=challenge, url=url, topic=topic, callback=cb,
                lease=grant if mode == "subscribe" else None))
            if ok and mode == "subscribe":
                self.hub_leases[(cb, topic)] = {
                    "callback": cb, "topic": topic, "secret": secret,
                    "lease_seconds": grant, "since": t0,
                    "expires": t0 + grant}
            elif ok:
                self.hub_leases.pop((cb, topic), None)

    # controls
    def deny_websub(self, topic_part, reason="unauthorized"):
        """Hub subscriptions whose topic contains topic_part are denied
        (GET hub.mode=denied) instead of verified."""
        with self.lock:
            self.hub_denials[topic_part] = reason

    def hub_posts(self, since=0, mode=None):
        """Recorded POST /helix/webhooks/hub (their parameters in .json)."""
        return self.reqs("POST", "/helix/webhooks/hub", since,
                         pred=lambda r: mode is None or
                         (r.json or {}).get("hub.mode") == mode)

    def hub_checks(self, mode=None):
        with self.lock:
            return [v for v in self.hub_verifications
                    if mode is None or v.mtype == mode]

    def leases(self):
        """Active WebSub leases: [{callback, topic, secret, lease_seconds,
        since, expires}]."""
        now = time.monotonic()
        with self.lock:
            return [dict(v) for v in self.hub_leases.values()
                    if v["expires"] > now]

    def topic_url(self, which, uid):
        b = self.base + "/helix"
        return {"follows": "%s/users/follows?first=1&to_id=%s",
                "streams": "%s/streams?user_id=%s",
                "users": "%s/users?id=%s"}[which] % (b, uid)

    def websub_notify(self, which, uid, data, notification_id=None,
                      link=True, secret=None):
        """Sends {"data": data} on the active lease of topic which
        (follows|streams|users) of user uid, signed with the lease's
        secret, like the hub did. Returns the WhCall (None: no lease)."""
        topic = self.topic_url(which, uid)
        with self.lock:
            lease = next((v for v in self.hub_leases.values()
                          if v["topic"] == topic), None)
        if lease is None:
            return None
        return self._call(self._websub_send(lease, data, notification_id,
                                            link, secret), 30)

    async def _websub_send(self, lease, data, nid, link, secret):
        raw = json.dumps({"data": data}, separators=(",", ":")).encode()
        nid = nid or str(uuid.uuid4())
        hd = {"Content-Type": "application/json",
              "Twitch-Notification-Id": nid,
              "Twitch-Notification-Retry": "0",
              "Twitch-Notification-Timestamp": ts9()}
        sec = secret or lease["secret"]
        if sec:
            hd["X-Hub-Signature"] = "sha256=" + hmac.new(
                sec.encode(), raw, hashlib.sha256).hexdigest()
        if link:
            hd["Link"] = '<%s/helix/webhooks/hub>; rel="hub", <%s>; ' \
                'rel="self"' % (self.base, lease["topic"])
        t0 = time.monotonic()
        status, ctype, text = await self._http("POST", lease["callback"],
                                               raw, hd)
        c = WhCall(t0, None, "websub", nid, status, ctype, text,
                   status is not None and 200 <= status < 300,
                   topic=lease["topic"], callback=lease["callback"])
        with self.lock:
            self.wh_calls.append(c)
        return c

    def deleted_subs(self):
        with self.lock:
            return list(self.deleted)

    # ------------------------------------------------------------- oauth
    async def _o_validate(self, request):
        auth = request.headers.get("Authorization", "")
        parts = auth.split(None, 1)
        if len(parts) != 2 or parts[0].lower() not in ("oauth", "bearer"):
            return web.json_response({"status": 401, "message":
                                      "missing authorization token"},
                                     status=401)
        tok = parts[1].strip()
        request["rec"].token = tok
        with self.lock:
            info = self.access.get(tok)
        if info is None or not info["valid"]:
            return web.json_response({"status": 401, "message":
                                      "invalid access token"}, status=401)
        d = {"client_id": self.client_id, "scopes": list(info["scopes"]),
             "expires_in": max(0, int(info["expires_at"] -
                                      time.monotonic()))}
        if info["kind"] == "user":
            u = [x for x in self.users.values()
                 if x["id"] == info["user_id"]]
            d["login"] = u[0]["login"] if u else "user" + info["user_id"]
            d["user_id"] = info["user_id"]
        return web.json_response(d)

    def _token_answer(self, user_id, old_refresh=None):
        acc = self._new_access(user_id)
        ref = self._new_refresh(user_id)
        # current_tokens() follows the bridge's own pair, not the pairs
        # given with subscribe requests (issue_user_tokens)
        if old_refresh is None or old_refresh == self.refresh_token:
            self.access_token, self.refresh_token = acc, ref
        if old_refresh is not None:
            self.rotations[old_refresh] = (acc, ref)
        return web.json_response({
            "access_token": acc, "expires_in": self.token_expires_in,
            "refresh_token": ref, "scope": list(self.scopes),
            "token_type": "bearer"})

    async def _o_token(self, request):
        f = request["rec"].form or {}
        gt = f.get("grant_type")
        if f.get("client_id") != self.client_id:
            return web.json_response({"status": 400, "message":
                                      "invalid client"}, status=400)
        if gt == "refresh_token":
            if self.confidential and f.get("client_secret") != \
                    self.client_secret:
                return web.json_response({"status": 400, "message":
                                          "invalid client secret"},
                                         status=400)
            with self.lock:
                r = self.refresh.get(f.get("refresh_token", ""))
                if r is None or not r["valid"]:
                    return web.json_response({"status": 400, "message":
                                              "Invalid refresh token"},
                                             status=400)
                r["valid"] = False      # rotated: single use
                return self._token_answer(r["user_id"],
                                          f.get("refresh_token"))
        if gt == "client_credentials":
            if f.get("client_secret") != self.client_secret:
                return web.json_response({"status": 403, "message":
                                          "invalid client secret"},
                                         status=403)
            with self.lock:
                t = self._new_access(None, scopes=[], kind="app")
            return web.json_response({"access_token": t,
                                      "expires_in": 5011271,
                                      "token_type": "bearer"})
        if gt == "urn:ietf:params:oauth:grant-type:device_code":
            with self.lock:
                d = self.devices.get(f.get("device_code", ""))
                if d is None or d["done"]:
                    return web.json_response({"status": 400, "message":
                                              "invalid device code"},
                                             status=400)
                d["polls"] += 1
                if not d["authorized"] and \
                        d["polls"] <= self.device_pending_polls:
                    return web.json_response({"status": 400, "message":
                                              "authorization_pending"},
                                             status=400)
                d["done"] = True
                return self._token_answer(self.token_user)
        return web.json_response({"status": 400, "message":
                                  "unsupported grant type"}, status=400)

    async def _o_device(self, request):
        f = request["rec"].form or {}
        if f.get("client_id") != self.client_id:
            return web.json_response({"status": 400, "message":
                                      "invalid client"}, status=400)
        code = secrets.token_hex(16)
        user_code = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ")
                            for _ in range(8))
        with self.lock:
            self.devices[code] = {"polls": 0, "authorized": False,
                                  "done": False, "user_code": user_code,
                                  "scopes": f.get("scopes", "")}
        return web.json_response({
            "device_code": code, "expires_in": 1800,
            "interval": self.device_interval, "user_code": user_code,
            "verification_uri": "https://www.twitch.tv/activate?public=true"
            "&device-code=" + user_code})

    def authorize_device(self):
        with self.lock:
            for d in self.devices.values():
                d["authorized"] = True

    async def _o_revoke(self, request):
        f = request["rec"].form or {}
        with self.lock:
            info = self.access.get(f.get("token", ""))
            if info:
                info["valid"] = False
        return web.Response(status=200)


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description="mock Twitch for twitch2mqtt")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--keepalive", type=int, default=10)
    ap.add_argument("--min-keepalive", type=int, default=10)
    a = ap.parse_args(argv)
    m = MockTwitch(port=a.port, min_keepalive=a.min_keepalive).start()
    for k, v in sorted(m.env(a.keepalive).items()):
        print("%s=%s" % (k, v))
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    m.close()


if __name__ == "__main__":
    main(sys.argv[1:])
