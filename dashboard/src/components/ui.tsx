import { useEffect, useId, useRef, type ButtonHTMLAttributes, type ReactNode } from 'react'
import { AlertCircle, Inbox, Loader2 } from 'lucide-react'
import { errorMessage, isApiError } from '../api/errors'
import { formatDateTime, formatRelative } from '../lib/format'
import { useNow } from '../lib/hooks'
import { statusLabel, statusTone } from '../lib/status'
import { useOptionalToast } from './Toasts'

export function StatusBadge({ status, testId, size = 'md' }: { status: string | null | undefined; testId?: string; size?: 'sm' | 'md' }) {
  const tone = statusTone(status)
  return (
    <span className={`badge badge-${tone} badge-${size}`} data-testid={testId} data-status={status ?? ''}>
      <span className={`badge-dot${status === 'running' ? ' pulse' : ''}`} aria-hidden />
      {statusLabel(status)}
    </span>
  )
}

export function Spinner({ size = 16, label }: { size?: number; label?: string }) {
  return (
    <span className="spinner" role={label ? 'status' : undefined} aria-label={label}>
      <Loader2 size={size} aria-hidden />
    </span>
  )
}

type ButtonVariant = 'primary' | 'secondary' | 'danger' | 'ghost'

/**
 * A button. `denied` (why the signed-in token may not take this action) shows it disabled with
 * the reason as its tooltip and accessible description; it stays focusable (aria-disabled, not
 * disabled) so keyboard and screen-reader users find the reason too, and clicking it only shows
 * the reason (a phone has no hover).
 */
export function Button({
  variant = 'secondary',
  pending = false,
  icon,
  children,
  disabled,
  className,
  size = 'md',
  denied,
  ...rest
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: ButtonVariant; pending?: boolean; icon?: ReactNode; size?: 'sm' | 'md'; denied?: string | null }) {
  const reasonId = useId()
  const toast = useOptionalToast()
  if (denied) {
    const { onClick: _ignored, title: _title, ...attrs } = rest
    return (
      <>
        <button
          {...attrs}
          type="button"
          className={`btn btn-${variant} btn-${size} btn-denied${className ? ` ${className}` : ''}`}
          aria-disabled="true"
          aria-describedby={reasonId}
          title={denied}
          data-denied="true"
          onClick={(e) => {
            e.preventDefault()
            toast?.push({ tone: 'info', title: 'Not allowed with this token', message: denied, key: 'denied' })
          }}
        >
          {icon}
          {children && <span>{children}</span>}
        </button>
        <span id={reasonId} className="sr-only">
          {denied}
        </span>
      </>
    )
  }
  return (
    <button
      type="button"
      {...rest}
      className={`btn btn-${variant} btn-${size}${className ? ` ${className}` : ''}`}
      disabled={disabled || pending}
      aria-busy={pending || undefined}
    >
      {pending ? <Spinner size={size === 'sm' ? 14 : 16} /> : icon}
      {children && <span>{children}</span>}
    </button>
  )
}

export function PageHeader({ title, subtitle, actions, kicker }: { title: ReactNode; subtitle?: ReactNode; actions?: ReactNode; kicker?: ReactNode }) {
  return (
    <header className="page-header">
      <div className="page-header-text">
        {kicker && <div className="page-kicker">{kicker}</div>}
        <h1>{title}</h1>
        {subtitle && <div className="page-subtitle">{subtitle}</div>}
      </div>
      {actions && <div className="page-actions">{actions}</div>}
    </header>
  )
}

export function Card({ title, actions, children, className, bodyClass, id }: { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string; bodyClass?: string; id?: string }) {
  return (
    <section className={`card${className ? ` ${className}` : ''}`} aria-labelledby={title && id ? `${id}-title` : undefined}>
      {(title || actions) && (
        <div className="card-header">
          {title && (
            <h2 className="card-title" id={id ? `${id}-title` : undefined}>
              {title}
            </h2>
          )}
          {actions && <div className="card-actions">{actions}</div>}
        </div>
      )}
      <div className={`card-body${bodyClass ? ` ${bodyClass}` : ''}`}>{children}</div>
    </section>
  )
}

export function EmptyState({ title, children, icon }: { title: string; children?: ReactNode; icon?: ReactNode }) {
  return (
    <div className="empty-state">
      <div className="empty-icon" aria-hidden>
        {icon ?? <Inbox size={28} />}
      </div>
      <div className="empty-title">{title}</div>
      {children && <div className="empty-text">{children}</div>}
    </div>
  )
}

