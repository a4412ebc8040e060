import { useQuery } from '@tanstack/react-query'
import { Link } from 'react-router'
import { Activity, AlertOctagon, CheckCircle2, Clock3, Gauge, Layers, ListChecks, Server } from 'lucide-react'
import type { ReactNode } from 'react'
import { endpoints } from '../api/endpoints'
import { keys } from '../api/keys'
import { RUN_STATUSES, type Run, type Stats } from '../api/types'
import { SuccessRateChart } from '../components/LazyCharts'
import { QuotaUsage } from '../components/QuotaUsage'
import { Card, EmptyState, ErrorState, LoadingBlock, PageHeader, ProgressBar, StatusBadge, TimeAgo } from '../components/ui'
import { useLive } from '../live/LiveProvider'
import { formatDuration, formatNumber, formatPercent, formatTotal } from '../lib/format'
import { errorLine } from '../lib/errorSummary'
import { useDocumentTitle, useNow } from '../lib/hooks'
import { statusColor, statusLabel } from '../lib/status'

function StatCard({ label, value, sub, icon, tone, testId, to }: { label: string; value: ReactNode; sub?: ReactNode; icon: ReactNode; tone?: string; testId: string; to?: string }) {
  const body = (
    <>
      <div className="stat-top">
        <span className="stat-label">{label}</span>
        <span className={`stat-icon stat-icon-${tone ?? 'neutral'}`} aria-hidden>
          {icon}
        </span>
      </div>
      <div className="stat-value" data-testid={testId}>
        {value}
      </div>
      {sub && <div className="stat-sub">{sub}</div>}
    </>
  )
  return to ? (
    <Link to={to} className="stat-card stat-card-link">
      {body}
    </Link>
  ) : (
    <div className="stat-card">{body}</div>
  )
}

function StatusBreakdown({ stats }: { stats: Stats }) {
  const total = RUN_STATUSES.reduce((n, s) => n + (stats.runs[s] ?? 0), 0)
  return (
    <div className="breakdown">
      <div className="breakdown-bar" role="img" aria-label="Runs by status">
        {total > 0 &&
          RUN_STATUSES.map((s) =>
            stats.runs[s] ? <span key={s} style={{ width: `${(stats.runs[s] / total) * 100}%`, background: statusColor(s) }} title={`${statusLabel(s)}: ${stats.runs[s]}`} /> : null,
          )}
      </div>
      <ul className="breakdown-legend">
        {RUN_STATUSES.map((s) => (
          <li key={s}>
            <Link to={`/runs?status=${s}`}>
              <span className="legend-dot" style={{ background: statusColor(s) }} aria-hidden />
              <span className="legend-label">{statusLabel(s)}</span>
              <span className="legend-value">{formatNumber(stats.runs[s] ?? 0)}</span>
            </Link>
          </li>
        ))}
      </ul>
    </div>
  )
}

function RunMiniList({ runs, empty, kind }: { runs: Run[] | undefined; empty: string; kind: 'failed' | 'running' }) {
  const now = useNow(1000, kind === 'running')
  if (!runs) return <LoadingBlock rows={3} />
  if (runs.length === 0) return <EmptyState title={empty} icon={kind === 'failed' ? <CheckCircle2 size={26} /> : <Clock3 size={26} />} />
  return (
    <ul className="mini-list">
      {runs.map((r) => (
        <li key={r.id}>
          <Link to={`/runs/${r.id}`} className="mini-row" data-testid={`${kind}-run-${r.id}`}>
            <div className="mini-main">
              <span className="mini-title">{r.job_name}</span>
              {kind === 'failed' ? (
                <span className="mini-sub mono">{errorLine(r)}</span>
              ) : (
                <span className="mini-sub">
                  {r.attempt > 0 ? `${r.worker ?? 'unassigned'} · attempt ${r.attempt}/${r.max_attempts}` : 'waiting for a worker'}
                </span>
              )}
            </div>
            <div className="mini-meta">
              {kind === 'failed' ? (
                <TimeAgo iso={r.finished_at ?? r.queued_at} past />
              ) : (
                <span className="mono">{r.started_at ? formatDuration((now - Date.parse(r.started_at)) / 1000) : '—'}</span>
              )}
              <StatusBadge status={r.status} size="sm" />
            </div>
          </Link>
        </li>
      ))}
    </ul>
  )
}

