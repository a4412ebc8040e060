import { useMemo, useState, type ReactNode } from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Link, useNavigate, useParams } from 'react-router'
import { BellOff, BellRing, Pause, Pencil, Play, Trash2, Workflow } from 'lucide-react'
import { useLive } from '../live/LiveProvider'
import { useDenied } from '../api/access'
import { endpoints } from '../api/endpoints'
import { errorMessage, isApiError } from '../api/errors'
import { keys } from '../api/keys'
import type { JobDetail as JobDetailT } from '../api/types'
import { DagView, RunDurationChart } from '../components/LazyCharts'
import { RunsTable } from '../components/RunsTable'
import { SkippedTicks } from '../components/SkippedTicks'
import { useToast } from '../components/Toasts'
import { Button, Card, ConfirmDialog, DefList, EmptyState, ErrorState, JsonBlock, LoadingBlock, PageHeader, StatusBadge, Tags, TimeAgo } from '../components/ui'
import { formatDateTime, formatDuration, formatNumber, formatPercent } from '../lib/format'
import { jobLink } from '../lib/namespace'
import { neighborhood } from '../lib/dag'
import { useDocumentTitle, useMediaQuery } from '../lib/hooks'
import { dependencyRow, parseJsonObject } from '../lib/jobform'
import { slaBadges } from '../lib/alerts'
import { JobTypeIcon, jobTarget } from '../components/JobType'

function useJobActions(job: JobDetailT | undefined, routeKey: string) {
  const qc = useQueryClient()
  const toast = useToast()
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ['job'] })
    void qc.invalidateQueries({ queryKey: ['jobs'] })
    void qc.invalidateQueries({ queryKey: ['job-runs'] })
    void qc.invalidateQueries({ queryKey: ['runs'] })
    void qc.invalidateQueries({ queryKey: ['stats'] })
    void qc.invalidateQueries({ queryKey: ['dag'] })
  }
  const trigger = useMutation({
    mutationFn: (parameters?: Record<string, unknown>) => endpoints.triggerJob(job?.id as string, parameters),
    onSuccess: (r) => {
      toast.push(
        r.created === false
          ? { tone: 'info', title: `${job?.name} is already ${r.status}`, message: 'Its overlap policy returned the existing run instead of starting another.', link: { to: `/runs/${r.run_id}`, label: 'View run' } }
          : { tone: 'success', title: `Triggered ${job?.name}`, message: `Run ${r.run_id} is ${r.status}.`, link: { to: `/runs/${r.run_id}`, label: 'View run' } },
      )
      refresh()
    },
    onError: (e) => toast.error(`Could not trigger ${job?.name}`, errorMessage(e)),
  })
  const toggle = useMutation({
    mutationFn: (pause: boolean) => (pause ? endpoints.pauseJob(job?.id as string) : endpoints.resumeJob(job?.id as string)),
    onSuccess: (updated, pause) => {
      qc.setQueryData<JobDetailT>(keys.job(routeKey), (old) => (old ? { ...old, ...updated, stats: old.stats, recent_runs: old.recent_runs, dependents: old.dependents } : old))
      toast.success(pause ? `Paused ${updated.name}` : `Resumed ${updated.name}`, pause ? 'Scheduled runs will not fire until you resume it.' : updated.next_run ? `Next run ${formatDateTime(updated.next_run, updated.timezone)}` : undefined)
      refresh()
    },
    onError: (e, pause) => toast.error(`Could not ${pause ? 'pause' : 'resume'} ${job?.name}`, errorMessage(e)),
  })
  return { trigger, toggle, refresh }
}

function TriggerWithParams({ job, open, onClose, onTrigger, pending }: { job: JobDetailT; open: boolean; onClose: () => void; onTrigger: (p: Record<string, unknown>) => void; pending: boolean }) {
  const [text, setText] = useState(() => JSON.stringify(job.parameters ?? {}, null, 2))
  const parsed = parseJsonObject(text)
  return (
    <ConfirmDialog open={open} title={`Trigger ${job.name} with parameters`} confirmLabel="Trigger" onClose={onClose} pending={pending} onConfirm={() => parsed.value && onTrigger(parsed.value)}>
      <label className="field-label" htmlFor="trigger-params">
        Parameters for this run (JSON object)
      </label>
      <textarea id="trigger-params" className="input mono code-input" rows={8} value={text} onChange={(e) => setText(e.target.value)} aria-invalid={!!parsed.error} spellCheck={false} />
      {parsed.error && (
        <div className="field-error" role="alert">
          {parsed.error}
        </div>
      )}
    </ConfirmDialog>
  )
}

