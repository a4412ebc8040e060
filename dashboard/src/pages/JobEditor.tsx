import { useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Link, useNavigate, useParams } from 'react-router'
import { ChevronDown } from 'lucide-react'
import { useDenied } from '../api/access'
import { endpoints } from '../api/endpoints'
import { errorMessage, fieldErrors, isApiError } from '../api/errors'
import { keys } from '../api/keys'
import { CALENDAR_POLICIES, type JobType } from '../api/types'
import { DependsOnInput } from '../components/DependsOnInput'
import { SchedulePreview } from '../components/SchedulePreview'
import { useToast } from '../components/Toasts'
import { Button, ErrorState, Field, LoadingBlock, PageHeader } from '../components/ui'
import { POLICY_LABELS } from '../lib/calendar'
import { formatDateTime } from '../lib/format'
import { useDocumentTitle } from '../lib/hooks'
import { listNamespace } from '../lib/namespace'
import { EMPTY_FORM, formToSpec, jobToForm, parseJsonObject, serverErrorsToForm, type JobForm } from '../lib/jobform'

const SCHEDULE_PRESETS = [
  { label: 'Every 5 min', value: 'every 5m' },
  { label: 'Hourly', value: '@hourly' },
  { label: 'Daily 09:00', value: '0 9 * * *' },
  { label: 'Weekdays 08:30', value: '30 8 * * 1-5' },
  { label: 'Every 15 min', value: '*/15 * * * *' },
]

const ADVANCED_FIELDS = ['worker_tags', 'concurrency', 'on_overlap', 'catchup', 'max_retry_delay', 'start_deadline', 'jitter', 'priority', 'isolation', 'delivery']

function timeZones(): string[] {
  try {
    const zones = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.('timeZone') ?? []
    return zones.includes('UTC') ? zones : ['UTC', ...zones]
  } catch {
    return ['UTC']
  }
}

function Section({ title, description, children }: { title: string; description?: string; children: ReactNode }) {
  return (
    <section className="form-section">
      <div className="form-section-head">
        <h2>{title}</h2>
        {description && <p>{description}</p>}
      </div>
      <div className="form-section-body">{children}</div>
    </section>
  )
}

export default function JobEditor() {
  const { id } = useParams()
  const editing = !!id
  const existing = useQuery({
    queryKey: keys.job(id),
    queryFn: ({ signal }) => endpoints.job(id as string, signal),
    enabled: editing,
  })
  useDocumentTitle(editing ? `Edit ${existing.data?.name ?? 'job'}` : 'New job')

  if (editing && existing.error) {
    return (
      <div className="page">
        <ErrorState error={existing.error} onRetry={() => void existing.refetch()} />
      </div>
    )
  }
  if (editing && !existing.data) {
    return (
      <div className="page">
        <LoadingBlock rows={8} />
      </div>
    )
  }
  return <JobFormPage key={existing.data?.id ?? 'new'} initial={existing.data ? jobToForm(existing.data) : EMPTY_FORM} jobId={existing.data?.id} namespace={existing.data?.namespace} />
}

