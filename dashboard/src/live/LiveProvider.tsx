import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react'
import { useQueryClient, type QueryClient } from '@tanstack/react-query'
import { getToken, setUnauthorized } from '../api/auth'
import type { JobDetail, JobList, LiveEvent, RunDetail, RunList } from '../api/types'
import { useToast, type ToastInput } from '../components/Toasts'
import { eventToKeys, patchJobDetail, patchJobList, patchRun, patchRunList } from './events'
import { LiveSocket, REFUSED, wsProtocols, wsUrl, type ConnectionState } from './socket'

export const LIVE_KEY = 'tickwork.live'
const FLUSH_MS = 750
const FAILURE_TOAST_MS = 400

export type LiveState = 'off' | ConnectionState

interface LiveApi {
  live: boolean
  setLive: (on: boolean) => void
  state: LiveState
  retryInMs: number | null
  /** Receive every event (including run.log); returns an unsubscribe function. */
  subscribe: (listener: (e: LiveEvent) => void) => () => void
  lastEventId: () => number | null
}

const LiveContext = createContext<LiveApi | null>(null)

function readLive(): boolean {
  try {
    return localStorage.getItem(LIVE_KEY) !== 'off'
  } catch {
    return true
  }
}

function applyPatches(qc: QueryClient, event: LiveEvent) {
  if (event.type === 'run.log') return
  // An answer already on its way was computed before this event; landing after the patch
  // below it would put an older status back. Drop it: the invalidation that follows refetches.
  const touched: (readonly unknown[])[] = [['jobs'], ['runs'], ['job-runs'], ['job']]
  if (event.run_id) touched.push(['run', event.run_id])
  for (const queryKey of touched) {
    if (qc.isFetching({ queryKey }) > 0) void qc.cancelQueries({ queryKey })
  }
  for (const [key, old] of qc.getQueriesData<JobList>({ queryKey: ['jobs'] })) {
    const filter = key[1] as { status?: string } | undefined
    const next = patchJobList(old, event, filter?.status || undefined)
    if (next !== old) qc.setQueryData(key, next)
  }
  for (const [key, old] of qc.getQueriesData<RunList>({ queryKey: ['runs'] })) {
    const filter = key[1] as { status?: string } | undefined
    const next = patchRunList(old, event, filter?.status || undefined)
    if (next !== old) qc.setQueryData(key, next)
  }
  qc.setQueriesData<RunList>({ queryKey: ['job-runs'] }, (old) => patchRunList(old, event))
  qc.setQueriesData<JobDetail>({ queryKey: ['job'] }, (old) => patchJobDetail(old, event))
  if (event.run_id) qc.setQueryData<RunDetail>(['run', event.run_id], (old) => patchRun(old, event))
}

