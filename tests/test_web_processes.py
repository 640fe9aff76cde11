"""`storyline serve --workers N`: several server processes on one port, as a user starts them."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from storyline.web.server import free_port

from conftest import ROOT, run_cli

TOKEN = "processes-test-token"


def server_processes(pid: int) -> set[int]:
    """The spawned server processes under uvicorn's supervisor ``pid`` (not its resource tracker)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.add(int(child))
            except FileNotFoundError:
                pass
    return found


def listeners(port: int) -> int:
    """Listening TCP sockets on ``port`` (from /proc/net/tcp: state 0A is LISTEN)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for r in rows if r.split()[1].endswith(f":{port:04X}") and r.split()[3] == "0A")


@pytest.fixture
def demo_store(data_dir: Path) -> Path:
    done = run_cli("demo", "--data-dir", str(data_dir), "--no-serve")
    assert done.returncode == 0, done.stderr
    return data_dir


def start(data_dir: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), STORYLINE_EDITOR_TOKEN=TOKEN)
    proc = subprocess.Popen([sys.executable, "-m", "storyline", "serve", "--data-dir", str(data_dir),
                             "--port", str(port), *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("the server did not answer within 60 s")


def fresh_get(url: str) -> httpx.Response:
    """One request on its own connection, so that either process may take it."""
    with httpx.Client(timeout=10) as client:
        return client.get(url, headers={"Connection": "close"})


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="counts the server's processes through /proc")
def test_two_processes_serve_and_see_each_others_edits(demo_store: Path) -> None:
    proc, url = start(demo_store, "--workers", "2")
    try:
        port = int(url.rsplit(":", 1)[1])
        deadline = time.monotonic() + 30
        while (len(server_processes(proc.pid)) < 2 or listeners(port) < 2) and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = server_processes(proc.pid)
        assert len(workers) == 2
        assert listeners(port) == 2  # a socket each, so the kernel spreads the connections

        second = run_cli("serve", "--data-dir", str(demo_store), "--port", str(port), "--workers", "2")
        assert second.returncode == 1 and "already listening" in second.stderr  # not sharing the port silently

        sid = fresh_get(url + "/api/stories").json()["stories"][0]["id"]
        before = [fresh_get(f"{url}/api/stories/{sid}").json()["headline"] for _ in range(12)]
        assert len(set(before)) == 1  # both processes answer the same, and now both have it cached
        pages = [fresh_get(f"{url}/stories/{sid}") for _ in range(4)]
        assert all(p.status_code == 200 and "Pinned across processes" not in p.text for p in pages)

        with httpx.Client(timeout=30) as client:
            r = client.post(f"{url}/api/stories/{sid}/pin", json={"headline": "Pinned across processes"},
                            headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200, r.text

        after = [fresh_get(f"{url}/api/stories/{sid}").json()["headline"] for _ in range(12)]
        assert after == ["Pinned across processes"] * 12  # no process serves its cached copy from before the pin
        assert all("Pinned across processes" in fresh_get(f"{url}/stories/{sid}").text for _ in range(4))
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)  # SIGTERM stopped the workers too


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="counts the server's processes through /proc")
def test_a_process_that_dies_is_replaced_and_the_site_stays_up(demo_store: Path) -> None:
    from storyline.web.processes import STARTUP_GRACE

    proc, url = start(demo_store, "--workers", "2")
    try:
        deadline = time.monotonic() + 30
        while len(server_processes(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        first = server_processes(proc.pid)
        time.sleep(STARTUP_GRACE + 0.5)  # past the start-up grace: a death now is a crash, not a bad start
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = server_processes(proc.pid)
            if len(now) == 2 and victim not in now:
                break
            time.sleep(0.1)
        assert len(now) == 2 and victim not in now and max(first) in now
        assert all(fresh_get(url + "/").status_code == 200 for _ in range(8))
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code == 0
    out = proc.stdout.read().decode() if proc.stdout else ""
    assert "a server process exited" in out and "serving on http://127.0.0.1:" in out


def test_worker_count_is_checked_by_name(demo_store: Path) -> None:
    done = run_cli("serve", "--data-dir", str(demo_store), "--workers", "0")
    assert done.returncode == 2
    assert "--workers" in done.stderr and "must be 1 or more" in done.stderr


def test_bad_store_fails_once_before_any_process_starts(tmp_path: Path) -> None:
    not_a_db = tmp_path / "data"
    not_a_db.mkdir()
    (not_a_db / "storyline.db").write_bytes(b"this is not a database" * 100)
    done = run_cli("serve", "--data-dir", str(not_a_db), "--port", str(free_port()), "--workers", "2", timeout=60)
    assert done.returncode != 0
    assert "storyline.db" in done.stderr and "file is not a database" in done.stderr
    assert "Traceback" not in done.stderr and "Started parent process" not in done.stderr


def test_each_process_socket_gets_no_delay_on_its_connections() -> None:
    """asyncio sets TCP_NODELAY only on sockets that say they are TCP; without it a response
    written in two parts waits for the client's delayed ACK (about 40 ms)."""
    import asyncio
    import socket

    from storyline.web.processes import listening_socket

    async def accepted_nodelay() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Probe, sock=listening_socket("127.0.0.1", 0))
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            return await asyncio.wait_for(seen, 10)
        finally:
            writer.close()
            server.close()

    assert asyncio.run(accepted_nodelay()) != 0
