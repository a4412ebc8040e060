import { useQuery } from '@tanstack/react-query'
import { CalendarClock } from 'lucide-react'
import { endpoints } from '../api/endpoints'
import { errorMessage, isApiError } from '../api/errors'
import { keys } from '../api/keys'
import { formatInZone, formatRelative } from '../lib/format'
import { useDebounced } from '../lib/hooks'
import { Spinner } from './ui'

/** Live preview of the next fire times of a schedule expression, as the person types it. */
export function SchedulePreview({ schedule, timezone }: { schedule: string; timezone: string }) {
  const s = useDebounced(schedule.trim(), 400)
  const tz = useDebounced(timezone.trim() || 'UTC', 400)
  const q = useQuery({
    queryKey: keys.preview(s, tz),
    queryFn: ({ signal }) => endpoints.schedulePreview(s, tz, 5, signal),
    enabled: s !== '',
    retry: false,
    staleTime: 30_000,
  })
  if (!s) {
    return (
      <div className="preview preview-empty" data-testid="schedule-preview">
        No schedule: the job runs only when triggered or when the jobs it depends on succeed.
      </div>
    )
  }
  const typing = s !== schedule.trim()
  // both zones: the job's, and the reader's own when it differs
  const localZone = Intl.DateTimeFormat().resolvedOptions().timeZone
  return (
    <div className="preview" data-testid="schedule-preview" aria-live="polite">
      <div className="preview-head">
        <CalendarClock size={15} aria-hidden />
        <span>Next fire times</span>
        {q.data && <span className="pill">{q.data.schedule_type}</span>}
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
          <ol className="preview-list">
            {q.data.next.map((iso) => (
              <li key={iso}>
                <span>{formatInZone(iso, q.data.timezone || tz)}</span>
                {localZone !== (q.data.timezone || tz) && <span className="preview-local" data-testid="preview-local">{formatInZone(iso, localZone)}</span>}
                <span className="muted">{formatRelative(iso)}</span>
              </li>
            ))}
          </ol>
        )
      ) : null}
    </div>
  )
}
