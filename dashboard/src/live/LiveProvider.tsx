import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import { getToken, setUnauthorized } from '../api/auth'
import type { LiveEvent } from '../api/types'
import { useToast, type ToastInput } from '../components/Toasts'
import { applyPatches, InflightReplay, refetchIdle } from './cache'
import { RefetchCoalescer } from './coalesce'
import { eventToKeys } from './events'
import { errorLine } from '../lib/errorSummary'
import { LiveSocket, REFUSED, wsProtocols, wsUrl, type ConnectionState } from './socket'

export const LIVE_KEY = 'tickwork.live'
const FAILURE_TOAST_MS = 400
/** how long events gather before they are patched into the cache (one render per batch) */
const PATCH_MS = 100
const PATCH_BUSY_MS = 1000

export type LiveState = 'off' | ConnectionState

interface LiveApi {
  live: boolean
  setLive: (on: boolean) => void
  state: LiveState
  retryInMs: number | null
  /** events arrive faster than a person can read: lists refresh every few seconds only */
  busy: boolean
  /** how often lists refresh now, in ms */
  refreshMs: number
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

export function LiveProvider({ children }: { children: ReactNode }) {
  const qc = useQueryClient()
  const toast = useToast()
  const [live, setLiveState] = useState(readLive)
  const [state, setState] = useState<LiveState>(live ? 'connecting' : 'off')
  const [retryInMs, setRetryInMs] = useState<number | null>(null)
  const listeners = useRef(new Set<(e: LiveEvent) => void>())
  const socketRef = useRef<LiveSocket | null>(null)
  const coalescer = useRef<RefetchCoalescer | null>(null)
  const queued = useRef<LiveEvent[]>([])
  const patchTimer = useRef<ReturnType<typeof setTimeout> | null>(null)
  const replay = useRef<InflightReplay | null>(null)
  const [busy, setBusy] = useState(false)
  const [refreshMs, setRefreshMs] = useState(750)
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
      const error = typeof e.data.error === 'string' ? e.data.error : null
      const summary = typeof e.data.error_summary === 'string' ? e.data.error_summary : null
      t = {
        tone: 'error',
        title: `Run failed: ${name}`,
        message: error || summary ? errorLine({ error, error_summary: summary }) : undefined,
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

  // Events are patched into the cache in small batches: one render for many events, not one each.
  const flushPatches = useCallback(() => {
    patchTimer.current = null
    const batch = queued.current
    queued.current = []
    applyPatches(qc, batch)
    for (const event of batch) replay.current?.record(event)
  }, [qc])

  const handleEvent = useCallback(
    (event: LiveEvent) => {
      for (const l of listeners.current) l(event)
      if (event.type === 'run.log') return
      coalescer.current?.add(eventToKeys(event))
      queued.current.push(event)
      if (!patchTimer.current) patchTimer.current = setTimeout(flushPatches, coalescer.current?.busy ? PATCH_BUSY_MS : PATCH_MS)
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
    [flushFailures, flushPatches],
  )

  useEffect(() => {
    if (!live) {
      setState('off')
      setRetryInMs(null)
      return
    }
    replay.current = new InflightReplay(qc)
    const c = new RefetchCoalescer({
      refetch: (keys) => refetchIdle(qc, keys),
      onBusy: (b) => {
        setBusy(b)
        setRefreshMs(c.intervalMs)
      },
    })
    coalescer.current = c
    // never cancel a request on its way (a page's first load among them) for a newer one
    const refetchAll = () => void qc.invalidateQueries(undefined, { cancelRefetch: false })
    const socket = new LiveSocket({
      url: (since) => wsUrl({ since }),
      protocols: () => wsProtocols(getToken()),
      onEvent: handleEvent,
      onState: (s, info) => {
        setState(s)
        setRetryInMs(info.retryInMs ?? null)
      },
      onReconnect: refetchAll,
      onClose: (code) => {
        if (code === 4401 || code === 4403) setUnauthorized(true)
        return REFUSED.has(code)
      },
    })
    socketRef.current = socket
    socket.start(null)
    // anything that changed while we were not listening
    refetchAll()
    return () => {
      socket.stop()
      socketRef.current = null
      c.stop()
      coalescer.current = null
      if (patchTimer.current) clearTimeout(patchTimer.current)
      patchTimer.current = null
      queued.current = []
      replay.current?.dispose()
      replay.current = null
      setBusy(false)
      setRefreshMs(750)
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
    () => ({ live, setLive, state, retryInMs, busy, refreshMs, subscribe, lastEventId }),
    [live, setLive, state, retryInMs, busy, refreshMs, subscribe, lastEventId],
  )
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>
}

export function useLive(): LiveApi {
  const ctx = useContext(LiveContext)
  if (!ctx) throw new Error('useLive outside LiveProvider')
  return ctx
}
