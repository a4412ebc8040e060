"""Network namespaces for partition tests: made by the test, and removed by it even on failure.

A ``Lab`` creates namespaces (``ip netns``), joins them with veth pairs whose addresses exist
only inside those namespaces, starts processes in them, and cuts a link silently: a
``blackhole`` queueing discipline on both ends drops every packet without an error, as a
failed switch or a firewall would (the sender's TCP just retransmits). Nothing is added to the
machine's own namespace, and no traffic leaves the namespaces the lab made. The test process
talks to a namespace's services from a thread that has entered that namespace (``NetnsHttp``),
or through Unix sockets, which network namespaces do not isolate.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.integration.harness import Proc

CLONE_NEWNET = 0x40000000
PREFIX = "twp"
"""Every namespace this module makes is named ``twp-<tag>-<role>``."""


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=15, check=False)


def _must(*args: str) -> str:
    done = _run(*args)
    if done.returncode != 0:
        raise AssertionError(f"`{' '.join(args)}` failed: {done.stderr.strip() or done.stdout}")
    return done.stdout


def require_netns() -> None:
    """Fail, never skip, when this machine cannot make namespaces, veths or blackholes."""
    missing = [tool for tool in ("ip", "tc") if shutil.which(tool) is None]
    if os.geteuid() != 0 or missing:
        pytest.fail(
            "partition tests need root and iproute2 (ip, tc) to create network namespaces; "
            f"euid={os.geteuid()}, missing={missing or 'nothing'}",
            pytrace=False,
        )
    probe = f"{PREFIX}-{uuid.uuid4().hex[:6]}-probe"
    try:
        for args in (
            ("ip", "netns", "add", probe),
            ("ip", "-n", probe, "link", "set", "lo", "up"),
            ("tc", "-n", probe, "qdisc", "add", "dev", "lo", "root", "blackhole"),
        ):
            done = _run(*args)
            if done.returncode != 0:
                pytest.fail(
                    f"partition tests cannot run here: `{' '.join(args)}` failed: "
                    f"{done.stderr.strip()} (they need network namespaces and the blackhole "
                    "qdisc; run as root on a kernel with network namespaces)",
                    pytrace=False,
                )
    finally:
        _run("ip", "netns", "del", probe)


@dataclass(frozen=True)
class End:
    namespace: str
    device: str
    address: str


@dataclass(frozen=True)
class Link:
    a: End
    b: End


def _enter(namespace: str) -> None:
    """Move the calling thread (only it) into ``namespace``; its new sockets live there."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into {namespace}: {os.strerror(err)}")
    finally:
        os.close(fd)


class NetnsHttp:
    """An HTTP client whose every connection is made from inside one namespace."""

    def __init__(self, namespace: str, base_url: str, timeout: float = 10) -> None:
        self.base_url = base_url
        self._pool = ThreadPoolExecutor(1, initializer=_enter, initargs=(namespace,))
        self._client = self._pool.submit(httpx.Client, base_url=base_url, timeout=timeout).result()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self._pool.submit(self._client.request, method, path, **kwargs).result(60)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def healthy(self) -> bool:
        try:
            return self.get("/api/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._pool.submit(self._client.close).result(10)
        self._pool.shutdown(wait=True)  # the thread holds its namespace open until it ends


class Lab:
    """Namespaces, links and processes of one test; ``close`` undoes all of it."""

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:6]
        self.namespaces: list[str] = []
        self.links: list[Link] = []
        self.procs: list[Proc] = []
        self.clients: list[NetnsHttp] = []
        self.cleanups: list[Any] = []

    def namespace(self, role: str) -> str:
        name = f"{PREFIX}-{self.tag}-{role}"
        _must("ip", "netns", "add", name)
        self.namespaces.append(name)
        _must("ip", "-n", name, "link", "set", "lo", "up")
        return name

    def link(self, a: str, b: str, subnet: int) -> Link:
        """A veth pair between namespaces ``a`` and ``b``: 10.231.<subnet>.1 and .2 (/24)."""
        index = len(self.links)
        ends = (
            End(a, f"v{self.tag}{index}a", f"10.231.{subnet}.1"),
            End(b, f"v{self.tag}{index}b", f"10.231.{subnet}.2"),
        )
        _must(
            "ip", "link", "add", ends[0].device, "netns", a, "type", "veth",
            "peer", "name", ends[1].device, "netns", b,
        )  # fmt: skip
        for end in ends:
            _must("ip", "-n", end.namespace, "addr", "add", f"{end.address}/24", "dev", end.device)
            _must("ip", "-n", end.namespace, "link", "set", end.device, "up")
        link = Link(*ends)
        self.links.append(link)
        return link

    def cut(self, link: Link) -> None:
        """Drop every packet both ways, silently (no RST, no ICMP, no link-down)."""
        for end in (link.a, link.b):
            _must("tc", "-n", end.namespace, "qdisc", "add", "dev", end.device, "root", "blackhole")

    def heal(self, link: Link) -> None:
        for end in (link.a, link.b):
            _must("tc", "-n", end.namespace, "qdisc", "del", "dev", end.device, "root")

    def spawn(self, namespace: str, args: list[str], env: dict[str, str], name: str) -> Proc:
        proc = Proc(["ip", "netns", "exec", namespace, *args], env, name)
        self.procs.append(proc)
        return proc

    def http(self, namespace: str, base_url: str) -> NetnsHttp:
        client = NetnsHttp(namespace, base_url)
        self.clients.append(client)
        return client

    def close(self) -> None:
        for link in self.links:  # heal first, so that processes can say goodbye
            for end in (link.a, link.b):
                _run("tc", "-n", end.namespace, "qdisc", "del", "dev", end.device, "root")
        for proc in reversed(self.procs):
            with contextlib.suppress(Exception):
                proc.stop(timeout=10)
        for client in self.clients:
            client.close()
        for cleanup in reversed(self.cleanups):
            with contextlib.suppress(Exception):
                cleanup()
        for name in self.namespaces:  # deleting a namespace deletes the veth ends in it
            _run("ip", "netns", "del", name)
        left = [n for n in self.namespaces if n in _must("ip", "netns", "list")]
        assert not left, f"namespaces left behind: {left}"


@contextlib.contextmanager
def lab() -> Iterator[Lab]:
    require_netns()
    made = Lab()
    try:
        yield made
    finally:
        made.close()
