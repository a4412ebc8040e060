import { useMemo, useState } from 'react'
import { useQuery } from '@tanstack/react-query'
import { Network } from 'lucide-react'
import { endpoints } from '../api/endpoints'
import { keys } from '../api/keys'
import { DagView } from '../components/LazyCharts'
import { DebouncedInput } from '../components/Filters'
import { useAllNamespaces } from '../components/NamespaceSwitch'
import { EmptyState, ErrorState, LoadingBlock, PageHeader } from '../components/ui'
import { connectedOnly, neighborhood } from '../lib/dag'
import { useDocumentTitle } from '../lib/hooks'

const MAX_FULL = 400

export default function DagPage() {
  useDocumentTitle('Dependencies')
  const dag = useQuery({ queryKey: keys.dag, queryFn: ({ signal }) => endpoints.dag(signal) })
  // one namespace's graph: with all of them shown, the API's default one
  const allNs = useAllNamespaces()
  const [focus, setFocus] = useState('')
  const [direction, setDirection] = useState<'LR' | 'TB'>('LR')
  const shown = useMemo(() => {
    if (!dag.data) return null
    const f = focus.trim()
    if (f) {
      const match = dag.data.nodes.find((n) => n.name === f) ?? dag.data.nodes.find((n) => n.name.toLowerCase().includes(f.toLowerCase()))
      return match ? neighborhood(dag.data, match.name, 200) : { nodes: [], edges: [] }
    }
    const c = connectedOnly(dag.data)
    return c.nodes.length > MAX_FULL ? { nodes: c.nodes.slice(0, MAX_FULL), edges: c.edges.filter((e) => c.nodes.slice(0, MAX_FULL).some((n) => n.name === e.source)) } : c
  }, [dag.data, focus])
  const highlighted = focus.trim() ? shown?.nodes.find((n) => n.name.toLowerCase().includes(focus.trim().toLowerCase()))?.name : undefined
  const total = dag.data ? connectedOnly(dag.data).nodes.length : 0

  return (
    <div className="page">
      <PageHeader
        title="Dependencies"
        subtitle={`Jobs that run after others succeed, fail or finish${allNs ? ', in the default namespace (choose another in the header)' : ''}. Click a job to open it.`}
      />
      <div className="filters">
        <DebouncedInput id="dag-focus" label="Focus on a job" placeholder="Focus on a job…" value={focus} onCommit={setFocus} />
        <div className="segmented" role="group" aria-label="Layout direction">
          <button type="button" className={`segment${direction === 'LR' ? ' active' : ''}`} aria-pressed={direction === 'LR'} onClick={() => setDirection('LR')}>
            Left to right
          </button>
          <button type="button" className={`segment${direction === 'TB' ? ' active' : ''}`} aria-pressed={direction === 'TB'} onClick={() => setDirection('TB')}>
            Top to bottom
          </button>
        </div>
      </div>
      <div className="card">
        {dag.error ? (
          <ErrorState error={dag.error} onRetry={() => void dag.refetch()} />
        ) : !shown ? (
          <LoadingBlock rows={6} />
        ) : shown.nodes.length === 0 ? (
          <EmptyState title={focus ? `No job matches “${focus}”` : 'No dependencies yet'} icon={<Network size={28} />}>
            {focus ? 'Try another name.' : 'Give a job depends_on to chain it after another job.'}
          </EmptyState>
        ) : (
          <>
            {!focus && total > MAX_FULL && <div className="banner banner-neutral">Showing {MAX_FULL} of {total} connected jobs. Focus on a job to see its whole chain.</div>}
            <DagView dag={shown} highlight={highlighted} direction={direction} minHeight={320} maxHeight={760} />
          </>
        )}
      </div>
    </div>
  )
}
