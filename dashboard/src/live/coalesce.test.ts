import { describe, expect, it } from 'vitest'
import { DEFAULT_COALESCER, RefetchCoalescer, type Clock, type QueryKey } from './coalesce'

/** A clock whose time moves only when the test says so. */
class FakeClock implements Clock {
  t = 0
  private timers: { at: number; fn: () => void; id: number }[] = []
  private next = 1
  now = () => this.t
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.next++
    this.timers.push({ at: this.t + ms, fn, id })
    return id
  }
  clearTimeout = (id: unknown) => {
    this.timers = this.timers.filter((x) => x.id !== id)
  }
  advance(ms: number) {
    const end = this.t + ms
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at)
      const due = this.timers[0]
      if (!due || due.at > end) break
      this.timers.shift()
      this.t = due.at
      due.fn()
    }
    this.t = end
  }
  get scheduled() {
    return this.timers.length
  }
}

function setup(fetching: (key: QueryKey) => boolean = () => false) {
  const clock = new FakeClock()
  const refetched: string[][] = []
  const busy: boolean[] = []
  const c = new RefetchCoalescer(
    {
      refetch: (keys) => {
        refetched.push(keys.map((k) => JSON.stringify(k)))
        return keys.filter(fetching)
      },
      onBusy: (b) => busy.push(b),
    },
    DEFAULT_COALESCER,
    clock,
  )
  return { clock, refetched, busy, c }
}

describe('RefetchCoalescer', () => {
  it('gathers the keys of the events of one interval into one refetch per key', () => {
    const { clock, refetched, c } = setup()
    c.add([['runs'], ['jobs']])
    clock.advance(300)
    c.add([['runs'], ['run', 'r1']])
    expect(refetched).toEqual([])
    clock.advance(450)
    expect(refetched).toEqual([['["runs"]', '["jobs"]', '["run","r1"]']])
    clock.advance(10_000)
    expect(refetched).toHaveLength(1)
    expect(clock.scheduled).toBe(0)
  })

  it('does not refetch a query already fetching: it waits for that answer, then asks once', () => {
    let inFlight = true
    const { clock, refetched, c } = setup((k) => inFlight && k[0] === 'jobs')
    c.add([['jobs'], ['runs']])
    clock.advance(750)
    expect(refetched).toEqual([['["jobs"]', '["runs"]']])
    // still fetching at the next flush: skipped again, never cancelled
    clock.advance(750)
    expect(refetched).toEqual([['["jobs"]', '["runs"]'], ['["jobs"]']])
    inFlight = false
    clock.advance(750)
    expect(refetched).toHaveLength(3)
    clock.advance(10_000)
    expect(refetched).toHaveLength(3)
  })

  it('slows to one refetch every 5 s while events come faster than 2 a second, and says so', () => {
    const { clock, refetched, busy, c } = setup()
    // 10 events a second for 20 s
    for (let i = 0; i < 200; i++) {
      c.add([['runs']])
      clock.advance(100)
    }
    expect(busy).toEqual([true])
    expect(c.busy).toBe(true)
    expect(c.intervalMs).toBe(5_000)
    // before it turned busy (at 10 events = 1 s) a refetch every 750 ms, then every 5 s
    expect(refetched.length).toBeGreaterThanOrEqual(4)
    expect(refetched.length).toBeLessThanOrEqual(6)
  })

  it('returns to quick refetches once the stream calms down, and drops the notice', () => {
    const { clock, busy, c } = setup()
    for (let i = 0; i < 100; i++) {
      c.add([['runs']])
      clock.advance(100)
    }
    expect(c.busy).toBe(true)
    // nothing more arrives: the notice goes within a window plus one busy interval
    clock.advance(DEFAULT_COALESCER.windowMs + DEFAULT_COALESCER.busyMs)
    expect(busy).toEqual([true, false])
    expect(c.intervalMs).toBe(750)
    expect(clock.scheduled).toBe(0)
  })

  it('does not flap between the two rates around the threshold', () => {
    const { clock, busy, c } = setup()
    // 1.5 events a second: below busyRate, so never busy
    for (let i = 0; i < 30; i++) {
      c.add([['runs']])
      clock.advance(667)
    }
    expect(busy).toEqual([])
    // 3 a second turns it busy; 1.5 a second (above calmRate) keeps it busy
    for (let i = 0; i < 30; i++) {
      c.add([['runs']])
      clock.advance(333)
    }
    for (let i = 0; i < 30; i++) {
      c.add([['runs']])
      clock.advance(667)
    }
    expect(busy).toEqual([true])
  })

  it('stops: nothing pending, nothing scheduled, later notes ignored', () => {
    const { clock, refetched, c } = setup()
    c.add([['runs']])
    c.stop()
    c.add([['jobs']])
    clock.advance(10_000)
    expect(refetched).toEqual([])
    expect(c.size).toBe(0)
  })
})
