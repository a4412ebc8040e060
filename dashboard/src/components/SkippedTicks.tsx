import { useQuery } from '@tanstack/react-query'
import { endpoints } from '../api/endpoints'
import { keys } from '../api/keys'
import { formatDateTime } from '../lib/format'
import { EmptyState, ErrorState, LoadingBlock, TimeAgo } from './ui'

// Ticks the scheduler did not turn into runs, and runs that missed their start deadline,
// each with the reason the server recorded (catch-up policy, overlap, deadline).
export function SkippedTicks({ job }: { job: string }) {
  const events = useQuery({
    queryKey: keys.events(job),
    queryFn: ({ signal }) => endpoints.events({ job, type: ['run.skipped', 'run.missed'], limit: 20 }, signal),
    staleTime: 5_000,
  })
  if (events.error) return <ErrorState error={events.error} />
  if (!events.data) return <LoadingBlock rows={2} />
  if (events.data.length === 0) {
    return <EmptyState title="Nothing skipped">Every tick of this job's schedule became a run.</EmptyState>
  }
  return (
    <ul className="event-list" data-testid="skipped-ticks">
      {events.data.map((e) => {
        const tick = typeof e.data.scheduled_for === 'string' ? e.data.scheduled_for : null
        return (
          <li key={e.id}>
            <span className={`badge badge-${e.type === 'run.missed' ? 'danger' : 'warning'}`}>{e.type === 'run.missed' ? 'missed' : 'skipped'}</span>{' '}
            <span>{String(e.data.reason ?? '')}</span>{' '}
            <span className="muted small">
              {tick ? `tick ${formatDateTime(tick)} · ` : ''}
              <TimeAgo iso={e.ts} />
            </span>
          </li>
        )
      })}
    </ul>
  )
}
