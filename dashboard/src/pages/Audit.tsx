import { useQuery } from '@tanstack/react-query'
import { Link, useSearchParams } from 'react-router'
import { endpoints } from '../api/endpoints'
import { isApiError } from '../api/errors'
import { keys } from '../api/keys'
import type { AuditEntry } from '../api/types'
import { DebouncedInput } from '../components/Filters'
import { EmptyState, ErrorState, LoadingBlock, PageHeader, TimeAgo } from '../components/ui'
import { formatDateTime } from '../lib/format'
import { useDocumentTitle } from '../lib/hooks'

const LIMIT = 50

/** Where an audited target lives in the dashboard, if it has a page. */
function targetLink(e: AuditEntry) {
  const t = e.target
  if (!t) return <span className="muted">—</span>
  if (e.action.startsWith('runs-')) return <Link to={`/runs/${encodeURIComponent(t)}`} className="mono">{t}</Link>
  if (e.action.startsWith('jobs-') && e.action !== 'jobs-delete') return <Link to={`/jobs/${encodeURIComponent(t)}`} className="mono">{t}</Link>
  return <span className="mono">{t}</span>
}

export default function Audit() {
  useDocumentTitle('Audit log')
  const [params, setParams] = useSearchParams()
  const actor = params.get('actor') ?? ''
  const action = params.get('action') ?? ''
  const before = Number(params.get('before')) || undefined
  const filters = { actor: actor || undefined, action: action || undefined, before, limit: LIMIT }
  const query = useQuery({ queryKey: keys.audit(filters), queryFn: ({ signal }) => endpoints.audit(filters, signal) })
  const set = (next: Record<string, string | undefined>) => {
    const p = new URLSearchParams(params)
    for (const [k, v] of Object.entries(next)) {
      if (v) p.set(k, v)
      else p.delete(k)
    }
    p.delete('before')
    setParams(p)
  }
  const list = query.data
  const forbidden = isApiError(query.error) && query.error.status === 403
  return (
    <div className="page">
      <PageHeader title="Audit log" subtitle="Who created, changed, deleted, triggered, cancelled, paused or resumed what, and when. Newest first." />
      <div className="filters">
        <DebouncedInput id="audit-actor" label="Actor" placeholder="Token name…" value={actor} onCommit={(v) => set({ actor: v })} testId="audit-actor" />
        <DebouncedInput id="audit-action" label="Action" placeholder="e.g. jobs-trigger" value={action} onCommit={(v) => set({ action: v })} testId="audit-action" />
      </div>
      <div className="card table-card">
        {query.error && !list ? (
          <ErrorState error={query.error} title={forbidden ? 'Only admin tokens can read the audit log' : undefined} onRetry={forbidden ? undefined : () => void query.refetch()} />
        ) : !list ? (
          <LoadingBlock rows={6} />
        ) : list.length === 0 ? (
          <EmptyState title="Nothing recorded">{actor || action ? 'No entry matches these filters.' : 'Changes made through the API appear here.'}</EmptyState>
        ) : (
          <div className="table-scroll">
            <table className="table table-stack" data-testid="audit-table">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                </tr>
              </thead>
              <tbody>
                {list.map((e) => (
                  <tr key={e.id} data-testid={`audit-row-${e.id}`}>
                    <td data-label="When" title={formatDateTime(e.at)}>
                      <TimeAgo iso={e.at} past />
                    </td>
                    <td data-label="Actor">
                      {e.actor} {e.role && <span className="pill">{e.role}</span>}
                    </td>
                    <td data-label="Action" className="mono">{e.action}</td>
                    <td data-label="Target">{targetLink(e)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {list && (before || list.length === LIMIT) && (
          <div className="pagination">
            {before && (
              <button type="button" className="btn btn-ghost" onClick={() => set({})}>
                Newest
              </button>
            )}
            {list.length === LIMIT && (
              <button type="button" className="btn btn-ghost" data-testid="audit-older" onClick={() => setParams((p) => { const n = new URLSearchParams(p); n.set('before', String(list[list.length - 1]!.id)); return n })}>
                Older entries
              </button>
            )}
          </div>
        )}
      </div>
    </div>
  )
}
