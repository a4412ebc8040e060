import { zoneChoice, zoneFor } from './timezone'

const DASH = '—'

/** Human duration from seconds: 0.35 → "350ms", 45.2 → "45.2s", 125 → "2m 5s", 3725 → "1h 2m". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return DASH
  if (seconds < 1) {
    const ms = Math.round(seconds * 1000)
    return ms >= 1000 ? '1.0s' : `${ms}ms`
  }
  if (seconds < 10) return `${(Math.floor(seconds * 100) / 100).toFixed(2)}s`
  if (seconds < 60) return `${(Math.floor(seconds * 10) / 10).toFixed(1)}s`
  const total = Math.floor(seconds)
  const d = Math.floor(total / 86400)
  const h = Math.floor((total % 86400) / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`
  return s > 0 ? `${m}m ${s}s` : `${m}m`
}

/** Compact clock-style elapsed time for progress displays: 65 → "1:05", 3725 → "1:02:05". */
export function formatClock(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds))
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  const pad = (n: number) => String(n).padStart(2, '0')
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`
}

/** Relative time: "just now", "5s ago", "3m ago", "in 2h", "4d ago". */
export function formatRelative(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return DASH
  const t = Date.parse(iso)
  if (Number.isNaN(t)) return DASH
  const diff = Math.round((t - now) / 1000)
  const abs = Math.abs(diff)
  if (abs < 5) return diff <= 0 ? 'just now' : 'in a few seconds'
  let text: string
  if (abs < 60) text = `${abs}s`
  else if (abs < 3600) text = `${Math.floor(abs / 60)}m`
  else if (abs < 86400) text = `${Math.floor(abs / 3600)}h`
  else if (abs < 86400 * 60) text = `${Math.floor(abs / 86400)}d`
  else if (abs < 86400 * 365 * 2) text = `${Math.floor(abs / (86400 * 30))}mo`
  else text = `${Math.floor(abs / (86400 * 365))}y`
  return diff < 0 ? `${text} ago` : `in ${text}`
}

const LONG: Intl.DateTimeFormatOptions = { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short' }
const SHORT: Intl.DateTimeFormatOptions = { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' }
const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter(options: Intl.DateTimeFormatOptions, timeZone: string | undefined): Intl.DateTimeFormat {
  const key = `${options === LONG ? 'long' : 'short'}|${timeZone ?? ''}`
  let f = formatters.get(key)
  if (!f) {
    try {
      f = new Intl.DateTimeFormat(undefined, { ...options, timeZone })
    } catch {
      f = new Intl.DateTimeFormat(undefined, options) // an unknown zone: the browser's
    }
    formatters.set(key, f)
  }
  return f
}

/**
 * Absolute date-time with its zone, e.g. "Jan 16, 2026, 09:00:00 AM EST", in the zone the
 * Local / UTC / Job zone switch picks (`jobZone`: the job's, where one is in view).
 */
export function formatDateTime(iso: string | null | undefined, jobZone?: string | null): string {
  if (!iso) return DASH
  const t = Date.parse(iso)
  return Number.isNaN(t) ? DASH : formatter(LONG, zoneFor(zoneChoice(), jobZone)).format(t)
}

export function formatShortDateTime(iso: string | null | undefined, jobZone?: string | null): string {
  if (!iso) return DASH
  const t = Date.parse(iso)
  return Number.isNaN(t) ? DASH : formatter(SHORT, zoneFor(zoneChoice(), jobZone)).format(t)
}

/** Date-time in a given IANA time zone, for schedule previews. */
export function formatInZone(iso: string, timeZone: string): string {
  try {
    return new Intl.DateTimeFormat(undefined, {
      weekday: 'short',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZone,
      timeZoneName: 'short',
    }).format(Date.parse(iso))
  } catch {
    return formatDateTime(iso)
  }
}

export function formatPercent(ratio: number | null | undefined, digits = 0): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return DASH
  return `${(ratio * 100).toFixed(digits)}%`
}

export function formatNumber(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH
  return new Intl.NumberFormat().format(n)
}

/** A list's total: "about 1,200,000" when the server says it is an estimate. */
export function formatTotal(total: number, exact: boolean | undefined = true): string {
  return exact === false ? `about ${formatNumber(total)}` : formatNumber(total)
}

/** The orders the run list offers: the API's sort and order as one choice. */
export const RUN_SORTS: readonly { value: string; label: string }[] = [
  { value: '', label: 'Newest queued' },
  { value: 'queued_at:asc', label: 'Oldest queued' },
  { value: 'started_at:desc', label: 'Latest started' },
  { value: 'started_at:asc', label: 'Earliest started' },
  { value: 'duration:desc', label: 'Longest' },
  { value: 'duration:asc', label: 'Shortest' },
]

/** A RUN_SORTS choice as the API's parameters (none for the default). */
export function runSortParams(choice: string): { sort: string; order: string } {
  const [sort = '', order = ''] = choice.split(':')
  return choice ? { sort, order: order === 'asc' ? 'asc' : 'desc' } : { sort: '', order: '' }
}

/** Shortens an id such as "run-8f3a2c9d1e" for tables, keeping the prefix. */
export function shortId(id: string, keep = 8): string {
  const dash = id.indexOf('-')
  if (dash < 0) return id.length > keep ? id.slice(0, keep) : id
  const prefix = id.slice(0, dash + 1)
  const rest = id.slice(dash + 1)
  return rest.length > keep ? `${prefix}${rest.slice(0, keep)}` : id
}

/** ISO string → value for <input type="datetime-local"> in local time. */
export function isoToLocalInput(iso: string | null | undefined): string {
  if (!iso) return ''
  const t = Date.parse(iso)
  if (Number.isNaN(t)) return ''
  const d = new Date(t)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`
}

/** <input type="datetime-local"> value (local time) → ISO UTC string, or "" if empty/invalid. */
export function localInputToIso(value: string): string {
  if (!value) return ''
  const t = new Date(value).getTime()
  return Number.isNaN(t) ? '' : new Date(t).toISOString()
}

/**
 * A time as the URL keeps it, made absolute at the moment of asking: `-24h`, `-30m`, `-7d` are
 * relative to `now` (so a bookmarked "last 24 hours" stays the last 24 hours), `today` and
 * `yesterday` are the starts of those days in the browser's zone; anything else is an ISO time.
 */
export function resolveTime(value: string | undefined, now: number = Date.now()): string {
  if (!value) return ''
  const rel = /^-(\d+)([mhd])$/.exec(value)
  if (rel) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 'm' | 'h' | 'd']
    return new Date(now - Number(rel[1]) * unit).toISOString()
  }
  if (value === 'today' || value === 'yesterday') {
    const d = new Date(now)
    d.setHours(0, 0, 0, 0)
    if (value === 'yesterday') d.setDate(d.getDate() - 1)
    return d.toISOString()
  }
  return value
}

/** True for the relative forms resolveTime understands. */
export function isRelativeTime(value: string | undefined): boolean {
  return !!value && (/^-(\d+)([mhd])$/.test(value) || value === 'today' || value === 'yesterday')
}

/** Width in px a chart's value axis needs for its largest label ("1,000" needs more than "10"). */
export function axisWidth(values: readonly number[], charPx = 8, padPx = 14): number {
  const max = values.reduce((m, v) => Math.max(m, v), 0)
  // the axis may round up past the largest value, e.g. 980 → 1,000
  const label = formatNumber(Math.ceil(Math.max(10, max * 1.25)))
  return Math.max(36, padPx + charPx * label.length)
}
