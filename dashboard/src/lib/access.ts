// What the signed-in token may do, to hide or disable actions it may not take. The server's
// permission table stays the authority: this only keeps the page from offering what would fail.

export type Permission = 'read' | 'operate' | 'admin'

/** GET /api/auth/whoami */
export interface Identity {
  name: string
  role: string
  auth: boolean
}

// read < operate < admin, as the server grants them (tickwork/domain/auth.py GRANTS)
const GRANTS: Record<string, readonly string[]> = {
  viewer: ['read'],
  operator: ['read', 'operate'],
  admin: ['read', 'operate', 'admin', 'work'],
  worker: ['work'],
}

const HOLDER: Record<Permission, string> = { read: 'a viewer', operate: 'an operator', admin: 'an admin' }

const LIMITS: Record<string, string> = {
  viewer: 'are read-only',
  operator: 'run, pause and cancel jobs but do not change them',
}

/** Whether `identity` holds `permission`; an open server (auth off) grants everything. */
export function may(identity: Identity | undefined, permission: Permission): boolean {
  if (!identity || !identity.auth) return true
  return (GRANTS[identity.role] ?? []).includes(permission)
}

/**
 * Why `identity` may not take an action that needs `permission`, in words for a tooltip and an
 * accessible description ("Viewer tokens are read-only: triggering needs an operator token."),
 * or null when it may. While the identity is not known yet, nothing is denied: the server decides.
 */
export function deniedReason(identity: Identity | undefined, permission: Permission, action: string): string | null {
  if (may(identity, permission) || !identity) return null
  const role = identity.role.charAt(0).toUpperCase() + identity.role.slice(1)
  const limit = LIMITS[identity.role] ?? 'may not do this'
  return `${role} tokens ${limit}: ${action} needs ${HOLDER[permission]} token.`
}
