import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import { useLocation } from 'react-router'
import { getToken, setUnauthorized } from '../api/auth'
import type { LiveEvent } from '../api/types'
import { useNamespaceChoice } from '../components/NamespaceSwitch'
import { useToast, type ToastInput } from '../components/Toasts'
import { keys } from '../api/keys'
import { applyPatches, InflightReplay, refetchIdle } from './cache'
import { RefetchCoalescer } from './coalesce'
import { eventToKeys } from './events'
import { errorLine } from '../lib/errorSummary'
import { listNamespace } from '../lib/namespace'
import { deservesToast, readWatched, writeWatched } from '../lib/notify'
import { LiveSocket, REFUSED, wsProtocols, wsUrl, type ConnectionState } from './socket'

/** Queries no live event changes: the catch-up when the socket first opens leaves them. */
const NOT_LIVE = new Set<string>([keys.whoami[0], keys.namespaces[0]])

export const LIVE_KEY = 'tickwork.live'
const FAILURE_TOAST_MS = 400
/** how long events gather before they are patched into the cache (one render per batch) */
const PATCH_MS = 100
const PATCH_BUSY_MS = 1000

export type LiveState = 'off' | ConnectionState
const MAX_NOTIFICATIONS = 50

export interface Notification extends ToastInput {
  id: number
  at: number
}

interface LiveApi {
  live: boolean
  setLive: (on: boolean) => void
  state: LiveState
  retryInMs: number | null
  /** events arrive faster than a person can read: lists refresh every few seconds only */
  busy: boolean
  /** how often lists refresh now, in ms */
  refreshMs: number
  /** what happened away from the page the person looks at (the bell), newest first */
  notifications: Notification[]
  clearNotifications: () => void
  /** job ids whose failures toast wherever the person is */
  watched: ReadonlySet<string>
  toggleWatch: (jobId: string) => void
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
  // the stream keeps to the chosen namespace: a new choice opens a new connection
  const namespace = useNamespaceChoice()
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
  const { pathname } = useLocation()
  const pathRef = useRef(pathname)
  pathRef.current = pathname
  const [watched, setWatched] = useState(readWatched)
  const watchedRef = useRef(watched)
  watchedRef.current = watched
  const [notifications, setNotifications] = useState<Notification[]>([])
  const notificationSeq = useRef(0)
  const toggleWatch = useCallback((jobId: string) => {
    setWatched((old) => {
      const next = new Set(old)
      if (next.has(jobId)) next.delete(jobId)
      else next.add(jobId)
      writeWatched(next)
      return next
    })
  }, [])
  const clearNotifications = useCallback(() => setNotifications([]), [])

  const setLive = useCallback((on: boolean) => {
    try {
      localStorage.setItem(LIVE_KEY, on ? 'on' : 'off')
    } catch {
      /* private mode */
    }
    setLiveState(on)
  }, [])

  /** A toast when it concerns what the person views or watches; the bell otherwise. */
  const tell = useCallback((t: ToastInput, events: LiveEvent[]) => {
    const attention = { pathname: pathRef.current, watched: watchedRef.current }
    if (events.some((e) => deservesToast(e, attention))) toastRef.current.push(t)
    else
      setNotifications((list) => [{ ...t, id: ++notificationSeq.current, at: Date.now() }, ...list].slice(0, MAX_NOTIFICATIONS))
  }, [])

  const flushFailures = useCallback(() => {
    failureTimer.current = null
    const all = failures.current
    failures.current = []
    if (all.length === 0) return
    const attention = { pathname: pathRef.current, watched: watchedRef.current }
    // the ones that deserve a toast, told together; the rest, together, to the bell
    const seen = all.filter((e) => deservesToast(e, attention))
    const rest = all.filter((e) => !deservesToast(e, attention))
    for (const batch of [seen, rest]) if (batch.length) tell(failureMessage(batch), batch)
  }, [tell])

  const failureMessage = (batch: LiveEvent[]): ToastInput => {
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
    return t
  }

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
        tell(
          {
            tone: 'warning',
            title: 'Worker lost',
            message: `${id} stopped sending heartbeats; its runs go back to the queue.`,
            link: { to: '/workers', label: 'View workers' },
          },
          [event],
        )
      }
    },
    [flushFailures, flushPatches, tell],
  )

  useEffect(() => {
    if (!live) {
      setState('off')
      setRetryInMs(null)
      return
    }
    if (namespace === null) return // the first visit: until a namespace is chosen
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
      url: (since) => wsUrl({ since, namespace: listNamespace(namespace) }),
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
    // anything that changed while we were not listening (not who is signed in, nor the
    // namespaces: no event changes them, and a first visit has just read both)
    void qc.invalidateQueries({ predicate: (q) => !NOT_LIVE.has(String(q.queryKey[0])) }, { cancelRefetch: false })
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
  }, [live, qc, handleEvent, namespace])

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
    () => ({ live, setLive, state, retryInMs, busy, refreshMs, notifications, clearNotifications, watched, toggleWatch, subscribe, lastEventId }),
    [live, setLive, state, retryInMs, busy, refreshMs, notifications, clearNotifications, watched, toggleWatch, subscribe, lastEventId],
  )
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>
}

export function useLive(): LiveApi {
  const ctx = useContext(LiveContext)
  if (!ctx) throw new Error('useLive outside LiveProvider')
  return ctx
}
