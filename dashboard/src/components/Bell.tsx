import { useEffect, useRef, useState } from 'react'
import { Link } from 'react-router'
import { Bell as BellIcon } from 'lucide-react'
import { useLive } from '../live/LiveProvider'
import { formatRelative } from '../lib/format'

/** Events about pages the person is not looking at: a count in the top bar, a list on click. */
export function Bell() {
  const { notifications, clearNotifications } = useLive()
  const [open, setOpen] = useState(false)
  const [seen, setSeen] = useState(0)
  const box = useRef<HTMLDivElement>(null)
  const newest = notifications[0]?.id ?? 0
  const unread = notifications.filter((n) => n.id > seen).length

  useEffect(() => {
    if (!open) return
    setSeen(newest)
    const onDown = (e: MouseEvent) => box.current && !box.current.contains(e.target as Node) && setOpen(false)
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false)
    document.addEventListener('mousedown', onDown)
    document.addEventListener('keydown', onKey)
    return () => {
      document.removeEventListener('mousedown', onDown)
      document.removeEventListener('keydown', onKey)
    }
  }, [open, newest])

  return (
    <div className="bell" ref={box}>
      <button
        type="button"
        className="icon-button bell-button"
        aria-label={unread ? `Notifications, ${unread} new` : 'Notifications'}
        aria-expanded={open}
        aria-controls="bell-panel"
        onClick={() => setOpen((o) => !o)}
        data-testid="bell"
        data-count={unread}
      >
        <BellIcon size={18} aria-hidden />
        {unread > 0 && (
          <span className="bell-count" aria-hidden data-testid="bell-count">
            {unread > 99 ? '99+' : unread}
          </span>
        )}
      </button>
      {open && (
        <div id="bell-panel" className="bell-panel" role="region" aria-label="Notifications" data-testid="bell-panel">
          <div className="bell-head">
            <strong>Notifications</strong>
            {notifications.length > 0 && (
              <button type="button" className="btn btn-ghost btn-sm" onClick={clearNotifications}>
                Clear all
              </button>
            )}
          </div>
          {notifications.length === 0 ? (
            <p className="bell-empty">Nothing new. Failures of jobs you are not looking at land here.</p>
          ) : (
            <ul className="bell-list">
              {notifications.map((n) => (
                <li key={n.id} className={`bell-item bell-${n.tone}`} data-testid="bell-item">
                  <div className="bell-title">{n.title}</div>
                  {n.message && <div className="bell-message mono">{n.message}</div>}
                  <div className="bell-meta">
                    <span>{formatRelative(new Date(n.at).toISOString())}</span>
                    {n.link && (
                      <Link to={n.link.to} onClick={() => setOpen(false)}>
                        {n.link.label}
                      </Link>
                    )}
                  </div>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  )
}
