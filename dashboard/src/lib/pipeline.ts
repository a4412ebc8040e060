import { Graph, layout } from '@dagrejs/dagre'
import type { Condition, Dependency, PipelineRunStatus, TaskRun, TaskStatus } from '../api/pipelineTypes'
import { TASK_STATUSES } from '../api/pipelineTypes'
import { formatDuration } from './format'

// The pure side of the pipeline pages: a pipeline's tasks as a graph (edges by condition), the
// Gantt of a pipeline run's task timings, and the words and colours of task statuses.

/** `depends_on` entries as the server may send them: a bare name waits for the task's success. */
export function dependency(dep: Dependency): { job: string; on: Condition } {
  if (typeof dep === 'string') return { job: dep, on: 'success' }
  const on = dep.on === 'failure' || dep.on === 'done' ? dep.on : 'success'
  return { job: dep.job, on }
}

export interface TaskEdge {
  source: string
  target: string
  on: Condition
}

interface TaskLike {
  name: string
  depends_on: Dependency[]
  trigger_rule?: string | null
}

/** One edge per dependency between two tasks of the pipeline (upstream → downstream). */
export function taskEdges(tasks: readonly TaskLike[]): TaskEdge[] {
  const names = new Set(tasks.map((t) => t.name))
  const edges: TaskEdge[] = []
  const seen = new Set<string>()
  for (const task of tasks) {
    for (const dep of task.depends_on) {
      const { job, on } = dependency(dep)
      const key = `${job}->${task.name}:${on}`
      if (!names.has(job) || seen.has(key)) continue
      seen.add(key)
      edges.push({ source: job, target: task.name, on })
    }
  }
  return edges
}

const CONDITION_WORDS: Record<Condition, string> = { success: 'succeeds', failure: 'fails', done: 'finishes (either way)' }

/** When a task runs, in words: "after extract succeeds", "when any of: a fails, b finishes …". */
export function dependencyText(task: TaskLike): string {
  const deps = task.depends_on.map(dependency)
  if (deps.length === 0) return 'starts first'
  const parts = deps.map((d) => `${d.job} ${CONDITION_WORDS[d.on]}`)
  if (parts.length === 1) return `runs when ${parts[0]}`
  return task.trigger_rule === 'any' ? `runs when any of these holds: ${parts.join('; ')}` : `runs when all of these hold: ${parts.join('; ')}`
}

export type Direction = 'LR' | 'TB'

export interface GraphNode<T> {
  task: T
  x: number
  y: number
}

export interface GraphEdge extends TaskEdge {
  path: string
  /** where the edge's label goes (the middle of the curve) */
  labelX: number
  labelY: number
}

export interface TaskGraph<T> {
  nodes: GraphNode<T>[]
  edges: GraphEdge[]
  width: number
  height: number
}

// wider than the dependency graph's job nodes (lib/dag): a node also says why a task was
// skipped, and the ranks leave room for the edges' condition labels
export const TASK_W = 184
export const TASK_H = 54
const PAD = 12

/** The point at `t` (0..1) along a cubic curve. */
function along(t: number, p: readonly [number, number][]): [number, number] {
  const [a, b, c, d] = p as [[number, number], [number, number], [number, number], [number, number]]
  const u = 1 - t
  const f = (i: 0 | 1) => u * u * u * a[i] + 3 * u * u * t * b[i] + 3 * u * t * t * c[i] + t * t * t * d[i]
  return [f(0), f(1)]
}

/**
 * A cubic curve from the upstream node's outlet to the downstream node's inlet, and where its
 * label goes: past the middle, where edges fanning out of one task have spread apart.
 */
export function edgePath(from: { x: number; y: number }, to: { x: number; y: number }, direction: Direction): { path: string; labelX: number; labelY: number } {
  let points: [number, number][]
  if (direction === 'LR') {
    const x1 = from.x + TASK_W
    const y1 = from.y + TASK_H / 2
    const x2 = to.x
    const y2 = to.y + TASK_H / 2
    const dx = Math.max(24, Math.abs(x2 - x1) / 2)
    points = [[x1, y1], [x1 + dx, y1], [x2 - dx, y2], [x2, y2]]
  } else {
    const x1 = from.x + TASK_W / 2
    const y1 = from.y + TASK_H
    const x2 = to.x + TASK_W / 2
    const y2 = to.y
    const dy = Math.max(18, Math.abs(y2 - y1) / 2)
    points = [[x1, y1], [x1, y1 + dy], [x2, y2 - dy], [x2, y2]]
  }
  const [p0, p1, p2, p3] = points as [[number, number], [number, number], [number, number], [number, number]]
  const [labelX, labelY] = along(0.62, points)
  return { path: `M ${p0[0]} ${p0[1]} C ${p1[0]} ${p1[1]}, ${p2[0]} ${p2[1]}, ${p3[0]} ${p3[1]}`, labelX: Math.round(labelX), labelY: Math.round(labelY) }
}

