import { Graph, layout } from '@dagrejs/dagre'
import type { Dag, DagEdge, DagNode, DependOn } from '../api/types'

/**
 * The part of the graph a job belongs to: the job, everything upstream of it
 * and everything downstream of it (not unrelated branches of the same
 * component), bounded by `maxNodes` so a huge DAG stays readable.
 */
export function neighborhood(dag: Dag, name: string, maxNodes = 80): Dag {
  if (!dag.nodes.some((n) => n.name === name)) return { nodes: [], edges: [] }
  const up = new Map<string, string[]>()
  const down = new Map<string, string[]>()
  for (const e of dag.edges) {
    ;(down.get(e.source) ?? down.set(e.source, []).get(e.source))?.push(e.target)
    ;(up.get(e.target) ?? up.set(e.target, []).get(e.target))?.push(e.source)
  }
  const keep = new Set<string>([name])
  const walk = (adj: Map<string, string[]>) => {
    let frontier = [name]
    while (frontier.length && keep.size < maxNodes) {
      const next: string[] = []
      for (const n of frontier) {
        for (const m of adj.get(n) ?? []) {
          if (keep.has(m) || keep.size >= maxNodes) continue
          keep.add(m)
          next.push(m)
        }
      }
      frontier = next
    }
  }
  walk(up)
  walk(down)
  return {
    nodes: dag.nodes.filter((n) => keep.has(n.name)),
    edges: dag.edges.filter((e) => keep.has(e.source) && keep.has(e.target)),
  }
}

export interface Positioned {
  node: DagNode
  x: number
  y: number
}

export const NODE_W = 176
export const NODE_H = 52

/** Left-to-right layered layout (dagre); returns top-left positions. */
export function layoutDag(dag: Dag, direction: 'LR' | 'TB' = 'LR'): Positioned[] {
  const g = new Graph()
  // a labelled (failure / done) edge needs room between the ranks for its label
  const labelled = dag.edges.some((e) => e.on && e.on !== 'success')
  g.setGraph({ rankdir: direction, nodesep: 24, ranksep: labelled ? 96 : 52, marginx: 8, marginy: 8 })
  g.setDefaultEdgeLabel(() => ({}))
  for (const n of dag.nodes) g.setNode(n.name, { width: NODE_W, height: NODE_H })
  for (const e of dag.edges) {
    if (g.hasNode(e.source) && g.hasNode(e.target)) g.setEdge(e.source, e.target)
  }
  layout(g)
  return dag.nodes.map((node) => {
    const p = g.node(node.name) as { x: number; y: number } | undefined
    return { node, x: (p?.x ?? 0) - NODE_W / 2, y: (p?.y ?? 0) - NODE_H / 2 }
  })
}

/** Size of a laid-out graph, for sizing its container. */
export function bounds(points: Positioned[]): { width: number; height: number } {
  if (points.length === 0) return { width: 0, height: 0 }
  const xs = points.map((p) => p.x)
  const ys = points.map((p) => p.y)
  return { width: Math.max(...xs) - Math.min(...xs) + NODE_W, height: Math.max(...ys) - Math.min(...ys) + NODE_H }
}

/** Jobs that belong to some dependency edge (isolated jobs clutter the full graph). */
export function connectedOnly(dag: Dag): Dag {
  const used = new Set<string>()
  for (const e of dag.edges) {
    used.add(e.source)
    used.add(e.target)
  }
  return { nodes: dag.nodes.filter((n) => used.has(n.name)), edges: dag.edges }
}

/** How each kind of edge is drawn: a success edge solid grey, a failure edge dashed red, a
 * done edge dotted blue; the non-success ones also carry a label, so colour is never the
 * only cue. */
export const EDGE_KINDS: Record<DependOn, { stroke: string; dash?: string; label?: string; legend: string }> = {
  success: { stroke: '#94a3b8', legend: 'on success' },
  failure: { stroke: '#dc2626', dash: '6 4', label: 'on failure', legend: 'on failure' },
  done: { stroke: '#2563eb', dash: '2 4', label: 'when done', legend: 'when done (any outcome)' },
}

export interface EdgeLook {
  stroke: string
  strokeWidth: number
  strokeDasharray?: string
  label?: string
  className: string
}

/** The drawing of an edge of condition `on` (success when absent), brighter when `lit`. */
export function edgeLook(on: DependOn | undefined, lit: boolean): EdgeLook {
  const kind = on ?? 'success'
  const look = EDGE_KINDS[kind]
  return {
    stroke: lit && kind === 'success' ? 'var(--brand)' : look.stroke,
    strokeWidth: lit ? 2.25 : 1.5,
    strokeDasharray: look.dash,
    label: look.label,
    className: `dag-edge dag-edge-${kind}`,
  }
}

const WHEN: Record<DependOn, string> = { success: 'succeeds', failure: 'fails', done: 'finishes, whatever the outcome' }

/** An edge in words, for screen readers: "cleanup runs when load fails". */
export function edgeSentence(e: DagEdge): string {
  return `${e.target} runs when ${e.source} ${WHEN[e.on ?? 'success']}`
}

/** The kinds of edge the graph has, in a fixed order (what its legend lists). */
export function edgeKinds(dag: Dag): DependOn[] {
  const present = new Set(dag.edges.map((e) => e.on ?? 'success'))
  return (['success', 'failure', 'done'] as DependOn[]).filter((k) => present.has(k))
}
