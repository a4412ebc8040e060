import type { DeadLetterBulk, RunBulk, RunStatus } from '../api/types'

/** Rows picked one by one, or "everything matching this filter" (beyond the page on screen). */
export type Selection = { kind: 'ids'; ids: ReadonlySet<string> } | { kind: 'matching' }

export const NONE: Selection = { kind: 'ids', ids: new Set() }

export function toggle(sel: Selection, id: string, pageIds: readonly string[]): Selection {
  // leaving "all matching" by unticking one row: keep the rest of the page ticked
  const ids = new Set(sel.kind === 'ids' ? sel.ids : pageIds)
  if (ids.has(id)) ids.delete(id)
  else ids.add(id)
  return { kind: 'ids', ids }
}

export function togglePage(sel: Selection, pageIds: readonly string[]): Selection {
  if (sel.kind === 'matching' || pageIds.every((id) => sel.ids.has(id))) return NONE
  return { kind: 'ids', ids: new Set(pageIds) }
}

export function isSelected(sel: Selection, id: string): boolean {
  return sel.kind === 'matching' || sel.ids.has(id)
}

/** How many rows the action will touch: the ticked ones, or all `total` matching. */
export function selectedCount(sel: Selection, total: number): number {
  return sel.kind === 'matching' ? total : sel.ids.size
}

/** The whole page is ticked and more match than it shows: offer "all N matching". */
export function canWiden(sel: Selection, pageIds: readonly string[], total: number): boolean {
  return sel.kind === 'ids' && pageIds.length > 0 && pageIds.every((id) => sel.ids.has(id)) && total > pageIds.length
}

export function runBulkBody(sel: Selection, filter: { job?: string; status?: string }, statuses: RunStatus[]): RunBulk {
  if (sel.kind === 'ids') return { ids: [...sel.ids] }
  const status = filter.status ? statuses.filter((s) => s === filter.status) : statuses
  return { filter: { ...(filter.job ? { job: filter.job } : {}), status } }
}

export function deadLetterBulkBody(action: 'replay' | 'resolve', sel: Selection, filter: { job?: string; error?: string }, note?: string): DeadLetterBulk {
  const base = { action, ...(note?.trim() ? { note: note.trim() } : {}) }
  return sel.kind === 'ids' ? { ...base, ids: [...sel.ids] } : { ...base, filter }
}
