import type { CalendarPolicy, Dependency, DependOn, Job, JobSpec, JobType, TriggerRule } from '../api/types'

/** One edge in the form: the upstream job and the outcome of it that counts. */
export interface DependencyRow {
  job: string
  on: DependOn
}

/** An entry of depends_on as the form holds it (a plain name means on success). */
export function dependencyRow(dep: Dependency): DependencyRow {
  return typeof dep === 'string' ? { job: dep, on: 'success' } : { job: dep.job, on: dep.on ?? 'success' }
}

/** The form's edge as the API takes it: a plain name for on success (as before conditions). */
export function dependencyEntry(row: DependencyRow): Dependency {
  return row.on === 'success' ? row.job : { job: row.job, on: row.on }
}

export interface JobForm {
  name: string
  type: JobType
  function: string
  command: string
  method: string
  url: string
  headers: string
  body: string
  schedule: string
  timezone: string
  parameters: string
  tags: string
  worker_tags: string
  depends_on: DependencyRow[]
  trigger_rule: TriggerRule
  timeout: string
  retries: string
  retry_delay: string
  backoff: 'exponential' | 'fixed'
  max_retry_delay: string
  concurrency: string
  on_overlap: string
  catchup: string
  start_deadline: string
  jitter: string
  priority: string
  isolation: 'pool' | 'process'
  delivery: 'at_least_once' | 'at_most_once'
  enabled: boolean
  description: string
  /** Fields of the job this form does not edit (retention, calendars, SLAs, limits …): sent
   * back as they were, so saving the form never resets what it does not show. */
  carried: Record<string, unknown>
  /** A business calendar of the job's namespace ('' for none) and what its closed days do. */
  calendar: string
  calendar_policy: CalendarPolicy
}

export const EMPTY_FORM: JobForm = {
  name: '',
  type: 'python',
  function: '',
  command: '',
  method: 'POST',
  url: '',
  headers: '',
  body: '',
  schedule: '',
  timezone: 'UTC',
  parameters: '{}',
  tags: '',
  worker_tags: 'default',
  depends_on: [],
  trigger_rule: 'all',
  timeout: '3600',
  retries: '3',
  retry_delay: '1',
  backoff: 'exponential',
  max_retry_delay: '300',
  concurrency: '1',
  on_overlap: 'skip',
  catchup: 'latest',
  start_deadline: '',
  jitter: '0',
  priority: '50',
  isolation: 'pool',
  delivery: 'at_least_once',
  enabled: true,
  description: '',
  carried: {},
  calendar: '',
  calendar_policy: 'skip',
}

const num = (v: number | null | undefined, fallback = '') => (v === null || v === undefined ? fallback : String(v))

export function jobToForm(job: Job): JobForm {
  const req = job.request
  return {
    name: job.name,
    type: job.type,
    function: job.function ?? '',
    command: Array.isArray(job.command) ? JSON.stringify(job.command) : job.command ?? '',
    method: req?.method ?? 'POST',
    url: req?.url ?? '',
    headers: req?.headers && Object.keys(req.headers).length ? JSON.stringify(req.headers, null, 2) : '',
    body: req?.body === undefined || req?.body === null ? '' : typeof req.body === 'string' ? req.body : JSON.stringify(req.body, null, 2),
    schedule: job.schedule ?? '',
    timezone: job.timezone || 'UTC',
    parameters: JSON.stringify(job.parameters ?? {}, null, 2),
    tags: (job.tags ?? []).join(', '),
    worker_tags: (job.worker_tags ?? []).join(', '),
    depends_on: (job.depends_on ?? []).map(dependencyRow),
    trigger_rule: job.trigger_rule === 'any' ? 'any' : 'all',
    timeout: num(job.timeout, EMPTY_FORM.timeout),
    retries: num(job.retries, EMPTY_FORM.retries),
    retry_delay: num(job.retry_delay, EMPTY_FORM.retry_delay),
    backoff: job.backoff ?? 'exponential',
    max_retry_delay: num(job.max_retry_delay, EMPTY_FORM.max_retry_delay),
    concurrency: num(job.concurrency, EMPTY_FORM.concurrency),
    on_overlap: job.on_overlap ?? 'skip',
    catchup: job.catchup ?? 'latest',
    start_deadline: num(job.start_deadline),
    jitter: num(job.jitter, '0'),
    priority: num(job.priority, EMPTY_FORM.priority),
    isolation: job.isolation ?? 'pool',
    delivery: job.delivery ?? 'at_least_once',
    enabled: job.enabled,
    description: job.description ?? '',
    carried: carriedFields(job),
    calendar: job.calendar ?? '',
    calendar_policy: job.calendar_policy === 'next_business_day' ? 'next_business_day' : 'skip',
  }
}

