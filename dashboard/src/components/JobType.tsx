import { Globe, Terminal } from 'lucide-react'
import type { Job } from '../api/types'

export function JobTypeIcon({ type }: { type: Job['type'] }) {
  const label = type === 'python' ? 'Python function' : type === 'shell' ? 'Shell command' : 'HTTP request'
  return (
    <span className={`type-icon type-${type}`} title={label} aria-label={label} role="img">
      {type === 'python' ? <span className="py">py</span> : type === 'shell' ? <Terminal size={13} /> : <Globe size={13} />}
    </span>
  )
}

export function jobTarget(job: Pick<Job, 'type' | 'function' | 'command' | 'request'>): string {
  if (job.type === 'python') return job.function ?? ''
  if (job.type === 'shell') return Array.isArray(job.command) ? argvText(job.command) : job.command ?? ''
  return job.request ? `${job.request.method} ${job.request.url}` : ''
}

/** An argv as a shell would need it typed: items with spaces or quotes in single quotes. */
export function argvText(argv: string[]): string {
  return argv.map((item) => (/^[\w@%+=:,./-]+$/.test(item) ? item : `'${item.replace(/'/g, `'\\''`)}'`)).join(' ')
}
