"""/metrics holds a bounded number of series however many jobs there are."""

from __future__ import annotations

from tickwork.service.metrics import OTHER_JOBS, Metrics


def test_jobs_past_the_cap_count_together_as_other() -> None:
    m = Metrics(jobs=2)
    for name in ("alpha", "beta", "gamma", "delta", "alpha"):
        m.runs_finished.labels(m.job(name), "completed").inc()
        m.run_duration.labels(m.job(name)).observe(0.2)
    lines = set(m.render().decode().splitlines())
    assert 'tickwork_runs_finished_total{job="alpha",status="completed"} 2.0' in lines
    assert 'tickwork_runs_finished_total{job="beta",status="completed"} 1.0' in lines
    assert f'tickwork_runs_finished_total{{job="{OTHER_JOBS}",status="completed"}} 2.0' in lines
    assert f'tickwork_run_duration_seconds_count{{job="{OTHER_JOBS}"}} 2.0' in lines
    assert not any('job="gamma"' in line or 'job="delta"' in line for line in lines)


def test_twenty_thousand_jobs_make_no_more_series_than_the_cap() -> None:
    m = Metrics(jobs=10)
    labels = {m.job(f"job-{i}") for i in range(20_000)}
    assert len(labels) == 11 and OTHER_JOBS in labels


def test_no_job_series_at_all_when_the_cap_is_zero() -> None:
    m = Metrics(jobs=0)
    assert m.job("alpha") == OTHER_JOBS