export function splitList(text: string): string[] {
  return [...new Set(text.split(/[,\n]/).map((s) => s.trim()).filter(Boolean))]
}

/** Parses a JSON object typed by a person; returns an error message instead of throwing. */
export function parseJsonObject(text: string, { allowEmpty = true } = {}): { value?: Record<string, unknown>; error?: string } {
  const trimmed = text.trim()
  if (!trimmed) return allowEmpty ? { value: {} } : { error: 'Required' }
  try {
    const value: unknown = JSON.parse(trimmed)
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { error: 'Must be a JSON object, like {"key": "value"}' }
    return { value: value as Record<string, unknown> }
  } catch (e) {
    return { error: `Invalid JSON: ${(e as Error).message}` }
  }
}

type NumField = 'timeout' | 'retries' | 'retry_delay' | 'max_retry_delay' | 'concurrency' | 'jitter' | 'priority' | 'start_deadline'
const NUMBERS: { field: NumField; min: number; max?: number; int?: boolean; optional?: boolean }[] = [
  { field: 'timeout', min: 0.001 },
  { field: 'retries', min: 0, int: true },
  { field: 'retry_delay', min: 0 },
  { field: 'max_retry_delay', min: 0 },
  { field: 'concurrency', min: 1, int: true },
  { field: 'jitter', min: 0 },
  { field: 'priority', min: 0, max: 100, int: true },
  { field: 'start_deadline', min: 0.001, optional: true },
]

/**
 * Turns the form into the API's job body, or field errors the person can fix
 * before anything is sent. The server still validates (and its 422 wins).
 */
