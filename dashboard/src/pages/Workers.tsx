import { useQuery } from '@tanstack/react-query'
import { Link } from 'react-router'
import { Server } from 'lucide-react'
import { endpoints } from '../api/endpoints'
import { keys } from '../api/keys'
import type { Run, Worker } from '../api/types'
import { EmptyState, ErrorState, LoadingBlock, PageHeader, ProgressBar, StatusBadge, Tags } from '../components/ui'
import { useLive } from '../live/LiveProvider'
import { formatDateTime, formatDuration, formatNumber, shortId } from '../lib/format'
import { useDocumentTitle, useNow } from '../lib/hooks'

const STATUS_ORDER: Record<string, number> = { online: 0, lost: 1, offline: 2 }

function heartbeatAge(w: Worker, now: number): number | null {
  return w.last_heartbeat ? Math.max(0, (now - Date.parse(w.last_heartbeat)) / 1000) : null
}

function WorkerCard({ worker, runs, now }: { worker: Worker; runs: Run[]; now: number }) {
  const age = heartbeatAge(worker, now)
  const ratio = worker.concurrency > 0 ? worker.active_jobs / worker.concurrency : 0
  const stale = worker.status === 'online' && age !== null && age > 45
  return (
    <article className={`worker-card worker-${worker.status}`} data-testid={`worker-${worker.id}`} aria-labelledby={`w-${worker.id}`}>
      <header className="worker-head">
        <div className="worker-title">
          <Server size={18} aria-hidden />
          <div>
            <h2 id={`w-${worker.id}`} className="mono">
              {worker.id}
            </h2>
            <div className="muted small">
              {worker.hostname} · pid {worker.pid}
              {worker.version && <> · v{worker.version}</>}
            </div>
          </div>
        </div>
        <StatusBadge status={worker.status} size="sm" />
      </header>
      <div className="worker-slots">
        <div className="worker-slots-text">
          <span>Slots</span>
          <strong data-testid={`worker-slots-${worker.id}`}>
            {worker.active_jobs} / {worker.concurrency}
          </strong>
        </div>
        <ProgressBar value={ratio} tone={ratio >= 1 ? 'warning' : 'info'} label={`${worker.id} slots in use`} />
      </div>
      <dl className="worker-facts">
        <div>
          <dt>Heartbeat</dt>
          <dd className={stale ? 'text-warning' : undefined} title={formatDateTime(worker.last_heartbeat)}>
            {age === null ? '—' : age < 1 ? 'just now' : `${formatDuration(Math.floor(age))} ago`}
          </dd>
        </div>
        <div>
          <dt>Registered</dt>
          <dd title={formatDateTime(worker.registered_at)}>{formatDateTime(worker.registered_at)}</dd>
        </div>
        <div className="worker-tags">
          <dt>Tags</dt>
          <dd>
            <Tags tags={worker.tags} variant="worker" />
          </dd>
        </div>
      </dl>
      {runs.length > 0 && (
        <div className="worker-runs">
          <div className="worker-runs-title">Active runs</div>
          <ul>
            {runs.map((r) => (
              <li key={r.id}>
                <Link to={`/runs/${encodeURIComponent(r.id)}`}>
                  <span className="badge-dot pulse tone-running" aria-hidden />
                  <span className="worker-run-name">{r.job_name}</span>
                  <span className="mono muted">{shortId(r.id)}</span>
                  <span className="mono">{r.started_at ? formatDuration((now - Date.parse(r.started_at)) / 1000) : ''}</span>
                </Link>
              </li>
            ))}
          </ul>
        </div>
      )}
    </article>
  )
}

export default function Workers() {
  useDocumentTitle('Workers')
  const { live } = useLive()
  const now = useNow(1000)
  const workers = useQuery({ queryKey: keys.workers, queryFn: ({ signal }) => endpoints.workers(signal), refetchInterval: live ? 10_000 : false })
  const runningFilter = { status: 'running', limit: 200 }
  const running = useQuery({ queryKey: keys.runs(runningFilter), queryFn: ({ signal }) => endpoints.runs(runningFilter, signal), refetchInterval: live ? 10_000 : false })
  const byWorker = new Map<string, Run[]>()
  for (const r of running.data?.runs ?? []) {
    if (!r.worker) continue
    const list = byWorker.get(r.worker) ?? []
    list.push(r)
    byWorker.set(r.worker, list)
  }
  const list = [...(workers.data ?? [])].sort((a, b) => (STATUS_ORDER[a.status] ?? 3) - (STATUS_ORDER[b.status] ?? 3) || a.id.localeCompare(b.id))
  const online = list.filter((w) => w.status === 'online')
  const slots = online.reduce((n, w) => n + w.concurrency, 0)
  const busy = online.reduce((n, w) => n + w.active_jobs, 0)

  return (
    <div className="page">
      <PageHeader
        title="Workers"
        subtitle={workers.data ? `${formatNumber(online.length)} online · ${formatNumber(busy)} of ${formatNumber(slots)} slots busy` : 'Processes that claim and execute runs.'}
      />
      {workers.error && !workers.data ? (
        <ErrorState error={workers.error} onRetry={() => void workers.refetch()} />
      ) : !workers.data ? (
        <LoadingBlock rows={6} />
      ) : list.length === 0 ? (
        <div className="card">
          <EmptyState title="No workers registered" icon={<Server size={28} />}>
            Start one with <code>tickwork worker --server URL</code>, or run <code>tickwork dev</code> for a coordinator with a worker built in.
          </EmptyState>
        </div>
      ) : (
        <div className="worker-grid" data-testid="workers-list">
          {list.map((w) => (
            <WorkerCard key={w.id} worker={w} runs={byWorker.get(w.id) ?? []} now={now} />
          ))}
        </div>
      )}
    </div>
  )
}
