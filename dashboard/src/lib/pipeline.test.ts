import { describe, expect, it } from 'vitest'
import type { TaskRun } from '../api/pipelineTypes'
import { countsText, pollInterval, dependency, dependencyText, edgePath, ganttModel, layoutTasks, offsetLabel, STATUS_LEGEND, TASK_H, TASK_W, taskCaption, taskEdges, taskTone, tickStep } from './pipeline'

const tasks = [
  { name: 'extract', depends_on: [] },
  { name: 'load', depends_on: ['extract'] },
  { name: 'cleanup', depends_on: [{ job: 'extract', on: 'failure' }] },
  { name: 'notify', depends_on: [{ job: 'load', on: 'done' }, { job: 'cleanup', on: 'done' }], trigger_rule: 'any' },
]

const T0 = Date.parse('2026-12-02T06:00:00Z')
const at = (s: number) => new Date(T0 + s * 1000).toISOString()
const run = (name: string, status: TaskRun['status'], q: number | null, s: number | null, f: number | null, reason: string | null = null): TaskRun => ({
  name,
  job_id: `job-${name}`,
  job_name: `etl.${name}`,
  run_id: q === null ? null : `run-${name}`,
  status,
  reason,
  attempt: s === null ? null : 1,
  queued_at: q === null ? null : at(q),
  started_at: s === null ? null : at(s),
  finished_at: f === null ? null : at(f),
  duration: s !== null && f !== null ? f - s : null,
  depends_on: [],
})

describe('dependencies and edges', () => {
  it('reads a bare name as waiting for success and keeps the condition of an object', () => {
    expect(dependency('x')).toEqual({ job: 'x', on: 'success' })
    expect(dependency({ job: 'x', on: 'failure' })).toEqual({ job: 'x', on: 'failure' })
    expect(dependency({ job: 'x', on: 'done' })).toEqual({ job: 'x', on: 'done' })
    expect(dependency({ job: 'x' })).toEqual({ job: 'x', on: 'success' })
  })
  it('draws one edge per dependency, with its condition, ignoring names outside the pipeline', () => {
    const edges = taskEdges([...tasks, { name: 'stray', depends_on: ['elsewhere', 'extract', 'extract'] }])
    expect(edges).toEqual([
      { source: 'extract', target: 'load', on: 'success' },
      { source: 'extract', target: 'cleanup', on: 'failure' },
      { source: 'load', target: 'notify', on: 'done' },
      { source: 'cleanup', target: 'notify', on: 'done' },
      { source: 'extract', target: 'stray', on: 'success' },
    ])
  })
  it('says in words when a task runs, by its trigger rule', () => {
    expect(dependencyText(tasks[0] as (typeof tasks)[0])).toBe('starts first')
    expect(dependencyText(tasks[2] as (typeof tasks)[0])).toBe('runs when extract fails')
    expect(dependencyText(tasks[3] as (typeof tasks)[0])).toBe('runs when any of these holds: load finishes (either way); cleanup finishes (either way)')
    expect(dependencyText({ name: 'y', depends_on: ['a', 'b'] })).toBe('runs when all of these hold: a succeeds; b succeeds')
  })
})

describe('layoutTasks', () => {
  it('puts upstream tasks left of their downstream ones, inside the reported size', () => {
    const g = layoutTasks(tasks)
    const x = new Map(g.nodes.map((n) => [n.task.name, n.x]))
    expect(x.get('extract')).toBeLessThan(x.get('load') as number)
    expect(x.get('extract')).toBeLessThan(x.get('cleanup') as number)
    expect(x.get('load')).toBeLessThan(x.get('notify') as number)
    for (const n of g.nodes) {
      expect(n.x).toBeGreaterThanOrEqual(0)
      expect(n.y).toBeGreaterThanOrEqual(0)
      expect(n.x + TASK_W).toBeLessThanOrEqual(g.width)
      expect(n.y + TASK_H).toBeLessThanOrEqual(g.height)
    }
    expect(g.edges.map((e) => e.on)).toEqual(['success', 'failure', 'done', 'done'])
  })
  it('lays top to bottom when asked', () => {
    const g = layoutTasks(tasks, 'TB')
    const y = new Map(g.nodes.map((n) => [n.task.name, n.y]))
    expect(y.get('extract')).toBeLessThan(y.get('load') as number)
  })
  it('is empty for no tasks', () => {
    expect(layoutTasks([])).toEqual({ nodes: [], edges: [], width: 0, height: 0 })
  })
  it('joins the outlet of one node to the inlet of the next', () => {
    const dx = (300 - TASK_W) / 2
    expect(edgePath({ x: 0, y: 0 }, { x: 300, y: 100 }, 'LR').path).toBe(`M ${TASK_W} ${TASK_H / 2} C ${TASK_W + dx} ${TASK_H / 2}, ${300 - dx} ${100 + TASK_H / 2}, 300 ${100 + TASK_H / 2}`)
    // the label sits past the middle, on the curve
    const label = edgePath({ x: 0, y: 0 }, { x: 300, y: 100 }, 'LR')
    expect(label.labelX).toBeGreaterThan((TASK_W + 300) / 2)
    expect(label.labelY).toBeGreaterThan(TASK_H / 2 + 50)
    expect(label.labelY).toBeLessThan(100 + TASK_H / 2)
    const tb = edgePath({ x: 0, y: 0 }, { x: 0, y: 200 }, 'TB')
    expect(tb.path.startsWith(`M ${TASK_W / 2} ${TASK_H} `)).toBe(true)
    expect(tb.path.endsWith(`${TASK_W / 2} 200`)).toBe(true)
  })
})

