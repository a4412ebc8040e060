import type { LiveEvent } from '../api/types'

export const WATCH_KEY = 'tickwork.watched'

/** What the person is looking at, for deciding whether an event deserves a toast. */
export interface Attention {
  pathname: string
  /** job ids (or names) the person asked to hear about wherever they are */
  watched: ReadonlySet<string>
}

/**
 * A toast only for what the person is viewing (the event's job or run page) or watches;
 * everything else goes to the bell. Lists (/runs, /jobs) are not "viewing" one job: a failure
 * there shows in the list itself.
 */
export function deservesToast(event: LiveEvent, at: Attention): boolean {
  const job = event.job_id
  const jobName = typeof event.data?.job_name === 'string' ? event.data.job_name : null
  if (job && at.watched.has(job)) return true
  if (jobName && at.watched.has(jobName)) return true
  const path = decodeURIComponent(at.pathname)
  if (event.run_id && path === `/runs/${event.run_id}`) return true
  if (job && (path === `/jobs/${job}` || path === `/jobs/${job}/edit`)) return true
  if (jobName && path === `/jobs/${jobName}`) return true
  if (event.type === 'worker.lost' && path === '/workers') return true
  return false
}

export function readWatched(): Set<string> {
  try {
    const raw = JSON.parse(localStorage.getItem(WATCH_KEY) ?? '[]') as unknown
    return new Set(Array.isArray(raw) ? raw.filter((x): x is string => typeof x === 'string') : [])
  } catch {
    return new Set()
  }
}

export function writeWatched(ids: ReadonlySet<string>): void {
  try {
    localStorage.setItem(WATCH_KEY, JSON.stringify([...ids]))
  } catch {
    /* private mode: watching lasts for this page only */
  }
}
