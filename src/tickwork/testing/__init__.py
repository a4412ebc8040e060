"""Helpers for testing code that uses tickwork: a fake clock and job factories."""

from tickwork.domain.clock import FakeClock
from tickwork.testing.factories import job_payload, job_spec

__all__ = ["FakeClock", "job_payload", "job_spec"]
