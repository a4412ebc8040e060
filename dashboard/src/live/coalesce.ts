export type QueryKey = readonly unknown[]

export interface Clock {
  now: () => number
  setTimeout: (fn: () => void, ms: number) => unknown
  clearTimeout: (handle: unknown) => void
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

export interface CoalescerOptions {
  /** delay between an event and the refetch it causes when events are few */
  quietMs: number
  /** delay between refetches while events arrive faster than a person can read */
  busyMs: number
  /** the trailing window over which the event rate is measured */
  windowMs: number
  /** events per second at or above which refetches slow down to `busyMs` */
  busyRate: number
  /** events per second below which they speed up again (lower than `busyRate`, so it does not flap) */
  calmRate: number
}

export const DEFAULT_COALESCER: CoalescerOptions = {
  quietMs: 750,
  busyMs: 5_000,
  windowMs: 5_000,
  busyRate: 2,
  calmRate: 1,
}

export interface CoalescerTarget {
  /**
   * Refetch what `keys` name, except queries already fetching (their answer is on its way; a
   * new request would only cancel it or queue behind it). Returns the keys of the queries it
   * skipped: they are refetched at the next flush, once their answer has landed.
   */
  refetch: (keys: QueryKey[]) => QueryKey[]
  /** Told whenever the busy state changes (to say "updating every 5 s while busy"). */
  onBusy?: (busy: boolean) => void
}

/**
 * Turns a stream of "these queries are stale" notes into few refetches: notes gathered during a
 * flush interval become one refetch per key; an in-flight request is never cancelled for a
 * newer one; when events come faster than `busyRate` a second, the interval grows to `busyMs`
 * until the rate falls below `calmRate`.
 */
export class RefetchCoalescer {
  private pending = new Map<string, QueryKey>()
  private timer: unknown = null
  private arrivals: number[] = []
  private busyNow = false
  private stopped = false

  constructor(
    private readonly target: CoalescerTarget,
    private readonly options: CoalescerOptions = DEFAULT_COALESCER,
    private readonly clock: Clock = realClock,
  ) {}

  get busy(): boolean {
    return this.busyNow
  }

  get intervalMs(): number {
    return this.busyNow ? this.options.busyMs : this.options.quietMs
  }

  /** Number of keys waiting for the next flush. */
  get size(): number {
    return this.pending.size
  }

  /** One event made these keys stale. */
  add(keys: readonly QueryKey[]): void {
    if (this.stopped) return
    this.arrivals.push(this.clock.now())
    this.updateBusy()
    for (const key of keys) this.pending.set(JSON.stringify(key), key)
    this.schedule()
  }

  /** Events per second over the trailing window. */
  rate(): number {
    this.prune()
    return this.arrivals.length / (this.options.windowMs / 1000)
  }

  stop(): void {
    this.stopped = true
    if (this.timer !== null) this.clock.clearTimeout(this.timer)
    this.timer = null
    this.pending.clear()
  }

  private prune() {
    const since = this.clock.now() - this.options.windowMs
    let drop = 0
    while (drop < this.arrivals.length && (this.arrivals[drop] as number) <= since) drop++
    if (drop) this.arrivals.splice(0, drop)
  }

  private updateBusy() {
    const rate = this.rate()
    const next = this.busyNow ? rate >= this.options.calmRate : rate >= this.options.busyRate
    if (next !== this.busyNow) {
      this.busyNow = next
      this.target.onBusy?.(next)
    }
  }

  private schedule() {
    if (this.timer !== null || this.stopped) return
    // while busy, keep ticking even with nothing pending: that is how the state ends
    if (this.pending.size === 0 && !this.busyNow) return
    this.timer = this.clock.setTimeout(() => this.flush(), this.intervalMs)
  }

  private flush() {
    this.timer = null
    if (this.stopped) return
    const batch = [...this.pending.values()]
    this.pending.clear()
    const skipped = batch.length ? this.target.refetch(batch) : []
    for (const key of skipped) this.pending.set(JSON.stringify(key), key)
    // the rate may have fallen while nothing arrived
    this.updateBusy()
    this.schedule()
  }
}
