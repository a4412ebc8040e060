/** The lines of `text` holding `query` (case-insensitive), with their 1-based numbers. */
export function matchingLines(text: string, query: string): { n: number; line: string }[] {
  const q = query.toLowerCase()
  const out: { n: number; line: string }[] = []
  text.split('\n').forEach((line, i) => {
    if (line.toLowerCase().includes(q)) out.push({ n: i + 1, line })
  })
  return out
}
