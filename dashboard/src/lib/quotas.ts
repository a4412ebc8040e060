// A namespace's quota usage as bars (issue 10): what GET /api/namespaces says of each quota it has.
import type { Namespace } from '../api/types'

export const QUOTA_LABELS: Record<string, string> = {
  max_jobs: 'Jobs',
  max_queued: 'Queued runs',
  max_running: 'Running at once',
  runs_per_hour: 'Runs in the last hour',
  max_output_bytes: 'Output kept',
}

export interface QuotaBar {
  quota: string
  label: string
  used: number
  limit: number
  /** used / limit, within 0..1 (a namespace may pass a quota: scheduled runs are never refused). */
  fraction: number
  /** info under 80 %, warning from 80 %, danger at or over the limit. */
  tone: 'info' | 'warning' | 'danger'
  /** "12 of 50", bytes in KB/MB/GB for output. */
  text: string
}

function amount(quota: string, n: number): string {
  if (quota !== 'max_output_bytes') return n.toLocaleString('en-US')
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i += 1
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`
}

/** The bars of one namespace, in the order of QUOTA_LABELS; none when it has no quota. */
export function quotaBars(ns: Pick<Namespace, 'usage'>): QuotaBar[] {
  const order = Object.keys(QUOTA_LABELS)
  return [...(ns.usage ?? [])]
    .sort((a, b) => order.indexOf(a.quota) - order.indexOf(b.quota))
    .map(({ quota, used, limit }) => {
      const ratio = limit > 0 ? used / limit : 1
      return {
        quota,
        label: QUOTA_LABELS[quota] ?? quota,
        used,
        limit,
        fraction: Math.max(0, Math.min(1, ratio)),
        tone: ratio >= 1 ? 'danger' : ratio >= 0.8 ? 'warning' : 'info',
        text: `${amount(quota, used)} of ${amount(quota, limit)}`,
      }
    })
}

/** The namespaces whose bars to show for a choice: the one chosen, or every one with quotas. */
export function namespacesWithQuotas<T extends Pick<Namespace, 'name' | 'usage'>>(all: readonly T[], choice: string | null, every: string): T[] {
  const withQuotas = all.filter((n) => (n.usage ?? []).length > 0)
  if (choice === every || !choice) return withQuotas
  return withQuotas.filter((n) => n.name === choice)
}
