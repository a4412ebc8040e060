import { useMemo, useState, type ReactNode } from 'react'
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Link, useNavigate, useParams } from 'react-router'
import { Pause, Play, Trash2 } from 'lucide-react'
import { useDenied } from '../api/access'
import { endpoints } from '../api/endpoints'
import { errorMessage, isApiError } from '../api/errors'
import { keys } from '../api/keys'
import { PIPELINE_RUN_STATUSES, type Pipeline, type PipelineTask } from '../api/pipelineTypes'
import { SelectFilter, useFilterParams } from '../components/Filters'
import { Pagination, useCursorPagination } from '../components/Pagination'
import { PipelineGraph, PipelineLegend, type GraphTask } from '../components/PipelineGraph'
import { useToast } from '../components/Toasts'
import { Button, Card, ConfirmDialog, DefList, EmptyState, ErrorState, LoadingBlock, PageHeader, StatusBadge, Tags, TimeAgo } from '../components/ui'
import { formatDateTime, formatDuration, shortId } from '../lib/format'
import { useDocumentTitle, useMediaQuery } from '../lib/hooks'
import { countsText, dependency, dependencyText } from '../lib/pipeline'
import { pipelineRunLink } from '../lib/pipelineRoutes'
import { rowClickProps } from '../lib/rowClick'

const RUNS_LIMIT = 20

function usePipelineActions(p: Pipeline | undefined, routeKey: string) {
  const qc = useQueryClient()
  const toast = useToast()
  const navigate = useNavigate()
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ['pipeline'] })
    void qc.invalidateQueries({ queryKey: ['pipelines'] })
    void qc.invalidateQueries({ queryKey: ['pipeline-runs'] })
  }
  const trigger = useMutation({
    mutationFn: () => endpoints.triggerPipeline(p?.id as string, p?.namespace),
    onSuccess: (r) => {
      toast.push(
        r.created === false
          ? { tone: 'info', title: `${p?.name} is already ${r.status}`, message: 'Its overlap policy returned the active pipeline run instead of starting another.' }
          : { tone: 'success', title: `Triggered ${p?.name}`, message: `Pipeline run ${shortId(r.id)} is ${r.status}.` },
      )
      refresh()
      navigate(pipelineRunLink(r.id))
    },
    onError: (e) => toast.error(`Could not trigger ${p?.name}`, errorMessage(e)),
  })
  const toggle = useMutation({
    mutationFn: (pause: boolean) => (pause ? endpoints.pausePipeline(p?.id as string, p?.namespace) : endpoints.resumePipeline(p?.id as string, p?.namespace)),
    onSuccess: (updated, pause) => {
      qc.setQueryData<Pipeline>(keys.pipeline(routeKey), (old) => (old ? { ...old, ...updated } : old))
      toast.success(pause ? `Paused ${updated.name}` : `Resumed ${updated.name}`, pause ? 'Its schedule does not fire until you resume it.' : updated.next_run ? `Next run ${formatDateTime(updated.next_run, updated.timezone)}` : undefined)
      refresh()
    },
    onError: (e, pause) => toast.error(`Could not ${pause ? 'pause' : 'resume'} ${p?.name}`, errorMessage(e)),
  })
  return { trigger, toggle }
}

