import { keepPreviousData, useMutation, useQuery } from '@tanstack/react-query'
import { Link, useNavigate } from 'react-router'
import { rowClickProps } from '../lib/rowClick'
import { Play, Plus, Tag } from 'lucide-react'
import { useDenied } from '../api/access'
import { endpoints, type JobFilters } from '../api/endpoints'
import { errorMessage } from '../api/errors'
import { keys } from '../api/keys'
import { JOB_STATUSES, SCHEDULE_TYPES, type Job } from '../api/types'
import { DebouncedInput, SelectFilter, useFilterParams } from '../components/Filters'
import { JobTypeIcon, jobTarget } from '../components/JobType'
import { NamespaceBadge, useAllNamespaces } from '../components/NamespaceSwitch'
import { Pagination, useCursorPagination } from '../components/Pagination'
import { useToast } from '../components/Toasts'
import { Button, EmptyState, ErrorState, LoadingBlock, PageHeader, StatusBadge, Tags, TimeAgo } from '../components/ui'
import { useDocumentTitle } from '../lib/hooks'
import { jobFiltersFrom } from '../lib/routeData'
import { formatTotal } from '../lib/format'
import { describeDependencies } from '../lib/jobform'

const LIMIT = 50
const FILTER_NAMES = ['q', 'status', 'tag', 'schedule_type']

function TriggerCell({ job }: { job: Job }) {
  const toast = useToast()
  const denied = useDenied()
  const m = useMutation({
    mutationFn: () => endpoints.triggerJob(job.id),
    onSuccess: (r) =>
      toast.push(
        r.created === false
          ? { tone: 'info', title: `${job.name} is already ${r.status}`, message: 'Its overlap policy returned the existing run.', link: { to: `/runs/${r.run_id}`, label: 'View run' } }
          : { tone: 'success', title: `Triggered ${job.name}`, message: `Run ${r.run_id} is ${r.status}.`, link: { to: `/runs/${r.run_id}`, label: 'View run' } },
      ),
    onError: (e) => toast.error(`Could not trigger ${job.name}`, errorMessage(e)),
  })
  return (
    <Button size="sm" variant="ghost" icon={<Play size={14} />} pending={m.isPending} onClick={() => m.mutate()} aria-label={`Run ${job.name} now`} data-testid={`job-trigger-${job.name}`} denied={denied('operate', 'triggering', job.namespace)}>
      Run
    </Button>
  )
}

