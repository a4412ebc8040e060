import { useQuery } from '@tanstack/react-query'
import { endpoints } from '../api/endpoints'
import { keys } from '../api/keys'
import { ALL } from '../lib/namespace'
import { namespacesWithQuotas, quotaBars } from '../lib/quotas'
import { Card, ProgressBar } from './ui'
import { useNamespaceChoice } from './NamespaceSwitch'

/** Quota usage bars of the namespace shown (of every namespace with quotas, for all of them):
 * nothing when none has a quota. The same list as the namespace switcher's (GET /api/namespaces). */
export function QuotaUsage() {
  const choice = useNamespaceChoice()
  const listed = useQuery({ queryKey: keys.namespaces, queryFn: ({ signal }) => endpoints.namespaces(signal), staleTime: 10_000, refetchInterval: 15_000 })
  const shown = namespacesWithQuotas(listed.data?.namespaces ?? [], choice, ALL)
  if (shown.length === 0) return null
  return (
    <Card title="Quotas" id="quotas" actions={<span className="muted small">use now, of each namespace limit</span>}>
      <div className="quota-list" data-testid="quota-usage">
        {shown.map((ns) => (
          <div key={ns.name} className="quota-ns" data-testid={`quota-ns-${ns.name}`}>
            {shown.length > 1 || choice === ALL ? <div className="quota-ns-name mono">{ns.name}</div> : null}
            {quotaBars(ns).map((bar) => (
              <div key={bar.quota} className="quota-row" data-testid={`quota-${bar.quota}`} data-tone={bar.tone}>
                <div className="quota-row-top">
                  <span className="quota-label">{bar.label}</span>
                  <span className="quota-text">{bar.text}</span>
                </div>
                <ProgressBar value={bar.fraction} tone={bar.tone} label={`${ns.name}: ${bar.label}, ${bar.text}`} />
              </div>
            ))}
          </div>
        ))}
      </div>
    </Card>
  )
}
