import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react'
import { Link } from 'react-router'
import { AlertTriangle, CheckCircle2, Info, X, XCircle } from 'lucide-react'

export type ToastTone = 'success' | 'error' | 'info' | 'warning'

export interface ToastInput {
  tone: ToastTone
  title: string
  message?: string
  link?: { to: string; label: string }
  /** toasts with the same key replace each other instead of stacking */
  key?: string
  durationMs?: number
}

interface ToastItem extends ToastInput {
  id: number
}

interface ToastApi {
  push: (t: ToastInput) => void
  success: (title: string, message?: string) => void
  error: (title: string, message?: string) => void
}

const ToastContext = createContext<ToastApi | null>(null)
const MAX_VISIBLE = 5

export function ToastProvider({ children }: { children: ReactNode }) {
  const [items, setItems] = useState<ToastItem[]>([])
  const nextId = useRef(1)
  const timers = useRef(new Map<number, ReturnType<typeof setTimeout>>())

  const dismiss = useCallback((id: number) => {
    setItems((list) => list.filter((t) => t.id !== id))
    const timer = timers.current.get(id)
    if (timer) clearTimeout(timer)
    timers.current.delete(id)
  }, [])

  const push = useCallback(
    (input: ToastInput) => {
      const id = nextId.current++
      setItems((list) => {
        const kept = input.key ? list.filter((t) => t.key !== input.key) : list
        return [...kept, { ...input, id }].slice(-MAX_VISIBLE)
      })
      const duration = input.durationMs ?? (input.tone === 'error' ? 8000 : 4500)
      timers.current.set(
        id,
        setTimeout(() => dismiss(id), duration),
      )
    },
    [dismiss],
  )

  useEffect(() => {
    const map = timers.current
    return () => {
      for (const t of map.values()) clearTimeout(t)
    }
  }, [])

  const api = useMemo<ToastApi>(
    () => ({
      push,
      success: (title, message) => push({ tone: 'success', title, message }),
      error: (title, message) => push({ tone: 'error', title, message }),
    }),
    [push],
  )

  return (
    <ToastContext.Provider value={api}>
      {children}
      <div className="toast-region" role="region" aria-live="polite" aria-label="Notifications">
        {items.map((t) => (
          <div key={t.id} className={`toast toast-${t.tone}`} role={t.tone === 'error' ? 'alert' : 'status'} data-testid="toast" data-tone={t.tone}>
            <span className="toast-icon" aria-hidden>
              {t.tone === 'success' ? <CheckCircle2 size={18} /> : t.tone === 'error' ? <XCircle size={18} /> : t.tone === 'warning' ? <AlertTriangle size={18} /> : <Info size={18} />}
            </span>
            <div className="toast-body">
              <div className="toast-title">{t.title}</div>
              {t.message && <div className="toast-message">{t.message}</div>}
              {t.link && (
                <Link className="toast-link" to={t.link.to} onClick={() => dismiss(t.id)}>
                  {t.link.label}
                </Link>
              )}
            </div>
            <button type="button" className="icon-button toast-close" aria-label="Dismiss notification" onClick={() => dismiss(t.id)}>
              <X size={16} />
            </button>
          </div>
        ))}
      </div>
    </ToastContext.Provider>
  )
}

export function useToast(): ToastApi {
  const ctx = useContext(ToastContext)
  if (!ctx) throw new Error('useToast outside ToastProvider')
  return ctx
}

/** The toasts, or null outside a ToastProvider (for components that also render without one). */
export function useOptionalToast(): ToastApi | null {
  return useContext(ToastContext)
}
