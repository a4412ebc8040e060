import { useEffect, useState, type ReactNode } from 'react'
import { NavLink, useLocation } from 'react-router'
import { useQuery } from '@tanstack/react-query'
import { Activity, BellRing, Boxes, CalendarDays, Gauge, Inbox, KeyRound, ListChecks, LogOut, Menu, Network, ScrollText, Server, Workflow, X } from 'lucide-react'
import { useIdentity } from '../api/access'
import { getToken, setToken, setUnauthorized } from '../api/auth'
import { endpoints } from '../api/endpoints'
import { keys } from '../api/keys'
import { useLive } from '../live/LiveProvider'
import { may, roleIn } from '../lib/access'
import { listNamespace } from '../lib/namespace'
import { formatNumber } from '../lib/format'
import { Bell } from './Bell'
import { NamespaceSwitch, useNamespaceChoice } from './NamespaceSwitch'
import { Shortcuts } from './Shortcuts'
import { ZoneSwitch } from './ZoneSwitch'
import { ThemeToggle } from './ThemeToggle'

const PAGE = 50

const NAV = [
  { to: '/', label: 'Overview', icon: Gauge, end: true },
  { to: '/jobs', label: 'Jobs', icon: ListChecks },
  { to: '/pipelines', label: 'Pipelines', icon: Workflow },
  { to: '/runs', label: 'Runs', icon: Activity },
  { to: '/dag', label: 'Dependencies', icon: Network },
  { to: '/workers', label: 'Workers', icon: Server },
  { to: '/calendars', label: 'Calendars', icon: CalendarDays },
  { to: '/dead-letters', label: 'Dead letters', icon: Inbox },
  { to: '/alerts', label: 'Alerts', icon: BellRing },
  { to: '/audit', label: 'Audit log', icon: ScrollText, admin: true },
] as const

function Logo() {
  return (
    <span className="logo" aria-hidden>
      <svg viewBox="0 0 32 32" width="28" height="28">
        <rect width="32" height="32" rx="8" fill="var(--brand)" />
        <circle cx="16" cy="16" r="9" fill="none" stroke="#fff" strokeWidth="2.4" />
        <path d="M16 10.5V16l3.6 2.4" fill="none" stroke="#fff" strokeWidth="2.4" strokeLinecap="round" strokeLinejoin="round" />
      </svg>
    </span>
  )
}

export function LiveControls() {
  const { live, setLive, state, retryInMs, busy, refreshMs } = useLive()
  const label =
    state === 'off'
      ? 'Paused'
      : state === 'open'
        ? 'Connected'
        : state === 'reconnecting'
          ? retryInMs !== null
            ? `Reconnecting in ${Math.max(1, Math.round(retryInMs / 1000))}s`
            : 'Reconnecting…'
          : 'Connecting…'
  const tone = state === 'off' ? 'muted' : state === 'open' ? 'success' : 'warning'
  return (
    <div className="live-controls">
      <span className={`conn conn-${tone}`} data-testid="connection-status" data-state={state} role="status" title="Live updates connection">
        <span className={`conn-dot${state === 'open' ? ' pulse' : ''}`} aria-hidden />
        <span className="conn-label">{label}</span>
      </span>
      {busy && state === 'open' && (
        <span className="live-busy" data-testid="live-busy" title="Events arrive faster than anyone can read them: lists refresh on a slower beat until things calm down">
          updating every {Math.round(refreshMs / 1000)} s while busy
        </span>
      )}
      <button
        type="button"
        role="switch"
        aria-checked={live}
        className={`switch${live ? ' switch-on' : ''}`}
        onClick={() => setLive(!live)}
        data-testid="live-toggle"
        title={live ? 'Live updates on: click to pause' : 'Live updates paused: click to resume'}
      >
        <span className="switch-track" aria-hidden>
          <span className="switch-thumb" />
        </span>
        <span className="switch-label">Live</span>
      </button>
    </div>
  )
}