/** Top-left corners of the tasks laid out in layers by dagre (as lib/dag lays out jobs). */
function place(names: readonly string[], edges: readonly TaskEdge[], direction: Direction): Map<string, { x: number; y: number }> {
  const g = new Graph()
  g.setGraph({ rankdir: direction, nodesep: 28, ranksep: direction === 'LR' ? 68 : 60, marginx: 0, marginy: 0 })
  g.setDefaultEdgeLabel(() => ({}))
  for (const n of names) g.setNode(n, { width: TASK_W, height: TASK_H })
  for (const e of edges) g.setEdge(e.source, e.target)
  layout(g)
  const placed = names.map((n) => {
    const p = g.node(n) as { x: number; y: number } | undefined
    return { n, x: (p?.x ?? 0) - TASK_W / 2, y: (p?.y ?? 0) - TASK_H / 2 }
  })
  const minX = Math.min(...placed.map((p) => p.x))
  const minY = Math.min(...placed.map((p) => p.y))
  return new Map(placed.map((p) => [p.n, { x: Math.round(p.x - minX + PAD), y: Math.round(p.y - minY + PAD) }]))
}

/** Tasks laid out in layers, upstream first, with each edge's curve. */
export function layoutTasks<T extends TaskLike>(tasks: readonly T[], direction: Direction = 'LR'): TaskGraph<T> {
  const edges = taskEdges(tasks)
  const byName = place(
    tasks.map((t) => t.name),
    edges,
    direction,
  )
  const nodes = tasks.map((task) => ({ task, ...(byName.get(task.name) ?? { x: PAD, y: PAD }) }))
  const width = nodes.length ? Math.max(...nodes.map((n) => n.x)) + TASK_W + PAD : 0
  const height = nodes.length ? Math.max(...nodes.map((n) => n.y)) + TASK_H + PAD : 0
  const graphEdges = edges.map((e) => {
    const from = byName.get(e.source) as { x: number; y: number }
    const to = byName.get(e.target) as { x: number; y: number }
    return { ...e, ...edgePath(from, to, direction) }
  })
  return { nodes, edges: graphEdges, width, height }
}

// ---------- statuses ----------

/** Colour tones of task statuses (CSS `ptone-<tone>`; the badge tones of lib/status where shared). */
export type TaskTone = 'neutral' | 'queued' | 'info' | 'success' | 'danger' | 'muted' | 'skipped'

const TASK_TONES: Record<TaskStatus, TaskTone> = {
  pending: 'neutral',
  queued: 'queued',
  running: 'info',
  completed: 'success',
  failed: 'danger',
  cancelled: 'muted',
  skipped: 'skipped',
}

export function taskTone(status: string | null | undefined): TaskTone {
  return TASK_TONES[status as TaskStatus] ?? 'neutral'
}

const TASK_LABELS: Record<TaskStatus, string> = {
  pending: 'Pending',
  queued: 'Queued',
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
  skipped: 'Skipped',
}

export function taskLabel(status: string | null | undefined): string {
  return TASK_LABELS[status as TaskStatus] ?? (status ? status.charAt(0).toUpperCase() + status.slice(1) : 'Unknown')
}

/** What the graph's legend explains: each status, and each edge kind. */
export const STATUS_LEGEND: { status: TaskStatus; label: string; meaning: string }[] = TASK_STATUSES.map((status) => ({
  status,
  label: TASK_LABELS[status],
  meaning: {
    pending: 'waits for its upstream tasks',
    queued: 'waits for a worker',
    running: 'running now',
    completed: 'succeeded',
    failed: 'failed (no retries left)',
    cancelled: 'cancelled',
    skipped: 'can no longer run (the reason is shown)',
  }[status],
}))

export const EDGE_LEGEND: { on: Condition; label: string; meaning: string }[] = [
  { on: 'success', label: 'On success', meaning: 'runs after the upstream task succeeds' },
  { on: 'failure', label: 'On failure', meaning: 'runs after the upstream task fails' },
  { on: 'done', label: 'On done', meaning: 'runs after the upstream task finishes, either way' },
]

/** "2 completed · 1 failed · 1 skipped", in the order of the task statuses. */
export function countsText(counts: Partial<Record<string, number>> | null | undefined): string {
  if (!counts) return ''
  const known = TASK_STATUSES.filter((s) => (counts[s] ?? 0) > 0).map((s) => `${counts[s]} ${s}`)
  const other = Object.entries(counts)
    .filter(([s, n]) => !(TASK_STATUSES as string[]).includes(s) && (n ?? 0) > 0)
    .map(([s, n]) => `${n} ${s}`)
  return [...known, ...other].join(' · ')
}

export function isActivePipelineRun(status: PipelineRunStatus | string | null | undefined): boolean {
  return status === 'queued' || status === 'running'
}

/** How often an open pipeline run page asks again: events drive it, a poll covers what they
 * could not (slow while the socket is open, quicker while it reconnects). Live off: no polling,
 * as on every page. */
