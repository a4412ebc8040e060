/**
 * The one line that says why something failed. The server's `error_summary` when it sent one
 * (the exception line for python, the last stderr line for shell, status and body head for
 * HTTP); otherwise the useful line of `error`: the last of a Python traceback, else the first.
 */
export function errorLine(x: { error?: string | null; error_summary?: string | null; status?: string }, max = 160): string {
  const summary = x.error_summary?.trim()
  if (summary) return clip(summary, max)
  const text = (x.error ?? '').trim()
  if (!text) return x.status === 'cancelled' ? 'cancelled' : 'failed'
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean)
  const line = lines.length > 1 && lines[0]?.startsWith('Traceback') ? (lines[lines.length - 1] as string) : (lines[0] as string)
  return clip(line, max)
}

function clip(line: string, max: number): string {
  return line.length > max ? `${line.slice(0, max - 1)}…` : line
}
