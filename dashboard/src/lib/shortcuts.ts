/** What a key press means, given the key pressed before it (for two-key sequences like `g j`). */
export type ShortcutAction = 'search' | 'go-jobs' | 'go-pipelines' | 'go-runs' | 'go-overview' | 'go-dead-letters' | 'next-row' | 'prev-row' | 'help' | 'prefix' | null

export const SHORTCUTS: { keys: string; what: string }[] = [
  { keys: '/', what: 'Search or filter this page' },
  { keys: 'g j', what: 'Go to jobs' },
  { keys: 'g p', what: 'Go to pipelines' },
  { keys: 'g r', what: 'Go to runs' },
  { keys: 'g o', what: 'Go to the overview' },
  { keys: 'g d', what: 'Go to dead letters' },
  { keys: 'j / k', what: 'Next / previous row of the table' },
  { keys: 'Enter', what: 'Open the row' },
  { keys: '?', what: 'This help' },
]

/** A sequence's second key must follow its first within this many ms. */
export const SEQUENCE_MS = 1200

export function shortcutFor(key: string, previous: { key: string; at: number } | null, now: number): ShortcutAction {
  if (previous && previous.key === 'g' && now - previous.at <= SEQUENCE_MS) {
    if (key === 'j') return 'go-jobs'
    if (key === 'p') return 'go-pipelines'
    if (key === 'r') return 'go-runs'
    if (key === 'o') return 'go-overview'
    if (key === 'd') return 'go-dead-letters'
  }
  switch (key) {
    case '/':
      return 'search'
    case '?':
      return 'help'
    case 'g':
      return 'prefix'
    case 'j':
      return 'next-row'
    case 'k':
      return 'prev-row'
    default:
      return null
  }
}

/** Keys typed into a field are text, not shortcuts. */
export function isTyping(target: EventTarget | null): boolean {
  if (!target || typeof (target as HTMLElement).tagName !== 'string') return false
  const el = target as HTMLElement
  const tag = el.tagName.toLowerCase()
  return tag === 'input' || tag === 'textarea' || tag === 'select' || el.isContentEditable
}

/** Index of the row to focus after `j`/`k` from `current` (-1: none focused) among `count`. */
export function moveRow(current: number, count: number, action: 'next-row' | 'prev-row'): number {
  if (count === 0) return -1
  if (current < 0) return action === 'next-row' ? 0 : count - 1
  return action === 'next-row' ? Math.min(count - 1, current + 1) : Math.max(0, current - 1)
}
