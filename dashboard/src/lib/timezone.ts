/** Which zone times are shown in: the browser's, UTC, or the job's own (where a job is known). */
export type ZoneChoice = 'local' | 'utc' | 'job'
export const ZONE_KEY = 'tickwork.tz'
export const ZONE_CHOICES: { value: ZoneChoice; label: string }[] = [
  { value: 'local', label: 'Local' },
  { value: 'utc', label: 'UTC' },
  { value: 'job', label: 'Job zone' },
]

function read(): ZoneChoice {
  try {
    const v = localStorage.getItem(ZONE_KEY)
    return v === 'utc' || v === 'job' ? v : 'local'
  } catch {
    return 'local'
  }
}

let current: ZoneChoice = typeof localStorage === 'undefined' ? 'local' : read()
const listeners = new Set<() => void>()

export function zoneChoice(): ZoneChoice {
  return current
}

export function setZoneChoice(choice: ZoneChoice): void {
  current = choice
  try {
    localStorage.setItem(ZONE_KEY, choice)
  } catch {
    /* private mode: lasts for this page */
  }
  for (const l of listeners) l()
}

export function subscribeZone(listener: () => void): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

/**
 * The IANA zone to format in, or undefined for the browser's own. "Job zone" falls back to the
 * browser's where no job is in view (a list mixing jobs of several zones).
 */
export function zoneFor(choice: ZoneChoice, jobZone?: string | null): string | undefined {
  if (choice === 'utc') return 'UTC'
  if (choice === 'job' && jobZone) return jobZone
  return undefined
}
