import { useEffect, useState } from 'react'
import { Moon, Sun } from 'lucide-react'
import { applyTheme, resolveTheme, storedTheme, storeTheme, systemTheme, type Theme } from '../lib/theme'

/** Follows prefers-color-scheme until the person picks a theme; the pick is remembered. */
export function useTheme(): [Theme, (t: Theme) => void] {
  const [stored, setStored] = useState(storedTheme)
  const [system, setSystem] = useState(systemTheme)
  useEffect(() => {
    const mq = window.matchMedia('(prefers-color-scheme: dark)')
    const on = () => setSystem(mq.matches ? 'dark' : 'light')
    mq.addEventListener('change', on)
    return () => mq.removeEventListener('change', on)
  }, [])
  const theme = resolveTheme(stored, system)
  useEffect(() => applyTheme(theme), [theme])
  const choose = (t: Theme) => {
    // choosing what the system says anyway means "follow the system" again
    const keep = t === system ? null : t
    storeTheme(keep)
    setStored(keep)
  }
  return [theme, choose]
}

export function ThemeToggle() {
  const [theme, choose] = useTheme()
  const next: Theme = theme === 'dark' ? 'light' : 'dark'
  return (
    <button type="button" className="icon-button theme-toggle" onClick={() => choose(next)} aria-label={`Switch to ${next} theme`} title={`Switch to ${next} theme`} data-testid="theme-toggle" data-theme={theme}>
      {theme === 'dark' ? <Sun size={18} aria-hidden /> : <Moon size={18} aria-hidden />}
    </button>
  )
}