export default function Overview() {
  useDocumentTitle('Overview')
  const { live } = useLive()
  const stats = useQuery({ queryKey: keys.stats, queryFn: ({ signal }) => endpoints.stats(signal), refetchInterval: live ? 15_000 : false })
  const failedFilter = { status: 'failed', limit: 8 }
  const runningFilter = { status: 'running', limit: 8 }
  const failures = useQuery({ queryKey: keys.runs(failedFilter), queryFn: ({ signal }) => endpoints.runs(failedFilter, signal) })
  const running = useQuery({ queryKey: keys.runs(runningFilter), queryFn: ({ signal }) => endpoints.runs(runningFilter, signal) })
  const s = stats.data

  return (
    <div className="page">
      <PageHeader title="Overview" subtitle="What tickwork is doing right now, and how the last 24 hours went." />
      {stats.error && !s ? (
        <ErrorState error={stats.error} onRetry={() => void stats.refetch()} />
      ) : (
        <>
          <div className="stat-grid">
            <StatCard label="Jobs" testId="stat-jobs" value={s ? formatTotal(s.jobs, s.jobs_exact) : '…'} sub={s ? `${formatNumber(s.jobs_enabled)} enabled` : ' '} icon={<ListChecks size={18} />} to="/jobs" />
            <StatCard label="Running" testId="stat-running" tone="info" value={s ? formatNumber(s.running) : '…'} sub={s ? `${formatNumber(s.queue_depth)} queued` : ' '} icon={<Activity size={18} />} to="/runs?status=running" />
            <StatCard label="Failed (24h)" testId="stat-failed" tone={s && s.failed_24h > 0 ? 'danger' : 'neutral'} value={s ? formatNumber(s.failed_24h) : '…'} sub={s ? `${formatNumber(s.runs.failed)} failed in all` : ' '} icon={<AlertOctagon size={18} />} to="/runs?status=failed" />
            <StatCard label="Workers online" testId="stat-workers" tone={s && s.workers.online === 0 ? 'warning' : 'success'} value={s ? formatNumber(s.workers.online) : '…'} sub={s ? `${formatNumber(s.workers.total_slots)} slots` : ' '} icon={<Server size={18} />} to="/workers" />
            <StatCard label="Queue depth" testId="stat-queue" value={s ? formatNumber(s.queue_depth) : '…'} sub={s ? `scheduler lag ${s.scheduler_lag === null ? '—' : formatDuration(s.scheduler_lag)}` : ' '} icon={<Layers size={18} />} to="/runs?status=queued" />
            <StatCard
              label="Utilisation"
              testId="stat-utilization"
              value={s ? formatPercent(s.utilization) : '…'}
              sub={s ? <ProgressBar value={s.utilization} label="Worker slot utilisation" tone={s.utilization > 0.9 ? 'warning' : 'info'} /> : ' '}
              icon={<Gauge size={18} />}
            />
          </div>

          <QuotaUsage />

          <div className="grid-2-1">
            <Card title="Runs per hour and success rate" id="chart" actions={<span className="muted small">last 24 hours</span>}>
              {s ? <SuccessRateChart series={s.success_rate_series} /> : <LoadingBlock rows={5} />}
            </Card>
            <Card title="Runs by status" id="breakdown">
              {s ? <StatusBreakdown stats={s} /> : <LoadingBlock rows={4} />}
            </Card>
          </div>

          <div className="grid-2">
            <Card title="Recent failures" id="failures" actions={<Link to="/runs?status=failed" className="card-link">All failed runs</Link>}>
              {failures.error ? <ErrorState error={failures.error} /> : <RunMiniList runs={failures.data?.runs} empty="No failed runs" kind="failed" />}
            </Card>
            <Card title="Running now" id="running" actions={<Link to="/runs?status=running" className="card-link">All running</Link>}>
              {running.error ? <ErrorState error={running.error} /> : <RunMiniList runs={running.data?.runs} empty="Nothing is running" kind="running" />}
            </Card>
          </div>
        </>
      )}
    </div>
  )
}
