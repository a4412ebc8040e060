import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import '@fontsource-variable/inter/wght.css'
import './styles.css'
import { App } from './App'
import { applyTheme, resolveTheme, storedTheme, systemTheme } from './lib/theme'

// before the first paint, so a dark page does not flash white
applyTheme(resolveTheme(storedTheme(), systemTheme()))

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <App />
  </StrictMode>,
)
