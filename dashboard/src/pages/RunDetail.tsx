import { useState } from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Link, useParams } from 'react-router'
import { RotateCcw, Square } from 'lucide-react'
import { useDenied } from '../api/access'
import { endpoints } from '../api/endpoints'
import { errorMessage, isApiError } from '../api/errors'
import { keys } from '../api/keys'
import type { Attempt, RunDetail as RunDetailT, RunStatus } from '../api/types'
import { LogView } from '../components/LogView'
import { JobLink } from '../components/RunsTable'
import { useToast } from '../components/Toasts'
import { Button, Card, ConfirmDialog, DefList, EmptyState, ErrorState, JsonBlock, LoadingBlock, PageHeader, ProgressBar, StatusBadge, TimeAgo } from '../components/ui'
import { mergeLog } from '../live/events'
import { useLive } from '../live/LiveProvider'
import { useLiveLog, type LiveLogs } from '../live/useLiveLog'
import { formatClock, formatDateTime, formatDuration, formatRelative, shortId } from '../lib/format'
import { errorLine } from '../lib/errorSummary'
import { useDocumentTitle, useNow } from '../lib/hooks'
import { isActiveRun, usualDuration } from '../lib/status'

function RunProgress({ run }: { run: RunDetailT }) {
  const now = useNow(1000, isActiveRun(run.status))
  if (run.status === 'queued') {
    const waitUntil = run.not_before && Date.parse(run.not_before) > now ? run.not_before : null
    return (
      <div className="run-progress" data-testid="run-progress">
        <div className="run-progress-text">
          {waitUntil && run.attempt === 0 ? (
            <>
              Written ahead of its tick: claimable from <strong>{formatDateTime(waitUntil)}</strong> ({formatRelative(waitUntil, now)}).
            </>
          ) : waitUntil ? (
            <>
              Retry {run.attempt + 1} of {run.max_attempts} waits until <strong>{formatDateTime(waitUntil)}</strong> ({formatRelative(waitUntil, now)}).
            </>
          ) : run.waiting ? (
            <span data-testid="run-waiting">
              {run.waiting.charAt(0).toUpperCase() + run.waiting.slice(1)} · queued {formatRelative(run.queued_at, now)}
            </span>
          ) : (
            <>Waiting for a free worker slot · queued {formatRelative(run.queued_at, now)}</>
          )}
        </div>
        <div className="progress progress-indeterminate" role="progressbar" aria-label="Waiting for a worker">
          <div className="progress-fill" />
        </div>
      </div>
    )
  }
  if (run.status !== 'running' || !run.started_at) return null
  const elapsed = Math.max(0, (now - Date.parse(run.started_at)) / 1000)
  return <RunningProgress run={run} elapsed={elapsed} />
}

function RunningProgress({ run, elapsed }: { run: RunDetailT; elapsed: number }) {
  const filter = { job: run.job_id, status: 'completed', limit: 20 }
  // a one-off run's hidden definition is no job to list runs of: no usual duration
  const recent = useQuery({ queryKey: keys.runs(filter), queryFn: ({ signal }) => endpoints.runs(filter, signal), staleTime: 60_000, enabled: !run.one_off })
  const usual = recent.data ? usualDuration(recent.data.runs) : null
  const timeoutRatio = run.timeout > 0 ? elapsed / run.timeout : 0
  // against the job's usual duration when it has one: "usually 20 s, 11 s in"; else the timeout
  const ratio = usual ? elapsed / usual : timeoutRatio
  const late = usual !== null && elapsed > usual * 1.5
  return (
    <div className="run-progress" data-testid="run-progress">
      <div className="run-progress-text">
        <span>
          Running for <strong className="mono">{formatClock(elapsed)}</strong> on {run.worker ?? 'a worker'}
        </span>
        <span className={late ? 'text-warning' : 'muted'} data-testid="run-usual">
          {usual !== null ? (
            <>
              {late ? 'longer than usual · ' : ''}usually {formatDuration(usual)}, {formatDuration(elapsed)} in · timeout {formatDuration(run.timeout)}
            </>
          ) : (
            <>
              timeout {formatDuration(run.timeout)} · {Math.min(100, Math.round(timeoutRatio * 100))}%
            </>
          )}
        </span>
      </div>
      <ProgressBar
        value={Math.min(1, ratio)}
        tone={usual !== null ? (late ? 'warning' : 'info') : timeoutRatio > 0.8 ? 'danger' : timeoutRatio > 0.5 ? 'warning' : 'info'}
        label={usual !== null ? 'Elapsed time against the usual duration' : 'Elapsed time against the timeout'}
        testId="run-timeout-bar"
      />
    </div>
  )
}