function DeleteJob({ job, open, onClose }: { job: JobDetailT; open: boolean; onClose: () => void }) {
  const qc = useQueryClient()
  const toast = useToast()
  const navigate = useNavigate()
  const [conflict, setConflict] = useState<string | null>(null)
  const del = useMutation({
    mutationFn: (force: boolean) => endpoints.deleteJob(job.id, force),
    onSuccess: () => {
      toast.success(`Deleted ${job.name}`)
      qc.removeQueries({ queryKey: ['job'] })
      void qc.invalidateQueries({ queryKey: ['jobs'] })
      void qc.invalidateQueries({ queryKey: ['dag'] })
      void qc.invalidateQueries({ queryKey: ['stats'] })
      navigate('/jobs')
    },
    onError: (e) => {
      if (isApiError(e) && e.status === 409) setConflict(e.message)
      else toast.error(`Could not delete ${job.name}`, errorMessage(e))
    },
  })
  return (
    <ConfirmDialog
      open={open}
      title={`Delete ${job.name}?`}
      confirmLabel={conflict ? 'Delete anyway' : 'Delete job'}
      danger
      pending={del.isPending}
      onClose={() => {
        setConflict(null)
        onClose()
      }}
      onConfirm={() => del.mutate(!!conflict)}
    >
      {conflict ? (
        <div className="conflict" role="alert" data-testid="delete-conflict">
          <strong>Other jobs depend on {job.name}.</strong>
          <p>{conflict}</p>
          {job.dependents.length > 0 && (
            <p>
              Dependents:{' '}
              {job.dependents.map((d, i) => (
                <span key={d}>
                  {i > 0 && ', '}
                  <Link to={jobLink(d, job.namespace)}>{d}</Link>
                </span>
              ))}
            </p>
          )}
          <p>Deleting it anyway leaves them without this upstream job.</p>
        </div>
      ) : (
        <p>
          This deletes the job, its schedule and its run history. It cannot be undone.
          {job.dependents.length > 0 && (
            <>
              {' '}
              <strong>
                {job.dependents.length} job{job.dependents.length > 1 ? 's depend' : ' depends'} on it: {job.dependents.join(', ')}.
              </strong>
            </>
          )}
        </p>
      )}
    </ConfirmDialog>
  )
}