export function pollInterval(live: boolean, socketOpen: boolean, status: string | null | undefined): number | false {
  if (!live || !isActivePipelineRun(status)) return false
  return socketOpen ? 10_000 : 3_000
}

/** A task that can still change (the graph and the Gantt keep ticking while one is). */
export function isActiveTask(status: string | null | undefined): boolean {
  return status === 'pending' || status === 'queued' || status === 'running'
}

/** The task's own words for its node: its status, and why it was skipped. */
export function taskCaption(task: { status: string; reason: string | null }): string {
  const label = taskLabel(task.status)
  return task.reason ? `${label} · ${task.reason}` : label
}

// ---------- Gantt ----------

export interface GanttBar {
  /** fractions of the time axis, 0..1 */
  from: number
  to: number
  seconds: number
}

export interface GanttRow {
  name: string
  status: TaskStatus | string
  run_id: string | null
  reason: string | null
  /** waiting in the queue: queued_at → started_at (or now, or when it ended without starting) */
  wait: GanttBar | null
  /** running: started_at → finished_at (or now while it runs) */
  ran: GanttBar | null
  live: boolean
  /** the row in words, for screen readers and the bar's tooltip */
  text: string
}

export interface GanttTick {
  at: number
  label: string
}

export interface Gantt {
  start: number
  end: number
  rows: GanttRow[]
  ticks: GanttTick[]
}

const STEPS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]

/** The tick spacing (seconds) that puts at most `most` ticks on a span of `span` seconds. */
export function tickStep(span: number, most = 6): number {
  return STEPS.find((s) => span / s <= most) ?? Math.ceil(span / most / 86400) * 86400
}

/** "0s", "30s", "1m 30s", "2h": an offset from the pipeline run's start. */
export function offsetLabel(seconds: number): string {
  if (seconds === 0) return '0s'
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`
  if (seconds < 60) return `${Math.round(seconds * 10) / 10}s`
  return formatDuration(seconds)
}

const ms = (iso: string | null | undefined): number | null => {
  if (!iso) return null
  const t = Date.parse(iso)
  return Number.isNaN(t) ? null : t
}

function rowText(name: string, status: string, reason: string | null, wait: number | null, ran: number | null, live: boolean): string {
  const parts = [`${name}: ${taskLabel(status).toLowerCase()}`]
  if (reason) parts.push(reason)
  if (wait !== null) parts.push(`waited ${formatDuration(wait)} in the queue${live && ran === null ? ' so far' : ''}`)
  if (ran !== null) parts.push(`${live ? 'running for' : 'ran'} ${formatDuration(ran)}`)
  if (wait === null && ran === null && !reason) parts.push('not started')
  return parts.join(', ')
}

/**
 * Bars of each task's time in the queue and running, on one time axis from the first task
 * queued to the last one finished (or `now`, while a task still waits or runs: its bar grows).
 */
export function ganttModel(tasks: readonly TaskRun[], now: number, runStart?: string | null, maxTicks = 6): Gantt {
  const starts = tasks.flatMap((t) => [ms(t.queued_at), ms(t.started_at)]).filter((t): t is number => t !== null)
  const start = starts.length ? Math.min(...starts) : (ms(runStart) ?? now)
  let end = start
  for (const t of tasks) {
    const live = isActiveTask(t.status) && (t.queued_at || t.started_at)
    for (const v of [ms(t.finished_at), ms(t.started_at), ms(t.queued_at), live ? now : null]) if (v !== null && v > end) end = v
  }
  const spanMs = Math.max(end - start, 1000)
  const frac = (t: number) => Math.min(1, Math.max(0, (t - start) / spanMs))
  const bar = (a: number, b: number): GanttBar => ({ from: frac(a), to: frac(Math.max(a, b)), seconds: Math.max(0, b - a) / 1000 })
  const rows = tasks.map((t) => {
    const q = ms(t.queued_at)
    const s = ms(t.started_at)
    const f = ms(t.finished_at)
    const live = isActiveTask(t.status)
    const waitEnd = s ?? f ?? (live ? now : null)
    const wait = q !== null && waitEnd !== null ? bar(q, waitEnd) : null
    const runEnd = f ?? (live ? now : null)
    // a finished run's own duration (the server's measure) over the difference of its stamps
    const ran = s !== null && runEnd !== null ? { ...bar(s, runEnd), ...(f !== null && typeof t.duration === 'number' ? { seconds: t.duration } : {}) } : null
    return {
      name: t.name,
      status: t.status,
      run_id: t.run_id,
      reason: t.reason,
      wait,
      ran,
      live,
      text: rowText(t.name, t.status, t.reason, wait?.seconds ?? null, ran?.seconds ?? null, live),
    }
  })
  const span = spanMs / 1000
  const step = tickStep(span, maxTicks)
  const ticks: GanttTick[] = []
  for (let at = 0; at <= span + 1e-9; at += step) ticks.push({ at: at / span, label: offsetLabel(Math.round(at * 1000) / 1000) })
  return { start, end: start + spanMs, rows, ticks }
}
