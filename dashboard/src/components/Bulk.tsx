import { useState, type ReactNode } from 'react'
import { ConfirmDialog } from './ui'
import { formatNumber } from '../lib/format'

/** Above a table while rows are ticked: how many, "select all N matching", the actions. */
export function BulkBar({ count, total, widen, onWiden, onClear, noun, children }: { count: number; total: number; widen: boolean; onWiden: () => void; onClear: () => void; noun: string; children: ReactNode }) {
  if (count === 0) return null
  return (
    <div className="bulk-bar" role="region" aria-label="Selected rows" data-testid="bulk-bar">
      <span data-testid="bulk-count">
        {formatNumber(count)} {noun} selected
      </span>
      {widen && (
        <button type="button" className="btn btn-ghost btn-sm" onClick={onWiden} data-testid="bulk-widen">
          Select all {formatNumber(total)} matching this filter
        </button>
      )}
      <span className="bulk-spacer" />
      {children}
      <button type="button" className="btn btn-ghost btn-sm" onClick={onClear}>
        Clear selection
      </button>
    </div>
  )
}

/** The confirmation of a bulk action, saying how many rows it touches; a note if asked. */
export function BulkConfirm({ open, title, body, confirmLabel, withNote, noteLabel = 'Note (optional, kept with each one)', pending, onConfirm, onClose }: { open: boolean; title: string; body: ReactNode; confirmLabel: string; withNote?: boolean; noteLabel?: string; pending?: boolean; onConfirm: (note: string) => void; onClose: () => void }) {
  const [note, setNote] = useState('')
  return (
    <ConfirmDialog open={open} title={title} confirmLabel={confirmLabel} pending={pending} onClose={onClose} onConfirm={() => onConfirm(note)}>
      <p data-testid="bulk-consequence">{body}</p>
      {withNote && (
        <label className="field" htmlFor="bulk-note">
          <span className="field-label">{noteLabel}</span>
          <textarea id="bulk-note" className="input" rows={2} value={note} onChange={(e) => setNote(e.target.value)} data-testid="bulk-note" />
        </label>
      )}
    </ConfirmDialog>
  )
}
