import { Link, useNavigate } from 'react-router'
import { rowClickProps } from '../lib/rowClick'
import type { Run } from '../api/types'
import { formatDuration, shortId } from '../lib/format'
import { jobCell } from '../lib/oneoff'
import { useNow } from '../lib/hooks'
import { NamespaceBadge, useAllNamespaces } from './NamespaceSwitch'
import { StatusBadge, TimeAgo } from './ui'

const TRIGGER_LABEL: Record<string, string> = { schedule: 'Schedule', manual: 'Manual', dependency: 'Dependency', replay: 'Replay' }

export function RunDuration({ run, now }: { run: Run; now: number }) {
  if (run.duration !== null && run.duration !== undefined) return <span className="mono">{formatDuration(run.duration)}</span>
  if (run.status === 'running' && run.started_at) return <span className="mono running-text">{formatDuration(Math.max(0, (now - Date.parse(run.started_at)) / 1000))}</span>
  return <span className="muted">—</span>
}

/** "2/4" once a run has started; a run not tried yet says so, not "0/1". */
export function Attempt({ run }: { run: Pick<Run, 'attempt' | 'max_attempts'> }) {
  if (run.attempt > 0) return <span title={`attempt ${run.attempt} of at most ${run.max_attempts}`}>{run.attempt}/{run.max_attempts}</span>
  return <span className="muted" title={`not tried yet; up to ${run.max_attempts} attempt${run.max_attempts === 1 ? '' : 's'}`}>not yet</span>
}

/** A run's job: a link to it, or the one-off marker (and label) of a one-off run. */
export function JobLink({ run, className = 'plain-link' }: { run: Pick<Run, 'id' | 'job_id' | 'job_name' | 'one_off'>; className?: string }) {
  const cell = jobCell(run)
  if (cell.kind === 'job') {
    return (
      <Link to={cell.to} className={className}>
        {cell.label}
      </Link>
    )
  }
  return (
    <span title={cell.title} data-testid={`one-off-${run.id}`}>
      <span className="oneoff-badge">one-off</span>
      {cell.label && <> {cell.label}</>}
    </span>
  )
}

/** Runs as a table (cards on a phone). `showJob` adds the job column for cross-job lists. */
export interface RowSelection {
  isSelected: (id: string) => boolean
  toggle: (id: string) => void
  allOnPage: boolean
  togglePage: () => void
}

export function RunsTable({ runs, showJob = true, showWorker = true, testId, select }: { runs: Run[]; showJob?: boolean; showWorker?: boolean; testId?: string; select?: RowSelection }) {
  const anyRunning = runs.some((r) => r.status === 'running')
  const now = useNow(1000, anyRunning)
  const navigate = useNavigate()
  const allNs = useAllNamespaces()
  return (
    <div className="table-scroll">
      <table className="table table-stack" data-testid={testId}>
        <thead>
          <tr>
            {select && (
              <th scope="col" className="cell-check">
                <input type="checkbox" checked={select.allOnPage} onChange={select.togglePage} aria-label="Select every run on this page" data-testid="select-page" />
              </th>
            )}
            <th scope="col">Run</th>
            {showJob && <th scope="col">Job</th>}
            {showJob && allNs && <th scope="col">Namespace</th>}
            <th scope="col">Status</th>
            <th scope="col">Trigger</th>
            <th scope="col">Attempt</th>
            <th scope="col">Duration</th>
            <th scope="col">Started</th>
            {showWorker && <th scope="col">Worker</th>}
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.id} data-testid={`run-row-${run.id}`} {...rowClickProps(navigate, `/runs/${encodeURIComponent(run.id)}`)}>
              {select && (
                <td className="cell-check">
                  <input type="checkbox" checked={select.isSelected(run.id)} onChange={() => select.toggle(run.id)} aria-label={`Select run ${shortId(run.id)} of ${run.job_name}`} data-testid={`select-${run.id}`} />
                </td>
              )}
              <td data-label="Run" className="cell-primary">
                <Link to={`/runs/${encodeURIComponent(run.id)}`} className="row-link mono" title={run.id}>
                  {shortId(run.id)}
                </Link>
              </td>
              {showJob && (
                <td data-label="Job">
                  <JobLink run={run} />
                </td>
              )}
              {showJob && allNs && (
                <td data-label="Namespace">
                  <NamespaceBadge namespace={run.namespace} />
                </td>
              )}
              <td data-label="Status">
                <StatusBadge status={run.status} size="sm" />
              </td>
              <td data-label="Trigger">
                <span className={`trigger trigger-${run.trigger}`}>{TRIGGER_LABEL[run.trigger] ?? run.trigger}</span>
              </td>
              <td data-label="Attempt" className="mono">
                <Attempt run={run} />
              </td>
              <td data-label="Duration">
                <RunDuration run={run} now={now} />
              </td>
              <td data-label="Started">
                <TimeAgo iso={run.started_at ?? run.scheduled_for ?? run.queued_at} past />
              </td>
              {showWorker && (
                <td data-label="Worker" className="cell-sub-mono worker-cell">
                  {run.worker ?? <span className="muted">—</span>}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
