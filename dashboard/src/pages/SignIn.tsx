import { useState, type FormEvent } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import { KeyRound } from 'lucide-react'
import { setToken, setUnauthorized } from '../api/auth'
import { api } from '../api/client'
import { errorMessage, isApiError } from '../api/errors'
import { Button, Field } from '../components/ui'
import { useDocumentTitle } from '../lib/hooks'

export function SignIn() {
  useDocumentTitle('Sign in')
  const qc = useQueryClient()
  const [token, setTokenValue] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [pending, setPending] = useState(false)

  async function submit(e: FormEvent) {
    e.preventDefault()
    const value = token.trim()
    if (!value) {
      setError('Enter an API token.')
      return
    }
    setPending(true)
    setError(null)
    try {
      await api('/api/stats', { token: value, quiet401: true })
      setToken(value)
      qc.clear()
      setUnauthorized(false)
    } catch (err) {
      setError(isApiError(err) && (err.status === 401 || err.status === 403) ? 'That token was not accepted.' : errorMessage(err))
    } finally {
      setPending(false)
    }
  }

  return (
    <main className="signin">
      <form className="signin-card" onSubmit={submit} noValidate>
        <div className="signin-icon" aria-hidden>
          <KeyRound size={26} />
        </div>
        <h1>Sign in to tickwork</h1>
        <p className="muted">This coordinator requires an API token. It is kept in this browser only.</p>
        <Field label="API token" htmlFor="token" error={error ?? undefined}>
          <input
            id="token"
            name="token"
            type="password"
            autoComplete="current-password"
            className="input"
            value={token}
            onChange={(e) => setTokenValue(e.target.value)}
            aria-invalid={!!error}
            autoFocus
          />
        </Field>
        <Button type="submit" variant="primary" pending={pending} className="btn-block">
          Sign in
        </Button>
      </form>
    </main>
  )
}