function DeletePipeline({ pipeline, open, onClose }: { pipeline: Pipeline; open: boolean; onClose: () => void }) {
  const qc = useQueryClient()
  const toast = useToast()
  const navigate = useNavigate()
  const [conflict, setConflict] = useState<string | null>(null)
  const del = useMutation({
    mutationFn: (force: boolean) => endpoints.deletePipeline(pipeline.id, pipeline.namespace, force),
    onSuccess: () => {
      toast.success(`Deleted ${pipeline.name}`)
      qc.removeQueries({ queryKey: ['pipeline'] })
      void qc.invalidateQueries({ queryKey: ['pipelines'] })
      void qc.invalidateQueries({ queryKey: ['jobs'] })
      navigate('/pipelines')
    },
    onError: (e) => {
      if (isApiError(e) && e.status === 409) setConflict(e.message)
      else toast.error(`Could not delete ${pipeline.name}`, errorMessage(e))
    },
  })
  return (
    <ConfirmDialog
      open={open}
      title={`Delete ${pipeline.name}?`}
      confirmLabel={conflict ? 'Cancel its run and delete' : 'Delete pipeline'}
      danger
      pending={del.isPending}
      onClose={() => {
        setConflict(null)
        onClose()
      }}
      onConfirm={() => del.mutate(!!conflict)}
    >
      {conflict ? (
        <div className="conflict" role="alert" data-testid="pipeline-delete-conflict">
          <strong>{pipeline.name} is running.</strong>
          <p>{conflict}</p>
          <p>Deleting it anyway cancels the active pipeline run first.</p>
        </div>
      ) : (
        <p>
          This deletes the pipeline, its schedule, its {pipeline.tasks.length} task job{pipeline.tasks.length === 1 ? '' : 's'} ({pipeline.tasks.map((t) => t.job_name).join(', ')}) and their run history. It cannot be undone.
        </p>
      )}
    </ConfirmDialog>
  )
}

function Conditions({ task }: { task: PipelineTask }) {
  if (task.depends_on.length === 0) return <span className="muted">starts first</span>
  return (
    <span className="tag-list">
      {task.depends_on.map(dependency).map((d) => (
        <span key={`${d.job}:${d.on}`} className={`tag pcond pcond-${d.on}`} title={`${task.name} waits for ${d.job} to ${d.on === 'done' ? 'finish' : d.on === 'failure' ? 'fail' : 'succeed'}`}>
          {d.job} · {d.on}
        </span>
      ))}
    </span>
  )
}

