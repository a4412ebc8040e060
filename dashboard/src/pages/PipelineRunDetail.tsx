import { useMemo, useState } from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Link, useParams } from 'react-router'
import { RotateCcw, Square } from 'lucide-react'
import { useDenied } from '../api/access'
import { endpoints } from '../api/endpoints'
import { errorMessage, isApiError } from '../api/errors'
import { keys } from '../api/keys'
import type { PipelineRun, TaskRun } from '../api/pipelineTypes'
import { PipelineGantt } from '../components/PipelineGantt'
import { PipelineGraph, PipelineLegend, type GraphTask } from '../components/PipelineGraph'
import { useToast } from '../components/Toasts'
import { Button, Card, ConfirmDialog, DefList, ErrorState, LoadingBlock, PageHeader, StatusBadge, TimeAgo } from '../components/ui'
import { useLive } from '../live/LiveProvider'
import { formatDateTime, formatDuration, shortId } from '../lib/format'
import { useDocumentTitle, useMediaQuery, useNow } from '../lib/hooks'
import { countsText, isActivePipelineRun, isActiveTask, pollInterval, taskLabel, taskTone } from '../lib/pipeline'

const BADGE: Record<string, string> = { neutral: 'neutral', queued: 'queued', info: 'info', success: 'success', danger: 'danger', muted: 'muted', skipped: 'muted' }

function TaskBadge({ task }: { task: TaskRun }) {
  return (
    <span className={`badge badge-sm badge-${BADGE[taskTone(task.status)] ?? 'neutral'}`} data-testid={`task-status-${task.name}`} data-status={task.status}>
      <span className={`badge-dot${task.status === 'running' ? ' pulse' : ''}`} aria-hidden />
      {taskLabel(task.status)}
    </span>
  )
}

/** The runs a task had before a retry of the pipeline run (its latest is the row's link). */
function EarlierRuns({ task }: { task: TaskRun }) {
  const earlier = (task.runs ?? []).filter((r) => r !== task.run_id)
  if (earlier.length === 0) return null
  return (
    <span className="ptask-earlier" data-testid={`task-earlier-${task.name}`}>
      before the retry:{' '}
      {earlier.map((r, i) => (
        <span key={r}>
          {i > 0 && ', '}
          <Link to={`/runs/${encodeURIComponent(r)}`} className="mono">
            {shortId(r)}
          </Link>
        </span>
      ))}
    </span>
  )
}

