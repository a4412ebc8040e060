import { useCallback } from 'react'
import { useQuery } from '@tanstack/react-query'
import { deniedReason, type Identity, type Permission } from '../lib/access'
import { endpoints } from './endpoints'
import { keys } from './keys'

/** Who the page is signed in as (GET /api/auth/whoami); undefined until known. */
export function useIdentity(): Identity | undefined {
  return useQuery({ queryKey: keys.whoami, queryFn: ({ signal }) => endpoints.whoami(signal), staleTime: 60_000 }).data
}

/** `denied(permission, action)`: why the signed-in token may not take the action, or null. */
export function useDenied(): (permission: Permission, action: string) => string | null {
  const identity = useIdentity()
  return useCallback((permission: Permission, action: string) => deniedReason(identity, permission, action), [identity])
}
