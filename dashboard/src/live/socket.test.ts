import { describe, expect, it } from 'vitest'
import type { LiveEvent } from '../api/types'
import { LiveSocket, REFUSED, wsProtocols, wsUrl, type SocketLike } from './socket'

class FakeSocket implements SocketLike {
  onopen: ((ev: unknown) => void) | null = null
  onclose: ((ev: unknown) => void) | null = null
  onerror: ((ev: unknown) => void) | null = null
  onmessage: ((ev: { data: unknown }) => void) | null = null
  closed = false
  constructor(
    readonly url: string,
    readonly protocols: string[] = [],
  ) {}
  close() {
    this.closed = true
  }
  open() {
    this.onopen?.({})
  }
  send(e: Partial<LiveEvent>) {
    this.onmessage?.({ data: JSON.stringify({ ts: '', job_id: null, run_id: null, data: {}, ...e }) })
  }
  drop(code = 1006) {
    this.onclose?.({ code })
  }
}

function harness(token: () => string | null = () => null) {
  const sockets: FakeSocket[] = []
  const timers: { fn: () => void; ms: number }[] = []
  const events: LiveEvent[] = []
  const states: string[] = []
  let reconnects = 0
  const live = new LiveSocket({
    url: (since) => wsUrl({ since }, { protocol: 'http:', host: 'localhost:3000' }),
    protocols: () => wsProtocols(token()),
    onClose: (code) => REFUSED.has(code),
    onEvent: (e) => events.push(e),
    onState: (s) => states.push(s),
    onReconnect: () => reconnects++,
    createSocket: (url, protocols) => {
      const s = new FakeSocket(url, protocols)
      sockets.push(s)
      return s
    },
    setTimer: (fn, ms) => {
      const t = { fn, ms }
      timers.push(t)
      return t
    },
    clearTimer: (h) => {
      const i = timers.indexOf(h as { fn: () => void; ms: number })
      if (i >= 0) timers.splice(i, 1)
    },
    random: () => 0,
    backoff: { base: 100, max: 1000, factor: 2, jitter: 0.5 },
  })
  const fire = () => {
    const t = timers.shift()
    t?.fn()
    return t?.ms
  }
  return { live, sockets, timers, events, states, fire, reconnects: () => reconnects }
}

describe('LiveSocket', () => {
  it('reconnects with growing delays and resumes from the last event id', () => {
    const h = harness()
    h.live.start(null)
    expect(h.sockets[0]?.url).toBe('ws://localhost:3000/api/ws')
    h.sockets[0]?.open()
    h.sockets[0]?.send({ id: 41, type: 'run.queued' })
    h.sockets[0]?.send({ id: 42, type: 'run.started' })
    h.sockets[0]?.drop()

    // the stable-connection timer was cleared; the reconnect timer is the only one
    expect(h.timers.map((t) => t.ms)).toEqual([100])
    h.fire()
    expect(h.sockets[1]?.url).toBe('ws://localhost:3000/api/ws?since=42')
    h.sockets[1]?.drop()
    expect(h.fire()).toBe(200)
    h.sockets[2]?.drop()
    expect(h.fire()).toBe(400)
    h.sockets[3]?.open()
    expect(h.reconnects()).toBe(1)
    expect(h.states).toContain('reconnecting')
    expect(h.states[h.states.length - 1]).toBe('open')
  })

  it('skips replayed events it already saw', () => {
    const h = harness()
    h.live.start(null)
    h.sockets[0]?.open()
    h.sockets[0]?.send({ id: 10, type: 'run.queued' })
    h.sockets[0]?.send({ id: 11, type: 'run.started' })
    h.sockets[0]?.send({ id: 11, type: 'run.started' })
    h.sockets[0]?.drop()
    h.fire()
    expect(h.sockets[1]?.url).toContain('since=11')
    h.sockets[1]?.open()
    h.sockets[1]?.send({ id: 12, type: 'run.completed' })
    h.sockets[1]?.send({ id: 11, type: 'run.started' })
    expect(h.events.map((e) => e.id)).toEqual([10, 11, 12])
  })

  it('follows a server whose event ids started again', () => {
    const h = harness()
    h.live.start(null)
    h.sockets[0]?.open()
    h.sockets[0]?.send({ id: 500, type: 'run.queued' })
    h.sockets[0]?.drop()
    h.fire()
    h.sockets[1]?.open()
    h.sockets[1]?.send({ id: 1, type: 'run.queued' })
    h.sockets[1]?.send({ id: 2, type: 'run.started' })
    expect(h.events.map((e) => e.id)).toEqual([500, 1, 2])
    expect(h.live.lastId).toBe(2)
  })

  it('resets the backoff once a connection has been stable', () => {
    const h = harness()
    h.live.start(null)
    h.sockets[0]?.drop()
    h.fire()
    h.sockets[1]?.drop()
    h.fire()
    h.sockets[2]?.open()
    // stable timer fires
    h.fire()
    h.sockets[2]?.drop()
    expect(h.fire()).toBe(100)
  })

  it('stops for good when stopped or when the server rejects the token', () => {
    const h = harness()
    h.live.start(null)
    h.sockets[0]?.open()
    h.live.stop()
    expect(h.sockets[0]?.closed).toBe(true)
    expect(h.timers).toHaveLength(0)
    expect(h.states[h.states.length - 1]).toBe('closed')
  })

  it('does not reconnect after a refusal, only after a drop', () => {
    for (const code of [4400, 4401, 4403]) {
      const h = harness()
      h.live.start(null)
      h.sockets[0]?.open()
      h.sockets[0]?.drop(code)
      expect(h.timers).toHaveLength(0)
      expect(h.states[h.states.length - 1]).toBe('closed')
    }
    const h = harness()
    h.live.start(null)
    h.sockets[0]?.drop(1006)
    expect(h.timers.map((t) => t.ms)).toEqual([100])
  })

  it('builds URLs with filters and never a token', () => {
    expect(wsUrl({ since: 5, run: 'run-1' }, { protocol: 'https:', host: 'tw.example' })).toBe('wss://tw.example/api/ws?since=5&run=run-1')
  })

  it('sends the token as a subprotocol, the one read at each connect', () => {
    let token: string | null = 'tw_first'
    const h = harness(() => token)
    h.live.start(null)
    expect(h.sockets[0]?.protocols).toEqual(['tickwork', 'tickwork.bearer.tw_first'])
    expect(h.sockets[0]?.url).not.toContain('tw_first')
    token = 'tw_second'
    h.sockets[0]?.drop()
    h.fire()
    expect(h.sockets[1]?.protocols).toEqual(['tickwork', 'tickwork.bearer.tw_second'])
    expect(h.sockets[1]?.url).not.toContain('tw_')
    token = null
    h.sockets[1]?.drop()
    h.fire()
    expect(h.sockets[2]?.protocols).toEqual(['tickwork'])
  })
})
