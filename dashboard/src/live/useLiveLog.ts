import { useEffect, useRef, useState } from 'react'
import { getToken } from '../api/auth'
import type { LiveEvent } from '../api/types'
import type { LogChunk } from './events'
import { useLive } from './LiveProvider'
import { LiveSocket, REFUSED, wsProtocols, wsUrl } from './socket'

export interface AttemptLog {
  stdout: LogChunk[]
  stderr: LogChunk[]
}

export type LiveLogs = Record<number, AttemptLog>

const MAX_CHUNKS = 20_000

/**
 * Collects `run.log` chunks for one run while it is active and live updates
 * are on, over a WebSocket filtered to that run (`?run=`), resuming from the
 * last event id the app has seen so output written between the page load and
 * the connection is replayed rather than lost.
 */
export function useLiveLog(runId: string, active: boolean, onSubscribed?: () => void): { logs: LiveLogs; connected: boolean } {
  const { live, lastEventId } = useLive()
  const [logs, setLogs] = useState<LiveLogs>({})
  const [connected, setConnected] = useState(false)
  const pending = useRef<LiveEvent[]>([])
  const frame = useRef<number | null>(null)
  const onSubscribedRef = useRef(onSubscribed)
  onSubscribedRef.current = onSubscribed

  useEffect(() => {
    setLogs({})
  }, [runId])

  useEffect(() => {
    if (!live || !active || !runId) {
      setConnected(false)
      return
    }
    const flush = () => {
      frame.current = null
      const batch = pending.current
      pending.current = []
      if (batch.length === 0) return
      setLogs((prev) => {
        const next: LiveLogs = { ...prev }
        for (const e of batch) {
          const attempt = typeof e.data.attempt === 'number' ? e.data.attempt : 0
          const stream = e.data.stream === 'stderr' ? 'stderr' : 'stdout'
          const chunk = typeof e.data.chunk === 'string' ? e.data.chunk : ''
          if (!chunk) continue
          const cur = next[attempt] ?? { stdout: [], stderr: [] }
          const list = [...cur[stream], typeof e.data.seq === 'number' ? { chunk, seq: e.data.seq } : { chunk }]
          next[attempt] = { ...cur, [stream]: list.length > MAX_CHUNKS ? list.slice(-MAX_CHUNKS) : list }
        }
        return next
      })
    }
    const socket = new LiveSocket({
      url: (since) => wsUrl({ run: runId, since }),
      protocols: () => wsProtocols(getToken()),
      onClose: (code) => REFUSED.has(code),
      onEvent: (e) => {
        if (e.type !== 'run.log' || (e.run_id && e.run_id !== runId)) return
        pending.current.push(e)
        // batch bursts of chunks into one render per frame
        if (frame.current === null) frame.current = requestAnimationFrame(flush)
      },
      onState: (s) => {
        setConnected(s === 'open')
        // a snapshot taken after this point overlaps the live chunks, so nothing falls between them
        if (s === 'open') onSubscribedRef.current?.()
      },
    })
    socket.start(lastEventId())
    return () => {
      socket.stop()
      if (frame.current !== null) cancelAnimationFrame(frame.current)
      frame.current = null
      flush()
    }
  }, [live, active, runId, lastEventId])

  return { logs, connected }
}
