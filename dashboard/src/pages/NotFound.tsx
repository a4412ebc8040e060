import { Link } from 'react-router'
import { EmptyState } from '../components/ui'
import { useDocumentTitle } from '../lib/hooks'

export default function NotFound() {
  useDocumentTitle('Not found')
  return (
    <div className="page">
      <EmptyState title="Page not found">
        Nothing lives at this address. <Link to="/">Back to the overview</Link>
      </EmptyState>
    </div>
  )
}