describe('statuses', () => {
  it('gives each task status its own tone', () => {
    const tones = STATUS_LEGEND.map((s) => taskTone(s.status))
    expect(new Set(tones).size).toBe(tones.length)
    expect(taskTone('failed')).toBe('danger')
    expect(taskTone('skipped')).toBe('skipped')
    expect(taskTone('something new')).toBe('neutral')
  })
  it('captions a skipped task with its reason', () => {
    expect(taskCaption({ status: 'skipped', reason: 'upstream failed' })).toBe('Skipped · upstream failed')
    expect(taskCaption({ status: 'running', reason: null })).toBe('Running')
  })
  it('counts tasks in status order', () => {
    expect(countsText({ skipped: 1, completed: 2, failed: 0, failed_: 1 })).toBe('2 completed · 1 skipped · 1 failed_')
    expect(countsText(null)).toBe('')
  })
})

describe('ganttModel', () => {
  const done = [run('extract', 'failed', 0, 1, 5), run('load', 'skipped', null, null, null, 'upstream failed'), run('cleanup', 'completed', 5, 6, 10)]

  it('puts every bar on one axis from the first queued to the last finished', () => {
    const g = ganttModel(done, T0 + 60_000)
    expect(g.start).toBe(T0)
    expect(g.end).toBe(T0 + 10_000)
    const [extract, load, cleanup] = g.rows
    expect(extract?.wait).toEqual({ from: 0, to: 0.1, seconds: 1 })
    expect(extract?.ran).toEqual({ from: 0.1, to: 0.5, seconds: 4 })
    expect(cleanup?.ran).toEqual({ from: 0.6, to: 1, seconds: 4 })
    expect(load?.wait).toBeNull()
    expect(load?.ran).toBeNull()
    expect(load?.text).toBe('load: skipped, upstream failed')
    expect(extract?.text).toBe('extract: failed, waited 1.00s in the queue, ran 4.00s')
  })
  it('grows a running bar to now, and the axis with it', () => {
    const live = [run('extract', 'completed', 0, 1, 5), run('load', 'running', 5, 6, null), run('report', 'pending', null, null, null)]
    const g1 = ganttModel(live, T0 + 10_000)
    const g2 = ganttModel(live, T0 + 20_000)
    expect(g1.end).toBe(T0 + 10_000)
    expect(g2.end).toBe(T0 + 20_000)
    expect(g1.rows[1]?.ran?.seconds).toBe(4)
    expect(g2.rows[1]?.ran?.seconds).toBe(14)
    expect(g2.rows[1]?.ran?.to).toBe(1)
    expect(g2.rows[1]?.live).toBe(true)
    expect(g2.rows[1]?.text).toBe('load: running, waited 1.00s in the queue, running for 14.0s')
    expect(g2.rows[2]?.text).toBe('report: pending, not started')
  })
  it('says how long a finished task ran as the server measured it', () => {
    const g = ganttModel([{ ...run('extract', 'completed', 0, 1, 5), duration: 3.987 }], T0 + 60_000)
    expect(g.rows[0]?.ran).toEqual({ from: 0.2, to: 1, seconds: 3.987 })
  })
  it('shows a queued task waiting until now', () => {
    const g = ganttModel([run('extract', 'queued', 0, null, null)], T0 + 4_000)
    expect(g.rows[0]?.wait).toEqual({ from: 0, to: 1, seconds: 4 })
    expect(g.rows[0]?.ran).toBeNull()
  })
  it('starts at the run itself before any task was queued', () => {
    const g = ganttModel([run('extract', 'pending', null, null, null)], T0 + 5_000, at(2))
    expect(g.start).toBe(T0 + 2_000)
    expect(g.end - g.start).toBe(1000)
  })
  it('labels the axis at round steps from 0', () => {
    const g = ganttModel(done, T0)
    expect(g.ticks.map((t) => t.label)).toEqual(['0s', '2s', '4s', '6s', '8s', '10s'])
    expect(g.ticks[5]?.at).toBe(1)
  })
  it('chooses round tick steps', () => {
    expect(tickStep(10)).toBe(2)
    expect(tickStep(0.5)).toBe(0.1)
    expect(tickStep(170)).toBe(30)
    expect(tickStep(7200)).toBe(1800)
    expect(tickStep(10 * 86400)).toBe(2 * 86400)
    expect(offsetLabel(90)).toBe('1m 30s')
    expect(offsetLabel(0.5)).toBe('500ms')
  })
})

describe('pollInterval', () => {
  it('polls an active pipeline run slowly with the socket open, quicker without, never with live off', () => {
    expect(pollInterval(true, true, 'running')).toBe(10_000)
    expect(pollInterval(true, false, 'queued')).toBe(3_000)
    expect(pollInterval(false, false, 'running')).toBe(false)
    expect(pollInterval(true, true, 'failed')).toBe(false)
  })
})
