import { useEffect, useLayoutEffect, useRef, useState, type ReactNode } from 'react'
import { ArrowDownToLine, Check, Copy, Download } from 'lucide-react'
import { capLog } from '../live/events'
import { matchingLines } from '../lib/logs'

/** A terminal-style output pane that follows new output while scrolled to the bottom. */
function Highlight({ line, query }: { line: string; query: string }) {
  const parts: ReactNode[] = []
  const lower = line.toLowerCase()
  const q = query.toLowerCase()
  let at = 0
  for (let i = lower.indexOf(q); i >= 0 && q; i = lower.indexOf(q, i + q.length)) {
    parts.push(line.slice(at, i), <mark key={i}>{line.slice(i, i + q.length)}</mark>)
    at = i + q.length
  }
  parts.push(line.slice(at))
  return <>{parts}</>
}

export function LogView({ text, stream, truncated, live, testId, emptyText, fileName }: { text: string; stream: 'stdout' | 'stderr'; truncated?: boolean; live?: boolean; testId?: string; emptyText?: string; fileName?: string }) {
  const [query, setQuery] = useState('')
  const matches = query ? matchingLines(text, query) : null
  const ref = useRef<HTMLPreElement>(null)
  const [follow, setFollow] = useState(true)
  const [copied, setCopied] = useState(false)
  const shown = capLog(text)

  useLayoutEffect(() => {
    const el = ref.current
    if (el && follow) el.scrollTop = el.scrollHeight
  }, [shown, follow])

  useEffect(() => {
    if (!copied) return
    const t = setTimeout(() => setCopied(false), 1500)
    return () => clearTimeout(t)
  }, [copied])

  const onScroll = () => {
    const el = ref.current
    if (!el) return
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 24
    if (atBottom !== follow) setFollow(atBottom)
  }

  return (
    <div className={`log log-${stream}`}>
      <div className="log-head">
        <span className="log-title">{stream}</span>
        {live && (
          <span className="log-live" title="Streaming live">
            <span className="conn-dot pulse" aria-hidden /> live
          </span>
        )}
        {truncated && <span className="pill pill-warning">truncated</span>}
        <span className="log-spacer" />
        {!follow && text && (
          <button
            type="button"
            className="log-btn"
            onClick={() => {
              setFollow(true)
              const el = ref.current
              if (el) el.scrollTop = el.scrollHeight
            }}
          >
            <ArrowDownToLine size={14} aria-hidden /> Follow
          </button>
        )}
        {text && (
          <input
            type="search"
            className="log-search"
            placeholder="Search"
            aria-label={`Search ${stream}`}
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            data-testid={testId ? `${testId}-search` : undefined}
          />
        )}
        {matches && (
          <span className="log-count" aria-live="polite" data-testid={testId ? `${testId}-matches` : undefined}>
            {matches.length} {matches.length === 1 ? 'line' : 'lines'}
          </span>
        )}
        {text && (
          <a
            className="log-btn"
            href={`data:text/plain;charset=utf-8,${encodeURIComponent(text)}`}
            download={fileName ?? `${stream}.log`}
            aria-label={`Download ${stream}`}
            data-testid={testId ? `${testId}-download` : undefined}
          >
            <Download size={14} aria-hidden /> Download
          </a>
        )}
        {text && (
          <button
            type="button"
            className="log-btn"
            aria-label={`Copy ${stream}`}
            onClick={() => {
              void navigator.clipboard?.writeText(text).then(() => setCopied(true))
            }}
          >
            {copied ? <Check size={14} aria-hidden /> : <Copy size={14} aria-hidden />} {copied ? 'Copied' : 'Copy'}
          </button>
        )}
      </div>
      <pre ref={ref} className="log-body" data-testid={testId} onScroll={onScroll} tabIndex={0} aria-label={`${stream} output`} aria-live={live ? 'off' : undefined}>
        {matches
          ? matches.length === 0
            ? <span className="log-empty">No line holds “{query}”.</span>
            : matches.map((m) => (
                <span key={m.n} className="log-match">
                  <span className="log-lineno" aria-hidden>{m.n}</span>
                  <Highlight line={m.line} query={query} />
                  {'\n'}
                </span>
              ))
          : shown || <span className="log-empty">{emptyText ?? `No ${stream} output.`}</span>}
      </pre>
    </div>
  )
}
