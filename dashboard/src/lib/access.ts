// What the signed-in token may do, to hide or disable actions it may not take. The server's
// permission table stays the authority: this only keeps the page from offering what would fail.

export type Permission = 'read' | 'operate' | 'admin'

/** GET /api/auth/whoami */
export interface Identity {
  name: string
  role: string
  auth: boolean
  /** The token's role per namespace (`*`: every namespace not named); empty: `role` everywhere. */
  scopes?: Record<string, string>
}

/** The token's role in `namespace` (its one role where none is named), as the server decides it. */
export function roleIn(identity: Identity, namespace?: string | null): string | null {
  if (!namespace) return identity.role
  const scopes = identity.scopes && Object.keys(identity.scopes).length ? identity.scopes : { '*': identity.role }
  return scopes[namespace] ?? scopes['*'] ?? null
}

/** Whether the token's role depends on the namespace (scopes naming some, not one role for `*`). */
function scopedByNamespace(identity: Identity): boolean {
  const scopes = identity.scopes ?? {}
  return Object.keys(scopes).length > 0 && !(Object.keys(scopes).length === 1 && '*' in scopes)
}

/** Whether the token may read every namespace (`*`), so "all namespaces" may be offered. */
export function readsEveryNamespace(identity: Identity | undefined): boolean {
  if (!identity || !identity.auth) return true
  return (GRANTS[roleIn(identity, '*') ?? ''] ?? []).includes('read')
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

/** Whether `identity` holds `permission` (in `namespace`, when given); an open server (auth off)
 * grants everything. */
export function may(identity: Identity | undefined, permission: Permission, namespace?: string | null): boolean {
  if (!identity || !identity.auth) return true
  return (GRANTS[roleIn(identity, namespace) ?? ''] ?? []).includes(permission)
}

/**
 * Why `identity` may not take an action that needs `permission` (in `namespace`, when given), in
 * words for a tooltip and an accessible description ("Viewer tokens are read-only: triggering
 * needs an operator token."; "… read-only in namespace 'payments': …"), or null when it may.
 * While the identity is not known yet, nothing is denied: the server decides.
 */
export function deniedReason(identity: Identity | undefined, permission: Permission, action: string, namespace?: string | null): string | null {
  if (may(identity, permission, namespace) || !identity) return null
  const held = roleIn(identity, namespace)
  // a token of one role everywhere says so without naming the namespace
  const where = namespace && scopedByNamespace(identity) ? ` in namespace '${namespace}'` : ''
  if (!held) return `This token has no role${where}: ${action} needs ${HOLDER[permission]} token there.`
  const role = held.charAt(0).toUpperCase() + held.slice(1)
  const limit = LIMITS[held] ?? 'may not do this'
  return `${role} tokens ${limit}${where}: ${action} needs ${HOLDER[permission]} token.`
}
