import { useEffect, useRef, useState } from 'react'
import { useNavigate } from 'react-router'
import { isTyping, moveRow, shortcutFor, SHORTCUTS } from '../lib/shortcuts'

/** The first link of each row of the page's main table: what `j` / `k` move between. */
function rowLinks(): HTMLElement[] {
  return [...document.querySelectorAll<HTMLElement>('#main table tbody tr')]
    .map((tr) => tr.querySelector<HTMLElement>('a.row-link, a'))
    .filter((a): a is HTMLElement => !!a)
}

/** Keyboard shortcuts (`?` lists them): `/` search, `g j` / `g p` / `g r` go to, `j` / `k` rows. */
export function Shortcuts() {
  const navigate = useNavigate()
  const [help, setHelp] = useState(false)
  const previous = useRef<{ key: string; at: number } | null>(null)
  const dialog = useRef<HTMLDialogElement>(null)

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return
      if (document.querySelector('dialog[open]:not(.shortcuts-dialog)')) return
      const now = Date.now()
      const action = shortcutFor(e.key, previous.current, now)
      previous.current = action === 'prefix' ? { key: e.key, at: now } : null
      if (!action || action === 'prefix') return
      e.preventDefault()
      switch (action) {
        case 'search': {
          const field = document.querySelector<HTMLElement>('#main [role="search"] input, #main input[type="search"]')
          field?.focus()
          break
        }
        case 'help':
          setHelp((h) => !h)
          break
        case 'go-jobs':
          navigate('/jobs')
          break
        case 'go-pipelines':
          navigate('/pipelines')
          break
        case 'go-runs':
          navigate('/runs')
          break
        case 'go-overview':
          navigate('/')
          break
        case 'go-dead-letters':
          navigate('/dead-letters')
          break
        case 'next-row':
        case 'prev-row': {
          const links = rowLinks()
          const at = links.findIndex((a) => a === document.activeElement || a.closest('tr')?.contains(document.activeElement))
          const next = moveRow(at, links.length, action)
          const link = links[next]
          if (link) {
            link.focus()
            link.closest('tr')?.scrollIntoView({ block: 'nearest' })
          }
          break
        }
      }
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [navigate])

  useEffect(() => {
    const d = dialog.current
    if (!d) return
    if (help && !d.open) d.showModal()
    if (!help && d.open) d.close()
  }, [help])

  return (
    <dialog ref={dialog} className="dialog shortcuts-dialog" aria-labelledby="shortcuts-title" onClose={() => setHelp(false)} data-testid="shortcuts-help">
      <h2 id="shortcuts-title" className="dialog-title">
        Keyboard shortcuts
      </h2>
      <table className="shortcuts-table">
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.keys}>
              <th scope="row">
                {s.keys.split(' ').map((k, i) => (k === '/' && s.keys !== '/' ? <span key={i}> / </span> : <kbd key={i}>{k}</kbd>))}
              </th>
              <td>{s.what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="dialog-actions">
        <button type="button" className="btn btn-secondary btn-md" onClick={() => setHelp(false)}>
          Close
        </button>
      </div>
    </dialog>
  )
}
