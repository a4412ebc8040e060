import { describe, expect, it } from 'vitest'
import type { Dag } from '../api/types'
import { connectedOnly, layoutDag, neighborhood } from './dag'

const node = (name: string) => ({ id: `job-${name}`, name, status: 'idle' as const, enabled: true })
const dag: Dag = {
  nodes: ['extract', 'transform', 'load', 'report', 'other', 'lonely', 'sibling'].map(node),
  edges: [
    { source: 'extract', target: 'transform' },
    { source: 'transform', target: 'load' },
    { source: 'load', target: 'report' },
    { source: 'other', target: 'report' },
    { source: 'extract', target: 'sibling' },
  ],
}

describe('neighborhood', () => {
  it('keeps ancestors and descendants only', () => {
    const sub = neighborhood(dag, 'transform')
    expect(sub.nodes.map((n) => n.name).sort()).toEqual(['extract', 'load', 'report', 'transform'])
    expect(sub.edges).toHaveLength(3)
  })
  it('is empty for unknown jobs and bounded in size', () => {
    expect(neighborhood(dag, 'nope').nodes).toEqual([])
    expect(neighborhood(dag, 'report', 2).nodes).toHaveLength(2)
  })
  it('drops isolated jobs from the full graph', () => {
    expect(connectedOnly(dag).nodes.map((n) => n.name)).not.toContain('lonely')
  })
  it('lays upstream jobs left of their dependents', () => {
    const pos = new Map(layoutDag(neighborhood(dag, 'transform')).map((p) => [p.node.name, p.x]))
    expect(pos.get('extract')).toBeLessThan(pos.get('transform') as number)
    expect(pos.get('load')).toBeLessThan(pos.get('report') as number)
  })
})
