import type { MouseEvent } from 'react'

/** A click on a table row opens `to`, unless it was on a control of its own or selected text. */
export function rowClickProps(navigate: (to: string) => void, to: string, className?: string) {
  return {
    className: className ? `row-clickable ${className}` : 'row-clickable',
    onClick: (e: MouseEvent<HTMLTableRowElement>) => {
      const target = e.target as HTMLElement
      if (target.closest('a, button, input, select, textarea, label, summary, [role="checkbox"]')) return
      if (window.getSelection()?.toString()) return
      if (e.metaKey || e.ctrlKey) window.open(to, '_blank', 'noopener')
      else navigate(to)
    },
  }
}
