import { useEffect, useMemo, useState } from 'react'
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { RotateCcw, Square } from 'lucide-react'
import { useDenied } from '../api/access'
import { endpoints } from '../api/endpoints'
import { errorMessage } from '../api/errors'
import { BulkBar, BulkConfirm } from '../components/Bulk'
import { useToast } from '../components/Toasts'
import { canWiden, isSelected, NONE, runBulkBody, selectedCount, toggle, togglePage, type Selection } from '../lib/selection'
import type { RunFilters } from '../api/endpoints'
import { keys } from '../api/keys'
import { RUN_STATUSES } from '../api/types'
import { DebouncedInput, SelectFilter, useFilterParams } from '../components/Filters'
import { Pagination, useCursorPagination } from '../components/Pagination'
import { RunsTable } from '../components/RunsTable'
import { Button, EmptyState, ErrorState, LoadingBlock, PageHeader } from '../components/ui'
import { formatNumber, formatTotal, isoToLocalInput, localInputToIso, resolveTime, RUN_SORTS, runSortParams } from '../lib/format'
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
  const total = query.data?.total ?? 0
  const pageIds = useMemo(() => (runs ?? []).map((r) => r.id), [runs])
  const [selection, setSelection] = useState<Selection>(NONE)
  const [confirm, setConfirm] = useState<null | 'cancel' | 'retry'>(null)
  const key = JSON.stringify(filters)
  useEffect(() => setSelection(NONE), [key])
  const count = selectedCount(selection, total)
  const qc = useQueryClient()
  const toast = useToast()
  const denied = useDenied()
  const bulk = useMutation({
    mutationFn: (action: 'cancel' | 'retry') => {
      const body = runBulkBody(selection, { job: filters.job, status: filters.status }, action === 'cancel' ? ['queued', 'running'] : ['failed'])
      return action === 'cancel' ? endpoints.bulkCancelRuns(body) : endpoints.bulkRetryRuns(body)
    },
    onSuccess: (r, action) => {
      setConfirm(null)
      setSelection(NONE)
      void qc.invalidateQueries({ queryKey: ['runs'] })
      void qc.invalidateQueries({ queryKey: ['stats'] })
      toast.success(`${action === 'cancel' ? 'Cancelled' : 'Retrying'} ${formatNumber(r.count)} run${r.count === 1 ? '' : 's'}`)
    },
    onError: (e) => toast.error('The bulk action failed', errorMessage(e)),
  })

  return (
    <div className="page">
      <PageHeader title="Runs" subtitle={query.data ? `${formatTotal(query.data.total, query.data.total_exact)} ${filtered ? 'matching' : 'in the history'}` : 'Every execution, newest first.'} />
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
        <label className="select-filter" htmlFor="run-sort">
          <span className="select-filter-label">Order</span>
          <select id="run-sort" className="select" value={filters.sort ? `${filters.sort}:${filters.order || 'desc'}` : ''} onChange={(e) => set(runSortParams(e.target.value))} data-testid="run-sort">
            {RUN_SORTS.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
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
      {confirm && (
        <BulkConfirm
          open
          title={confirm === 'cancel' ? `Cancel up to ${formatNumber(count)} runs?` : `Retry up to ${formatNumber(count)} runs?`}
          confirmLabel={confirm === 'cancel' ? 'Cancel runs' : 'Retry runs'}
          pending={bulk.isPending}
          onClose={() => setConfirm(null)}
          onConfirm={() => bulk.mutate(confirm)}
          body={
            confirm === 'cancel'
              ? `Of the ${formatNumber(count)} selected, the queued ones leave the queue and the running ones are told to stop; finished runs are left as they are. All in one go.`
              : `Of the ${formatNumber(count)} selected, each failed run is queued again as a new attempt; the others are left as they are. All in one go.`
          }
        />
      )}
      <div className="card table-card">
        {query.error && !runs ? (
          <ErrorState error={query.error} onRetry={() => void query.refetch()} />
        ) : !runs ? (
          <LoadingBlock rows={8} />
        ) : runs.length === 0 ? (
          <EmptyState title={filtered ? 'No runs match these filters' : 'No runs yet'}>{filtered ? 'Widen the date range or clear the filters.' : 'Runs appear here as soon as a job fires or is triggered.'}</EmptyState>
        ) : (
          <>
            <BulkBar count={count} total={total} noun="runs" widen={canWiden(selection, pageIds, total)} onWiden={() => setSelection({ kind: 'matching' })} onClear={() => setSelection(NONE)}>
              <Button size="sm" variant="danger" icon={<Square size={14} />} onClick={() => setConfirm('cancel')} data-testid="bulk-cancel" denied={denied('operate', 'cancelling runs')}>
                Cancel queued or running
              </Button>
              <Button size="sm" variant="primary" icon={<RotateCcw size={14} />} onClick={() => setConfirm('retry')} data-testid="bulk-retry" denied={denied('operate', 'retrying runs')}>
                Retry failed
              </Button>
            </BulkBar>
            <RunsTable
              runs={runs}
              testId="runs-table"
              select={{
                isSelected: (id) => isSelected(selection, id),
                toggle: (id) => setSelection((s) => toggle(s, id, pageIds)),
                allOnPage: pageIds.length > 0 && pageIds.every((id) => isSelected(selection, id)),
                togglePage: () => setSelection((s) => togglePage(s, pageIds)),
              }}
            />
          </>
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
