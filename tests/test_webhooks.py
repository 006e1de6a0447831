"""Webhook deliveries end to end: a real `brandbase worker`, a real HTTP receiver on
loopback, signatures checked with the real `standardwebhooks` package; failing receivers
(500, hang, reset, 429 + Retry-After, 410), a worker SIGKILLed mid-batch, and the SSRF
guard at resolution (stub resolver: no traffic leaves loopback)."""

from __future__ import annotations

import asyncio
import ipaddress
import time

import psycopg
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from tests.helpers import scalar
from tests.test_jobs import start_worker, stop, wait_for
from tests.webhook_sink import Sink

from brandbase import http1
from brandbase import webhooks as sender_mod


@pytest.fixture(scope="module")
def sink() -> Sink:
    return Sink()


def setup(dsn: str, **settings) -> str:
    """One brand, the event type order.paid, loopback allowed; returns the brand id."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("insert into webhooks.event_types (event_type, description) "
                     "values ('order.paid', 'paid')")
        conn.execute("update webhooks.settings set development_mode = true, "
                     "allowed_networks = '{127.0.0.0/8}', retry_schedule = %s::interval[], "
                     "timeout_ms = %s, lease = %s::interval",
                     (settings.get("schedule", "{0.2 seconds,0.2 seconds,0.2 seconds}"),
                      settings.get("timeout_ms", 500), settings.get("lease", "3 seconds")))
        owner = conn.execute("insert into auth.users (email) values ('o@shop.test') "
                             "returning id").fetchone()[0]
        return conn.execute("insert into brand.brands (slug, name, created_by) values ('shop', 'Shop', %s) "
                            "returning id", (owner,)).fetchone()[0]


def endpoint(dsn: str, brand, url: str, rate_limit: int | None = None) -> tuple[str, str]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("select id, secret from webhooks.create_endpoint(%s, %s, array['order.*'], "
                            "rate_limit => %s)", (brand, url, rate_limit)).fetchone()


def emit(dsn: str, brand, n: int = 1) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("select count(*) from webhooks.emit_many(%s, 'order.paid', "
                     "(select jsonb_agg(jsonb_build_object('n', g)) from generate_series(1, %s) as g))",
                     (brand, n))


def verify(secret: str, received) -> dict:
    return Webhook(secret).verify(received.body, received.headers)


def test_every_signature_verifies_with_standardwebhooks_also_during_rotation(owner_dsn, sink):
    brand = setup(owner_dsn)
    endpoint_id, old = endpoint(owner_dsn, brand, sink.url("/sig"))
    emit(owner_dsn, brand)
    new = scalar(owner_dsn, "select webhooks.rotate_secret(%s, %s)", (brand, endpoint_id))
    emit(owner_dsn, brand)
    code, err = stop(start_worker(owner_dsn, "--drain", handlers=None), signal_first=False)
    assert code == 0, err
    first, second = sink.hits("/sig")
    assert verify(old, first)["type"] == "order.paid"
    assert verify(old, second) == verify(new, second), "both secrets sign during the grace period"
    assert len(second.headers["webhook-signature"].split(" ")) == 2
    assert second.headers["webhook-id"].startswith("msg_")
    tampered = type(second)(second.path, second.headers, second.body.replace(b'"n"', b'"m"', 1), second.at)
    with pytest.raises(WebhookVerificationError):
        verify(new, tampered)


def test_failing_receivers_get_the_right_retries_and_final_states(owner_dsn, sink):
    brand = setup(owner_dsn)
    for path in ("/flaky/2", "/hang", "/reset", "/busy", "/gone"):
        endpoint(owner_dsn, brand, sink.url(path))
    emit(owner_dsn, brand)
    proc = start_worker(owner_dsn, "--poll", "0.1", handlers=None)
    try:
        wait_for(owner_dsn, "select count(*) from webhooks.deliveries where status = 'pending'", 0,
                 timeout=30)
    finally:
        stop(proc)
    rows = psycopg.connect(owner_dsn).execute(
        "select split_part(e.url, '/', 4) || coalesce('/' || nullif(split_part(e.url, '/', 5), ''), ''), "
        "d.status, d.attempts, e.enabled from webhooks.deliveries d join webhooks.endpoints e "
        "on e.id = d.endpoint_id").fetchall()
    state = {path: (status, attempts, enabled) for path, status, attempts, enabled in rows}
    assert state["flaky/2"] == ("succeeded", 3, True), "two 500s, then delivered"
    assert state["hang"] == ("failed", 4, True), "timed out on every attempt of the schedule"
    assert state["reset"] == ("failed", 4, True)
    assert state["busy"] == ("succeeded", 2, True)
    assert state["gone"] == ("failed", 1, False), "410 disables the endpoint at once"
    busy = sink.hits("/busy")
    assert busy[1].at - busy[0].at >= 0.95, "Retry-After: 1 was honoured"
    errors = [e for (e,) in psycopg.connect(owner_dsn).execute(
        "select a.error from webhooks.attempts a join webhooks.deliveries d on d.id = a.delivery_id "
        "join webhooks.endpoints e on e.id = d.endpoint_id where e.url like '%/hang'").fetchall()]
    assert errors == ["timed out after 500 ms"] * 4
    assert scalar(owner_dsn, "select count(*) from webhooks.events "
                             "where event_type = 'webhooks.endpoint.disabled'") == 1
    # Every attempt of the same event carries the same webhook-id.
    assert len({r.headers["webhook-id"] for r in sink.hits("/flaky/2")}) == 1


def test_a_worker_killed_mid_batch_loses_no_delivery(owner_dsn, sink):
    brand = setup(owner_dsn, lease="2 seconds", timeout_ms=1000)
    endpoint(owner_dsn, brand, sink.url("/slow"))
    emit(owner_dsn, brand, 300)
    victim = start_worker(owner_dsn, "--deliveries", "20", handlers=None)
    survivor = None
    try:
        wait_for(owner_dsn, "select count(*) >= 30 from webhooks.deliveries where status = 'succeeded'", True)
        victim.kill()
        victim.wait()
        held = scalar(owner_dsn, "select count(*) from webhooks.deliveries where locked_by is not null")
        survivor = start_worker(owner_dsn, "--deliveries", "20", "--poll", "0.2", handlers=None)
        wait_for(owner_dsn, "select count(*) from webhooks.deliveries where status = 'succeeded'", 300,
                 timeout=60)
    finally:
        if survivor:
            stop(survivor)
    assert held > 0, "the killed worker should have died holding deliveries"
    ids = {r.headers["webhook-id"] for r in sink.hits("/slow")}
    assert len(ids) == 300, "every delivery reached the receiver (deduplicated by webhook-id)"


def test_drain_after_a_kill_waits_for_the_dead_workers_leases(owner_dsn, sink):
    brand = setup(owner_dsn, lease="2 seconds", timeout_ms=1000)
    endpoint(owner_dsn, brand, sink.url("/slow"))
    emit(owner_dsn, brand, 100)
    victim = start_worker(owner_dsn, "--deliveries", "20", handlers=None)
    wait_for(owner_dsn, "select count(*) >= 10 from webhooks.deliveries where status = 'succeeded'", True)
    victim.kill()
    victim.wait()
    assert scalar(owner_dsn, "select count(*) from webhooks.deliveries where locked_by is not null") > 0
    code, err = stop(start_worker(owner_dsn, "--drain", "--poll", "0.2", handlers=None), signal_first=False)
    assert code == 0, err
    assert scalar(owner_dsn, "select count(*) from webhooks.deliveries where status = 'succeeded'") == 100


class StubResolver:
    """Answers every name with the given addresses: the guard is tested without DNS."""

    def __init__(self, *addresses: str):
        self.addresses = addresses

    async def resolve(self, host, port):
        return list(self.addresses)


@pytest.mark.parametrize("address", ["10.0.0.5", "169.254.169.254", "127.0.0.1", "100.64.1.1", "::1",
                                     "fd00::1", "::ffff:192.168.1.1", "0.0.0.0"])
def test_the_guard_refuses_names_that_resolve_to_refused_addresses(address):
    guard = http1.GuardedResolver([], StubResolver(address))
    with pytest.raises(http1.RefusedAddress, match="resolves only to refused addresses"):
        asyncio.run(guard.resolve("hooks.example.com", 443))


def test_the_guard_lets_public_and_allowed_addresses_through():
    stub = StubResolver("93.184.216.34", "10.1.2.3")
    found = asyncio.run(http1.GuardedResolver([], stub).resolve("hooks.example.com", 443))
    assert found == ["93.184.216.34"], "refused addresses are dropped, never tried"
    allowed = [ipaddress.ip_network("10.0.0.0/8")]
    assert len(asyncio.run(http1.GuardedResolver(allowed, stub).resolve("hooks.example.com", 443))) == 2


def test_ip_literals_pass_the_same_guard():
    with pytest.raises(http1.RefusedAddress):
        asyncio.run(http1.GuardedResolver([], StubResolver("93.184.216.34")).resolve("169.254.169.254", 80))


def test_custom_headers_cannot_smuggle_a_request():
    for name, value in (("X-A", "1\r\nHost: evil"), ("X A", "1"), ("X-B\n", "1")):
        with pytest.raises(ValueError, match="invalid header"):
            http1.render("/", "h", {name: value}, b"{}", "ua")


def test_a_refused_target_is_never_contacted(sink):
    """A name resolving to the (loopback) receiver while loopback is not allowed."""

    async def send() -> dict:
        sender = sender_mod.Sender("t", print)
        sender.client = http1.Client(http1.GuardedResolver([], StubResolver("127.0.0.1")), "t")
        try:
            delivery = sender_mod.Delivery("b", 1, 1, f"http://sink.test:{sink.port}/never", {},
                                           ["whsec_" + "A" * 32], "msg_1", 0, "{}", 1000, 60000,
                                           time.monotonic() + 60)
            return (await sender.perform(delivery))[1]
        finally:
            sender.client.close()

    outcome = asyncio.run(send())
    assert "refused" in outcome["error"]
    assert sink.hits("/never") == []


def most_in_window(times: list[float], seconds: float) -> int:
    """The most arrivals within any window of this many seconds."""
    times = sorted(times)
    return max((sum(1 for u in times[i:] if u - t <= seconds) for i, t in enumerate(times)), default=0)


def test_rate_limits_hold_at_a_real_receiver_and_do_not_starve(owner_dsn, sink):
    """An endpoint limited to 2/s gets at most 2 per second plus one second's worth at once,
    measured where the requests arrive (over 1, 2 and 3 s windows); one limited to 100/s gets
    close to its limit, not one delivery per poll."""
    brand = setup(owner_dsn)
    endpoint(owner_dsn, brand, sink.url("/rl/two"), rate_limit=2)
    endpoint(owner_dsn, brand, sink.url("/rl/hundred"), rate_limit=100)
    emit(owner_dsn, brand, 400)
    proc = start_worker(owner_dsn, "--poll", "0.2", handlers=None)
    try:
        wait_for(owner_dsn, "select count(*) > 0 from webhooks.attempts", True, timeout=30)
        time.sleep(3.5)
    finally:
        stop(proc)
    two = [r.at for r in sink.hits("/rl/two")]
    hundred = [r.at for r in sink.hits("/rl/hundred")]
    # Arrivals, not claims: the first batch opens its connections while later ones reuse
    # them, so allow 0.2 s of send jitter (test_claims_spend_exactly_the_tokens is exact).
    for seconds in (1, 2, 3):
        assert most_in_window(two, seconds) <= 2 * (seconds + 0.2) + 2, (seconds, sorted(two))
        assert most_in_window(hundred, seconds) <= 100 * (seconds + 0.2) + 100, seconds
    assert len(two) <= 2 * (max(two) - min(two) + 0.2) + 2
    assert len(two) >= 6, "the slow endpoint is served at its pace"
    assert most_in_window(hundred, 3) >= 250, "the 100/s endpoint is not starved"
    assert len({r.headers["webhook-id"] for r in sink.hits("/rl/hundred")}) == len(hundred)


@pytest.mark.parametrize("rate", [2, 100])
def test_claims_spend_exactly_the_tokens(owner_dsn, rate):
    """Claims in a loop for 1.5 s: at most rate * t + rate (one second's worth at once) are
    leased by any time t, and about that many: the limit is met, not undercut."""
    brand = setup(owner_dsn)
    endpoint(owner_dsn, brand, "http://127.0.0.1:9/h", rate_limit=rate)
    emit(owner_dsn, brand, 400)
    taken = 0
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        started = time.time()
        while (elapsed := time.time() - started) < 1.5:
            taken += conn.execute("select count(*) from webhooks.claim('w', 50)").fetchone()[0]
            assert taken <= rate * (time.time() - started) + rate, (taken, elapsed)
            time.sleep(0.02)
    assert taken >= rate * 1.4, taken


def test_a_short_lease_and_a_slow_receiver_make_no_duplicates(owner_dsn, sink):
    """Lease 1.5 s, timeout 1 s, a receiver taking 0.8 s: a delivery never waits in the
    prefetch while its lease runs out, so no other claim sends it again."""
    brand = setup(owner_dsn, lease="1.5 seconds", timeout_ms=1000)
    endpoint(owner_dsn, brand, sink.url("/delay/800"))
    emit(owner_dsn, brand, 40)
    workers = [start_worker(owner_dsn, "--deliveries", "10", "--poll", "0.2", handlers=None)
               for _ in range(2)]
    try:
        wait_for(owner_dsn, "select count(*) from webhooks.deliveries where status = 'succeeded'", 40,
                 timeout=30)
    finally:
        for proc in workers:
            stop(proc)
    ids = [r.headers["webhook-id"] for r in sink.hits("/delay/800")]
    assert len(ids) == 40 and len(set(ids)) == 40, "each delivery sent exactly once"
    assert scalar(owner_dsn, "select max(attempts) from webhooks.deliveries") == 1


def test_a_delivery_past_its_lease_is_released_unsent(sink):
    async def send():
        sender = sender_mod.Sender("t", print)
        sender.client = http1.Client(http1.GuardedResolver([ipaddress.ip_network("127.0.0.0/8")]), "t")
        try:
            late = sender_mod.Delivery("b", 7, 1, sink.url("/late"), {}, ["whsec_" + "A" * 32], "msg_7", 0,
                                       "{}", 1000, 1500, time.monotonic() + 1.0)
            return await sender.perform(late)
        finally:
            sender.client.close()

    assert asyncio.run(send()) == ("release", ("b", 7))
    assert sink.hits("/late") == []


def test_prefetch_only_when_the_lease_covers_the_wait():
    sender = sender_mod.Sender("t", print)
    sender.lanes = [type("L", (), {"slots": 10, "prefetch": 10})()]
    sender.fit_prefetch(1.5, 1.0)
    assert sender.lanes[0].prefetch == 0
    sender.fit_prefetch(60, 15)
    assert sender.lanes[0].prefetch == 10


EMBEDDING = ["64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:1", "2002:7f00:1::",
             "2002:a9fe:a9fe::", "::7f00:1", "::127.0.0.1", "::ffff:0:7f00:1", "::ffff:10.0.0.1",
             "2001:0:4136:e378:8000:63bf:80ff:fffe", "192.88.99.1"]


@pytest.mark.parametrize("address", EMBEDDING)
def test_the_guard_unwraps_ipv4_inside_ipv6(address):
    assert http1.refused(address, ())
    with pytest.raises(http1.RefusedAddress):
        asyncio.run(http1.GuardedResolver([], StubResolver(address)).resolve("hooks.example.com", 443))


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::1111", "2002:5db8:d822::",
                                     "64:ff9b::5db8:d822", "::ffff:93.184.216.34"])
def test_the_guard_lets_public_ipv4_inside_ipv6_through(address):
    assert not http1.refused(address, ())


def test_the_guard_and_the_database_refuse_the_same(owner_dsn):
    """One list: http1.REFUSED_NETWORKS is webhooks.refused_networks, and both layers agree
    on every embedding form."""
    with psycopg.connect(owner_dsn) as conn:
        table = {ipaddress.ip_network(n) for (n,) in conn.execute(
            "select network::text from webhooks.refused_networks").fetchall()}
        assert table == set(http1.REFUSED_NETWORKS)
        samples = [*EMBEDDING, "93.184.216.34", "2002:5db8:d822::", "64:ff9b::5db8:d822", "10.1.2.3", "::1",
                   "169.254.169.254", "fe80::1", "2606:4700::1111"]
        for address in samples:
            in_sql = conn.execute("select webhooks.refused(%s::inet)", (address,)).fetchone()[0]
            assert in_sql == http1.refused(address, ()), address
        allowed = conn.execute("select webhooks.refused('::ffff:10.0.0.1', '{10.0.0.0/8}')").fetchone()[0]
        assert allowed is False
    assert not http1.refused("::ffff:10.0.0.1", (ipaddress.ip_network("10.0.0.0/8"),))


def test_custom_headers_never_duplicate_framing_or_signature_headers():
    custom = {"content-length": "0", "Transfer-Encoding": "chunked", "Host": "internal.example",
              "Webhook-Signature": "v1,forged", "CONTENT-TYPE": "text/plain", "Connection": "close",
              "X-Tenant": "42"}
    own = {"Content-Type": "application/json", "webhook-signature": "v1,real"}
    request = http1.render("/h", "victim.example", own, b"{}", "ua", custom).decode()
    names = [line.split(":", 1)[0].lower() for line in request.split("\r\n")[1:] if ":" in line]
    assert len(names) == len(set(names)), names
    assert "transfer-encoding" not in names and "connection" not in names
    assert "Host: victim.example" in request and "v1,forged" not in request and "X-Tenant: 42" in request
    for bad in ({"X": "a\x00b"}, {"X": "caf\u00e9"}, {"X": "a\rb"}):
        with pytest.raises(ValueError, match="invalid header"):
            http1.render("/", "h", {}, b"{}", "ua", bad)


def test_retry_after_is_capped():
    assert sender_mod.retry_after("31536000") == sender_mod.MAX_RETRY_AFTER
    assert sender_mod.retry_after("9" * 400) == sender_mod.MAX_RETRY_AFTER
    assert sender_mod.retry_after("3") == 3.0
