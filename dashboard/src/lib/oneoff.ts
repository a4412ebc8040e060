// One-off runs (POST /api/runs, `tickwork submit`): a run queued with its own inline
// definition, not of a job. Its job_id names a hidden definition that no /jobs page shows, so
// lists and the run page mark it "one-off" instead of linking to a job.
import type { Run } from '../api/types'

export type JobCell =
  | { kind: 'job'; to: string; label: string }
  | { kind: 'one-off'; label: string | null; title: string }

/** What a run's job column shows: a link to its job, or the one-off marker with its label. */
export function jobCell(run: Pick<Run, 'id' | 'job_id' | 'job_name' | 'one_off'>): JobCell {
  if (!run.one_off) return { kind: 'job', to: `/jobs/${encodeURIComponent(run.job_id)}`, label: run.job_name }
  const label = run.job_name && run.job_name !== run.id ? run.job_name : null
  return { kind: 'one-off', label, title: 'A one-off run: queued with its own definition, not of a job' }
}
