"""Secrets on the worker: only allowed names resolve; values are masked in every report,
whatever the chunks the output arrives in, in keys as well as values, in encoded forms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_runtime_support import FakeCoordinator, make_worker, running, serving

from tickwork.worker.main import parse_options

SECRET = "s3cr3t-VALUE-9f2c"
AWKWARD = 'p"w\\x-é雪-9f2c'

JOBS = '''
import fcntl, struct, sys, termios, time


def _unread(fd):
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\\0\\0\\0\\0"))[0]


def pieces(password, at, limit=30.0):
    """Print pw=<password> in two writes cut at ``at``; wait until the worker has read
    each: one read per piece."""
    for text in ("pw=" + password[:at], password[at:] + " done\\n"):
        sys.stdout.write(text)
        sys.stdout.flush()
        deadline = time.monotonic() + limit
        while _unread(1) and time.monotonic() < deadline:
            time.sleep(0.001)


def straddle(password, before=65530):
    sys.stdout.write("x" * before + password + "\\n")


def as_key(password):
    return {password: 1, "nested": [{"k-" + password: password}]}
'''


@pytest.fixture
def jobs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "rt_secret_jobs.py").write_text(JOBS)
    monkeypatch.setenv("TW_RT_SECRET", SECRET)
    monkeypatch.setenv("TW_RT_AWKWARD", AWKWARD)
    monkeypatch.setenv("TW_RT_NOT_ALLOWED", "value-of-not-allowed")
    monkeypatch.setenv("TICKWORK_TOKEN", "tw_the_workers_own_token")
    return tmp_path


def ref(name: str) -> dict[str, str]:
    return {"$secret": name}


def reported(fake: FakeCoordinator, run_id: str) -> list[str]:
    """Every text the worker sent about the run: each log chunk and the completion."""
    chunks = [item.data for r in fake.reports for item in r.logs if item.run_id == run_id]
    return [*chunks, json.dumps(fake.runs[run_id].completion)]


def leaks(texts: list[str], *needles: str) -> list[str]:
    return [t for t in texts for n in needles if n in t]


async def test_a_secret_written_in_two_separately_read_pieces_is_masked(jobs_dir: Path):
    async with serving(FakeCoordinator()) as fake:
        run_id = fake.add_run(
            type="python",
            function="rt_secret_jobs.pieces",
            parameters={"password": ref("TW_RT_SECRET"), "at": 7},
        )
        worker = make_worker(fake, import_paths=[str(jobs_dir)], secrets=["TW_RT_SECRET"])
        async with running(worker):
            await fake.wait_for(lambda: fake.runs[run_id].completion, 30)
    assert fake.runs[run_id].status == "completed", fake.runs[run_id].completion
    assert fake.runs[run_id].stdout == "pw=*** done\n"
    assert not leaks(reported(fake, run_id), "s3cr3t", "VALUE-9f2c")


async def test_a_secret_straddling_two_pipe_reads_is_masked(jobs_dir: Path):
    async with serving(FakeCoordinator()) as fake:
        run_id = fake.add_run(
            type="python",
            function="rt_secret_jobs.straddle",
            parameters={"password": ref("TW_RT_SECRET")},
        )
        worker = make_worker(fake, import_paths=[str(jobs_dir)], secrets=["TW_RT_SECRET"])
        async with running(worker):
            await fake.wait_for(lambda: fake.runs[run_id].completion, 30)
    assert fake.runs[run_id].stdout == "x" * 65530 + "***\n"
    assert not leaks(reported(fake, run_id), "s3cr3t", "9f2c")


async def test_a_secret_as_a_key_of_the_result_is_masked(jobs_dir: Path):
    async with serving(FakeCoordinator()) as fake:
        run_id = fake.add_run(
            type="python",
            function="rt_secret_jobs.as_key",
            parameters={"password": ref("TW_RT_SECRET")},
        )
        worker = make_worker(fake, import_paths=[str(jobs_dir)], secrets=["TW_RT_SECRET"])
        async with running(worker):
            await fake.wait_for(lambda: fake.runs[run_id].completion, 30)
    completion = fake.runs[run_id].completion
    assert completion is not None
    assert completion["result"] == {"***": 1, "nested": [{"k-***": "***"}]}
    assert not leaks(reported(fake, run_id), SECRET)


async def test_the_json_escaped_form_in_tickwork_parameters_is_masked(jobs_dir: Path):
    async with serving(FakeCoordinator()) as fake:
        run_id = fake.add_run(
            'echo "$TICKWORK_PARAMETERS"',
            parameters={"pw": ref("TW_RT_AWKWARD")},
        )
        worker = make_worker(fake, secrets=["TW_RT_AWKWARD"])
        async with running(worker):
            await fake.wait_for(lambda: fake.runs[run_id].completion, 30)
    assert fake.runs[run_id].stdout == '{"pw": "***"}\n'
    escaped = json.dumps(AWKWARD)[1:-1]
    unicode = json.dumps(AWKWARD, ensure_ascii=False)[1:-1]
    assert not leaks(reported(fake, run_id), AWKWARD, escaped, unicode, "x-\\u00e9")


@pytest.mark.parametrize(
    ("name", "listed", "says"),
    [
        ("TW_RT_NOT_ALLOWED", [], "not allowed on this worker"),
        ("TICKWORK_TOKEN", ["TICKWORK_TOKEN"], "tickwork's own variables"),
    ],
)
async def test_only_names_the_owner_allowed_resolve(
    jobs_dir: Path, name: str, listed: list[str], says: str
):
    async with serving(FakeCoordinator()) as fake:
        run_id = fake.add_run("echo should-not-run", parameters={"pw": ref(name)})
        worker = make_worker(fake, secrets=["TW_RT_SECRET", *listed])
        async with running(worker):
            await fake.wait_for(lambda: fake.runs[run_id].completion, 30)
    completion: dict[str, Any] | None = fake.runs[run_id].completion
    assert completion is not None and completion["status"] == "failed"
    assert f"'{name}'" in completion["error"] and says in completion["error"]
    assert fake.runs[run_id].stdout == ""  # the job never ran
    assert not leaks(reported(fake, run_id), "value-of-not-allowed", "tw_the_workers_own_token")


def test_allowed_names_come_from_flags_and_tickwork_secrets():
    env = {"TICKWORK_SECRETS": "DB_PASS, API_KEY"}
    assert parse_options([], environ=env).secrets == ("DB_PASS", "API_KEY")
    both = parse_options(["--secret", "EXTRA", "--secret", "DB_PASS"], environ=env)
    assert both.secrets == ("DB_PASS", "API_KEY", "EXTRA")
    assert parse_options([], environ={}).secrets == ()


def test_a_bad_secret_name_is_refused(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit):
        parse_options(["--secret", "not-a-name"], environ={})
    assert "'not-a-name' is not a variable name" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="TICKWORK_SECRETS: 'A B' is not a variable name"):
        parse_options([], environ={"TICKWORK_SECRETS": "OK,A B"})
