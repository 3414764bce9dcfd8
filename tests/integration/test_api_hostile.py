"""A hostile visitor against a running ``civicpulse up``: every limit answers with its status.

One ``civicpulse up --no-worker`` (real broker, embedded chDB) serves the whole module; the
tests run in file order because the per-IP and wrong-key buckets they drain are the server's.
Every request is tallied by class and status; the last test prints the tally (the issue's note).
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from civicpulse.infra.kafka_process import free_port

from .hostile_http import Tally, chunked, raw_request
from .ingest_setup import KEYS, make_catalogue, make_keys

pytestmark = pytest.mark.integration

TALLY = Tally()
BODY_SECONDS = 3.0
WEB_LIMIT, BATCH_LIMIT, OTHER_LIMIT = 4096, 256_000, 16_384


@dataclass(frozen=True)
class Stack:
    port: int
    url: str
    env: dict[str, str]
    data_dir: Path
    pid: int

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")


def _now() -> str:
    return (datetime.now(UTC) - timedelta(seconds=1)).isoformat()


def _wait(stack: Stack, process: subprocess.Popen[bytes]) -> None:
    # Up when the API knows the catalogue: term-1 gets past the 404 to the body check (422).
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, "civicpulse up exited early"
        try:
            status = httpx.post(
                f"{stack.url}/v1/presses", content=b"{}", headers=auth("term-1"), timeout=5
            ).status_code
            if status == 422:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("civicpulse up never served the catalogue")


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("hostile")
    data_dir = root / "data"
    make_keys(data_dir / "device-keys.json")
    catalogue = root / "catalogue.json"
    catalogue.write_text(make_catalogue().model_dump_json())
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPULSE_")}
    env |= {
        "KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CIVICPULSE_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:12]}.",
        "CIVICPULSE_DATA_DIR": str(data_dir),
        "CIVICPULSE_CATALOGUE_FILE": str(catalogue),
        "CIVICPULSE_API_BODY_SECONDS": str(BODY_SECONDS),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "civicpulse",
            "up",
            "--no-worker",
            "--api-port",
            str(port),
            "--sql-port",
            str(free_port()),
        ],
        env=env,
    )
    stack = Stack(port, f"http://127.0.0.1:{port}", env, data_dir, process.pid)
    try:
        _wait(stack, process)
        yield stack
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0


def auth(device: str, key: str | None = None) -> dict[str, str]:
    return {"X-Device-Id": device, "X-Device-Key": key if key is not None else KEYS[device]}


def press(device: str = "term-1", **fields: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "device_id": device,
        "button": 3,
        "pressed_at": _now(),
        **fields,
    }


def web_press(**fields: Any) -> dict[str, Any]:
    return press("web-1", browser_id=uuid.uuid4().hex, **fields)


def post(stack: Stack, klass: str, path: str, body: Any, **headers: str) -> httpx.Response:
    response = httpx.post(
        f"{stack.url}{path}",
        content=body if isinstance(body, bytes) else orjson.dumps(body),
        headers={"Content-Type": "application/json", **headers},
        timeout=30,
    )
    TALLY.add(klass, response.status_code)
    return response


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href"} and value:
                self.refs.append(value)


def test_docs_load_every_asset_from_the_app_itself(stack: Stack) -> None:
    for page in ("/docs", "/redoc"):
        html = httpx.get(stack.url + page, timeout=10)
        TALLY.add("docs pages and assets", html.status_code)
        assert html.status_code == 200
        parser = _Refs()
        parser.feed(html.text)
        assert parser.refs, f"{page} references no asset"
        for ref in parser.refs:
            assert ref.startswith("/") and not ref.startswith("//"), f"{page}: external {ref}"
            asset = httpx.get(stack.url + ref, timeout=10)
            TALLY.add("docs pages and assets", asset.status_code)
            assert asset.status_code == 200 and len(asset.content) > 0, ref
        assert "cdn" not in html.text.lower() and "fonts.googleapis" not in html.text


def test_data_dir_keys_and_engine_are_private(stack: Stack) -> None:
    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(stack.data_dir) == 0o700
    assert mode(stack.data_dir / "chdb") == 0o700
    assert mode(stack.data_dir / "device-keys.json") == 0o600
    assert post(stack, "web press", "/v1/web/presses", web_press()).status_code == 202
    assert mode(stack.data_dir / "visitor-salt.json") == 0o600


def test_bodies_of_each_size_class_get_their_status(stack: Stack) -> None:
    # Web press: a padded body just under the limit passes (unknown fields are ignored).
    base = orjson.dumps({**web_press(), "pad": ""})
    fits = base.replace(b'"pad":""', b'"pad":"' + b"x" * (WEB_LIMIT - len(base)) + b'"')
    assert len(fits) == WEB_LIMIT
    assert post(stack, "web body <= 4 KiB", "/v1/web/presses", fits).status_code == 202
    over = fits.replace(b'"pad":"', b'"pad":"x')
    answer = post(stack, "web body > 4 KiB", "/v1/web/presses", over)
    assert answer.status_code == 413 and "4096 bytes" in answer.json()["detail"]

    # 100 MB announced: answered from the head, before the body is sent.
    big = raw_request(
        stack.port,
        "POST",
        "/v1/web/presses",
        {"Content-Type": "application/json", "Content-Length": str(100 * 2**20)},
        iter([b"{" * 65536] * 1600),
    )
    TALLY.add("web body 100 MB, Content-Length", big.status)
    assert big.status == 413 and big.sent < 8 * 2**20 and big.seconds < 5

    # 100 MB chunked (no length): cut off once the count passes the limit.
    endless = raw_request(
        stack.port,
        "POST",
        "/v1/web/presses",
        {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        chunked(100 * 2**20),
    )
    TALLY.add("web body 100 MB, chunked", endless.status)
    assert endless.status == 413 and endless.sent < 8 * 2**20 and endless.seconds < 5

    # Terminal batch: the largest valid batch fits; one byte more does not, chunked or not.
    longest = {"reason": "r" * 64, "lang": "pl-PL"}
    batch = orjson.dumps({"events": [press(**longest) for _ in range(500)]})
    assert len(batch) <= BATCH_LIMIT
    full = post(
        stack, "terminal batch of 500 (largest valid)", "/v1/presses", batch, **auth("term-1")
    )
    assert full.status_code == 202 and full.json()["accepted"] == 500
    padded = batch[:-1] + b',"pad":"' + b"x" * (BATCH_LIMIT - len(batch)) + b'"}'
    assert len(padded) > BATCH_LIMIT
    answer = post(stack, "terminal batch > 250 KB", "/v1/presses", padded, **auth("term-1"))
    assert answer.status_code == 413
    streamed = raw_request(
        stack.port,
        "POST",
        "/v1/presses",
        {**auth("term-1"), "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        chunked(20 * 2**20),
    )
    TALLY.add("terminal batch 20 MB, chunked", streamed.status)
    assert streamed.status == 413 and streamed.sent < 8 * 2**20

    # Any other endpoint: a body over 16 KiB is refused even where none is expected.
    other = raw_request(
        stack.port, "GET", "/healthz", {"Content-Length": str(OTHER_LIMIT + 1)}, [b"x" * 20_000]
    )
    TALLY.add("other endpoint body > 16 KiB", other.status)
    assert other.status == 413


def test_eight_huge_bodies_at_once_leave_memory_flat(stack: Stack) -> None:
    before = stack.rss_mb()
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda _: raw_request(
                    stack.port,
                    "POST",
                    "/v1/web/presses",
                    {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                    chunked(100 * 2**20),
                ),
                range(8),
            )
        )
    for answer in answers:
        TALLY.add("8 concurrent 100 MB chunked web bodies", answer.status)
    assert [a.status for a in answers] == [413] * 8
    assert stack.rss_mb() - before < 64  # was +1.5 GB before the limit


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/v1/presses", auth("term-1")),
        ("/v1/web/presses", {}),
    ],
)
def test_slow_bodies_are_cut_off_in_bounded_time(
    stack: Stack, path: str, headers: dict[str, str]
) -> None:
    # One byte every 0.4 s of a 1000-byte body would take 400 s; the deadline ends it at 3 s.
    slow = raw_request(
        stack.port,
        "POST",
        path,
        {**headers, "Content-Type": "application/json", "Content-Length": "1000"},
        iter([b" "] * 1000),
        pause=0.4,
        timeout=20,
    )
    TALLY.add("slow body (1 byte / 0.4 s)", slow.status)
    assert slow.status == 408
    assert BODY_SECONDS - 0.5 <= slow.seconds <= BODY_SECONDS + 2.0
    assert "connection: close" in slow.head.lower()


IMPOSSIBLE = [
    ("2999-01-01T00:00:00Z", "ahead of the server's clock"),
    ("9999-12-31T23:59:59Z", "ahead of the server's clock"),
    ("1850-06-01T12:00:00Z", "before 2000-01-01"),
    ("0001-01-01T00:00:00Z", "before 2000-01-01"),
    (0, "ISO-8601 string"),
    (1_700_000_000, "ISO-8601 string"),
    (1.5e9, "ISO-8601 string"),
]


@pytest.mark.parametrize(("pressed_at", "reason"), IMPOSSIBLE)
def test_impossible_times_are_422_with_the_reason(
    stack: Stack, pressed_at: Any, reason: str
) -> None:
    terminal = post(
        stack,
        "impossible pressed_at",
        "/v1/presses",
        {"events": [press(), press(pressed_at=pressed_at)]},
        **auth("term-1"),
    )
    assert terminal.status_code == 422
    [problem] = terminal.json()["detail"]
    assert problem["index"] == 1 and problem["field"] == "pressed_at"
    assert reason in problem["message"]
    web = post(stack, "impossible pressed_at", "/v1/web/presses", web_press(pressed_at=pressed_at))
    assert web.status_code == 422 and reason in str(web.json()["detail"])


def test_a_press_just_within_the_future_margin_passes_and_just_beyond_is_refused(
    stack: Stack,
) -> None:
    # max_future (5 min) + margin (1 h): the stream judges what is inside, the API the rest.
    inside = (datetime.now(UTC) + timedelta(minutes=64)).isoformat()
    beyond = (datetime.now(UTC) + timedelta(minutes=66)).isoformat()
    ok = post(
        stack,
        "future pressed_at",
        "/v1/presses",
        {"events": [press(pressed_at=inside)]},
        **auth("term-1"),
    )
    assert ok.status_code == 202
    late = post(
        stack,
        "future pressed_at",
        "/v1/presses",
        {"events": [press(pressed_at=beyond)]},
        **auth("term-1"),
    )
    assert late.status_code == 422


def test_a_visitor_on_a_terminal_press_is_refused(stack: Stack) -> None:
    answer = post(
        stack,
        "visitor on a terminal press",
        "/v1/presses",
        {"events": [press(visitor="abcdefgh12345678")]},
        **auth("term-1"),
    )
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert problem["field"] == "visitor" and "terminals must not send it" in problem["message"]


def _cli(stack: Stack, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "civicpulse", "devices", *args],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _until(stack: Stack, headers: dict[str, str], status: int, limit: float = 5.0) -> float:
    started = time.monotonic()
    while True:
        got = post(
            stack,
            "key changes",
            "/v1/presses",
            {"events": [press(headers["X-Device-Id"])]},
            **headers,
        ).status_code
        if got == status:
            return time.monotonic() - started
        assert time.monotonic() - started < limit, f"still {got}, not {status}, after {limit} s"
        time.sleep(0.2)


def test_revoked_and_added_keys_reach_the_running_api_within_seconds(stack: Stack) -> None:
    assert _until(stack, auth("term-2"), 202) < 1.0  # verified, and so cached in the API
    _cli(stack, "revoke", "term-2")
    assert _until(stack, auth("term-2"), 401) < 3.0
    new_key = _cli(stack, "add-key", "kiosk-1", "--replace").strip().splitlines()[-1]
    assert _until(stack, auth("kiosk-1", new_key), 202) < 3.0
    assert _until(stack, auth("kiosk-1"), 401) < 3.0  # --replace revoked the old key


def test_forged_forwarded_for_does_not_dodge_the_ip_limit(stack: Stack) -> None:
    statuses = []
    started = time.monotonic()
    with httpx.Client(base_url=stack.url, timeout=10) as client:
        for i in range(300):
            forged = {
                "X-Forwarded-For": f"203.0.{i // 250}.{i % 250}",
                "X-Real-IP": f"10.0.0.{i % 250}",
                "Forwarded": f"for=198.51.100.{i % 250}",
            }
            got = client.get("/v1/web/devices/web-1/question", headers=forged)
            TALLY.add("forged X-Forwarded-For", got.status_code)
            statuses.append(got.status_code)
    elapsed = time.monotonic() - started
    # One bucket for the one real address: the burst (60) plus the refill (2/s) while the loop
    # ran, never a fresh bucket per forged address (which would give 300 x 200).
    assert set(statuses) == {200, 429}
    assert statuses.count(200) <= 60 + 2 * elapsed + 1
    assert statuses[60:].count(429) >= 240 - 2 * elapsed - 1

    # With the bucket empty, a 20 MB invalid body gets 429 from the head, unread.
    flood = raw_request(
        stack.port,
        "POST",
        "/v1/web/presses",
        {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        chunked(20 * 2**20, fill=b"!"),
    )
    TALLY.add("20 MB invalid body, IP bucket empty", flood.status)
    assert flood.status == 429 and "retry-after" in flood.head.lower()


def test_key_brute_force_is_limited_before_scrypt(stack: Stack) -> None:
    legit = post(
        stack,
        "legitimate terminal during brute force",
        "/v1/presses",
        {"events": [press()]},
        **auth("term-1"),
    )
    assert legit.status_code == 202
    statuses, timings = [], []
    started_all = time.monotonic()
    for i in range(40):
        started = time.monotonic()
        got = post(
            stack,
            "wrong key, one device",
            "/v1/presses",
            {"events": [press()]},
            **auth("term-1", f"guess-{i}"),
        )
        timings.append((got.status_code, time.monotonic() - started))
        statuses.append(got.status_code)
    assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}
    limited = [
        r
        for r in [
            post(
                stack,
                "wrong key, one device",
                "/v1/presses",
                {"events": [press()]},
                **auth("term-1", "x"),
            )
        ]
        if r.status_code == 429
    ]
    assert limited and int(limited[0].headers["retry-after"]) >= 1
    # The terminal that already proved its key is not locked out by the guesser.
    again = post(
        stack,
        "legitimate terminal during brute force",
        "/v1/presses",
        {"events": [press()]},
        **auth("term-1"),
    )
    assert again.status_code == 202
    # Per address: 20 wrong keys in all (10 used above), whatever device ids they name; the
    # bucket refills at 0.5/s.
    spread = [
        post(
            stack,
            "wrong key, many device ids",
            "/v1/presses",
            {"events": [press()]},
            **auth(f"nobody-{i}", "x"),
        ).status_code
        for i in range(25)
    ]
    elapsed = time.monotonic() - started_all
    assert set(spread) == {401, 429} and spread[0] == 401
    assert spread.count(401) <= 10 + 0.5 * elapsed + 1 and spread.count(429) >= 10
    refused = sorted(t for s, t in timings if s == 429)
    checked = sorted(t for s, t in timings if s == 401)
    # A 429 costs no scrypt: its median is well under a checked guess's.
    assert refused[len(refused) // 2] < checked[len(checked) // 2]


def test_report_the_counts() -> None:
    lines = TALLY.lines()
    print("\nHOSTILE SUITE\n" + "\n".join(lines))
    assert lines[-1].endswith(" 0 5xx")
