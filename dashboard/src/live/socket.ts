import type { LiveEvent } from '../api/types'
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff'

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed'

export interface SocketLike {
  onopen: ((ev: unknown) => void) | null
  onclose: ((ev: unknown) => void) | null
  onerror: ((ev: unknown) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  close(code?: number, reason?: string): void
}

export interface LiveSocketOptions {
  /** Builds the URL to connect to; `since` is the last event id seen (null on the first connect). */
  url: (since: number | null) => string
  /** Subprotocols to offer on each connect (read then, so a new token is used): see `wsProtocols`. */
  protocols?: () => string[]
  onEvent: (event: LiveEvent) => void
  onState?: (state: ConnectionState, info: { attempt: number; retryInMs?: number }) => void
  /** Called after a reconnect, so callers can refetch what events may not cover. */
  onReconnect?: () => void
  backoff?: BackoffOptions
  createSocket?: (url: string, protocols: string[]) => SocketLike
  setTimer?: (fn: () => void, ms: number) => unknown
  clearTimer?: (handle: unknown) => void
  random?: () => number
  /** Called with the close code; return true to stop reconnecting (e.g. 4401 = token rejected, see `REFUSED`). */
  onClose?: (code: number) => boolean
  /** ms a connection must stay open before the backoff starts again from the first step */
  stableAfterMs?: number
}

/**
 * A WebSocket that reconnects by itself with exponential backoff and resumes
 * from the last event id it saw (`since=`), so nothing is missed across a
 * coordinator restart or a network blip.
 */
export class LiveSocket {
  private socket: SocketLike | null = null
  private attempt = 0
  private timer: unknown = null
  private stableTimer: unknown = null
  private stopped = true
  private everOpened = false
  lastId: number | null = null
  private readonly seen = new Set<number>()

  private readonly opts: LiveSocketOptions

  constructor(options: LiveSocketOptions) {
    this.opts = options
  }

  start(since: number | null = this.lastId): void {
    if (!this.stopped) return
    this.stopped = false
    this.lastId = since
    this.connect()
  }

  stop(): void {
    this.stopped = true
    this.clear()
    const s = this.socket
    this.socket = null
    if (s) {
      s.onclose = null
      s.onerror = null
      s.onmessage = null
      s.onopen = null
      s.close(1000, 'bye')
    }
    this.opts.onState?.('closed', { attempt: this.attempt })
  }

  private clear(): void {
    const clearTimer = this.opts.clearTimer ?? ((h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>))
    if (this.timer !== null) clearTimer(this.timer)
    if (this.stableTimer !== null) clearTimer(this.stableTimer)
    this.timer = null
    this.stableTimer = null
  }

  private remember(id: number): void {
    this.seen.add(id)
    if (this.seen.size > 2000) {
      // Sets iterate in insertion order: forget the oldest ids
      const drop = this.seen.size - 1000
      let i = 0
      for (const old of this.seen) {
        if (i++ >= drop) break
        this.seen.delete(old)
      }
    }
  }

  private setTimer(fn: () => void, ms: number): unknown {
    return (this.opts.setTimer ?? ((f: () => void, t: number) => setTimeout(f, t)))(fn, ms)
  }

  private connect(): void {
    if (this.stopped) return
    this.opts.onState?.(this.attempt === 0 && !this.everOpened ? 'connecting' : 'reconnecting', { attempt: this.attempt })
    const create = this.opts.createSocket ?? ((url: string, protocols: string[]) => new WebSocket(url, protocols) as unknown as SocketLike)
    let socket: SocketLike
    const since = this.lastId
    let firstOnThisSocket = true
    try {
      socket = create(this.opts.url(since), this.opts.protocols?.() ?? [])
    } catch {
      this.scheduleReconnect()
      return
    }
    this.socket = socket
    socket.onopen = () => {
      const reconnected = this.everOpened
      this.everOpened = true
      this.opts.onState?.('open', { attempt: this.attempt })
      this.stableTimer = this.setTimer(() => {
        this.attempt = 0
        this.stableTimer = null
      }, this.opts.stableAfterMs ?? 5000)
      if (reconnected) this.opts.onReconnect?.()
    }
    socket.onmessage = (ev) => {
      if (typeof ev.data !== 'string') return
      let event: LiveEvent
      try {
        event = JSON.parse(ev.data) as LiveEvent
      } catch {
        return
      }
      if (!event || typeof event.type !== 'string') return
      if (typeof event.id === 'number') {
        if (firstOnThisSocket && since !== null && event.id <= since) {
          // the server never replays ids at or below `since`: its ids started again (a fresh event bus)
          this.seen.clear()
        }
        firstOnThisSocket = false
        // a replay that overlaps what this page already saw is dropped
        if (this.seen.has(event.id)) return
        this.remember(event.id)
        this.lastId = event.id
      }
      this.opts.onEvent(event)
    }
    socket.onerror = () => {
      /* a close event follows */
    }
    socket.onclose = (ev) => {
      if (this.socket !== socket) return
      this.socket = null
      const code = typeof (ev as { code?: unknown } | null)?.code === 'number' ? (ev as { code: number }).code : 1006
      if (this.opts.onClose?.(code)) {
        this.stop()
        return
      }
      this.scheduleReconnect()
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped) return
    this.clear()
    const delay = backoffDelay(this.attempt, this.opts.backoff ?? DEFAULT_BACKOFF, this.opts.random)
    this.attempt += 1
    this.opts.onState?.('reconnecting', { attempt: this.attempt, retryInMs: delay })
    this.timer = this.setTimer(() => {
      this.timer = null
      this.connect()
    }, delay)
  }
}

/** ws(s)://host/api/ws?since=…&job=…&run=… for the page's own origin. Never a token: URLs end up
 * in logs, and the server refuses a URL that carries one (see `wsProtocols`). */
export function wsUrl(params: { since?: number | null; job?: string; run?: string; namespace?: string }, loc: Pick<Location, 'protocol' | 'host'> = window.location): string {
  const scheme = loc.protocol === 'https:' ? 'wss' : 'ws'
  const search = new URLSearchParams()
  if (params.since !== undefined && params.since !== null) search.set('since', String(params.since))
  if (params.job) search.set('job', params.job)
  if (params.run) search.set('run', params.run)
  if (params.namespace) search.set('namespace', params.namespace)
  const qs = search.toString()
  return `${scheme}://${loc.host}/api/ws${qs ? `?${qs}` : ''}`
}

/** The subprotocol the server echoes; a browser WebSocket cannot send an Authorization header. */
export const WS_PROTOCOL = 'tickwork'

/** Subprotocols to offer: `tickwork`, and `tickwork.bearer.<token>` when signed in. */
export function wsProtocols(token: string | null): string[] {
  return token ? [WS_PROTOCOL, `${WS_PROTOCOL}.bearer.${token}`] : [WS_PROTOCOL]
}

/** Close codes after which connecting again cannot help: 4400 bad request (e.g. a token in the
 * URL, a host not allowed), 4401 no or bad token, 4403 not allowed. */
export const REFUSED = new Set([4400, 4401, 4403])
