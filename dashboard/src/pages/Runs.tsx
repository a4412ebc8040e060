import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { endpoints, type RunFilters } from '../api/endpoints'
import { keys } from '../api/keys'
import { RUN_STATUSES } from '../api/types'
import { DebouncedInput, SelectFilter, useFilterParams } from '../components/Filters'
import { Pagination, useCursorPagination } from '../components/Pagination'
import { RunsTable } from '../components/RunsTable'
import { Button, EmptyState, ErrorState, LoadingBlock, PageHeader } from '../components/ui'
import { isoToLocalInput, localInputToIso } from '../lib/format'
import { useDocumentTitle } from '../lib/hooks'
import { runFiltersFrom } from '../lib/routeData'

const LIMIT = 50
const FILTER_NAMES = ['status', 'job', 'since', 'until']

const RANGES = [
  { label: 'Last hour', hours: 1 },
  { label: '24h', hours: 24 },
  { label: '7 days', hours: 24 * 7 },
]

export default function Runs() {
  useDocumentTitle('Runs')
  const { params, set, clear } = useFilterParams()
  const pager = useCursorPagination()
  const filters: RunFilters = runFiltersFrom(params)
  const query = useQuery({
    queryKey: keys.runs(filters),
    queryFn: ({ signal }) => endpoints.runs(filters, signal),
    placeholderData: keepPreviousData,
  })
  const filtered = FILTER_NAMES.some((n) => params.get(n))
  const runs = query.data?.runs

  return (
    <div className="page">
      <PageHeader title="Runs" subtitle={query.data ? `${query.data.total.toLocaleString()} ${filtered ? 'matching' : 'in the history'}` : 'Every execution, newest first.'} />
      <div className="filters" role="search" aria-label="Filter runs">
        <DebouncedInput id="run-job" label="Job name or id" placeholder="Job name or id…" value={filters.job ?? ''} onCommit={(v) => set({ job: v.trim() }, true)} testId="filter-job" />
        <SelectFilter id="run-status" label="Status" value={filters.status ?? ''} options={RUN_STATUSES} onChange={(v) => set({ status: v })} testId="filter-status" />
        <label className="select-filter" htmlFor="run-since">
          <span className="select-filter-label">From</span>
          <input id="run-since" type="datetime-local" className="input input-date" value={isoToLocalInput(filters.since)} onChange={(e) => set({ since: localInputToIso(e.target.value) })} data-testid="filter-since" />
        </label>
        <label className="select-filter" htmlFor="run-until">
          <span className="select-filter-label">To</span>
          <input id="run-until" type="datetime-local" className="input input-date" value={isoToLocalInput(filters.until)} onChange={(e) => set({ until: localInputToIso(e.target.value) })} data-testid="filter-until" />
        </label>
        <div className="quick-ranges" role="group" aria-label="Quick date ranges">
          {RANGES.map((r) => (
            <button key={r.hours} type="button" className="preset" onClick={() => set({ since: new Date(Date.now() - r.hours * 3600_000).toISOString(), until: '' })}>
              {r.label}
            </button>
          ))}
        </div>
        {filtered && (
          <Button variant="ghost" size="sm" onClick={() => clear(FILTER_NAMES)}>
            Clear filters
          </Button>
        )}
      </div>
      <div className="card table-card">
        {query.error && !runs ? (
          <ErrorState error={query.error} onRetry={() => void query.refetch()} />
        ) : !runs ? (
          <LoadingBlock rows={8} />
        ) : runs.length === 0 ? (
          <EmptyState title={filtered ? 'No runs match these filters' : 'No runs yet'}>{filtered ? 'Widen the date range or clear the filters.' : 'Runs appear here as soon as a job fires or is triggered.'}</EmptyState>
        ) : (
          <RunsTable runs={runs} testId="runs-table" />
        )}
        {runs && (runs.length > 0 || pager.hasPrev) && (
          <Pagination
            page={pager.page}
            limit={LIMIT}
            count={runs.length}
            total={query.data?.total}
            nextCursor={query.data?.next_cursor}
            onNext={pager.next}
            onPrev={pager.prev}
            hasPrev={pager.hasPrev}
            fetching={query.isFetching}
            exact={pager.exact}
            noun="runs"
          />
        )}
      </div>
    </div>
  )
}