function Configuration({ job }: { job: JobDetailT }) {
  const items: [string, ReactNode][] = [
    ['Type', <span className="inline-flex" key="t"><JobTypeIcon type={job.type} /> {job.type}</span>],
    [job.type === 'python' ? 'Function' : job.type === 'shell' ? 'Command' : 'Request', <code className="mono wrap" key="target">{jobTarget(job)}</code>],
    ['Schedule', job.schedule ? <span key="s"><code className="mono">{job.schedule}</code> {job.schedule_type && <span className="pill">{job.schedule_type}</span>}</span> : <span className="muted">none</span>],
    ['Time zone', job.timezone],
    ['Calendar', job.calendar ? <span key="cal"><Link to="/calendars">{job.calendar}</Link> · {job.calendar_policy === 'next_business_day' ? 'next business day' : 'skip closed days'}</span> : <span className="muted">—</span>],
    ['Depends on', job.depends_on.length ? (
      <span key="d" className="link-list" data-testid="job-depends-on">
        {job.depends_on.map(dependencyRow).map((d) => (
          <span key={d.job}>
            <Link to={jobLink(d.job, job.namespace)}>{d.job}</Link>
            {d.on !== 'success' && <span className={`pill dep-on dep-on-${d.on}`}>{d.on === 'failure' ? 'on failure' : 'when done'}</span>}
          </span>
        ))}
        {job.depends_on.length > 1 && <span className="muted">{job.trigger_rule === 'any' ? 'any of them' : 'all of them'}</span>}
      </span>
    ) : <span className="muted">—</span>],
    ['Dependents', job.dependents.length ? <span key="dd" className="link-list">{job.dependents.map((d) => <Link key={d} to={jobLink(d, job.namespace)}>{d}</Link>)}</span> : <span className="muted">—</span>],
    ['Tags', <Tags key="tags" tags={job.tags} />],
    ['Worker tags', <Tags key="wt" tags={job.worker_tags} variant="worker" />],
    ['Timeout', formatDuration(job.timeout)],
    ['Retries', `${job.retries} · ${job.backoff} from ${formatDuration(job.retry_delay)} (max ${formatDuration(job.max_retry_delay)})`],
    ['Concurrency', `${job.concurrency} · on overlap: ${job.on_overlap.replace('_', ' ')}`],
    ['Catch-up', job.catchup],
    ['Start deadline', job.start_deadline ? formatDuration(job.start_deadline) : '—'],
    ['Jitter', job.jitter ? formatDuration(job.jitter) : '—'],
    ['Priority', String(job.priority)],
  ]
  if (job.type === 'python') items.push(['Isolation', job.isolation])
  items.push(['Delivery', job.delivery === 'at_most_once' ? 'at most once' : 'at least once'])
  items.push(['Created', formatDateTime(job.created_at, job.timezone)], ['Updated', formatDateTime(job.updated_at, job.timezone)], ['ID', <code className="mono" key="id">{job.id}</code>])
  return (
    <>
      <DefList items={items} />
      <h3 className="subheading">Parameters</h3>
      <JsonBlock value={job.parameters} />
    </>
  )
}

