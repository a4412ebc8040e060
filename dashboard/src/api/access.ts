import { useCallback } from 'react'
import { queryOptions, useQuery } from '@tanstack/react-query'
import { deniedReason, type Identity, type Permission } from '../lib/access'
import { listNamespace } from '../lib/namespace'
import { endpoints } from './endpoints'
import { keys } from './keys'

/** Who is signed in: the query of `useIdentity`, and of its prefetch on a first visit (App). */
export const identityQuery = queryOptions({ queryKey: keys.whoami, queryFn: ({ signal }) => endpoints.whoami(signal), staleTime: 60_000 })

/** The namespaces the token may read (GET /api/namespaces): the switcher's query and its
 * prefetch on a first visit (App). */
export const namespacesQuery = queryOptions({ queryKey: keys.namespaces, queryFn: ({ signal }) => endpoints.namespaces(signal), staleTime: 30_000 })

/** Who the page is signed in as (GET /api/auth/whoami); undefined until known. */
export function useIdentity(): Identity | undefined {
  return useQuery(identityQuery).data
}

/**
 * `denied(permission, action, namespace?)`: why the signed-in token may not take the action in
 * `namespace` (that of the job or run acted on; else the chosen one; with all namespaces shown
 * and none given, its headline role), or null.
 */
export function useDenied(): (permission: Permission, action: string, namespace?: string | null) => string | null {
  const identity = useIdentity()
  return useCallback(
    (permission: Permission, action: string, namespace?: string | null) => deniedReason(identity, permission, action, namespace ?? listNamespace()),
    [identity],
  )
}