function attemptText(attempt: Attempt | undefined, live: LiveLogs, stream: 'stdout' | 'stderr', number: number): string {
  const stored = attempt?.[stream] ?? ''
  const chunks = live[number]?.[stream] ?? []
  return chunks.length === 0 ? stored : mergeLog(stored, chunks, attempt?.[`${stream}_chunks`] ?? (attempt ? undefined : 0))
}

function Attempts({ run }: { run: RunDetailT }) {
  const active = isActiveRun(run.status)
  const qc = useQueryClient()
  const { logs } = useLiveLog(run.id, active, () => void qc.invalidateQueries({ queryKey: keys.run(run.id) }))
  const attempts = [...run.attempts].sort((a, b) => a.number - b.number)
  const liveNumbers = Object.keys(logs).map(Number)
  const latest = Math.max(run.attempt, attempts[attempts.length - 1]?.number ?? 0, ...liveNumbers)
  const [chosen, setChosen] = useState<number | null>(null)
  const selected = chosen ?? latest

  const numbers = [...new Set([...attempts.map((a) => a.number), ...liveNumbers.filter((n) => n > 0)])].sort((a, b) => a - b)
  if (numbers.length === 0) {
    return <EmptyState title="No attempts yet">Output appears here as soon as a worker starts the run.</EmptyState>
  }
  const attempt = attempts.find((a) => a.number === selected)
  const isLiveAttempt = active && selected === latest
  const stdout = attemptText(attempt, logs, 'stdout', selected)
  const stderr = attemptText(attempt, logs, 'stderr', selected)

  return (
    <div className="attempts">
      {numbers.length > 1 && (
        <div className="tabs" role="tablist" aria-label="Attempts">
          {numbers.map((n) => {
            const a = attempts.find((x) => x.number === n)
            const status = a?.status ?? (n === latest ? run.status : 'running')
            return (
              <button
                key={n}
                type="button"
                role="tab"
                id={`attempt-tab-${n}`}
                aria-selected={n === selected}
                aria-controls="attempt-panel"
                className={`tab${n === selected ? ' active' : ''}`}
                onClick={() => setChosen(n === latest ? null : n)}
                data-testid={`attempt-tab-${n}`}
              >
                <span className={`badge-dot tone-${status}`} aria-hidden />
                Attempt {n}
              </button>
            )
          })}
        </div>
      )}
      <div id="attempt-panel" role={numbers.length > 1 ? 'tabpanel' : undefined} aria-labelledby={numbers.length > 1 ? `attempt-tab-${selected}` : undefined} className="attempt-panel">
        <div className="attempt-meta" data-testid={`attempt-${selected}`}>
          <span>
            <strong>Attempt {selected}</strong> of {run.max_attempts}
          </span>
          {attempt && <StatusBadge status={attempt.status} size="sm" />}
          {attempt?.worker && <span className="mono muted">{attempt.worker}</span>}
          {attempt?.exit_code !== null && attempt?.exit_code !== undefined && (
            <span className={`exit-code${attempt.exit_code === 0 ? '' : ' exit-bad'}`} data-testid="attempt-exit-code">
              exit {attempt.exit_code}
            </span>
          )}
          {attempt?.duration !== null && attempt?.duration !== undefined && <span className="muted">{formatDuration(attempt.duration)}</span>}
          {attempt?.started_at && <span className="muted">started {formatDateTime(attempt.started_at)}</span>}
          {attempt && <span className="muted mono">fence {attempt.fence}</span>}
        </div>
        {attempt?.error && (
          <pre className="error-block" data-testid="attempt-error">
            {attempt.error}
          </pre>
        )}
        <LogView text={stdout} stream="stdout" truncated={attempt?.stdout_truncated} live={isLiveAttempt} testId="log-stdout" fileName={`${run.id}-attempt-${selected}-stdout.log`} emptyText={isLiveAttempt ? 'Waiting for output…' : undefined} />
        <LogView text={stderr} stream="stderr" truncated={attempt?.stderr_truncated} live={isLiveAttempt} testId="log-stderr" fileName={`${run.id}-attempt-${selected}-stderr.log`} />
      </div>
    </div>
  )
}

