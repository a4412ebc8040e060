import { useQuery } from '@tanstack/react-query'
import { CalendarClock } from 'lucide-react'
import { endpoints, type CalendarChoice } from '../api/endpoints'
import { errorMessage, isApiError } from '../api/errors'
import { keys } from '../api/keys'
import { previewRows, skippedCount } from '../lib/calendar'
import { formatInZone, formatRelative } from '../lib/format'
import { useDebounced } from '../lib/hooks'
import { Spinner } from './ui'

/** Live preview of the next fire times of a schedule expression, as the person types it; under
 * a business calendar, with the closed days whose ticks are skipped (or moved) and why. */
export function SchedulePreview({ schedule, timezone, calendar }: { schedule: string; timezone: string; calendar?: CalendarChoice }) {
  const s = useDebounced(schedule.trim(), 400)
  const tz = useDebounced(timezone.trim() || 'UTC', 400)
  const cal = calendar?.name ? calendar : undefined
  const q = useQuery({
    queryKey: keys.preview(s, tz, cal?.name, cal?.policy, cal?.namespace),
    queryFn: ({ signal }) => endpoints.schedulePreview(s, tz, 5, signal, cal),
    enabled: s !== '',
    retry: false,
    staleTime: 30_000,
  })
  if (!s) {
    return (
      <div className="preview preview-empty" data-testid="schedule-preview">
        No schedule: the job runs only when triggered or when its dependencies succeed, fail or finish as it asks.
      </div>
    )
  }
  const typing = s !== schedule.trim()
  // both zones: the job's, and the reader's own when it differs
  const localZone = Intl.DateTimeFormat().resolvedOptions().timeZone
  const zone = q.data?.timezone || tz
  const rows = q.data ? previewRows(q.data) : []
  const skipped = skippedCount(rows)
  return (
    <div className="preview" data-testid="schedule-preview" aria-live="polite">
      <div className="preview-head">
        <CalendarClock size={15} aria-hidden />
        <span>Next fire times</span>
        {q.data && <span className="pill">{q.data.schedule_type}</span>}
        {q.data?.calendar && (
          <span className="pill" data-testid="preview-calendar">
            {q.data.calendar} · {q.data.calendar_policy === 'next_business_day' ? 'next business day' : 'skip'}
          </span>
        )}
        {(q.isFetching || typing) && <Spinner size={13} />}
      </div>
      {q.error ? (
        <div className="preview-error" role="alert" data-testid="schedule-preview-error">
          {isApiError(q.error) && q.error.status === 422 ? errorMessage(q.error) : `Could not preview: ${errorMessage(q.error)}`}
        </div>
      ) : q.data ? (
        q.data.next.length === 0 ? (
          <div className="muted">This schedule never fires again.</div>
        ) : (
          <>
            <ol className="preview-list">
              {rows.map((r) =>
                r.fires ? (
                  <li key={`f${r.at}`}>
                    <span>{formatInZone(r.at, zone)}</span>
                    {localZone !== zone && <span className="preview-local" data-testid="preview-local">{formatInZone(r.at, localZone)}</span>}
                    <span className="muted">{formatRelative(r.at)}</span>
                  </li>
                ) : (
                  <li key={`s${r.at}`} className="preview-skipped" data-testid="preview-skipped">
                    <span className="muted">
                      <s>{formatInZone(r.at, zone)}</s>
                    </span>
                    <span className="badge badge-warning">{r.reason}</span>
                    {r.detail && <span className="muted small">{r.detail}</span>}
                  </li>
                ),
              )}
            </ol>
            {skipped > 0 && (
              <div className="muted small" data-testid="preview-skipped-summary">
                {skipped} closed day{skipped === 1 ? '' : 's'} passed over by the calendar.
              </div>
            )}
          </>
        )
      ) : null}
    </div>
  )
}