function TaskTable({ run, now }: { run: PipelineRun; now: number }) {
  return (
    <div className="table-scroll">
      <table className="table table-stack" data-testid="pipeline-run-tasks">
        <thead>
          <tr>
            <th scope="col">Task</th>
            <th scope="col">Status</th>
            <th scope="col">Attempt</th>
            <th scope="col">Started</th>
            <th scope="col">Duration</th>
          </tr>
        </thead>
        <tbody>
          {run.tasks.map((t) => (
            <tr key={t.name} data-testid={`pipeline-run-task-${t.name}`}>
              <td data-label="Task" className="cell-primary">
                <span className="name-text">
                  {t.run_id ? (
                    <Link to={`/runs/${encodeURIComponent(t.run_id)}`} className="row-link" data-testid={`task-link-${t.name}`}>
                      {t.name}
                    </Link>
                  ) : (
                    <span>{t.name}</span>
                  )}
                  <EarlierRuns task={t} />
                </span>
              </td>
              <td data-label="Status">
                <span className="name-text">
                  <TaskBadge task={t} />
                  {t.reason && <span className="ptask-reason" data-testid={`task-reason-${t.name}`}>{t.reason}</span>}
                </span>
              </td>
              <td data-label="Attempt" className="mono">
                {t.attempt ?? <span className="muted">—</span>}
              </td>
              <td data-label="Started">{t.started_at ? <TimeAgo iso={t.started_at} past /> : <span className="muted">—</span>}</td>
              <td data-label="Duration" className="mono">
                {t.duration !== null ? formatDuration(t.duration) : t.status === 'running' && t.started_at ? formatDuration(Math.max(0, (now - Date.parse(t.started_at)) / 1000)) : '—'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

export default function PipelineRunDetail() {
  const { id = '' } = useParams()
  const { live, state } = useLive()
  const qc = useQueryClient()
  const toast = useToast()
  const query = useQuery({
    queryKey: keys.pipelineRun(id),
    queryFn: ({ signal }) => endpoints.pipelineRun(id, signal),
    refetchInterval: (q) => pollInterval(live, state === 'open', q.state.data?.status),
  })
  const run = query.data
  useDocumentTitle(run ? `${run.pipeline_name} · ${shortId(run.id)}` : 'Pipeline run')
  const ticking = !!run && run.tasks.some((t) => isActiveTask(t.status) && (t.queued_at || t.started_at))
  const now = useNow(1000, ticking)
  const narrow = useMediaQuery('(max-width: 720px)')
  const denied = useDenied()
  const [confirmCancel, setConfirmCancel] = useState(false)
  const graphTasks = useMemo<GraphTask[]>(
    () => (run ? run.tasks.map((t) => ({ name: t.name, depends_on: t.depends_on, trigger_rule: t.trigger_rule ?? null, status: t.status, reason: t.reason, href: t.run_id ? `/runs/${encodeURIComponent(t.run_id)}` : null })) : []),
    [run],
  )

  const after = (updated: PipelineRun, verb: string) => {
    qc.setQueryData<PipelineRun>(keys.pipelineRun(id), (old) => (old ? { ...old, ...updated, tasks: updated.tasks ?? old.tasks } : old))
    void qc.invalidateQueries({ queryKey: keys.pipelineRun(id) })
    void qc.invalidateQueries({ queryKey: ['pipeline-runs'] })
    void qc.invalidateQueries({ queryKey: ['pipelines'] })
    void qc.invalidateQueries({ queryKey: ['runs'] })
    toast.success(`${verb} ${updated.pipeline_name}`, `Pipeline run ${shortId(updated.id)}`)
  }
  const cancel = useMutation({
    mutationFn: () => endpoints.cancelPipelineRun(id),
    onSuccess: (r) => {
      setConfirmCancel(false)
      after(r, r.status === 'cancelled' ? 'Cancelled' : 'Cancelling')
    },
    onError: (e) => toast.error('Could not cancel the pipeline run', errorMessage(e)),
  })
  const retry = useMutation({
    mutationFn: () => endpoints.retryPipelineRun(id),
    onSuccess: (r) => after(r, 'Retrying the failed tasks of'),
    onError: (e) => toast.error('Could not retry the pipeline run', errorMessage(e)),
  })

  if (query.error && !run) {
    return (
      <div className="page">
        <PageHeader kicker={<Link to="/pipelines" className="back-link">← Pipelines</Link>} title="Pipeline run" />
        <ErrorState error={query.error} title={isApiError(query.error) && query.error.status === 404 ? `No pipeline run called “${id}”` : undefined} onRetry={() => void query.refetch()} />
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
  const active = isActivePipelineRun(run.status)
  const failedTasks = run.tasks.filter((t) => t.status === 'failed' || t.status === 'cancelled' || t.status === 'skipped').length
  const counts = countsText(run.task_counts ?? Object.fromEntries(run.tasks.map((t) => [t.status, run.tasks.filter((u) => u.status === t.status).length])))
  const pipelineHref = `/pipelines/${encodeURIComponent(run.pipeline_id)}`
  return (
    <div className="page">
      <PageHeader
        kicker={
          <Link to={pipelineHref} className="back-link">
            ← {run.pipeline_name}
          </Link>
        }
        title={
          <span className="title-with-badge">
            <span>
              <Link to={pipelineHref} className="title-link">
                {run.pipeline_name}
              </Link>
              <span className="title-sep"> / </span>
              <span className="mono title-id" title={run.id}>
                {shortId(run.id, 12)}
              </span>
            </span>
            <StatusBadge status={run.status} testId="pipeline-run-status" />
          </span>
        }
        subtitle={
          <span data-testid="pipeline-run-counts">
            {run.trigger} run{run.scheduled_for && <> · for {formatDateTime(run.scheduled_for)}</>}
            {counts && <> · {counts}</>}
          </span>
        }
        actions={
          <>
            {active && (
              <Button variant="danger" icon={<Square size={15} />} pending={cancel.isPending} onClick={() => setConfirmCancel(true)} data-testid="pipeline-cancel-button" denied={denied('operate', 'cancelling a pipeline run', run.namespace)}>
                Cancel
              </Button>
            )}
            {(run.status === 'failed' || run.status === 'cancelled') && (
              <Button variant="primary" icon={<RotateCcw size={16} />} pending={retry.isPending} onClick={() => retry.mutate()} data-testid="pipeline-retry-button" denied={denied('operate', 'retrying a pipeline run', run.namespace)} title={`Run the ${failedTasks} task${failedTasks === 1 ? '' : 's'} that failed, were cancelled or skipped again (new runs); completed tasks are kept`}>
                Retry failed
              </Button>
            )}
          </>
        }
      />
      <ConfirmDialog
        open={confirmCancel}
        title={`Cancel this run of ${run.pipeline_name}?`}
        confirmLabel="Cancel pipeline run"
        cancelLabel="Keep going"
        danger
        pending={cancel.isPending}
        onClose={() => setConfirmCancel(false)}
        onConfirm={() => cancel.mutate()}
      >
        <p>Its queued and running tasks are cancelled, and the tasks still waiting never start.</p>
      </ConfirmDialog>
      {run.error && run.status !== 'completed' && (
        <div className={`banner ${run.status === 'failed' ? 'banner-danger' : ''}`} role={run.status === 'failed' ? 'alert' : 'status'} data-testid="pipeline-run-error">
          {run.error.toLowerCase().startsWith(run.status) ? (
            <strong>{run.error.charAt(0).toUpperCase() + run.error.slice(1)}</strong>
          ) : (
            <>
              <strong>{taskLabel(run.status)}:</strong> {run.error}
            </>
          )}
        </div>
      )}

      <Card title="Tasks" id="graph" actions={<span className="muted small">{active ? 'live' : run.finished_at ? `finished ${formatDateTime(run.finished_at)}` : ''}</span>}>
        <PipelineGraph tasks={graphTasks} direction={narrow ? 'TB' : 'LR'} label={`Tasks of ${run.pipeline_name} in this run`} />
        <PipelineLegend />
      </Card>

      <Card title="Timeline" id="timeline">
        <PipelineGantt tasks={run.tasks} now={now} runStart={run.started_at ?? run.queued_at} maxTicks={narrow ? 3 : 6} runQueued={run.status === 'queued'} />
      </Card>

      <div className="grid-2-1">
        <Card title="Task runs" id="task-runs" bodyClass="flush">
          <TaskTable run={run} now={now} />
        </Card>
        <Card title="Details" id="details">
          <DefList
            items={[
              ['Pipeline', <Link key="p" to={pipelineHref}>{run.pipeline_name}</Link>],
              ['Status', <StatusBadge key="s" status={run.status} size="sm" />],
              ['Trigger', run.trigger],
              ['Queued', <TimeAgo key="q" iso={run.queued_at} />],
              ['Started', run.started_at ? <TimeAgo key="st" iso={run.started_at} /> : '—'],
              ['Finished', run.finished_at ? <TimeAgo key="f" iso={run.finished_at} /> : '—'],
              ['Duration', formatDuration(run.duration)],
              ['Namespace', run.namespace],
              ['Run ID', <code key="id" className="mono wrap">{run.id}</code>],
            ]}
          />
        </Card>
      </div>
    </div>
  )
}
