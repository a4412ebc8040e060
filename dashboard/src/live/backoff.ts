export interface BackoffOptions {
  /** first delay in ms */
  base: number
  /** upper bound in ms */
  max: number
  factor: number
  /** 0 = no jitter, 1 = "full jitter" (delay drawn from [cap*(1-jitter), cap]) */
  jitter: number
}

export const DEFAULT_BACKOFF: BackoffOptions = { base: 500, max: 15_000, factor: 2, jitter: 0.5 }

/**
 * Delay before reconnect attempt number `attempt` (0-based): exponential growth
 * from `base`, capped at `max`, with proportional jitter so a fleet of
 * dashboards does not reconnect in lockstep after a coordinator restart.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const n = Math.max(0, Math.floor(attempt))
  const cap = Math.min(options.max, options.base * Math.pow(options.factor, Math.min(n, 30)))
  const spread = cap * Math.min(1, Math.max(0, options.jitter))
  return Math.round(cap - spread * random())
}