export function ErrorState({ error, onRetry, title }: { error: unknown; onRetry?: () => void; title?: string }) {
  const notFound = isApiError(error) && error.status === 404
  return (
    <div className="error-state" role="alert">
      <AlertCircle size={22} aria-hidden />
      <div>
        <div className="error-title">{title ?? (notFound ? 'Not found' : 'Could not load this')}</div>
        <div className="error-text">{errorMessage(error)}</div>
      </div>
      {onRetry && !notFound && (
        <Button size="sm" onClick={onRetry}>
          Try again
        </Button>
      )}
    </div>
  )
}

export function LoadingBlock({ label = 'Loading…', rows = 4 }: { label?: string; rows?: number }) {
  return (
    <div className="loading-block" role="status" aria-label={label}>
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="skeleton" style={{ width: `${92 - ((i * 17) % 35)}%` }} />
      ))}
    </div>
  )
}

/** A time shown relative ("3m ago"), with the absolute time on hover; re-renders as time passes. */
export function TimeAgo({ iso, className, past }: { iso: string | null | undefined; className?: string; past?: boolean }) {
  const now = useNow(iso ? 5000 : 60_000)
  if (!iso) return <span className={className}>—</span>
  // a past event stamped by a server whose clock runs slightly ahead is still "just now"
  const shown = past && Date.parse(iso) > now ? formatRelative(new Date(now).toISOString(), now) : formatRelative(iso, now)
  return (
    <time className={className} dateTime={iso} title={formatDateTime(iso)}>
      {shown}
    </time>
  )
}

export function Tags({ tags, variant = 'tag' }: { tags: string[] | null | undefined; variant?: 'tag' | 'worker' }) {
  if (!tags || tags.length === 0) return <span className="muted">—</span>
  return (
    <span className="tag-list">
      {tags.map((t) => (
        <span key={t} className={`tag tag-${variant}`}>
          {t}
        </span>
      ))}
    </span>
  )
}

export function ProgressBar({ value, tone = 'info', label, testId }: { value: number; tone?: string; label: string; testId?: string }) {
  const pct = Math.max(0, Math.min(1, Number.isFinite(value) ? value : 0))
  return (
    <div
      className={`progress progress-${tone}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(pct * 100)}
      data-testid={testId}
    >
      <div className="progress-fill" style={{ width: `${pct * 100}%` }} />
    </div>
  )
}

export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  onConfirm,
  onClose,
  pending,
  danger,
  extra,
  cancelLabel = 'Cancel',
}: {
  open: boolean
  title: string
  children: ReactNode
  confirmLabel: string
  onConfirm: () => void
  onClose: () => void
  pending?: boolean
  danger?: boolean
  extra?: ReactNode
  /** the button that closes without doing anything */
  cancelLabel?: string
}) {
  const ref = useRef<HTMLDialogElement>(null)
  useEffect(() => {
    const d = ref.current
    if (!d) return
    if (open && !d.open) d.showModal()
    if (!open && d.open) d.close()
  }, [open])
  return (
    <dialog ref={ref} className="dialog" onClose={onClose} onCancel={(e) => pending && e.preventDefault()} aria-labelledby="dialog-title">
      <h2 id="dialog-title" className="dialog-title">
        {title}
      </h2>
      <div className="dialog-body">{children}</div>
      <div className="dialog-actions">
        <Button onClick={onClose} disabled={pending} data-testid="dialog-dismiss">
          {cancelLabel}
        </Button>
        {extra}
        <Button variant={danger ? 'danger' : 'primary'} onClick={onConfirm} pending={pending} autoFocus data-testid="dialog-confirm">
          {confirmLabel}
        </Button>
      </div>
    </dialog>
  )
}

export function JsonBlock({ value, empty = '{}' }: { value: unknown; empty?: string }) {
  const isEmpty = value === null || value === undefined || (typeof value === 'object' && Object.keys(value as object).length === 0)
  return <pre className="code-block">{isEmpty ? empty : JSON.stringify(value, null, 2)}</pre>
}

export function Field({ label, htmlFor, error, hint, children, className }: { label: string; htmlFor: string; error?: string; hint?: ReactNode; children: ReactNode; className?: string }) {
  return (
    <div className={`field${error ? ' field-invalid' : ''}${className ? ` ${className}` : ''}`}>
      <label htmlFor={htmlFor} className="field-label">
        {label}
      </label>
      {children}
      {error ? (
        <div className="field-error" id={`${htmlFor}-error`} role="alert">
          {error}
        </div>
      ) : (
        hint && <div className="field-hint">{hint}</div>
      )}
    </div>
  )
}

export function DefList({ items }: { items: [ReactNode, ReactNode][] }) {
  return (
    <dl className="deflist">
      {items.map(([k, v], i) => (
        <div key={i} className="deflist-row">
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  )
}
