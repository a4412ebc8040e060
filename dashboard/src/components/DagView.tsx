import { memo, useMemo } from 'react'
import { useNavigate } from 'react-router'
import { Background, Controls, Handle, MarkerType, Position, ReactFlow, type Edge, type Node, type NodeProps } from '@xyflow/react'
import '@xyflow/react/dist/style.css'
import type { Dag, DagNode } from '../api/types'
import { bounds, EDGE_KINDS, edgeKinds, edgeLook, edgeSentence, layoutDag, NODE_H, NODE_W } from '../lib/dag'
import { statusColor, statusLabel } from '../lib/status'

type JobNodeData = { job: DagNode; highlighted: boolean; direction: 'LR' | 'TB' }

const JobNode = memo(function JobNode({ data }: NodeProps<Node<JobNodeData>>) {
  const { job, highlighted, direction } = data
  const color = statusColor(job.status)
  return (
    <div
      className={`dag-node${highlighted ? ' dag-node-current' : ''}${job.enabled ? '' : ' dag-node-disabled'}`}
      style={{ width: NODE_W, height: NODE_H, borderLeftColor: color }}
      data-testid={`dag-node-${job.name}`}
      title={`${job.name} — ${statusLabel(job.status)}${job.enabled ? '' : ' (paused)'}`}
    >
      <Handle type="target" position={direction === 'LR' ? Position.Left : Position.Top} isConnectable={false} />
      <div className="dag-node-name">{job.name}</div>
      <div className="dag-node-status">
        <span className="badge-dot" style={{ background: color }} aria-hidden />
        {job.enabled ? statusLabel(job.status) : 'Paused'}
      </div>
      <Handle type="source" position={direction === 'LR' ? Position.Right : Position.Bottom} isConnectable={false} />
    </div>
  )
})

const nodeTypes = { job: JobNode }

/** `height: 'auto'` sizes the pane to the laid-out graph, between `minHeight` and `maxHeight`. */
export function DagView({ dag, highlight, height = 'auto', direction = 'LR', minHeight = 200, maxHeight = 640 }: { dag: Dag; highlight?: string; height?: number | string; direction?: 'LR' | 'TB'; minHeight?: number; maxHeight?: number }) {
  const navigate = useNavigate()
  const { nodes, edges, box } = useMemo(() => {
    const positioned = layoutDag(dag, direction)
    const box = bounds(positioned)
    const nodes: Node<JobNodeData>[] = positioned.map(({ node, x, y }) => ({
      id: node.name,
      type: 'job',
      position: { x, y },
      data: { job: node, highlighted: node.name === highlight, direction },
      draggable: false,
      connectable: false,
    }))
    const edges: Edge[] = dag.edges.map((e) => {
      const lit = !!highlight && (e.source === highlight || e.target === highlight)
      const look = edgeLook(e.on, lit)
      return {
        id: `${e.source}->${e.target}`,
        source: e.source,
        target: e.target,
        type: 'smoothstep',
        className: look.className,
        label: look.label,
        labelStyle: { fill: look.stroke, fontSize: 11, fontWeight: 600 },
        labelBgStyle: { fill: 'var(--surface)' },
        animated: !look.strokeDasharray && dag.nodes.find((n) => n.name === e.source)?.status === 'running',
        markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16, color: look.stroke },
        style: { stroke: look.stroke, strokeWidth: look.strokeWidth, strokeDasharray: look.strokeDasharray },
      }
    })
    return { nodes, edges, box }
  }, [dag, highlight, direction])
  const paneHeight = height === 'auto' ? Math.round(Math.min(maxHeight, Math.max(minHeight, box.height + 110))) : height
  const kinds = edgeKinds(dag)

  return (
    <div className="dag-view" style={{ height: paneHeight }} data-testid="dag-view" role="figure" aria-label={`Dependency graph with ${dag.nodes.length} jobs`}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        fitView
        fitViewOptions={{ padding: 0.2, maxZoom: 1.1 }}
        minZoom={0.1}
        nodesDraggable={false}
        nodesConnectable={false}
        edgesFocusable={false}
        onNodeClick={(_, node) => {
          const job = (node.data as JobNodeData).job
          navigate(`/jobs/${encodeURIComponent(job.id)}`)
        }}
      >
        <Background gap={20} size={1} color="#e2e8f0" />
        <Controls showInteractive={false} />
      </ReactFlow>
      {kinds.some((k) => k !== 'success') && (
        <ul className="dag-legend" aria-label="Edge kinds" data-testid="dag-legend">
          {kinds.map((k) => (
            <li key={k}>
              <svg width="28" height="8" aria-hidden>
                <line x1="0" y1="4" x2="28" y2="4" stroke={EDGE_KINDS[k].stroke} strokeWidth="2" strokeDasharray={EDGE_KINDS[k].dash} />
              </svg>
              {EDGE_KINDS[k].legend}
            </li>
          ))}
        </ul>
      )}
      <ul className="sr-only">
        {dag.edges.map((e) => (
          <li key={`${e.source}->${e.target}`}>{edgeSentence(e)}</li>
        ))}
      </ul>
    </div>
  )
}