function Tasks({ pipeline }: { pipeline: Pipeline }) {
  return (
    <div className="table-scroll">
      <table className="table table-stack" data-testid="pipeline-tasks">
        <caption className="sr-only">Tasks of {pipeline.name}, with the conditions each waits for</caption>
        <thead>
          <tr>
            <th scope="col">Task</th>
            <th scope="col">Type</th>
            <th scope="col">Depends on</th>
            <th scope="col">Trigger rule</th>
            <th scope="col">Job</th>
          </tr>
        </thead>
        <tbody>
          {pipeline.tasks.map((t) => (
            <tr key={t.name} data-testid={`pipeline-task-${t.name}`}>
              <td data-label="Task" className="cell-primary">
                <span className="row-link-text">{t.name}</span>
              </td>
              <td data-label="Type">{t.type}</td>
              <td data-label="Depends on">
                <Conditions task={t} />
                <span className="sr-only">: {dependencyText(t)}</span>
              </td>
              <td data-label="Trigger rule">{t.depends_on.length > 1 ? (t.trigger_rule === 'any' ? 'any upstream condition' : 'all upstream conditions') : <span className="muted">—</span>}</td>
              <td data-label="Job">
                <Link to={`/jobs/${encodeURIComponent(t.job_id)}`} className="plain-link mono">
                  {t.job_name}
                </Link>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

function Runs({ pipeline }: { pipeline: Pipeline }) {
  const { params, set } = useFilterParams()
  const pager = useCursorPagination()
  const f = { status: params.get('status') ?? '', limit: RUNS_LIMIT, cursor: pager.cursor }
  const runs = useQuery({
    queryKey: keys.pipelineRuns(pipeline.id, f),
    queryFn: ({ signal }) => endpoints.pipelineRuns(pipeline.id, f, pipeline.namespace, signal),
    placeholderData: keepPreviousData,
  })
  const navigate = useNavigate()
  const items = runs.data?.items
  return (
    <>
      <div className="filters filters-in-card">
        <SelectFilter id="pipeline-run-status" label="Status" value={f.status} options={PIPELINE_RUN_STATUSES} onChange={(v) => set({ status: v })} testId="pipeline-runs-status" />
      </div>
      {runs.error && !items ? (
        <ErrorState error={runs.error} onRetry={() => void runs.refetch()} />
      ) : !items ? (
        <LoadingBlock rows={4} />
      ) : items.length === 0 ? (
        <EmptyState title={f.status ? `No ${f.status} runs` : 'No runs yet'}>{f.status ? 'Choose another status.' : 'Trigger the pipeline to see its runs here.'}</EmptyState>
      ) : (
        <div className="table-scroll">
          <table className="table table-stack" data-testid="pipeline-runs-table" aria-busy={runs.isFetching}>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Status</th>
                <th scope="col">Tasks</th>
                <th scope="col">Trigger</th>
                <th scope="col">Started</th>
                <th scope="col">Duration</th>
              </tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <tr key={r.id} data-testid={`pipeline-run-row-${r.id}`} {...rowClickProps(navigate, pipelineRunLink(r.id))}>
                  <td data-label="Run" className="cell-primary">
                    <Link to={pipelineRunLink(r.id)} className="row-link mono" title={r.id}>
                      {shortId(r.id)}
                    </Link>
                  </td>
                  <td data-label="Status">
                    <StatusBadge status={r.status} size="sm" />
                  </td>
                  <td data-label="Tasks">{countsText(r.task_counts) || <span className="muted">—</span>}</td>
                  <td data-label="Trigger">{r.trigger}</td>
                  <td data-label="Started">
                    <TimeAgo iso={r.started_at ?? r.scheduled_for ?? r.queued_at} past />
                  </td>
                  <td data-label="Duration" className="mono">
                    {formatDuration(r.duration)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {items && (items.length > 0 || pager.hasPrev) && (
        <Pagination page={pager.page} limit={RUNS_LIMIT} count={items.length} total={runs.data?.total} nextCursor={runs.data?.next_cursor} onNext={pager.next} onPrev={pager.prev} hasPrev={pager.hasPrev} fetching={runs.isFetching} exact={pager.exact} noun="runs" />
      )}
    </>
  )
}

function Configuration({ pipeline: p }: { pipeline: Pipeline }) {
  const items: [string, ReactNode][] = [
    ['Schedule', p.schedule ? <code className="mono" key="s">{p.schedule}</code> : <span className="muted">none (manual)</span>],
    ['Time zone', p.timezone],
    ['Calendar', p.calendar ? <span key="cal"><Link to="/calendars">{p.calendar}</Link> · {p.calendar_policy === 'next_business_day' ? 'next business day' : 'skip closed days'}</span> : <span className="muted">—</span>],
    ['On overlap', p.on_overlap.replace('_', ' ')],
    ['Catch-up', p.catchup],
    ['Tags', <Tags key="t" tags={p.tags} />],
    ['Namespace', p.namespace],
    ['Created', formatDateTime(p.created_at, p.timezone)],
    ['Updated', formatDateTime(p.updated_at, p.timezone)],
    ['ID', <code className="mono" key="id">{p.id}</code>],
  ]
  return <DefList items={items} />
}

export default function PipelineDetail() {
  const { ref = '' } = useParams()
  const query = useQuery({ queryKey: keys.pipeline(ref), queryFn: ({ signal }) => endpoints.pipeline(ref, signal) })
  const p = query.data
  useDocumentTitle(p?.name ?? 'Pipeline')
  const { trigger, toggle } = usePipelineActions(p, ref)
  const denied = useDenied()
  const [deleting, setDeleting] = useState(false)
  const narrow = useMediaQuery('(max-width: 720px)')
  const graphTasks = useMemo<GraphTask[]>(() => (p ? p.tasks.map((t) => ({ name: t.name, depends_on: t.depends_on, trigger_rule: t.trigger_rule ?? null, detail: `${t.type} job`, href: `/jobs/${encodeURIComponent(t.job_id)}` })) : []), [p])

  if (query.error && !p) {
    return (
      <div className="page">
        <PageHeader kicker={<Link to="/pipelines" className="back-link">← Pipelines</Link>} title="Pipeline" />
        <ErrorState error={query.error} title={isApiError(query.error) && query.error.status === 404 ? `No pipeline called “${ref}”` : undefined} onRetry={() => void query.refetch()} />
      </div>
    )
  }
  if (!p) {
    return (
      <div className="page">
        <LoadingBlock rows={10} />
      </div>
    )
  }
  return (
    <div className="page">
      <PageHeader
        kicker={
          <Link to="/pipelines" className="back-link">
            ← Pipelines
          </Link>
        }
        title={
          <span className="title-with-badge">
            {p.name}
            <span className={`badge badge-md badge-${p.enabled ? 'success' : 'neutral'}`} data-testid="pipeline-enabled" data-enabled={p.enabled}>
              <span className="badge-dot" aria-hidden />
              {p.enabled ? 'Enabled' : 'Paused'}
            </span>
          </span>
        }
        subtitle={p.description || `${p.tasks.length} task${p.tasks.length === 1 ? '' : 's'}${p.schedule ? ` · ${p.schedule} (${p.timezone})` : ' · triggered by hand'}`}
        actions={
          <>
            <Button variant="primary" icon={<Play size={16} />} pending={trigger.isPending} onClick={() => trigger.mutate()} data-testid="pipeline-trigger-button" denied={denied('operate', 'triggering', p.namespace)}>
              Trigger now
            </Button>
            {p.enabled ? (
              <Button icon={<Pause size={16} />} pending={toggle.isPending} onClick={() => toggle.mutate(true)} data-testid="pipeline-pause-button" denied={denied('operate', 'pausing a pipeline', p.namespace)}>
                Pause
              </Button>
            ) : (
              <Button icon={<Play size={16} />} pending={toggle.isPending} onClick={() => toggle.mutate(false)} data-testid="pipeline-resume-button" denied={denied('operate', 'resuming a pipeline', p.namespace)}>
                Resume
              </Button>
            )}
            <Button variant="danger" icon={<Trash2 size={16} />} onClick={() => setDeleting(true)} data-testid="pipeline-delete-button" aria-label={`Delete ${p.name}`} denied={denied('admin', 'deleting a pipeline', p.namespace)}>
              Delete
            </Button>
          </>
        }
      />
      {!p.enabled && (
        <div className="banner banner-neutral" role="status">
          This pipeline is paused: its schedule does not fire. Manual triggers still work.
        </div>
      )}

      <div className="stat-grid">
        <div className="stat-card">
          <div className="stat-label">Next run</div>
          <div className="stat-value stat-value-sm" data-testid="pipeline-next-run">
            {p.enabled && p.next_run ? <TimeAgo iso={p.next_run} /> : p.enabled ? '—' : 'Paused'}
          </div>
          <div className="stat-sub">{p.enabled && p.next_run ? formatDateTime(p.next_run, p.timezone) : p.schedule ? 'schedule not firing' : 'no schedule'}</div>
        </div>
        <div className="stat-card">
          <div className="stat-label">Last run</div>
          <div className="stat-value stat-value-sm">
            {p.last_run ? (
              <Link to={pipelineRunLink(p.last_run.id)} className="plain-link">
                <StatusBadge status={p.last_run.status} testId="pipeline-last-status" />
              </Link>
            ) : (
              '—'
            )}
          </div>
          <div className="stat-sub">{p.last_run ? countsText(p.last_run.task_counts) || formatDateTime(p.last_run.queued_at) : 'never ran'}</div>
        </div>
        <div className="stat-card">
          <div className="stat-label">Tasks</div>
          <div className="stat-value stat-value-sm">{p.tasks.length}</div>
          <div className="stat-sub">on overlap: {p.on_overlap.replace('_', ' ')} · catch-up {p.catchup}</div>
        </div>
      </div>

      <Card title="Tasks" id="tasks">
        <PipelineGraph tasks={graphTasks} direction={narrow ? 'TB' : 'LR'} label={`Tasks of ${p.name}`} />
        <PipelineLegend statuses={false} />
        <Tasks pipeline={p} />
      </Card>

      <div className="grid-2-1">
        <Card title="Runs" id="runs" bodyClass="flush">
          <Runs pipeline={p} />
        </Card>
        <Card title="Configuration" id="config">
          <Configuration pipeline={p} />
        </Card>
      </div>

      <DeletePipeline pipeline={p} open={deleting} onClose={() => setDeleting(false)} />
    </div>
  )
}
