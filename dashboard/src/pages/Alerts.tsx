import { useMutation, useQuery } from '@tanstack/react-query'
import { Link, useSearchParams } from 'react-router'
import { Send } from 'lucide-react'
import { useDenied } from '../api/access'
import { endpoints } from '../api/endpoints'
import { errorMessage } from '../api/errors'
import { keys } from '../api/keys'
import type { Alert, AlertChannel } from '../api/types'
import { useToast } from '../components/Toasts'
import { Button, Card, EmptyState, ErrorState, LoadingBlock, PageHeader, TimeAgo } from '../components/ui'
import { alertStatusHint, alertTone, channelTarget, describeRule } from '../lib/alerts'
import { formatDateTime } from '../lib/format'
import { useDocumentTitle } from '../lib/hooks'

const LIMIT = 50
const STATUSES = ['pending', 'sent', 'held', 'digested', 'failed'] as const

function AlertBadge({ a }: { a: Alert }) {
  return (
    <span className={`badge badge-${alertTone(a.status)} badge-sm`} data-testid={`alert-status-${a.id}`} data-status={a.status} title={alertStatusHint(a)}>
      <span className="badge-dot" aria-hidden />
      {a.status}
    </span>
  )
}

function Deliveries() {
  const [params, setParams] = useSearchParams()
  const status = params.get('status') ?? ''
  const before = Number(params.get('before')) || undefined
  const filters = { status: status || undefined, before, limit: LIMIT }
  // deliveries happen a moment after the event that raised them: poll while the page is open
  const query = useQuery({ queryKey: keys.alerts(filters), queryFn: ({ signal }) => endpoints.alerts(filters, signal), refetchInterval: 5_000 })
  const list = query.data?.alerts
  const choose = (value: string) => {
    const p = new URLSearchParams(params)
    if (value) p.set('status', value)
    else p.delete('status')
    p.delete('before')
    setParams(p)
  }
  return (
    <Card
      title="Recent deliveries"
      className="table-card"
      actions={
        <label className="inline-flex" htmlFor="alert-status">
          <span className="muted">Status</span>
          <select id="alert-status" className="select select-sm" value={status} onChange={(e) => choose(e.target.value)} data-testid="alert-status-filter">
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      }
    >
      {query.error && !list ? (
        <ErrorState error={query.error} onRetry={() => void query.refetch()} />
      ) : !list ? (
        <LoadingBlock rows={4} />
      ) : list.length === 0 ? (
        <EmptyState title="No alerts">{status ? 'None with this status.' : 'Alerts raised by your rules appear here with every delivery attempt.'}</EmptyState>
      ) : (
        <div className="table-scroll">
          <table className="table table-stack" data-testid="alerts-table">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">What</th>
                <th scope="col">Rule → channel</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last error</th>
              </tr>
            </thead>
            <tbody>
              {list.map((a) => (
                <tr key={a.id} data-testid={`alert-row-${a.id}`}>
                  <td data-label="When" title={formatDateTime(a.created_at)}>
                    <TimeAgo iso={a.created_at} past />
                  </td>
                  <td data-label="What">
                    {a.run_id ? <Link to={`/runs/${encodeURIComponent(a.run_id)}`}>{a.summary}</Link> : a.summary}
                  </td>
                  <td data-label="Rule → channel" className="mono">
                    {a.rule} → {a.channel}
                  </td>
                  <td data-label="Status">
                    <AlertBadge a={a} />
                  </td>
                  <td data-label="Attempts" title={a.deliveries.map((d) => `${formatDateTime(d.at)}: ${d.ok ? 'ok' : d.error}`).join('\n')}>
                    {a.attempts}
                  </td>
                  <td data-label="Last error" className="wrap">
                    {a.last_error ?? <span className="muted">—</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list && query.data?.next_before && (
        <div className="pagination">
          <button type="button" className="btn btn-ghost" data-testid="alerts-older" onClick={() => setParams((p) => { const n = new URLSearchParams(p); n.set('before', String(query.data!.next_before)); return n })}>
            Older alerts
          </button>
        </div>
      )}
    </Card>
  )
}

function TestButton({ channel }: { channel: AlertChannel }) {
  const toast = useToast()
  const denied = useDenied()
  const test = useMutation({
    mutationFn: () => endpoints.testChannel(channel.name, channel.namespace),
    onSuccess: (r) => (r.ok ? toast.success(`Sent a test to ${channel.name}`) : toast.error(`Test of ${channel.name} failed`, r.error ?? undefined)),
    onError: (e) => toast.error(`Could not test ${channel.name}`, errorMessage(e)),
  })
  return (
    <Button size="sm" variant="ghost" icon={<Send size={14} />} pending={test.isPending} onClick={() => test.mutate()} data-testid={`test-channel-${channel.name}`} denied={denied('operate', 'testing channels', channel.namespace)}>
      Test
    </Button>
  )
}

function Setup() {
  const channels = useQuery({ queryKey: keys.alertConfig('channels'), queryFn: ({ signal }) => endpoints.alertChannels(signal) })
  const rules = useQuery({ queryKey: keys.alertConfig('rules'), queryFn: ({ signal }) => endpoints.alertRules(signal) })
  return (
    <div className="grid-2">
      <Card title="Rules">
        {rules.error ? (
          <ErrorState error={rules.error} />
        ) : !rules.data ? (
          <LoadingBlock rows={2} />
        ) : rules.data.rules.length === 0 ? (
          <EmptyState title="No rules">Add one with POST /api/alert-rules or an apply file’s alert_rules:.</EmptyState>
        ) : (
          <ul className="plain-list" data-testid="alert-rules">
            {rules.data.rules.map((r) => (
              <li key={`${r.namespace}/${r.name}`} data-testid={`alert-rule-${r.name}`}>
                <strong>{r.name}</strong> <span className="muted">{describeRule(r)}</span>
              </li>
            ))}
          </ul>
        )}
      </Card>
      <Card title="Channels">
        {channels.error ? (
          <ErrorState error={channels.error} />
        ) : !channels.data ? (
          <LoadingBlock rows={2} />
        ) : channels.data.channels.length === 0 ? (
          <EmptyState title="No channels">Webhook, Slack and email channels are added with POST /api/alert-channels.</EmptyState>
        ) : (
          <ul className="plain-list" data-testid="alert-channels">
            {channels.data.channels.map((c) => (
              <li key={`${c.namespace}/${c.name}`} data-testid={`alert-channel-${c.name}`} className="inline-flex">
                <strong>{c.name}</strong> <span className="pill">{c.type}</span> <span className="mono muted">{channelTarget(c)}</span>
                {c.has_secret && <span className="pill" title="Requests carry X-Tickwork-Signature">signed</span>}
                <TestButton channel={c} />
              </li>
            ))}
          </ul>
        )}
      </Card>
    </div>
  )
}

export default function Alerts() {
  useDocumentTitle('Alerts')
  return (
    <div className="page">
      <PageHeader title="Alerts" subtitle="Rules send failures, SLA breaches, silent jobs, lost workers and backlogs to webhooks, Slack and email; every delivery attempt is listed." />
      <Setup />
      <Deliveries />
    </div>
  )
}
