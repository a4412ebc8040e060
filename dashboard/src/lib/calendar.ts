import type { Calendar, CalendarPolicy, PreviewTick, SchedulePreview } from '../api/types'

const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']

/** ISO weekdays (1 = Monday) as a person reads them: runs of three or more become a range. */
export function weekdayLabel(days: readonly number[]): string {
  const sorted = [...new Set(days)].filter((d) => d >= 1 && d <= 7).sort((a, b) => a - b)
  if (sorted.length === 0) return 'no weekday'
  if (sorted.length === 7) return 'every day'
  const parts: string[] = []
  let start = 0
  for (let i = 1; i <= sorted.length; i++) {
    if (i < sorted.length && sorted[i] === (sorted[i - 1] as number) + 1) continue
    const run = sorted.slice(start, i).map((d) => DAY_NAMES[d - 1] as string)
    parts.push(run.length >= 3 ? `${run[0]}–${run[run.length - 1]}` : run.join(', '))
    start = i
  }
  return parts.join(', ')
}

/** "DE-BY", "US", or "none". */
export function holidaysLabel(calendar: Pick<Calendar, 'holidays'>): string {
  const h = calendar.holidays
  if (!h) return 'none'
  return h.subdivision ? `${h.country}-${h.subdivision}` : h.country
}

export const POLICY_LABELS: Record<CalendarPolicy, string> = {
  skip: 'Skip the tick',
  next_business_day: 'Move to the next business day',
}

export interface PreviewRow {
  at: string
  fires: boolean
  reason: string | null
  /** "24 ticks" for a closed day with many, else empty */
  detail: string
}

/** The preview's lines: its ticks (fire times and, under a calendar, the closed days passed
 * over and why), or its plain fire times from a server that sends no ticks. */
export function previewRows(preview: Pick<SchedulePreview, 'next' | 'ticks'>): PreviewRow[] {
  const ticks: PreviewTick[] = preview.ticks?.length ? preview.ticks : preview.next.map((at) => ({ at, fires: true, reason: null, count: 1 }))
  return ticks.map((t) => ({
    at: t.at,
    fires: t.fires,
    reason: t.reason ?? null,
    detail: !t.fires && (t.count ?? 1) > 1 ? `${t.count} ticks` : '',
  }))
}

/** How many of the preview's closed-day lines there are (for a summary). */
export function skippedCount(rows: readonly PreviewRow[]): number {
  return rows.filter((r) => !r.fires).length
}