export default function Jobs() {
  useDocumentTitle('Jobs')
  const { params, set, clear } = useFilterParams()
  const pager = useCursorPagination()
  const filters: JobFilters = jobFiltersFrom(params)
  const query = useQuery({
    queryKey: keys.jobs(filters),
    queryFn: ({ signal }) => endpoints.jobs(filters, signal),
    placeholderData: keepPreviousData,
  })
  const filtered = FILTER_NAMES.some((n) => params.get(n))
  const jobs = query.data?.jobs
  const cannotCreate = useDenied()('admin', 'creating a job')
  const navigate = useNavigate()
  const allNs = useAllNamespaces()

  return (
    <div className="page">
      <PageHeader
        title="Jobs"
        subtitle={query.data ? `${formatTotal(query.data.total, query.data.total_exact)} ${filtered ? 'matching' : 'defined'}` : 'Every job tickwork knows about.'}
        actions={
          cannotCreate ? (
            <Button variant="primary" icon={<Plus size={16} />} data-testid="new-job" denied={cannotCreate}>
              New job
            </Button>
          ) : (
            <Link to="/jobs/new" className="btn btn-primary btn-md" data-testid="new-job">
              <Plus size={16} aria-hidden />
              <span>New job</span>
            </Link>
          )
        }
      />
      <div className="filters" role="search" aria-label="Filter jobs">
        <DebouncedInput id="job-search" label="Search jobs by name" placeholder="Search by name…" value={filters.q ?? ''} onCommit={(v) => set({ q: v }, true)} testId="job-search" />
        <SelectFilter id="job-status" label="Status" value={filters.status ?? ''} options={JOB_STATUSES} onChange={(v) => set({ status: v })} testId="filter-status" />
        <SelectFilter id="job-schedule" label="Schedule" value={filters.schedule_type ?? ''} options={[...SCHEDULE_TYPES, 'none']} onChange={(v) => set({ schedule_type: v })} testId="filter-schedule-type" />
        <div className="filter-tag">
          <DebouncedInput id="job-tag" label="Tag" placeholder="Tag" value={filters.tag ?? ''} onCommit={(v) => set({ tag: v.trim() }, true)} icon={<Tag size={15} aria-hidden className="input-icon" />} testId="filter-tag" type="text" />
        </div>
        {filtered && (
          <Button variant="ghost" size="sm" onClick={() => clear(FILTER_NAMES)}>
            Clear filters
          </Button>
        )}
      </div>

      <div className="card table-card">
        {query.error && !jobs ? (
          <ErrorState error={query.error} onRetry={() => void query.refetch()} />
        ) : !jobs ? (
          <LoadingBlock rows={8} />
        ) : jobs.length === 0 ? (
          filtered ? (
            <EmptyState title="No jobs match these filters">Try another search or clear the filters.</EmptyState>
          ) : (
            <EmptyState title="No jobs yet">
              {cannotCreate ? (
                'An admin creates jobs here or with POST /api/jobs.'
              ) : (
                <>
                  <Link to="/jobs/new">Create the first job</Link> or use <code>POST /api/jobs</code>.
                </>
              )}
            </EmptyState>
          )
        ) : (
          <div className="table-scroll">
            <table className="table table-stack" data-testid="jobs-table" aria-busy={query.isFetching}>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  {allNs && <th scope="col">Namespace</th>}
                  <th scope="col">Status</th>
                  <th scope="col">Schedule</th>
                  <th scope="col">Next run</th>
                  <th scope="col">Last run</th>
                  <th scope="col">Tags</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {jobs.map((job) => (
                  <tr key={job.id} data-testid={`job-row-${job.name}`} {...rowClickProps(navigate, `/jobs/${encodeURIComponent(job.id)}`, job.enabled ? undefined : 'row-disabled')}>
                    <td data-label="Name" className="cell-primary">
                      <div className="name-cell">
                        <JobTypeIcon type={job.type} />
                        <div className="name-text">
                          <Link to={`/jobs/${encodeURIComponent(job.id)}`} className="row-link">
                            {job.name}
                          </Link>
                          <span className="cell-sub mono" title={jobTarget(job)}>
                            {jobTarget(job)}
                          </span>
                          {job.pipeline_id && (
                            <Link to={`/pipelines/${encodeURIComponent(job.pipeline_id)}`} className="cell-sub plain-link" data-testid={`job-pipeline-${job.name}`}>
                              a task of a pipeline
                            </Link>
                          )}
                        </div>
                      </div>
                    </td>
                    {allNs && (
                      <td data-label="Namespace">
                        <NamespaceBadge namespace={job.namespace} />
                      </td>
                    )}
                    <td data-label="Status">
                      <StatusBadge status={job.status} testId={`job-status-${job.name}`} />
                    </td>
                    <td data-label="Schedule">
                      {job.schedule ? (
                        <span className="schedule-cell">
                          <code className="mono">{job.schedule}</code>
                          {job.schedule_type && <span className="pill">{job.schedule_type}</span>}
                        </span>
                      ) : (
                        <span className="muted">{job.depends_on.length ? `after ${describeDependencies(job.depends_on, job.trigger_rule)}` : 'manual'}</span>
                      )}
                    </td>
                    <td data-label="Next run">{job.enabled ? <TimeAgo iso={job.next_run} /> : <span className="muted">paused</span>}</td>
                    <td data-label="Last run">
                      <TimeAgo iso={job.last_run_at} past />
                    </td>
                    <td data-label="Tags">
                      <Tags tags={job.tags} />
                    </td>
                    <td className="cell-actions">
                      <TriggerCell job={job} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {jobs && (jobs.length > 0 || pager.hasPrev) && (
          <Pagination
            page={pager.page}
            limit={LIMIT}
            count={jobs.length}
            total={query.data?.total}
            nextCursor={query.data?.next_cursor}
            onNext={pager.next}
            onPrev={pager.prev}
            hasPrev={pager.hasPrev}
            fetching={query.isFetching}
            exact={pager.exact}
            noun="jobs"
          />
        )}
      </div>
    </div>
  )
}