function JobFormPage({ initial, jobId, namespace }: { initial: JobForm; jobId?: string; namespace?: string }) {
  const [form, setForm] = useState<JobForm>(initial)
  const [errors, setErrors] = useState<Record<string, string>>({})
  // after a failed submit, focus moves to the first invalid field as soon as it is on screen
  // (one in the collapsed advanced section shows a render later)
  const focusInvalid = useRef(false)
  const formRef = useRef<HTMLFormElement>(null)
  useEffect(() => {
    if (!focusInvalid.current) return
    const first = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')
    if (first) {
      focusInvalid.current = false
      first.focus()
    }
  })
  const [formError, setFormError] = useState<string | null>(null)
  const [advanced, setAdvanced] = useState(false)
  const navigate = useNavigate()
  const qc = useQueryClient()
  const toast = useToast()
  const zones = useMemo(timeZones, [])
  const editing = !!jobId
  const denied = useDenied()('admin', editing ? 'editing a job' : 'creating a job', namespace)
  // the calendars a job may name: its own namespace's (a new job's: the chosen one)
  const calendarNamespace = namespace ?? listNamespace()
  const calendars = useQuery({
    queryKey: keys.calendars(calendarNamespace ?? 'default'),
    queryFn: ({ signal }) => endpoints.calendars(signal, calendarNamespace ?? 'default'),
    staleTime: 30_000,
  })
  const calendarNames = useMemo(() => {
    const names = (calendars.data?.calendars ?? []).map((c) => c.name)
    return form.calendar && !names.includes(form.calendar) ? [form.calendar, ...names] : names
  }, [calendars.data, form.calendar])

  const set = <K extends keyof JobForm>(key: K, value: JobForm[K]) => {
    setForm((f) => ({ ...f, [key]: value }))
    setErrors((e) => {
      if (!e[key as string]) return e
      const next = { ...e }
      delete next[key as string]
      return next
    })
  }

  // live JSON validation of the parameters editor
  const paramsError = parseJsonObject(form.parameters).error
  useEffect(() => {
    setErrors((e) => {
      if (paramsError) return e.parameters === paramsError ? e : { ...e, parameters: paramsError }
      if (!e.parameters) return e
      const next = { ...e }
      delete next.parameters
      return next
    })
  }, [paramsError])

  const save = useMutation({
    mutationFn: async () => {
      const { spec, errors: local } = formToSpec(form)
      if (!spec) {
        setErrors(local)
        focusInvalid.current = true
        throw new Error('Fix the highlighted fields.')
      }
      return jobId ? endpoints.updateJob(jobId, spec, namespace) : endpoints.createJob(spec)
    },
    onSuccess: (job) => {
      void qc.invalidateQueries({ queryKey: ['jobs'] })
      void qc.invalidateQueries({ queryKey: ['job'] })
      void qc.invalidateQueries({ queryKey: ['dag'] })
      void qc.invalidateQueries({ queryKey: ['stats'] })
      toast.push({ tone: 'success', title: editing ? `Saved ${job.name}` : `Created ${job.name}`, message: job.next_run ? `Next run ${formatDateTime(job.next_run, job.timezone)}` : undefined })
      navigate(`/jobs/${encodeURIComponent(job.id)}`)
    },
    onError: (e) => {
      if (isApiError(e)) {
        const fields = serverErrorsToForm(fieldErrors(e.details))
        if (e.status === 422 || Object.keys(fields).length) {
          setErrors(fields)
          focusInvalid.current = true
        }
        setFormError(e.message)
        toast.error(editing ? 'Could not save the job' : 'Could not create the job', e.message)
      } else {
        setFormError(errorMessage(e))
      }
    },
  })

  // server errors on fields inside the collapsed section must be visible
  useEffect(() => {
    if (ADVANCED_FIELDS.some((f) => errors[f])) setAdvanced(true)
  }, [errors])

  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (denied) return
    setFormError(null)
    save.mutate()
  }

  const err = (k: string) => errors[k]
  const invalid = (k: string) => (errors[k] ? { 'aria-invalid': true, 'aria-describedby': `${k}-error` } : {})
  const count = Object.keys(errors).length

  return (
    <div className="page page-narrow">
      <PageHeader
        kicker={
          <Link to={editing ? `/jobs/${encodeURIComponent(jobId as string)}` : '/jobs'} className="back-link">
            ← {editing ? initial.name : 'Jobs'}
          </Link>
        }
        title={editing ? `Edit ${initial.name}` : 'New job'}
        subtitle={editing ? 'Saving replaces the job definition; the schedule and dependencies are checked again.' : 'Define what runs, when, and how failures are handled.'}
      />
      {denied && (
        <div className="banner" role="status" data-testid="editor-denied">
          {denied}
        </div>
      )}
      <form ref={formRef} className="job-form" data-testid="job-form" onSubmit={submit} noValidate aria-label={editing ? 'Edit job' : 'New job'}>
        {(formError || count > 0) && (
          <div className="form-alert" role="alert" data-testid="form-error">
            <strong>{formError ?? 'Fix the highlighted fields.'}</strong>
            {count > 0 && <span> {count === 1 ? '1 field needs' : `${count} fields need`} attention.</span>}
          </div>
        )}

        <Section title="What runs" description="A Python function on a worker, a shell command, or an HTTP request.">
          <Field label="Name" htmlFor="name" error={err('name')} hint="Unique; letters, digits, . _ - only. Other jobs refer to it in depends_on.">
            <input id="name" className="input" value={form.name} onChange={(e) => set('name', e.target.value)} placeholder="daily-report" autoComplete="off" spellCheck={false} {...invalid('name')} />
          </Field>
          <Field label="Description" htmlFor="description" error={err('description')} hint="Optional: what the job does, for whoever is on call.">
            <input id="description" className="input" value={form.description} onChange={(e) => set('description', e.target.value)} placeholder="Builds the daily sales report and mails it" {...invalid('description')} />
          </Field>
          <fieldset className="field">
            <legend className="field-label">Type</legend>
            <div className="segmented" role="radiogroup" aria-label="Job type">
              {(['python', 'shell', 'http'] as JobType[]).map((t) => (
                <label key={t} className={`segment${form.type === t ? ' active' : ''}`}>
                  <input type="radio" name="type" value={t} checked={form.type === t} onChange={() => set('type', t)} />
                  {t === 'python' ? 'Python' : t === 'shell' ? 'Shell' : 'HTTP'}
                </label>
              ))}
            </div>
          </fieldset>
          {form.type === 'python' && (
            <Field label="Function" htmlFor="function" error={err('function')} hint="Importable on the workers, as module.function.">
              <input id="function" className="input mono" value={form.function} onChange={(e) => set('function', e.target.value)} placeholder="reports.generate_daily" spellCheck={false} {...invalid('function')} />
            </Field>
          )}
          {form.type === 'shell' && (
            <Field label="Command" htmlFor="command" error={err('command')} hint='Run with /bin/sh -c; exit code 0 means success. A JSON list (["rsync", "-a", "src/", "/backup"]) is an argv run without a shell.'>
              <textarea id="command" className="input mono" rows={3} value={form.command} onChange={(e) => set('command', e.target.value)} placeholder="./scripts/backup.sh --full" spellCheck={false} {...invalid('command')} />
            </Field>
          )}
          {form.type === 'http' && (
            <>
              <div className="form-row">
                <Field label="Method" htmlFor="method" error={err('method')} className="field-narrow">
                  <select id="method" className="select" value={form.method} onChange={(e) => set('method', e.target.value)}>
                    {['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => (
                      <option key={m}>{m}</option>
                    ))}
                  </select>
                </Field>
                <Field label="URL" htmlFor="url" error={err('url')} className="field-grow">
                  <input id="url" className="input mono" value={form.url} onChange={(e) => set('url', e.target.value)} placeholder="https://example.com/hooks/rebuild" spellCheck={false} {...invalid('url')} />
                </Field>
              </div>
              <Field label="Headers (JSON)" htmlFor="headers" error={err('headers')} hint="An Idempotency-Key header is added for you.">
                <textarea id="headers" className="input mono" rows={3} value={form.headers} onChange={(e) => set('headers', e.target.value)} placeholder='{"Authorization": "Bearer …"}' spellCheck={false} {...invalid('headers')} />
              </Field>
              <Field label="Body" htmlFor="body" error={err('body')}>
                <textarea id="body" className="input mono" rows={3} value={form.body} onChange={(e) => set('body', e.target.value)} spellCheck={false} {...invalid('body')} />
              </Field>
            </>
          )}
          <Field label="Parameters (JSON object)" htmlFor="parameters" error={err('parameters')} hint="Passed to the job on every run; a manual trigger can override them.">
            <textarea id="parameters" className="input mono code-input" rows={5} value={form.parameters} onChange={(e) => set('parameters', e.target.value)} spellCheck={false} {...invalid('parameters')} />
          </Field>
        </Section>

        <Section title="When it runs" description="Cron, an interval or a one-time date. Leave empty for manual or dependency-only jobs.">
          <div className="form-row">
            <Field label="Schedule" htmlFor="schedule" error={err('schedule')} className="field-grow" hint="0 9 * * * · @daily · every 5m · 1h · 2026-01-16T09:00:00Z">
              <input id="schedule" className="input mono" value={form.schedule} onChange={(e) => set('schedule', e.target.value)} placeholder="0 9 * * *" spellCheck={false} autoComplete="off" {...invalid('schedule')} />
            </Field>
            <Field label="Time zone" htmlFor="timezone" error={err('timezone')} className="field-tz">
              <input id="timezone" className="input" list="tz-list" value={form.timezone} onChange={(e) => set('timezone', e.target.value)} spellCheck={false} autoComplete="off" {...invalid('timezone')} />
              <datalist id="tz-list">
                {zones.map((z) => (
                  <option key={z} value={z} />
                ))}
              </datalist>
            </Field>
          </div>
          <div className="presets" aria-label="Schedule presets">
            {SCHEDULE_PRESETS.map((p) => (
              <button key={p.value} type="button" className={`preset${form.schedule === p.value ? ' active' : ''}`} onClick={() => set('schedule', p.value)}>
                {p.label}
              </button>
            ))}
          </div>
          <div className="form-row">
            <Field label="Business calendar" htmlFor="calendar" error={err('calendar')} className="field-grow" hint="Ticks on its non-business days (weekends, holidays…) follow the policy.">
              <select id="calendar" className="select" value={form.calendar} onChange={(e) => set('calendar', e.target.value)} {...invalid('calendar')}>
                <option value="">None: every tick fires</option>
                {calendarNames.map((c) => (
                  <option key={c} value={c}>
                    {c}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="On a closed day" htmlFor="calendar_policy" error={err('calendar_policy')}>
              <select id="calendar_policy" className="select" value={form.calendar_policy} disabled={!form.calendar} onChange={(e) => set('calendar_policy', e.target.value as JobForm['calendar_policy'])}>
                {CALENDAR_POLICIES.map((p) => (
                  <option key={p} value={p}>
                    {POLICY_LABELS[p]}
                  </option>
                ))}
              </select>
            </Field>
          </div>
          <SchedulePreview schedule={form.schedule} timezone={form.timezone} calendar={form.calendar ? { name: form.calendar, policy: form.calendar_policy, namespace: calendarNamespace } : undefined} />
          <Field label="Depends on" htmlFor="depends_on" error={err('depends_on')} hint="Runs after each of these jobs succeeds. Cycles are rejected.">
            <DependsOnInput id="depends_on" value={form.depends_on.map((d) => d.job)} onChange={(v) => set('depends_on', v.map((job) => form.depends_on.find((d) => d.job === job) ?? { job, on: 'success' }))} exclude={form.name.trim()} invalid={!!err('depends_on')} />
          </Field>
        </Section>

        <Section title="Reliability" description="Timeouts and retries. Failed runs with no retries left go to the dead-letter queue.">
          <div className="form-grid">
            <Field label="Timeout (s)" htmlFor="timeout" error={err('timeout')}>
              <input id="timeout" className="input" inputMode="decimal" value={form.timeout} onChange={(e) => set('timeout', e.target.value)} {...invalid('timeout')} />
            </Field>
            <Field label="Retries" htmlFor="retries" error={err('retries')}>
              <input id="retries" className="input" inputMode="numeric" value={form.retries} onChange={(e) => set('retries', e.target.value)} {...invalid('retries')} />
            </Field>
            <Field label="Retry delay (s)" htmlFor="retry_delay" error={err('retry_delay')}>
              <input id="retry_delay" className="input" inputMode="decimal" value={form.retry_delay} onChange={(e) => set('retry_delay', e.target.value)} {...invalid('retry_delay')} />
            </Field>
            <Field label="Backoff" htmlFor="backoff" error={err('backoff')}>
              <select id="backoff" className="select" value={form.backoff} onChange={(e) => set('backoff', e.target.value as JobForm['backoff'])}>
                <option value="exponential">Exponential</option>
                <option value="fixed">Fixed</option>
              </select>
            </Field>
          </div>
          <Field label="Tags" htmlFor="tags" error={err('tags')} hint="Comma-separated, for grouping and filtering.">
            <input id="tags" className="input" value={form.tags} onChange={(e) => set('tags', e.target.value)} placeholder="reports, nightly" {...invalid('tags')} />
          </Field>
          <label className="checkbox">
            <input type="checkbox" checked={form.enabled} onChange={(e) => set('enabled', e.target.checked)} />
            <span>Enabled (scheduled runs fire)</span>
          </label>
        </Section>

        <section className="form-section">
          <button type="button" className="disclosure" aria-expanded={advanced} onClick={() => setAdvanced((a) => !a)}>
            <ChevronDown size={16} className={advanced ? 'rot-180' : ''} aria-hidden />
            Advanced: routing, concurrency, misfires
          </button>
          {advanced && (
            <div className="form-section-body">
              <div className="form-grid">
                <Field label="Worker tags" htmlFor="worker_tags" error={err('worker_tags')} hint="A worker needs all of them.">
                  <input id="worker_tags" className="input" value={form.worker_tags} onChange={(e) => set('worker_tags', e.target.value)} {...invalid('worker_tags')} />
                </Field>
                <Field label="Concurrency" htmlFor="concurrency" error={err('concurrency')} hint="Max parallel runs.">
                  <input id="concurrency" className="input" inputMode="numeric" value={form.concurrency} onChange={(e) => set('concurrency', e.target.value)} {...invalid('concurrency')} />
                </Field>
                <Field label="On overlap" htmlFor="on_overlap" error={err('on_overlap')}>
                  <select id="on_overlap" className="select" value={form.on_overlap} onChange={(e) => set('on_overlap', e.target.value)}>
                    <option value="skip">Skip</option>
                    <option value="queue">Queue</option>
                    <option value="allow">Allow</option>
                    <option value="cancel_previous">Cancel previous</option>
                  </select>
                </Field>
                <Field label="Catch-up" htmlFor="catchup" error={err('catchup')} hint="After missed fire times.">
                  <select id="catchup" className="select" value={form.catchup} onChange={(e) => set('catchup', e.target.value)}>
                    <option value="latest">Latest only</option>
                    <option value="all">All (bounded)</option>
                    <option value="none">None</option>
                  </select>
                </Field>
                <Field label="Max retry delay (s)" htmlFor="max_retry_delay" error={err('max_retry_delay')}>
                  <input id="max_retry_delay" className="input" inputMode="decimal" value={form.max_retry_delay} onChange={(e) => set('max_retry_delay', e.target.value)} {...invalid('max_retry_delay')} />
                </Field>
                <Field label="Start deadline (s)" htmlFor="start_deadline" error={err('start_deadline')} hint="Empty = none; later starts are missed.">
                  <input id="start_deadline" className="input" inputMode="decimal" value={form.start_deadline} onChange={(e) => set('start_deadline', e.target.value)} {...invalid('start_deadline')} />
                </Field>
                <Field label="Jitter (s)" htmlFor="jitter" error={err('jitter')}>
                  <input id="jitter" className="input" inputMode="decimal" value={form.jitter} onChange={(e) => set('jitter', e.target.value)} {...invalid('jitter')} />
                </Field>
                <Field label="Priority (0–100)" htmlFor="priority" error={err('priority')}>
                  <input id="priority" className="input" inputMode="numeric" value={form.priority} onChange={(e) => set('priority', e.target.value)} {...invalid('priority')} />
                </Field>
                <Field label="Delivery" htmlFor="delivery" error={err('delivery')}>
                  <select id="delivery" className="select" value={form.delivery} onChange={(e) => set('delivery', e.target.value as JobForm['delivery'])}>
                    <option value="at_least_once">At least once (lost runs are retried)</option>
                    <option value="at_most_once">At most once (never started twice)</option>
                  </select>
                </Field>
                {form.type === 'python' && (
                  <Field label="Isolation" htmlFor="isolation" error={err('isolation')}>
                    <select id="isolation" className="select" value={form.isolation} onChange={(e) => set('isolation', e.target.value as JobForm['isolation'])}>
                      <option value="pool">Pool (pre-forked)</option>
                      <option value="process">Fresh process per run</option>
                    </select>
                  </Field>
                )}
              </div>
            </div>
          )}
        </section>

        <div className="form-footer">
          <Link to={editing ? `/jobs/${encodeURIComponent(jobId as string)}` : '/jobs'} className="btn btn-secondary btn-md">
            Cancel
          </Link>
          <Button type="submit" variant="primary" pending={save.isPending} data-testid="save-job" denied={denied}>
            {editing ? 'Save changes' : 'Create job'}
          </Button>
        </div>
      </form>
    </div>
  )
}
