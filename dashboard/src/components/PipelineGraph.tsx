import { useEffect, useId, useMemo, useRef, useState, type RefObject } from 'react'
import { Link } from 'react-router'
import type { Condition, Dependency } from '../api/pipelineTypes'
import { dependencyText, EDGE_LEGEND, layoutTasks, STATUS_LEGEND, TASK_H, TASK_W, taskCaption, taskTone, type Direction, type TaskGraph } from '../lib/pipeline'
import './pipelines.css'

/** A task as the graph draws it: a pipeline's definition (no status) or a pipeline run's task. */
export interface GraphTask {
  name: string
  depends_on: Dependency[]
  trigger_rule?: string | null
  status?: string
  reason?: string | null
  /** the node's second line when it has no status (a definition: the task's type) */
  detail?: string
  /** the page the node opens (its run, its job), if it has one */
  href?: string | null
}

const CONDITIONS: Condition[] = ['success', 'failure', 'done']
/** A graph a little wider than its box is shrunk to fit (down to this), a wider one scrolls. */
const MIN_SCALE = 0.72

/** The width the graph's box offers, as it changes (none before it is on screen). */
function useBoxWidth(): [RefObject<HTMLDivElement | null>, number | null] {
  const ref = useRef<HTMLDivElement>(null)
  const [width, setWidth] = useState<number | null>(null)
  useEffect(() => {
    const el = ref.current
    if (!el || typeof ResizeObserver === 'undefined') return
    const measure = () => setWidth(el.clientWidth - 16)
    measure()
    const ro = new ResizeObserver(measure)
    ro.observe(el)
    return () => ro.disconnect()
  }, [])
  return [ref, width]
}
const EDGE_WORDS: Record<Condition, string> = { success: '', failure: 'on failure', done: 'on done' }

function NodeBody({ task }: { task: GraphTask }) {
  return (
    <>
      <span className="pnode-name">{task.name}</span>
      <span className="pnode-status">
        {task.status && <span className={`pnode-dot ptone-${taskTone(task.status)}${task.status === 'running' ? ' pulse' : ''}`} aria-hidden />}
        <span className="pnode-caption">{task.status ? taskCaption({ status: task.status, reason: task.reason ?? null }) : (task.detail ?? '')}</span>
      </span>
    </>
  )
}

/**
 * A pipeline's tasks as a graph: each node coloured and labelled by its status (and why it was
 * skipped), each edge drawn by the condition it waits for. Nodes with a page of their own are
 * links, so the graph is walked with Tab; the edges are also listed in words for screen readers.
 */
export function PipelineGraph({
  tasks,
  direction = 'LR',
  label,
  testId = 'pipeline-graph',
}: {
  tasks: GraphTask[]
  direction?: Direction
  label: string
  testId?: string
}) {
  const graph = useMemo(() => layoutTasks(tasks, direction), [tasks, direction])
  const [box, available] = useBoxWidth()
  const fit = available && graph.width > available ? available / graph.width : 1
  const scale = fit >= MIN_SCALE ? fit : 1
  return (
    <figure className="pgraph" data-testid={testId} aria-label={label}>
      <div ref={box} className="pgraph-scroll" tabIndex={0} role="region" aria-label={`${label}: scroll to see every task`}>
        <div className="pgraph-canvas" data-scale={scale.toFixed(2)} style={{ width: graph.width * scale, height: graph.height * scale }}>
          <div className="pgraph-scaled" style={{ width: graph.width, height: graph.height, ...(scale < 1 ? { transform: `scale(${scale})`, transformOrigin: '0 0' } : {}) }}>
            <Edges graph={graph} />
            {graph.nodes.map(({ task, x, y }) => (
              <TaskNode key={task.name} task={task} x={x} y={y} />
            ))}
          </div>
        </div>
      </div>
      <ul className="sr-only" data-testid={`${testId}-text`}>
        {tasks.map((t) => (
          <li key={t.name}>
            {t.name}
            {t.status ? `: ${taskCaption({ status: t.status, reason: t.reason ?? null })}` : ''}; {dependencyText(t)}.
          </li>
        ))}
      </ul>
    </figure>
  )
}

/** The edges, one SVG under the nodes: drawn (and arrowed) by the condition each waits for. */
function Edges({ graph }: { graph: TaskGraph<GraphTask> }) {
  const uid = useId().replace(/:/g, '')
  return (
    <svg className="pgraph-edges" width={graph.width} height={graph.height} aria-hidden focusable="false">
      <defs>
        {CONDITIONS.map((on) => (
          <marker key={on} id={`${uid}-arrow-${on}`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse" className={`pmarker pmarker-${on}`}>
            <path d="M 0 0 L 10 5 L 0 10 z" />
          </marker>
        ))}
      </defs>
      {graph.edges.map((e) => (
        <g key={`${e.source}->${e.target}:${e.on}`} data-testid={`pipeline-edge-${e.source}-${e.target}`} data-on={e.on}>
          <path d={e.path} className={`pedge pedge-${e.on}`} markerEnd={`url(#${uid}-arrow-${e.on})`} />
          {EDGE_WORDS[e.on] && (
            <text x={e.labelX} y={e.labelY - 6} className={`pedge-label pedge-label-${e.on}`} textAnchor="middle">
              {EDGE_WORDS[e.on]}
            </text>
          )}
        </g>
      ))}
    </svg>
  )
}

/** A task's node: a link when it has a page (its run, its job), so Tab walks the graph. */
function TaskNode({ task, x, y }: { task: GraphTask; x: number; y: number }) {
  const tone = task.status ? taskTone(task.status) : 'none'
  const common = {
    className: `pnode ptone-border-${tone}${task.status ? ` pnode-${task.status}` : ''}`,
    style: { left: x, top: y, width: TASK_W, height: TASK_H },
    'data-testid': `pipeline-node-${task.name}`,
    'data-status': task.status ?? '',
    title: `${task.name}${task.status ? ` — ${taskCaption({ status: task.status, reason: task.reason ?? null })}` : ''} (${dependencyText(task)})`,
  }
  return task.href ? (
    <Link to={task.href} {...common}>
      <NodeBody task={task} />
    </Link>
  ) : (
    <div {...common}>
      <NodeBody task={task} />
    </div>
  )
}

/** What the colours and the lines of the graph mean (`statuses`: only the edge kinds if false). */
export function PipelineLegend({ statuses = true }: { statuses?: boolean }) {
  return (
    <div className="plegend" data-testid="pipeline-legend">
      {statuses && (
        <ul className="plegend-list" aria-label="Task statuses">
          {STATUS_LEGEND.map((s) => (
            <li key={s.status} title={s.meaning}>
              <span className={`plegend-swatch ptone-border-${taskTone(s.status)} pnode-${s.status}`} aria-hidden />
              {s.label}
            </li>
          ))}
        </ul>
      )}
      <ul className="plegend-list" aria-label="Edges">
        {EDGE_LEGEND.map((e) => (
          <li key={e.on} title={e.meaning}>
            <svg width="34" height="10" aria-hidden focusable="false">
              <line x1="1" y1="5" x2="33" y2="5" className={`pedge pedge-${e.on}`} />
            </svg>
            {e.label}
            <span className="sr-only">: {e.meaning}</span>
          </li>
        ))}
      </ul>
    </div>
  )
}
