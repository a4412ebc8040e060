import type { JobDetail, JobList, JobStatus, LiveEvent, RunDetail, RunList, RunStatus } from '../api/types'
import { RUN_STATUSES } from '../api/types'
import { pipelineEventKeys } from './pipelineEvents'

export type QueryKey = readonly unknown[]

/** Which cached queries (by key prefix) an event makes stale. */
export function eventToKeys(event: LiveEvent): QueryKey[] {
  const pipeline = pipelineEventKeys(event)
  return pipeline.length ? [...coreEventKeys(event), ...pipeline] : coreEventKeys(event)
}

function coreEventKeys(event: LiveEvent): QueryKey[] {
  const t = event.type
  if (t === 'run.log') return []
  if (t === 'run.skipped') return [['jobs'], ['job'], ['events']]
  if (t.startsWith('run.')) {
    const out: QueryKey[] = [['runs'], ['stats'], ['jobs'], ['job'], ['job-runs'], ['workers'], ['dag']]
    if (event.run_id) out.push(['run', event.run_id])
    if (t === 'run.failed' || t === 'run.queued') out.push(['dead-letters'])
    if (t === 'run.missed') out.push(['events'])
    if (t === 'run.failed' || t === 'run.retrying' || t === 'run.missed') out.push(['alerts'])
    return out
  }
  if (t === 'sla.breached' || t === 'job.silent') return [['alerts'], ['events'], ['job']]
  if (t === 'queue.backlog') return [['alerts'], ['stats']]
  if (t.startsWith('job.')) return [['jobs'], ['job'], ['dag'], ['stats']]
  if (t === 'worker.lost') return [['workers'], ['stats'], ['alerts']]
  if (t.startsWith('worker.')) return [['workers'], ['stats']]
  return []
}

export function eventRunStatus(event: LiveEvent): RunStatus | null {
  const s = event.data?.status
  if (typeof s === 'string' && (RUN_STATUSES as string[]).includes(s)) return s as RunStatus
  const fromType: Record<string, RunStatus> = {
    'run.queued': 'queued',
    'run.started': 'running',
    'run.completed': 'completed',
    'run.failed': 'failed',
    'run.cancelled': 'cancelled',
    'run.missed': 'missed',
    'run.retrying': 'queued',
  }
  return fromType[event.type] ?? null
}

/** Patches one job list page so a badge changes the moment the event arrives (a refetch follows). */
export function patchJobList(list: JobList | undefined, event: LiveEvent, statusFilter?: string): JobList | undefined {
  if (!list || !event.job_id) return list
  let status: JobStatus | null = null
  let enabled: boolean | null = null
  if (event.type === 'job.paused') {
    status = 'paused'
    enabled = false
  } else if (event.type === 'job.resumed') {
    enabled = true
  } else if (event.type === 'job.status') {
    // the server's projection of the job's latest run caught up
    const s = event.data?.status
    if (typeof s === 'string' && (RUN_STATUSES as string[]).includes(s)) status = s as RunStatus
  } else if (event.type.startsWith('run.') && event.type !== 'run.skipped' && event.type !== 'run.cancelling') {
    status = eventRunStatus(event)
  }
  if (status === null && enabled === null) return list
  let changed = false
  const jobs = list.jobs.map((job) => {
    if (job.id !== event.job_id) return job
    const next = { ...job }
    if (enabled !== null) next.enabled = enabled
    // a paused job keeps showing "paused" whatever its runs do
    if (status !== null && (status === 'paused' || next.enabled)) next.status = status
    if (event.type === 'run.started') next.last_run_at = event.ts
    changed = true
    return next
  })
  if (!changed) return list
  if (statusFilter) {
    const kept = jobs.filter((j) => j.id !== event.job_id || j.status === statusFilter)
    return { ...list, jobs: kept, total: list.total - (jobs.length - kept.length) }
  }
  return { ...list, jobs }
}

/**
 * Patches one cached page of runs. A run that no longer matches the page's
 * status filter leaves it at once (the refetch that follows fills the gap).
 */
export function patchRunList(list: RunList | undefined, event: LiveEvent, statusFilter?: string): RunList | undefined {
  if (!list || !event.run_id || event.type === 'run.log' || event.type === 'run.skipped') return list
  const status = eventRunStatus(event)
  if (!status) return list
  let changed = false
  const runs: RunList['runs'] = []
  for (const run of list.runs) {
    if (run.id !== event.run_id) {
      runs.push(run)
      continue
    }
    changed = true
    if (statusFilter && statusFilter !== status) continue
    runs.push({ ...run, status, ...attemptPatch(event), ...(event.type === 'run.cancelling' ? { cancel_requested: true } : {}) })
  }
  if (!changed) return list
  return { ...list, runs, total: list.total - (list.runs.length - runs.length) }
}

