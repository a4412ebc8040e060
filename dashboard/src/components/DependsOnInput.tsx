import { useId, useState } from 'react'
import { useQuery } from '@tanstack/react-query'
import { X } from 'lucide-react'
import { endpoints } from '../api/endpoints'
import { useDebounced } from '../lib/hooks'
import { namespaceChoice } from '../lib/namespace'

/** Chips of upstream job names, with suggestions searched on the server (never the whole job list). */
export function DependsOnInput({ id, value, onChange, exclude, invalid }: { id: string; value: string[]; onChange: (v: string[]) => void; exclude?: string; invalid?: boolean }) {
  const [text, setText] = useState('')
  const [focused, setFocused] = useState(false)
  const q = useDebounced(text.trim(), 250)
  const listId = useId()
  const suggestions = useQuery({
    queryKey: ['jobs', { q, limit: 8, suggest: true }, namespaceChoice()],
    queryFn: ({ signal }) => endpoints.jobs({ q, limit: 8 }, signal),
    enabled: focused && q.length > 0,
    staleTime: 10_000,
  })
  const options = (suggestions.data?.jobs ?? []).map((j) => j.name).filter((n) => n !== exclude && !value.includes(n))

  const add = (name: string) => {
    const n = name.trim()
    if (n && !value.includes(n) && n !== exclude) onChange([...value, n])
    setText('')
  }

  return (
    <div className={`chip-input${invalid ? ' invalid' : ''}`}>
      {value.map((name) => (
        <span key={name} className="chip">
          {name}
          <button type="button" aria-label={`Remove dependency ${name}`} onClick={() => onChange(value.filter((v) => v !== name))}>
            <X size={12} />
          </button>
        </span>
      ))}
      <input
        id={id}
        className="chip-text"
        value={text}
        list={listId}
        placeholder={value.length ? 'Add another…' : 'Type a job name…'}
        onChange={(e) => {
          const v = e.target.value
          // picking from the datalist fills the whole name at once
          if (options.includes(v)) add(v)
          else setText(v)
        }}
        onFocus={() => setFocused(true)}
        onBlur={() => {
          setFocused(false)
          if (text.trim()) add(text)
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' || e.key === ',') {
            e.preventDefault()
            add(text)
          } else if (e.key === 'Backspace' && !text && value.length) {
            onChange(value.slice(0, -1))
          }
        }}
        autoComplete="off"
      />
      <datalist id={listId}>
        {options.map((n) => (
          <option key={n} value={n} />
        ))}
      </datalist>
    </div>
  )
}