export function formToSpec(form: JobForm): { spec?: JobSpec; errors: Record<string, string> } {
  const errors: Record<string, string> = {}
  const name = form.name.trim()
  if (!name) errors.name = 'Required'
  else if (!/^[A-Za-z0-9._-]+$/.test(name)) errors.name = 'Use letters, digits, dot, dash and underscore only'
  else if (name.length > 200) errors.name = 'At most 200 characters'

  let request: JobSpec['request'] = null
  if (form.type === 'python') {
    if (!form.function.trim()) errors.function = 'Required: module.function'
    else if (!/^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*[.:][A-Za-z_]\w*$/.test(form.function.trim())) errors.function = 'Use the form module.function'
  } else if (form.type === 'shell') {
    if (!form.command.trim()) errors.command = 'Required'
    else if (form.command.trim().startsWith('[') && parseArgv(form.command) === undefined) errors.command = 'An argv is a JSON list of strings, e.g. ["rsync", "-a", "src/", "/backup"]'
  } else {
    const url = form.url.trim()
    if (!url) errors.url = 'Required'
    else if (!/^https?:\/\/\S+$/i.test(url)) errors.url = 'Must be an http:// or https:// URL'
    const headers = parseJsonObject(form.headers)
    if (headers.error) errors.headers = headers.error
    let body: unknown = null
    const rawBody = form.body.trim()
    if (rawBody) {
      try {
        body = JSON.parse(rawBody)
      } catch {
        body = form.body
      }
    }
    request = { method: form.method || 'POST', url, headers: (headers.value as Record<string, string>) ?? {}, body }
  }

  const params = parseJsonObject(form.parameters)
  if (params.error) errors.parameters = params.error

  const numbers: Partial<Record<NumField, number | null>> = {}
  for (const { field, min, max, int, optional } of NUMBERS) {
    const raw = form[field].trim()
    if (!raw) {
      if (optional) numbers[field] = null
      else errors[field] = 'Required'
      continue
    }
    const n = Number(raw)
    if (!Number.isFinite(n)) errors[field] = 'Must be a number'
    else if (int && !Number.isInteger(n)) errors[field] = 'Must be a whole number'
    else if (n < min) errors[field] = `Must be at least ${min === 0.001 ? 'above 0' : min}`
    else if (max !== undefined && n > max) errors[field] = `Must be at most ${max}`
    else numbers[field] = n
  }

  if (Object.keys(errors).length > 0) return { errors }
  const spec: JobSpec = {
    ...form.carried,
    name,
    type: form.type,
    function: form.type === 'python' ? form.function.trim() : null,
    command: form.type === 'shell' ? (form.command.trim().startsWith('[') ? (parseArgv(form.command) ?? null) : form.command) : null,
    request,
    schedule: form.schedule.trim() || null,
    timezone: form.timezone.trim() || 'UTC',
    parameters: params.value ?? {},
    depends_on: form.depends_on.map(dependencyEntry),
    trigger_rule: form.trigger_rule,
    tags: splitList(form.tags),
    worker_tags: splitList(form.worker_tags),
    timeout: numbers.timeout as number,
    retries: numbers.retries as number,
    retry_delay: numbers.retry_delay as number,
    backoff: form.backoff,
    max_retry_delay: numbers.max_retry_delay as number,
    concurrency: numbers.concurrency as number,
    on_overlap: form.on_overlap,
    catchup: form.catchup,
    start_deadline: numbers.start_deadline ?? null,
    jitter: numbers.jitter as number,
    priority: numbers.priority as number,
    isolation: form.isolation,
    delivery: form.delivery,
    enabled: form.enabled,
    description: form.description.trim(),
    // a policy means something only with a calendar (the server refuses one without)
    calendar: form.calendar.trim() || null,
    calendar_policy: form.calendar.trim() ? form.calendar_policy : 'skip',
  }
  return { spec, errors }
}

/** A command typed as a JSON list of strings: an argv, run without a shell. */
export function parseArgv(text: string): string[] | undefined {
  try {
    const value: unknown = JSON.parse(text)
    if (Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string')) return value as string[]
  } catch {
    return undefined
  }
  return undefined
}

/** The fields the form builds itself, and those only the server sets. */
const FORM_FIELDS = new Set(['name', 'type', 'function', 'command', 'request', 'schedule', 'timezone', 'parameters', 'tags', 'worker_tags', 'depends_on', 'trigger_rule', 'timeout', 'retries', 'retry_delay', 'backoff', 'max_retry_delay', 'concurrency', 'on_overlap', 'catchup', 'start_deadline', 'jitter', 'priority', 'isolation', 'delivery', 'calendar', 'calendar_policy', 'enabled', 'description'])
const SERVER_FIELDS = new Set(['id', 'namespace', 'status', 'schedule_type', 'next_run', 'last_run_at', 'created_at', 'updated_at'])

export function carriedFields(job: Job): Record<string, unknown> {
  return Object.fromEntries(Object.entries(job).filter(([key]) => !FORM_FIELDS.has(key) && !SERVER_FIELDS.has(key)))
}

/** Maps a server field path ("request.url", "parameters") onto the form's inputs. */
export function serverErrorsToForm(errors: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [field, message] of Object.entries(errors)) {
    const key = field.startsWith('request.') ? field.slice('request.'.length).split('.')[0] ?? field : field.split('.')[0] ?? field
    out[key === 'request' ? 'url' : key] ??= message
  }
  return out
}