export function LiveProvider({ children }: { children: ReactNode }) {
  const qc = useQueryClient()
  const toast = useToast()
  const [live, setLiveState] = useState(readLive)
  const [state, setState] = useState<LiveState>(live ? 'connecting' : 'off')
  const [retryInMs, setRetryInMs] = useState<number | null>(null)
  const listeners = useRef(new Set<(e: LiveEvent) => void>())
  const socketRef = useRef<LiveSocket | null>(null)
  const pendingKeys = useRef(new Map<string, readonly unknown[]>())
  const flushTimer = useRef<ReturnType<typeof setTimeout> | null>(null)
  const failures = useRef<LiveEvent[]>([])
  const failureTimer = useRef<ReturnType<typeof setTimeout> | null>(null)
  const toastRef = useRef(toast)
  toastRef.current = toast

  const setLive = useCallback((on: boolean) => {
    try {
      localStorage.setItem(LIVE_KEY, on ? 'on' : 'off')
    } catch {
      /* private mode */
    }
    setLiveState(on)
  }, [])

  const flushFailures = useCallback(() => {
    failureTimer.current = null
    const batch = failures.current
    failures.current = []
    if (batch.length === 0) return
    let t: ToastInput
    if (batch.length === 1) {
      const e = batch[0] as LiveEvent
      const name = typeof e.data.job_name === 'string' ? e.data.job_name : (e.job_id ?? 'job')
      const error = typeof e.data.error === 'string' ? e.data.error : undefined
      t = {
        tone: 'error',
        title: `Run failed: ${name}`,
        message: error ? firstLine(error) : undefined,
        link: e.run_id ? { to: `/runs/${e.run_id}`, label: 'View run' } : undefined,
      }
    } else {
      const names = [...new Set(batch.map((e) => String(e.data.job_name ?? e.job_id ?? '')))].filter(Boolean)
      t = {
        tone: 'error',
        title: `${batch.length} runs failed`,
        message: names.slice(0, 3).join(', ') + (names.length > 3 ? ` and ${names.length - 3} more` : ''),
        link: { to: '/runs?status=failed', label: 'View failed runs' },
        key: 'run-failures',
      }
    }
    toastRef.current.push(t)
  }, [])

  const handleEvent = useCallback(
    (event: LiveEvent) => {
      for (const l of listeners.current) l(event)
      if (event.type === 'run.log') return
      applyPatches(qc, event)
      for (const key of eventToKeys(event)) pendingKeys.current.set(JSON.stringify(key), key)
      if (!flushTimer.current) {
        flushTimer.current = setTimeout(() => {
          flushTimer.current = null
          const batch = [...pendingKeys.current.values()]
          pendingKeys.current.clear()
          for (const queryKey of batch) void qc.invalidateQueries({ queryKey })
        }, FLUSH_MS)
      }
      if (event.type === 'run.failed') {
        failures.current.push(event)
        if (!failureTimer.current) failureTimer.current = setTimeout(flushFailures, FAILURE_TOAST_MS)
      } else if (event.type === 'worker.lost') {
        const raw = event.data.worker ?? event.data.worker_id ?? event.data.id
        const id = typeof raw === 'string' ? raw : 'A worker'
        toastRef.current.push({
          tone: 'warning',
          title: 'Worker lost',
          message: `${id} stopped sending heartbeats; its runs go back to the queue.`,
          link: { to: '/workers', label: 'View workers' },
        })
      }
    },
    [qc, flushFailures],
  )

  useEffect(() => {
    if (!live) {
      setState('off')
      setRetryInMs(null)
      return
    }
    const socket = new LiveSocket({
      url: (since) => wsUrl({ since }),
      protocols: () => wsProtocols(getToken()),
      onEvent: handleEvent,
      onState: (s, info) => {
        setState(s)
        setRetryInMs(info.retryInMs ?? null)
      },
      onReconnect: () => void qc.invalidateQueries(),
      onClose: (code) => {
        if (code === 4401 || code === 4403) setUnauthorized(true)
        return REFUSED.has(code)
      },
    })
    socketRef.current = socket
    socket.start(null)
    // anything that changed while we were not listening
    void qc.invalidateQueries()
    return () => {
      socket.stop()
      socketRef.current = null
      if (flushTimer.current) clearTimeout(flushTimer.current)
      flushTimer.current = null
      pendingKeys.current.clear()
    }
  }, [live, qc, handleEvent])

  useEffect(
    () => () => {
      if (failureTimer.current) clearTimeout(failureTimer.current)
    },
    [],
  )

  const subscribe = useCallback((listener: (e: LiveEvent) => void) => {
    listeners.current.add(listener)
    return () => {
      listeners.current.delete(listener)
    }
  }, [])

  const lastEventId = useCallback(() => socketRef.current?.lastId ?? null, [])

  const value = useMemo<LiveApi>(
    () => ({ live, setLive, state, retryInMs, subscribe, lastEventId }),
    [live, setLive, state, retryInMs, subscribe, lastEventId],
  )
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>
}

function firstLine(text: string): string {
  const lines = text.trim().split('\n')
  const last = lines[lines.length - 1] ?? ''
  // a Python traceback's useful line is the last one
  const line = lines.length > 1 && lines[0]?.startsWith('Traceback') ? last : (lines[0] ?? '')
  return line.length > 160 ? `${line.slice(0, 157)}…` : line
}

export function useLive(): LiveApi {
  const ctx = useContext(LiveContext)
  if (!ctx) throw new Error('useLive outside LiveProvider')
  return ctx
}
