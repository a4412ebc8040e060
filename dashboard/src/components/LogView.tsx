import { useEffect, useLayoutEffect, useRef, useState } from 'react'
import { ArrowDownToLine, Check, Copy } from 'lucide-react'
import { capLog } from '../live/events'

/** A terminal-style output pane that follows new output while scrolled to the bottom. */
export function LogView({ text, stream, truncated, live, testId, emptyText }: { text: string; stream: 'stdout' | 'stderr'; truncated?: boolean; live?: boolean; testId?: string; emptyText?: string }) {
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
        {shown || <span className="log-empty">{emptyText ?? `No ${stream} output.`}</span>}
      </pre>
    </div>
  )
}