export function patchRun(run: RunDetail | undefined, event: LiveEvent): RunDetail | undefined {
  if (!run || run.id !== event.run_id) return run
  if (event.type === 'run.cancelling') return { ...run, cancel_requested: true }
  const status = eventRunStatus(event)
  if (!status) return run
  const patch: Partial<RunDetail> = { status, ...attemptPatch(event) }
  if (event.type === 'run.started' && !run.started_at) patch.started_at = event.ts
  if (typeof event.data?.worker === 'string') patch.worker = event.data.worker
  if (typeof event.data?.error === 'string') patch.error = event.data.error
  return { ...run, ...patch }
}

export function patchJobDetail(job: JobDetail | undefined, event: LiveEvent): JobDetail | undefined {
  if (!job || job.id !== event.job_id) return job
  if (event.type === 'job.paused') return { ...job, enabled: false, status: 'paused' }
  if (event.type === 'job.resumed') return { ...job, enabled: true }
  if (!event.type.startsWith('run.')) return job
  const status = eventRunStatus(event)
  if (!status) return job
  return {
    ...job,
    status: job.enabled ? status : job.status,
    recent_runs: job.recent_runs.map((r) => (r.id === event.run_id ? { ...r, status, ...attemptPatch(event) } : r)),
  }
}

function attemptPatch(event: LiveEvent): { attempt?: number } {
  const a = event.data?.attempt
  return typeof a === 'number' ? { attempt: a } : {}
}

export interface LogChunk {
  chunk: string
  /** the chunk's number in its attempt's stream (from 0), as the server sends it */
  seq?: number
}

/** Length of the longest suffix of `a` that is also a prefix of `b` (KMP, linear time). */
export function overlapLength(a: string, b: string): number {
  if (!a || !b) return 0
  const text = a.length > b.length ? a.slice(a.length - b.length) : a
  const fail = new Array<number>(b.length).fill(0)
  for (let i = 1, k = 0; i < b.length; i++) {
    while (k > 0 && b[i] !== b[k]) k = fail[k - 1] ?? 0
    if (b[i] === b[k]) k++
    fail[i] = k
  }
  let k = 0
  for (let i = 0; i < text.length; i++) {
    while (k > 0 && (k === b.length || text[i] !== b[k])) k = fail[k - 1] ?? 0
    if (text[i] === b[k]) k++
  }
  return k
}

/**
 * Merges a stored log snapshot with the chunks received live, without
 * showing output twice or leaving a hole, whichever of the two is ahead.
 * Exact when the chunks carry `seq` and the snapshot says how many chunks it
 * holds (`stored`): the chunks numbered from `stored` on come after it.
 * Otherwise (events from before chunks were numbered) the live text is
 * aligned where it starts in the snapshot (the latest place where its first
 * chunk occurs and the two texts agree from there on); if it does not occur,
 * it is newer than the snapshot and is appended.
 */
export function mergeLog(snapshot: string, chunks: readonly LogChunk[], stored?: number): string {
  if (chunks.length === 0) return snapshot
  if (typeof stored === 'number' && chunks.every((c) => typeof c.seq === 'number')) {
    const after = new Map<number, string>()
    for (const { chunk, seq } of chunks) if ((seq as number) >= stored) after.set(seq as number, chunk)
    return snapshot + [...after.entries()].sort((a, b) => a[0] - b[0]).map(([, chunk]) => chunk).join('')
  }
  const live = chunks.map((c) => c.chunk).join('')
  const first = chunks[0]?.chunk ?? ''
  if (!first) return snapshot + live
  let p = snapshot.lastIndexOf(first)
  for (let tries = 0; p >= 0 && tries < 500; tries++) {
    const common = Math.min(snapshot.length - p, live.length)
    if (snapshot.startsWith(live.slice(0, common), p)) {
      return snapshot.length - p >= live.length ? snapshot : snapshot + live.slice(snapshot.length - p)
    }
    p = p > 0 ? snapshot.lastIndexOf(first, p - 1) : -1
  }
  // the snapshot may end inside the first chunk
  const overlap = overlapLength(snapshot, live)
  return snapshot + live.slice(overlap)
}

/** Keeps the end of a log that grows without bound in the browser. */
export function capLog(text: string, max = 1_000_000): string {
  if (text.length <= max) return text
  const cut = text.length - max
  const nl = text.indexOf('\n', cut)
  return `[… ${cut.toLocaleString()} earlier characters not shown …]\n` + text.slice(nl >= 0 && nl - cut < 10_000 ? nl + 1 : cut)
}
