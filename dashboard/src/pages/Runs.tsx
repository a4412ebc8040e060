import { keepPreviousData, useQuery } from '@tanstack/react-query'
import type { RunFilters } from '../api/endpoints'
import { keys } from '../api/keys'
import { RUN_STATUSES } from '../api/types'
import { DebouncedInput, SelectFilter, useFilterParams } from '../components/Filters'
import { Pagination, useCursorPagination } from '../components/Pagination'
import { RunsTable } from '../components/RunsTable'
import { Button, EmptyState, ErrorState, LoadingBlock, PageHeader } from '../components/ui'
import { isoToLocalInput, localInputToIso, resolveTime } from '../lib/format'
import { useDocumentTitle } from '../lib/hooks'
import { fetchRuns, PAGE_SIZES, runFiltersFrom } from '../lib/routeData'

const FILTER_NAMES = ['status', 'job', 'since', 'until']

// kept relative in the URL (since=-24h): a bookmark or a reload means the same window again
const RANGES = [
  { label: 'Last hour', since: '-1h', until: '' },
  { label: '24h', since: '-24h', until: '' },
  { label: '7 days', since: '-7d', until: '' },
  { label: 'Today', since: 'today', until: '' },
  { label: 'Yesterday', since: 'yesterday', until: 'today' },
]

export default function Runs() {
  useDocumentTitle('Runs')
  const { params, set, clear } = useFilterParams()
  const pager = useCursorPagination()
  const filters: RunFilters = runFiltersFrom(params)
  const query = useQuery({
    queryKey: keys.runs(filters),
    queryFn: ({ signal }) => fetchRuns(filters, signal),
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
          <input id="run-since" type="datetime-local" className="input input-date" value={isoToLocalInput(resolveTime(filters.since))} onChange={(e) => set({ since: localInputToIso(e.target.value) })} data-testid="filter-since" />
        </label>
        <label className="select-filter" htmlFor="run-until">
          <span className="select-filter-label">To</span>
          <input id="run-until" type="datetime-local" className="input input-date" value={isoToLocalInput(resolveTime(filters.until))} onChange={(e) => set({ until: localInputToIso(e.target.value) })} data-testid="filter-until" />
        </label>
        <div className="quick-ranges" role="group" aria-label="Quick date ranges">
          {RANGES.map((r) => (
            <button key={r.label} type="button" className="preset" aria-pressed={filters.since === r.since && (filters.until ?? '') === r.until} onClick={() => set({ since: r.since, until: r.until })} data-testid={`range-${r.since}`}>
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
            limit={filters.limit ?? 50}
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
        {runs && (
          <div className="page-size">
            <label htmlFor="run-page-size">Rows per page</label>
            <select id="run-page-size" className="select select-sm" value={filters.limit} onChange={(e) => set({ limit: e.target.value === '50' ? '' : e.target.value })} data-testid="page-size">
              {PAGE_SIZES.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </div>
        )}
      </div>
    </div>
  )
}
