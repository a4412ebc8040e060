import { Component, type ErrorInfo, type ReactNode } from 'react'
import { ErrorState } from './ui'

interface State {
  error: Error | null
}

export class ErrorBoundary extends Component<{ children: ReactNode }, State> {
  state: State = { error: null }

  static getDerivedStateFromError(error: Error): State {
    return { error }
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error('tickwork dashboard error', error, info.componentStack)
  }

  render() {
    if (this.state.error) {
      const chunk = /dynamically imported module|Failed to fetch/i.test(this.state.error.message)
      return (
        <div className="page">
          <ErrorState
            title={chunk ? 'The dashboard was updated' : 'Something went wrong on this page'}
            error={chunk ? new Error('Reload to get the new version.') : this.state.error}
            onRetry={() => (chunk ? window.location.reload() : this.setState({ error: null }))}
          />
        </div>
      )
    }
    return this.props.children
  }
}
