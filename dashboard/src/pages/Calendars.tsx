import { useState } from 'react'
import { useQuery } from '@tanstack/react-query'
import { CalendarDays } from 'lucide-react'
import { endpoints } from '../api/endpoints'
import { keys } from '../api/keys'
import type { Calendar } from '../api/types'
import { EmptyState, ErrorState, LoadingBlock, PageHeader } from '../components/ui'
import { holidaysLabel, weekdayLabel } from '../lib/calendar'
import { useDocumentTitle } from '../lib/hooks'
import { listNamespace } from '../lib/namespace'

const DAYS = 30

/** Business calendars of the chosen namespace: what each counts as a business day, the jobs
 * that name it and its coming days (business or not, and why). */
export default function Calendars() {
  useDocumentTitle('Calendars')
  const namespace = listNamespace()
  const list = useQuery({
    queryKey: keys.calendars(namespace ?? ''),
    queryFn: ({ signal }) => endpoints.calendars(signal, namespace),
  })
  const [picked, setPicked] = useState<Calendar | null>(null)
  const calendars = list.data?.calendars ?? []
  const shown = picked ?? calendars[0] ?? null
  return (
    <div className="page">
      <PageHeader title="Calendars" subtitle="Business calendars: jobs that name one skip (or move) their ticks on its weekends, holidays and excluded dates. Define them with the API, the CLI or an apply file." />
      {list.error ? (
        <ErrorState error={list.error} onRetry={() => void list.refetch()} />
      ) : !list.data ? (
        <LoadingBlock rows={4} />
      ) : calendars.length === 0 ? (
        <EmptyState title="No calendars" icon={<CalendarDays size={28} />}>
          POST /api/calendars or a <code>calendars:</code> section in an apply file creates one.
        </EmptyState>
      ) : (
        <div className="calendar-layout">
          <div className="card table-card">
            <div className="table-scroll">
              <table className="table table-stack" data-testid="calendars-table">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Namespace</th>
                    <th scope="col">Weekdays</th>
                    <th scope="col">Holidays</th>
                    <th scope="col">Excluded</th>
                  </tr>
                </thead>
                <tbody>
                  {calendars.map((c) => (
                    <tr key={`${c.namespace}/${c.name}`} className={shown === c ? 'selected' : undefined} data-testid={`calendar-row-${c.name}`}>
                      <td data-label="Name">
                        <button type="button" className="link-button" onClick={() => setPicked(c)}>
                          {c.name}
                        </button>
                      </td>
                      <td data-label="Namespace">{c.namespace}</td>
                      <td data-label="Weekdays">{weekdayLabel(c.weekdays)}</td>
                      <td data-label="Holidays">{holidaysLabel(c)}</td>
                      <td data-label="Excluded">{c.exclude_dates.length}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
          {shown && <CalendarDetail key={`${shown.namespace}/${shown.name}`} calendar={shown} />}
        </div>
      )}
    </div>
  )
}

function CalendarDetail({ calendar }: { calendar: Calendar }) {
  const detail = useQuery({
    queryKey: keys.calendar(calendar.name, calendar.namespace),
    queryFn: ({ signal }) => endpoints.calendar(calendar.name, calendar.namespace, DAYS, signal),
  })
  return (
    <section className="card calendar-detail" aria-labelledby="calendar-title" data-testid="calendar-detail">
      <h2 id="calendar-title">{calendar.name}</h2>
      {calendar.description && <p className="muted">{calendar.description}</p>}
      <dl className="worker-facts">
        <div>
          <dt>Weekdays</dt>
          <dd>{weekdayLabel(calendar.weekdays)}</dd>
        </div>
        <div>
          <dt>Holidays</dt>
          <dd>{holidaysLabel(calendar)}</dd>
        </div>
        <div>
          <dt>Excluded</dt>
          <dd>{calendar.exclude_dates.join(', ') || '—'}</dd>
        </div>
        <div>
          <dt>Included</dt>
          <dd>{calendar.include_dates.join(', ') || '—'}</dd>
        </div>
        <div>
          <dt>Jobs</dt>
          <dd data-testid="calendar-jobs">{detail.data ? detail.data.jobs.join(', ') || '—' : '…'}</dd>
        </div>
      </dl>
      <h3>Next {DAYS} days</h3>
      {detail.error ? (
        <ErrorState error={detail.error} onRetry={() => void detail.refetch()} />
      ) : !detail.data ? (
        <LoadingBlock rows={3} />
      ) : (
        <ol className="calendar-days" data-testid="calendar-days">
          {detail.data.days.map((d) => (
            <li key={d.day} className={d.business ? 'day-open' : 'day-closed'}>
              <span className="mono">{d.day}</span>{' '}
              {d.business ? <span className="badge badge-success">business day</span> : <span className="badge badge-warning">{d.reason}</span>}
            </li>
          ))}
        </ol>
      )}
    </section>
  )
}
