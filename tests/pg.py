"""A throwaway PostgreSQL server for tests and benchmarks, from Debian's ``postgresql`` package.

``initdb`` and ``pg_ctl`` from ``/usr/lib/postgresql/*/bin`` (newest version) run in a fresh
directory, as the ``postgres`` system user when we are root (PostgreSQL refuses to run as root),
listening on loopback on a free port with trust authentication. :func:`unavailable_reason` says why
it cannot run here (tests then skip with that reason).
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _bin_dir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
                   if p.parent.parent.name.isdigit() else 0)
    return found[-1].parent if found else None


def _run_as() -> list[str]:
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


def unavailable_reason() -> str | None:
    """None when a server can be started here, else why not."""
    if _bin_dir() is None:
        return "PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb missing; apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres system user to run the server as"
        if shutil.which("runuser") is None:
            return "running as root and runuser is missing"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """``start()``, ``create_database(name) -> url``, ``stop()``."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="storyline-pg-")) if root is None else root
        self.port = _free_port()
        self.bin = _bin_dir()
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def _cmd(self, *args: str) -> list[str]:
        assert self.bin is not None
        return [*_run_as(), str(self.bin / args[0]), *args[1:]]

    def start(self) -> None:
        """Start the server; a root that already holds a cluster (``stop(keep=True)``) is reused."""
        self.root.mkdir(parents=True, exist_ok=True)
        data = self.root / "data"
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            os.chmod(self.root, 0o700)
            # the server must be able to reach its directory through the parents
            for parent in self.root.parents:
                if str(parent) in ("/", "/tmp"):
                    break
                os.chmod(parent, os.stat(parent).st_mode | 0o011)
        if not (data / "PG_VERSION").exists():
            subprocess.run(self._cmd("initdb", "-D", str(data), "-A", "trust", "-U", self.user, "--no-sync", "-E", "UTF8",
                                     "--locale", "C"), check=True, capture_output=True)
        opts = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        subprocess.run(self._cmd("pg_ctl", "-D", str(data), "-o", opts, "-l", str(self.root / "log"), "-w", "-t", "60",
                                 "start"), check=True, capture_output=True)
        deadline = time.monotonic() + 30
        import psycopg

        while True:
            try:
                psycopg.connect(self.admin_url, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    @property
    def admin_url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def url(self, name: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{name}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self, keep: bool = False) -> None:
        """Stop the server and remove its files (``keep``: a clean shutdown, files kept)."""
        if self.bin is None:
            return
        subprocess.run(self._cmd("pg_ctl", "-D", str(self.root / "data"), "-m", "fast" if keep else "immediate",
                                 "stop"), capture_output=True)
        if not keep:
            shutil.rmtree(self.root, ignore_errors=True)
