import { Link } from 'react-router'
import type { TaskRun } from '../api/pipelineTypes'
import { formatDuration } from '../lib/format'
import { ganttModel, taskTone, type GanttBar } from '../lib/pipeline'
import './pipelines.css'

const pct = (f: number) => `${(f * 100).toFixed(3)}%`

function Bar({ bar, className, testId, status }: { bar: GanttBar; className: string; testId?: string; status?: string }) {
  return <span className={className} style={{ left: pct(bar.from), width: `max(3px, ${pct(bar.to - bar.from)})` }} data-testid={testId} data-status={status} />
}

/**
 * Each task's time in the queue and running, on one time axis shared by every task of the
 * pipeline run (from its first task queued). While a task waits or runs, `now` ends its bar, so
 * the bar grows as the page re-renders. Each row is also said in words for screen readers.
 */
export function PipelineGantt({ tasks, now, runStart, maxTicks = 6, runQueued = false }: { tasks: TaskRun[]; now: number; runStart?: string | null; maxTicks?: number; runQueued?: boolean }) {
  const g = ganttModel(tasks, now, runStart, maxTicks)
  return (
    <div className="gantt" data-testid="gantt">
      <div className="gantt-axis" aria-hidden>
        <span className="gantt-label" />
        <span className="gantt-ticks">
          {g.ticks.map((t) => (
            <span key={t.label} className="gantt-tick" style={{ left: pct(t.at) }}>
              {t.label}
            </span>
          ))}
        </span>
        <span className="gantt-dur" />
      </div>
      <ol className="gantt-rows" aria-label="Task durations">
        {g.rows.map((row) => (
          <li key={row.name} className="gantt-row" data-testid={`gantt-row-${row.name}`} data-status={row.status}>
            <span className="gantt-label">
              {row.run_id ? (
                <Link to={`/runs/${encodeURIComponent(row.run_id)}`} className="plain-link" aria-label={`${row.text}. Open the run`}>
                  {row.name}
                </Link>
              ) : (
                <>
                  <span aria-hidden>{row.name}</span>
                  <span className="sr-only">{row.text}</span>
                </>
              )}
            </span>
            <span className="gantt-track" title={row.text} aria-hidden>
              {g.ticks.map((t) => (
                <span key={t.label} className="gantt-grid" style={{ left: pct(t.at) }} />
              ))}
              {row.wait && <Bar bar={row.wait} className="gantt-wait" testId={`gantt-wait-${row.name}`} />}
              {row.ran && <Bar bar={row.ran} className={`gantt-bar ptone-${taskTone(row.status)}${row.live ? ' gantt-live' : ''}`} testId={`gantt-bar-${row.name}`} status={row.status} />}
              {!row.wait && !row.ran && <span className="gantt-none">{row.reason ?? (row.status !== 'pending' ? 'did not run' : runQueued ? 'waiting for the pipeline run to start' : 'waiting for upstream tasks')}</span>}
            </span>
            <span className="gantt-dur mono" aria-hidden>
              {row.ran ? formatDuration(row.ran.seconds) : '—'}
            </span>
          </li>
        ))}
      </ol>
    </div>
  )
}
