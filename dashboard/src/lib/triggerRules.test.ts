import { describe, expect, it } from 'vitest'
import type { Dag, Job } from '../api/types'
import { EDGE_KINDS, edgeKinds, edgeLook, edgeSentence } from './dag'
import { EMPTY_FORM, describeDependencies, formToSpec, jobToForm, withCondition, withDependencies } from './jobform'

const node = (name: string) => ({ id: `job-${name}`, name, status: 'idle' as const, enabled: true })

describe('DAG edges by condition', () => {
  it('draws success solid, failure dashed red, done dotted, each with its own look', () => {
    const success = edgeLook(undefined, false)
    const failure = edgeLook('failure', false)
    const done = edgeLook('done', false)
    expect(success.strokeDasharray).toBeUndefined()
    expect(success.label).toBeUndefined()
    expect(failure).toMatchObject({ stroke: EDGE_KINDS.failure.stroke, strokeDasharray: '6 4', label: 'on failure', className: 'dag-edge dag-edge-failure' })
    expect(done).toMatchObject({ strokeDasharray: '2 4', label: 'when done', className: 'dag-edge dag-edge-done' })
    expect(new Set([success.stroke, failure.stroke, done.stroke]).size).toBe(3)
  })
  it('lights a success edge in the brand colour but keeps a failure edge red', () => {
    expect(edgeLook('success', true).stroke).toBe('var(--brand)')
    expect(edgeLook('failure', true).stroke).toBe(EDGE_KINDS.failure.stroke)
    expect(edgeLook('failure', true).strokeWidth).toBeGreaterThan(edgeLook('failure', false).strokeWidth)
  })
  it('says each edge in words and lists the kinds present for the legend', () => {
    const dag: Dag = {
      nodes: ['load', 'cleanup', 'report'].map(node),
      edges: [
        { source: 'load', target: 'report' },
        { source: 'load', target: 'cleanup', on: 'failure' },
      ],
    }
    expect(dag.edges.map(edgeSentence)).toEqual(['report runs when load succeeds', 'cleanup runs when load fails'])
    expect(edgeKinds(dag)).toEqual(['success', 'failure'])
    expect(edgeKinds({ ...dag, edges: [{ source: 'a', target: 'b', on: 'done' }] })).toEqual(['done'])
  })
})

describe('the job form’s dependency conditions', () => {
  it('keeps each chosen condition as dependencies come and go', () => {
    let rows = withDependencies([], ['extract', 'load'])
    expect(rows).toEqual([{ job: 'extract', on: 'success' }, { job: 'load', on: 'success' }])
    rows = withCondition(rows, 'load', 'failure')
    rows = withDependencies(rows, ['load', 'report'])
    expect(rows).toEqual([{ job: 'load', on: 'failure' }, { job: 'report', on: 'success' }])
  })
  it('sends plain names for success and objects for the others, with the trigger rule', () => {
    const form = { ...EMPTY_FORM, name: 'cleanup', function: 'ops.cleanup', depends_on: [{ job: 'extract', on: 'success' as const }, { job: 'load', on: 'done' as const }], trigger_rule: 'any' as const }
    const { spec, errors } = formToSpec(form)
    expect(errors).toEqual({})
    expect(spec?.depends_on).toEqual(['extract', { job: 'load', on: 'done' }])
    expect(spec?.trigger_rule).toBe('any')
  })
  it('reads a job’s conditions back into the form', () => {
    const job = { name: 'c', type: 'python', function: 'a.b', depends_on: ['a', { job: 'b', on: 'failure' }], trigger_rule: 'any', tags: [], worker_tags: ['default'], parameters: {} } as unknown as Job
    const form = jobToForm(job)
    expect(form.depends_on).toEqual([{ job: 'a', on: 'success' }, { job: 'b', on: 'failure' }])
    expect(form.trigger_rule).toBe('any')
    expect(formToSpec(form).spec?.depends_on).toEqual(['a', { job: 'b', on: 'failure' }])
    expect(describeDependencies(job.depends_on, 'any')).toBe('a, b (on failure) — any of them')
  })
})
