import { useCallback, useMemo } from 'react'
import { useLocation, useNavigate, useSearchParams } from 'react-router'
import { ChevronLeft, ChevronRight } from 'lucide-react'
import { formatNumber } from '../lib/format'
import { Button, Spinner } from './ui'

interface CursorState {
  cursors?: string[]
}

/**
 * Keyset pagination kept in the URL: `cursor` is the current page's cursor,
 * and the cursors of the pages before it travel in the history state, so
 * Back/Forward and Prev/Next agree and filters never load every row.
 */
export function useCursorPagination() {
  const [params] = useSearchParams()
  const location = useLocation()
  const navigate = useNavigate()
  const cursor = params.get('cursor') ?? ''
  const stack = useMemo(() => {
    const s = (location.state as CursorState | null)?.cursors
    return Array.isArray(s) ? s : []
  }, [location.state])

  const go = useCallback(
    (nextCursor: string, cursors: string[]) => {
      const p = new URLSearchParams(params)
      if (nextCursor) p.set('cursor', nextCursor)
      else p.delete('cursor')
      const qs = p.toString()
      navigate({ search: qs ? `?${qs}` : '' }, { state: { cursors } })
    },
    [params, navigate],
  )

  const next = useCallback((nextCursor: string) => go(nextCursor, [...stack, cursor]), [go, stack, cursor])
  const prev = useCallback(() => {
    const before = stack.slice(0, -1)
    go(stack[stack.length - 1] ?? '', before)
  }, [go, stack])

  // a page opened from a link with ?cursor= has no history: "Prev" goes to the first page
  const page = cursor ? Math.max(stack.length, 1) : 0
  return { cursor, page, hasPrev: cursor !== '', next, prev, exact: !cursor || stack.length > 0 }
}

export function Pagination({
  page,
  limit,
  count,
  total,
  nextCursor,
  onNext,
  onPrev,
  hasPrev,
  fetching,
  exact = true,
  noun = 'items',
}: {
  page: number
  limit: number
  count: number
  total: number | undefined
  nextCursor: string | null | undefined
  onNext: (cursor: string) => void
  onPrev: () => void
  hasPrev: boolean
  fetching?: boolean
  exact?: boolean
  noun?: string
}) {
  const from = count === 0 ? 0 : page * limit + 1
  const to = page * limit + count
  return (
    <nav className="pagination" aria-label="Pagination">
      <div className="pagination-info" aria-live="polite">
        {fetching && <Spinner size={14} />}
        {count === 0 ? (
          <span>No {noun}</span>
        ) : exact ? (
          <span>
            <strong>{formatNumber(from)}</strong>–<strong>{formatNumber(to)}</strong> of <strong>{formatNumber(total ?? to)}</strong> {noun}
          </span>
        ) : (
          <span>
            {formatNumber(count)} shown of <strong>{formatNumber(total ?? count)}</strong> {noun}
          </span>
        )}
      </div>
      <div className="pagination-buttons">
        <Button size="sm" onClick={onPrev} disabled={!hasPrev} icon={<ChevronLeft size={16} />} aria-label="Previous page">
          Previous
        </Button>
        <Button size="sm" onClick={() => nextCursor && onNext(nextCursor)} disabled={!nextCursor} aria-label="Next page">
          Next
          <ChevronRight size={16} aria-hidden />
        </Button>
      </div>
    </nav>
  )
}
