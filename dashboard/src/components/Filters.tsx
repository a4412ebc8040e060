import { useEffect, useRef, useState, type ReactNode } from 'react'
import { useLocation, useSearchParams } from 'react-router'
import { Search, X } from 'lucide-react'
import { statusLabel } from '../lib/status'

/** The query as it is now: the address bar, not a render's copy of it. A change made right
 * after another (a debounced search committing just after a select) then builds on it
 * instead of putting back what the other just removed. */
function liveParams(): URLSearchParams {
  return new URLSearchParams(window.location.search)
}

/** Updates URL query params (dropping the page cursor, since the result set changes). */
export function useFilterParams() {
  const [params, setParams] = useSearchParams()
  const set = (patch: Record<string, string>, replace = false) => {
    const next = liveParams()
    for (const [k, v] of Object.entries(patch)) {
      if (v) next.set(k, v)
      else next.delete(k)
    }
    next.delete('cursor')
    setParams(next, { replace })
  }
  const clear = (names: string[]) => {
    const next = liveParams()
    for (const n of [...names, 'cursor']) next.delete(n)
    setParams(next)
  }
  return { params, set, clear }
}

/** A text input that writes to the URL after the user stops typing. */
export function DebouncedInput({
  id,
  value,
  onCommit,
  placeholder,
  label,
  delayMs = 300,
  icon,
  testId,
  type = 'search',
}: {
  id: string
  value: string
  onCommit: (v: string) => void
  placeholder?: string
  label: string
  delayMs?: number
  icon?: ReactNode
  testId?: string
  type?: string
}) {
  const [text, setText] = useState(value)
  const committed = useRef(value)
  const onCommitRef = useRef(onCommit)
  onCommitRef.current = onCommit
  // the page this input belongs to: a commit still pending after the user navigated away
  // (the next page may still be loading, with this one mounted) must not pull them back
  const { pathname } = useLocation()

  // follow the URL when it changes from elsewhere (back button, "clear filters")
  useEffect(() => {
    if (value !== committed.current) {
      committed.current = value
      setText(value)
    }
  }, [value])

  useEffect(() => {
    if (text === committed.current) return
    const t = setTimeout(() => {
      if (window.location.pathname !== pathname) return
      committed.current = text
      onCommitRef.current(text)
    }, delayMs)
    return () => clearTimeout(t)
  }, [text, delayMs, pathname])

  return (
    <div className="input-with-icon">
      {icon ?? <Search size={16} aria-hidden className="input-icon" />}
      <input
        id={id}
        type={type}
        className="input"
        value={text}
        placeholder={placeholder}
        aria-label={label}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            committed.current = text
            onCommitRef.current(text)
          }
        }}
        data-testid={testId}
        autoComplete="off"
        spellCheck={false}
      />
      {text && (
        <button
          type="button"
          className="input-clear"
          aria-label={`Clear ${label.toLowerCase()}`}
          onClick={() => {
            setText('')
            committed.current = ''
            onCommitRef.current('')
          }}
        >
          <X size={14} />
        </button>
      )}
    </div>
  )
}

export function SelectFilter({ id, label, value, options, onChange, allLabel = 'All', testId }: { id: string; label: string; value: string; options: readonly string[]; onChange: (v: string) => void; allLabel?: string; testId?: string }) {
  return (
    <label className="select-filter" htmlFor={id}>
      <span className="select-filter-label">{label}</span>
      <select id={id} className="select" value={value} onChange={(e) => onChange(e.target.value)} data-testid={testId}>
        <option value="">{allLabel}</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {statusLabel(o)}
          </option>
        ))}
      </select>
    </label>
  )
}