function useNavBadges() {
  const ns = useNamespaceChoice() // the dead letters counted are the chosen namespace's
  const stats = useQuery({ queryKey: keys.stats, queryFn: ({ signal }) => endpoints.stats(signal), staleTime: 5000 })
  const dead = useQuery({
    queryKey: keys.deadLetters('false', 0),
    queryFn: ({ signal }) => endpoints.deadLetters(false, { limit: PAGE }, signal),
    staleTime: 10_000,
    enabled: ns !== null,
  })
  return { running: stats.data?.running ?? 0, dead: dead.data?.total ?? 0 }
}

export function Layout({ children }: { children: ReactNode }) {
  const [open, setOpen] = useState(false)
  const location = useLocation()
  const badges = useNavBadges()
  const hasToken = !!getToken()
  const identity = useIdentity()
  const nav = NAV.filter((item) => !('admin' in item) || may(identity, 'admin'))
  // the role in the namespace shown (a scoped token's differs from one to the next)
  const shownNs = listNamespace(useNamespaceChoice())
  const roleHere = identity ? roleIn(identity, shownNs) : null

  useEffect(() => setOpen(false), [location.pathname])
  useEffect(() => {
    if (!open) return
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false)
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [open])

  return (
    <div className={`shell${open ? ' nav-open' : ''}`}>
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="topbar">
        <button
          type="button"
          className="icon-button nav-toggle"
          aria-label={open ? 'Close navigation' : 'Open navigation'}
          aria-expanded={open}
          aria-controls="sidebar"
          onClick={() => setOpen((o) => !o)}
          data-testid="nav-toggle"
        >
          {open ? <X size={22} /> : <Menu size={22} />}
        </button>
        <NavLink to="/" className="brand brand-top">
          <Logo />
          <span>tickwork</span>
        </NavLink>
        <div className="topbar-spacer" />
        <NamespaceSwitch />
        <ZoneSwitch />
        <LiveControls />
        <Bell />
        <ThemeToggle />
      </header>
      <aside id="sidebar" className="sidebar" aria-label="Main">
        <NavLink to="/" className="brand brand-side">
          <Logo />
          <span>tickwork</span>
        </NavLink>
        <nav className="nav">
          {nav.map(({ to, label, icon: Icon, ...rest }) => (
            <NavLink key={to} to={to} end={'end' in rest} className={({ isActive }) => `nav-link${isActive ? ' active' : ''}`} data-testid={`nav-${to === '/' ? 'overview' : to.slice(1)}`}>
              <Icon size={18} aria-hidden />
              <span>{label}</span>
              {to === '/runs' && badges.running > 0 && (
                <span className="nav-count nav-count-info" title={`${badges.running} running`}>
                  {formatNumber(badges.running)}
                </span>
              )}
              {to === '/dead-letters' && badges.dead > 0 && (
                <span className="nav-count nav-count-danger" title={`${badges.dead} unresolved`}>
                  {formatNumber(badges.dead)}
                </span>
              )}
            </NavLink>
          ))}
        </nav>
        <div className="sidebar-footer">
          <NamespaceSwitch inNav />
          <a className="nav-link subtle" href="/docs" target="_blank" rel="noreferrer">
            <Boxes size={18} aria-hidden />
            <span>API docs</span>
          </a>
          {identity?.auth && (
            <div className="nav-link subtle whoami" data-testid="whoami" data-role={identity.role} title={`Signed in with the token “${identity.name}”: ${roleHere ?? 'no role'}${shownNs ? ` in namespace ${shownNs}` : ''}`}>
              <KeyRound size={18} aria-hidden />
              <span>
                {identity.name} <span className="whoami-role">· {roleHere ?? 'no role'}</span>
              </span>
            </div>
          )}
          {hasToken && (
            <button
              type="button"
              className="nav-link subtle"
              onClick={() => {
                setToken(null)
                setUnauthorized(true)
              }}
            >
              <LogOut size={18} aria-hidden />
              <span>Sign out</span>
            </button>
          )}
        </div>
      </aside>
      {open && <div className="scrim" onClick={() => setOpen(false)} aria-hidden />}
      <main id="main" className="main" tabIndex={-1}>
        {children}
      </main>
      <Shortcuts />
    </div>
  )
}
