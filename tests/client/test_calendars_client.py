"""The Python client's calendar methods against a real coordinator, async and sync."""

from __future__ import annotations

import pytest

from tickwork.client import AsyncClient, Client, ConflictError, NotFoundError, ValidationError
from tickwork.schemas.calendars import CalendarIn

DE = {"name": "de-business", "holidays": {"country": "DE"}, "exclude_dates": ["2030-12-24"]}


async def test_calendar_crud_and_preview(aclient: AsyncClient) -> None:
    made = await aclient.create_calendar(CalendarIn.model_validate(DE))
    assert (made.weekdays, made.holidays and made.holidays.country) == ([1, 2, 3, 4, 5], "DE")
    with pytest.raises(ConflictError):
        await aclient.create_calendar(DE)
    with pytest.raises(ValidationError) as bad:
        await aclient.create_calendar({**DE, "name": "x", "holidays": {"country": "XX"}})
    assert "holidays.country" in str(bad.value)
    job = await aclient.create_job(
        {
            "name": "j",
            "type": "shell",
            "command": "true",
            "schedule": "0 9 * * *",
            "calendar": "de-business",
        }
    )
    assert job.calendar == "de-business"
    assert [c.name for c in await aclient.list_calendars()] == ["de-business"]
    detail = await aclient.get_calendar("de-business", days=7)
    assert detail.jobs == ["j"] and len(detail.days) == 7
    changed = await aclient.replace_calendar("de-business", {**DE, "weekdays": [1, 2, 3, 4]})
    assert list(changed.recomputed) == [job.id]
    preview = await aclient.preview_schedule("0 9 * * *", n=5, calendar="de-business")
    assert len(preview.next) == 5
    assert any(not t.fires for t in preview.ticks)  # five fire times cross a closed day
    with pytest.raises(ConflictError):
        await aclient.delete_calendar("de-business")
    await aclient.delete_job("j")
    await aclient.delete_calendar("de-business")
    with pytest.raises(NotFoundError):
        await aclient.get_calendar("de-business")


def test_the_sync_client_has_them_too(client: Client) -> None:
    client.create_calendar(DE)
    assert client.get_calendar("de-business").holidays is not None
    client.delete_calendar("de-business")
    assert client.list_calendars() == []