export default function JobDetail() {
  const { id = '' } = useParams()
  const job = useQuery({ queryKey: keys.job(id), queryFn: ({ signal }) => endpoints.job(id, signal) })
  const j = job.data
  useDocumentTitle(j?.name ?? 'Job')
  const chartFilter = { limit: 100 }
  const history = useQuery({
    queryKey: keys.jobRuns(j?.id, chartFilter),
    queryFn: ({ signal }) => endpoints.jobRuns(j?.id as string, chartFilter, signal),
    enabled: !!j,
  })
  const dag = useQuery({ queryKey: ['dag', j?.namespace], queryFn: ({ signal }) => endpoints.dag(signal, j?.namespace), enabled: !!j && (j.depends_on.length > 0 || j.dependents.length > 0), staleTime: 10_000 })
  const sub = useMemo(() => (dag.data && j ? neighborhood(dag.data, j.name) : null), [dag.data, j])
  const { trigger, toggle } = useJobActions(j, id)
  const { watched, toggleWatch } = useLive()
  const denied = useDenied()
  const [dialog, setDialog] = useState<'delete' | 'params' | null>(null)
  const narrow = useMediaQuery('(max-width: 720px)')
  const watchesSla = !!j && (!!j.sla || !!j.expect_every)
  const breaches = useQuery({
    queryKey: keys.events(j?.id ? `${j.id}:sla` : undefined),
    queryFn: ({ signal }) => endpoints.events({ job: j?.id, type: ['sla.breached', 'job.silent'], limit: 50 }, signal),
    enabled: watchesSla,
  })
  const sla = j ? slaBadges(j, breaches.data ?? []) : []

  if (job.error && !j) {
    return (
      <div className="page">
        <PageHeader kicker={<Link to="/jobs" className="back-link">← Jobs</Link>} title="Job" />
        <ErrorState error={job.error} title={isApiError(job.error) && job.error.status === 404 ? `No job called “${id}”` : undefined} onRetry={() => void job.refetch()} />
      </div>
    )
  }
  if (!j) {
    return (
      <div className="page">
        <LoadingBlock rows={10} />
      </div>
    )
  }
  const stats = j.stats
  return (
    <div className="page">
      <PageHeader
        kicker={
          <Link to="/jobs" className="back-link">
            ← Jobs
          </Link>
        }
        title={
          <span className="title-with-badge">
            {j.name}
            <span data-testid={`job-status-${j.name}`} className="inline-flex">
              <StatusBadge status={j.status} testId="job-status" />
            </span>
          </span>
        }
        subtitle={
          <span className="inline-flex">
            <JobTypeIcon type={j.type} />
            <code className="mono">{jobTarget(j)}</code>
            {sla.length > 0 && (
              <span className="sla-badges" data-testid="sla-badges">
                {sla.map((b) => (
                  <span key={b.label} className={`badge badge-${b.tone} badge-sm`} title={b.title} data-testid="sla-badge" data-tone={b.tone}>
                    <span className="badge-dot" aria-hidden />
                    {b.label}
                  </span>
                ))}
              </span>
            )}
          </span>
        }
        actions={
          <>
            <Button variant="primary" icon={<Play size={16} />} pending={trigger.isPending} onClick={() => trigger.mutate(undefined)} data-testid="trigger-button" denied={denied('operate', 'triggering', j.namespace)}>
              Trigger now
            </Button>
            <Button variant="ghost" onClick={() => setDialog('params')} disabled={trigger.isPending} data-testid="trigger-params-button" denied={denied('operate', 'triggering', j.namespace)}>
              With parameters…
            </Button>
            <Button variant="ghost" icon={watched.has(j.id) ? <BellOff size={16} /> : <BellRing size={16} />} onClick={() => toggleWatch(j.id)} aria-pressed={watched.has(j.id)} data-testid="watch-button" title={watched.has(j.id) ? 'Failures of this job toast on every page' : 'Toast failures of this job on every page, not only here'}>
              {watched.has(j.id) ? 'Watching' : 'Watch'}
            </Button>
            {j.pipeline_id && (
              // a pipeline's task: changed, paused and deleted only through its pipeline
              <Link to={`/pipelines/${encodeURIComponent(j.pipeline_id)}`} className="btn btn-secondary btn-md" data-testid="job-pipeline-button">
                <Workflow size={16} aria-hidden />
                <span>Open its pipeline</span>
              </Link>
            )}
            {!j.pipeline_id && (<>
            {j.enabled ? (
              <Button icon={<Pause size={16} />} pending={toggle.isPending} onClick={() => toggle.mutate(true)} data-testid="pause-button" denied={denied('operate', 'pausing a job', j.namespace)}>
                Pause
              </Button>
            ) : (
              <Button icon={<Play size={16} />} pending={toggle.isPending} onClick={() => toggle.mutate(false)} data-testid="resume-button" denied={denied('operate', 'resuming a job', j.namespace)}>
                Resume
              </Button>
            )}
            {denied('admin', 'editing a job', j.namespace) ? (
              <Button icon={<Pencil size={16} />} data-testid="edit-button" denied={denied('admin', 'editing a job', j.namespace)}>
                Edit
              </Button>
            ) : (
              <Link to={`/jobs/${encodeURIComponent(j.id)}/edit`} className="btn btn-secondary btn-md" data-testid="edit-button">
                <Pencil size={16} aria-hidden />
                <span>Edit</span>
              </Link>
            )}
            <Button variant="danger" icon={<Trash2 size={16} />} onClick={() => setDialog('delete')} data-testid="delete-button" aria-label={`Delete ${j.name}`} denied={denied('admin', 'deleting a job', j.namespace)}>
              Delete
            </Button>
            </>)}
          </>
        }
      />
      {j.description && <p className="job-description">{j.description}</p>}
      {j.pipeline_id && (
        <div className="banner banner-neutral" role="status" data-testid="job-pipeline-banner">
          This job is a task of a <Link to={`/pipelines/${encodeURIComponent(j.pipeline_id)}`}>pipeline</Link>: it is changed, paused and deleted through the pipeline, and runs as its rules allow.
        </div>
      )}
      {!j.enabled && (
        <div className="banner banner-neutral" role="status">
          This job is paused: its schedule does not fire. Manual triggers still work.
        </div>
      )}

      <div className="stat-grid stat-grid-5">
        <div className="stat-card">
          <div className="stat-label">Success rate</div>
          <div className={`stat-value${stats.success_rate !== null && stats.success_rate < 0.9 ? ' text-danger' : ''}`} data-testid="job-success-rate">
            {formatPercent(stats.success_rate, stats.success_rate !== null && stats.success_rate < 1 ? 1 : 0)}
          </div>
          <div className="stat-sub">
            {formatNumber(stats.completed)} completed · {formatNumber(stats.failed)} failed
          </div>
        </div>
        <div className="stat-card">
          <div className="stat-label">Failure rate</div>
          <div className="stat-value" data-testid="job-failure-rate">
            {stats.total_runs > 0 ? formatPercent(stats.failed / stats.total_runs, stats.failed > 0 ? 1 : 0) : '—'}
          </div>
          <div className="stat-sub">of {formatNumber(stats.total_runs)} runs</div>
        </div>
        <div className="stat-card">
          <div className="stat-label">Average duration</div>
          <div className="stat-value" data-testid="job-avg-duration">
            {formatDuration(stats.avg_duration)}
          </div>
          <div className="stat-sub">timeout {formatDuration(j.timeout)}</div>
        </div>
        <div className="stat-card">
          <div className="stat-label">Next run</div>
          <div className="stat-value stat-value-sm" data-testid="job-next-run">
            {j.enabled && j.next_run ? <TimeAgo iso={j.next_run} /> : j.enabled ? '—' : 'Paused'}
          </div>
          <div className="stat-sub">{j.enabled && j.next_run ? <span data-testid="job-next-run-at">{formatDateTime(j.next_run, j.timezone)}</span> : j.schedule ? 'schedule not firing' : 'no schedule'}</div>
        </div>
        <div className="stat-card">
          <div className="stat-label">Last run</div>
          <div className="stat-value stat-value-sm">
            <TimeAgo iso={j.last_run_at} />
          </div>
          <div className="stat-sub">{j.last_run_at ? formatDateTime(j.last_run_at, j.timezone) : 'never ran'}</div>
        </div>
      </div>

      <div className="grid-2-1">
        <div className="stack">
          <Card title="Duration and outcome" id="duration" actions={<span className="muted small">last {history.data?.runs.length ?? j.recent_runs.length} runs</span>}>
            {(history.data?.runs ?? j.recent_runs).length > 0 ? <RunDurationChart runs={history.data?.runs ?? j.recent_runs} /> : <EmptyState title="No runs yet">Trigger the job to see its history here.</EmptyState>}
          </Card>
          <Card title="Recent runs" id="recent" bodyClass="flush" actions={<Link to={`/runs?job=${encodeURIComponent(j.name)}`} className="card-link">All runs</Link>}>
            {j.recent_runs.length === 0 ? <EmptyState title="No runs yet" /> : <RunsTable runs={j.recent_runs} showJob={false} showWorker={false} testId="recent-runs" />}
          </Card>
          <Card title="Skipped and missed ticks" id="skipped">
            <SkippedTicks job={j.id} />
          </Card>
        </div>
        <Card title="Configuration" id="config">
          <Configuration job={j} />
        </Card>
      </div>

      <Card title="Dependencies" id="dag" actions={<Link to="/dag" className="card-link">Whole graph</Link>}>
        {j.depends_on.length === 0 && j.dependents.length === 0 ? (
          <EmptyState title="No dependencies">This job neither waits for other jobs nor triggers any.</EmptyState>
        ) : dag.error ? (
          <ErrorState error={dag.error} />
        ) : sub && sub.nodes.length > 0 ? (
          <DagView dag={sub} highlight={j.name} maxHeight={480} direction={narrow ? 'TB' : 'LR'} />
        ) : (
          <LoadingBlock rows={3} />
        )}
      </Card>

      <DeleteJob job={j} open={dialog === 'delete'} onClose={() => setDialog(null)} />
      {dialog === 'params' && (
        <TriggerWithParams
          job={j}
          open
          onClose={() => setDialog(null)}
          pending={trigger.isPending}
          onTrigger={(p) => trigger.mutate(p, { onSuccess: () => setDialog(null) })}
        />
      )}
    </div>
  )
}