export default function RunDetail() {
  const { id = '' } = useParams()
  const { live } = useLive()
  const qc = useQueryClient()
  const toast = useToast()
  const query = useQuery({
    queryKey: keys.run(id),
    queryFn: ({ signal }) => endpoints.run(id, signal),
    // events drive updates; a slow poll covers anything they could not
    refetchInterval: (q) => (live && isActiveRun(q.state.data?.status) ? 10_000 : false),
  })
  const run = query.data
  useDocumentTitle(run ? `${run.job_name} · ${shortId(run.id)}` : 'Run')

  const after = (updated: unknown, verb: string) => {
    if (updated && typeof updated === 'object' && 'id' in updated) {
      qc.setQueryData<RunDetailT>(keys.run(id), (old) => (old ? { ...old, ...(updated as Partial<RunDetailT>), attempts: (updated as RunDetailT).attempts ?? old.attempts } : old))
    }
    void qc.invalidateQueries({ queryKey: keys.run(id) })
    void qc.invalidateQueries({ queryKey: ['runs'] })
    void qc.invalidateQueries({ queryKey: ['stats'] })
    void qc.invalidateQueries({ queryKey: ['job'] })
    toast.success(`${verb} ${run?.job_name ?? 'run'}`, run ? `Run ${shortId(run.id)}` : undefined)
  }
  const denied = useDenied()
  const [confirmCancel, setConfirmCancel] = useState(false)
  const cancel = useMutation({
    mutationFn: () => endpoints.cancelRun(id),
    onSuccess: (r) => {
      setConfirmCancel(false)
      after(r, r.status === 'cancelled' ? 'Cancelled' : 'Cancelling')
    },
    onError: (e) => toast.error('Could not cancel the run', errorMessage(e)),
  })
  const retry = useMutation({
    mutationFn: () => endpoints.retryRun(id),
    onSuccess: (r) => after(r, 'Retrying'),
    onError: (e) => toast.error('Could not retry the run', errorMessage(e)),
  })

  if (query.error && !run) {
    return (
      <div className="page">
        <PageHeader kicker={<Link to="/runs" className="back-link">← Runs</Link>} title="Run" />
        <ErrorState error={query.error} title={isApiError(query.error) && query.error.status === 404 ? `No run called “${id}”` : undefined} onRetry={() => void query.refetch()} />
      </div>
    )
  }
  if (!run) {
    return (
      <div className="page">
        <LoadingBlock rows={10} />
      </div>
    )
  }

  // a task of a pipeline run links back to it
  const pipelineRunId = run.pipeline_run_id ?? null
  const canCancel = isActiveRun(run.status)
  const canRetry = run.status === 'failed'
  return (
    <div className="page">
      <PageHeader
        kicker={
          <Link to="/runs" className="back-link">
            ← Runs
          </Link>
        }
        title={
          <span className="title-with-badge">
            <span>
              <JobLink run={run} className="title-link" />
              <span className="title-sep"> / </span>
              <span className="mono title-id" title={run.id}>
                {shortId(run.id, 12)}
              </span>
            </span>
            <StatusBadge status={run.status} testId="run-status" />
          </span>
        }
        subtitle={
          <span>
            {run.trigger} run · {run.attempt > 0 ? `attempt ${run.attempt} of ${run.max_attempts}` : `not tried yet (up to ${run.max_attempts} attempts)`}
            {run.scheduled_for && <> · for {formatDateTime(run.scheduled_for)}</>}
            {pipelineRunId && (
              <>
                {' · '}
                <Link to={`/pipeline-runs/${encodeURIComponent(pipelineRunId)}`} data-testid="run-pipeline-link">
                  a task of pipeline run {shortId(pipelineRunId)}
                </Link>
              </>
            )}
          </span>
        }
        actions={
          <>
            {canCancel && (
              <Button
                variant="danger"
                icon={<Square size={15} />}
                pending={cancel.isPending}
                disabled={!!run.cancel_requested}
                onClick={() => setConfirmCancel(true)}
                data-testid="cancel-button"
                title={run.cancel_requested ? 'Cancel requested: the worker is stopping the run' : undefined}
                denied={denied('operate', 'cancelling a run', run.namespace)}
              >
                {run.cancel_requested ? 'Cancelling…' : 'Cancel run'}
              </Button>
            )}
            {canRetry && (
              <Button variant="primary" icon={<RotateCcw size={16} />} pending={retry.isPending} onClick={() => retry.mutate()} data-testid="retry-button" denied={denied('operate', 'retrying a run', run.namespace)}>
                Retry
              </Button>
            )}
          </>
        }
      />
      {isActiveRun(run.status) && (
        <Card className="card-progress">
          <RunProgress run={run} />
        </Card>
      )}
      <ConfirmDialog
        open={confirmCancel}
        title={`Cancel this run of ${run.job_name}?`}
        confirmLabel="Cancel run"
        cancelLabel={run.status === 'running' ? 'Keep running' : 'Keep queued'}
        danger
        pending={cancel.isPending}
        onClose={() => setConfirmCancel(false)}
        onConfirm={() => cancel.mutate()}
      >
        <p data-testid="cancel-consequence">
          {run.status === 'running'
            ? `It has been running${run.started_at ? ` for ${formatDuration(Math.max(0, (Date.now() - Date.parse(run.started_at)) / 1000))}` : ''}${run.worker ? ` on ${run.worker}` : ''}. The worker is told to stop it now; the run ends as cancelled and is not retried.`
            : 'It has not started. It leaves the queue and does not run; it is not retried.'}
        </p>
      </ConfirmDialog>
      {run.status === 'cancelled' ? (
        <div className="banner" role="status" data-testid="run-cancelled">
          Cancelled{run.cancelled_by ? <> by <strong data-testid="cancelled-by">{run.cancelled_by}</strong></> : ''}
          {run.finished_at ? <> at {formatDateTime(run.finished_at)}</> : null}.
        </div>
      ) : (
        run.error &&
        run.status !== 'completed' && (
          <div className="banner banner-danger" role="alert" data-testid="run-error">
            <strong>{run.status === 'failed' ? 'Failed' : run.status === 'missed' ? 'Missed' : 'Error'}:</strong> <span data-testid="run-error-summary">{errorLine(run)}</span>
            {run.error.trim() !== errorLine(run) && (
              <details className="error-details">
                <summary>Full error</summary>
                <pre>{run.error}</pre>
              </details>
            )}
          </div>
        )
      )}
      <div className="grid-2-1">
        <Card title="Output and attempts" id="output">
          <Attempts run={run} />
        </Card>
        <div className="stack">
          <Card title="Details" id="details">
            <DefList
              items={[
                ['Job', <JobLink key="j" run={run} className="" />],
                ['Status', <StatusBadge key="s" status={run.status} size="sm" />],
                ['Trigger', run.trigger],
                ['Queued', <TimeAgo key="q" iso={run.queued_at} />],
                ['Started', run.started_at ? <TimeAgo key="st" iso={run.started_at} /> : '—'],
                ['Finished', run.finished_at ? <TimeAgo key="f" iso={run.finished_at} /> : '—'],
                ['Duration', formatDuration(run.duration)],
                ['Timeout', formatDuration(run.timeout)],
                ['Worker', run.worker ? <span key="w" className="mono">{run.worker}</span> : '—'],
                ['Exit code', run.exit_code === null ? '—' : <span key="e" className={`exit-code${run.exit_code === 0 ? '' : ' exit-bad'}`}>{run.exit_code}</span>],
                ['Idempotency key', <code key="k" className="mono wrap">{run.idempotency_key}</code>],
                [
                  'Upstream runs',
                  run.upstream?.length ? (
                    <span key="u" className="upstream-list" data-testid="run-upstream">
                      {run.upstream.map((u) => (
                        <span key={u.run_id}>
                          <Link to={`/runs/${encodeURIComponent(u.run_id)}`}>{u.job}</Link> <StatusBadge status={u.status as RunStatus} size="sm" />
                          {u.error_summary && <span className="muted"> {u.error_summary}</span>}
                        </span>
                      ))}
                    </span>
                  ) : run.upstream_run_ids.length ? (
                    <span key="u" className="link-list">
                      {run.upstream_run_ids.map((u) => (
                        <Link key={u} to={`/runs/${encodeURIComponent(u)}`} className="mono">
                          {shortId(u)}
                        </Link>
                      ))}
                    </span>
                  ) : (
                    '—'
                  ),
                ],
                ['Run ID', <code key="id" className="mono wrap">{run.id}</code>],
              ]}
            />
          </Card>
          {run.spec && (
            <Card title="Definition (one-off run)" id="spec">
              <JsonBlock value={run.spec} />
            </Card>
          )}
          <Card title="Parameters" id="params">
            <JsonBlock value={run.parameters} />
          </Card>
          {run.result !== null && run.result !== undefined && (
            <Card title="Result" id="result">
              <JsonBlock value={run.result} empty="null" />
            </Card>
          )}
        </div>
      </div>
    </div>
  )
}
