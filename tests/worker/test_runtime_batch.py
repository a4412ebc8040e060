"""The report queue: ordering per run, coalescing, limits, requeue and drop (no I/O)."""

from __future__ import annotations

from tickwork.schemas.workers import CompletionIn
from tickwork.worker.batch import Limits, ReportQueue


def done(run_id: str, fence: int = 1, **kw: object) -> CompletionIn:
    return CompletionIn.model_validate(
        {"run_id": run_id, "fence": fence, "status": "completed", **kw}
    )


def test_one_batch_carries_start_logs_and_completion_in_order():
    q = ReportQueue()
    q.add_start("r1", 1)
    q.add_log("r1", 1, "stdout", "a")
    q.add_completion(done("r1"))
    batch = q.take()
    assert batch is not None and len(q) == 0
    body = batch.body()
    assert [s.run_id for s in body.starts] == ["r1"]
    assert [c.data for c in body.logs] == ["a"]
    assert [c.run_id for c in body.completions] == ["r1"]
    assert q.take() is None


def test_consecutive_output_of_a_run_and_stream_is_coalesced_up_to_the_chunk_size():
    q = ReportQueue(Limits(chunk_chars=10))
    q.add_start("r1", 1)
    for text in ["abc", "def", "ghijklmnop"]:
        q.add_log("r1", 1, "stdout", text)
    q.add_log("r2", 1, "stdout", "other run")
    q.add_log("r1", 1, "stderr", "err")
    q.add_log("r1", 1, "stdout", "q")
    batch = q.take()
    assert batch is not None
    logs = [(c.run_id, c.stream, c.data) for c in batch.body().logs]
    assert logs == [
        ("r1", "stdout", "abcdefghij"),
        ("r1", "stdout", "klmnop"),
        ("r2", "stdout", "other run"),
        ("r1", "stderr", "err"),
        ("r1", "stdout", "q"),
    ]


def test_a_run_left_out_by_a_limit_keeps_its_later_items_back_too():
    q = ReportQueue(Limits(logs=1))
    q.add_start("r1", 1)
    q.add_log("r1", 1, "stdout", "one")
    q.add_log("r1", 1, "stderr", "two")
    q.add_completion(done("r1"))
    q.add_start("r2", 1)
    q.add_completion(done("r2"))
    first = q.take()
    assert first is not None
    body = first.body()
    assert [s.run_id for s in body.starts] == ["r1", "r2"]
    assert [c.data for c in body.logs] == ["one"]
    assert [c.run_id for c in body.completions] == ["r2"]  # r1's must wait for its output
    second = q.take()
    assert second is not None
    assert [c.data for c in second.body().logs] == ["two"]
    assert [c.run_id for c in second.body().completions] == ["r1"]


def test_the_body_budget_splits_big_completions_into_several_reports():
    q = ReportQueue(Limits(batch_chars=5000))
    for n in range(3):
        q.add_completion(done(f"r{n}", error="x" * 3000))
    sizes = []
    while (batch := q.take()) is not None:
        sizes.append(len(batch.completions))
    assert sizes == [1, 1, 1]


def test_requeued_items_go_back_in_front_and_logs_can_be_left_out():
    q = ReportQueue()
    q.add_start("r1", 1)
    q.add_log("r1", 1, "stdout", "maybe delivered")
    batch = q.take()
    assert batch is not None
    q.add_log("r1", 1, "stdout", "later")
    q.requeue(batch, keep_logs=False)
    again = q.take()
    assert again is not None
    body = again.body()
    assert [s.run_id for s in body.starts] == ["r1"]
    assert [c.data for c in body.logs] == ["later"]


def test_a_dropped_run_loses_its_pending_items_and_later_output():
    q = ReportQueue()
    q.add_start("r1", 1)
    q.add_log("r1", 1, "stdout", "x")
    q.add_start("r2", 1)
    q.drop_run("r1")
    q.add_log("r1", 1, "stdout", "after the kill")
    q.add_completion(done("r1"))
    batch = q.take()
    assert batch is not None
    assert [i.run_id for i in batch.items] == ["r2"]
    q.forget("r1")
    q.add_log("r1", 1, "stdout", "y")
    assert len(q) == 1


def test_output_beyond_the_pending_budget_is_dropped_with_a_note():
    q = ReportQueue(Limits(pending_log_chars=10))
    q.add_start("r1", 1)
    q.add_log("r1", 1, "stdout", "12345678")
    q.add_log("r1", 1, "stdout", "too much")  # no room: dropped, counted
    first = q.take()
    assert first is not None
    q.add_log("r1", 1, "stdout", "ok")
    second = q.take()
    assert second is not None
    (chunk,) = second.body().logs
    assert chunk.data == "\n[tickwork: 8 characters of output dropped]\nok"
