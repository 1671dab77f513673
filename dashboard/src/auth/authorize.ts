import { DashboardError } from '../errors.js';

/*
 * Who may do what. The server consults this table on every request, before a route runs: the UI
 * hides buttons for convenience only, the 403 comes from here. A route that is not in the table
 * is refused (deny by default, OWASP Authorization Cheat Sheet), so a route added without a
 * policy fails closed in its first test instead of being open to every session.
 *
 * Roles (the same four as @cityops/incidents' API, so one principal works for both):
 * - wall      — an operations-center display: reads the city picture, acts on nothing.
 * - analyst   — reads, runs reports and forecasts; acts on no incident.
 * - commander — acts on incidents; with a department_id, only on that department's (the
 *               department's duty officer); without one, the command center.
 * - admin     — everything, plus users, API keys, the audit trail and the city's catalog
 *               (cameras, sensors, areas, the responsibility table).
 * Department scoping is orthogonal to the role: a principal with a department_id sees only its
 * department's incidents and dispatches (canSeeIncident), whatever its role.
 */

export const ROLES = ['wall', 'commander', 'analyst', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Who is asking, as authenticated by a session. Structurally the Principal of @cityops/incidents. */
export interface Principal {
  login: string;
  role: Role;
  /** Set for department users: scopes what they see and do to their department's incidents. */
  department_id?: string;
}

export const PERMISSIONS = [
  /** The city picture: city, sensors, warnings, anomalies, incidents (scoped), dispatches (scoped), the live stream. */
  'city:read',
  /** Commands on incidents (confirm, accept, reassign, close …); @cityops/incidents checks the department rules per action. */
  'incidents:act',
  /** Reports and forecast queries for analysts. */
  'analytics:read',
  'users:manage',
  'api-keys:manage',
  'audit:read',
  /** Cameras, sensors and areas (published on city.dimensions) and the responsibility table. */
  'catalog:manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  wall: ['city:read'],
  analyst: ['city:read', 'analytics:read'],
  commander: ['city:read', 'incidents:act', 'analytics:read'],
  admin: ['city:read', 'incidents:act', 'analytics:read', 'users:manage', 'api-keys:manage', 'audit:read', 'catalog:manage'],
};

/** 'public' needs no session; 'session' any logged-in principal (even one that must change its password). */
export type Requirement = 'public' | 'session' | Permission;

export interface RoutePolicy {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path segments after `/api/`; `:name` matches one segment. */
  pattern: readonly string[];
  requires: Requirement;
  /** The audit action name of a state-changing route; GET routes are not audited unless refused. */
  action: string;
}

/** Every /api route the dashboard answers. HEAD is allowed wherever GET is. */
export const POLICY: readonly RoutePolicy[] = [
  { method: 'POST', pattern: ['auth', 'login'], requires: 'public', action: 'auth.login' },
  { method: 'POST', pattern: ['auth', 'logout'], requires: 'session', action: 'auth.logout' },
  { method: 'GET', pattern: ['auth', 'me'], requires: 'session', action: 'auth.me' },
  { method: 'POST', pattern: ['auth', 'password'], requires: 'session', action: 'auth.password' },
  { method: 'GET', pattern: ['admin', 'users'], requires: 'users:manage', action: 'user.list' },
  { method: 'POST', pattern: ['admin', 'users'], requires: 'users:manage', action: 'user.create' },
  { method: 'PATCH', pattern: ['admin', 'users', ':login'], requires: 'users:manage', action: 'user.update' },
  { method: 'GET', pattern: ['admin', 'api-keys'], requires: 'api-keys:manage', action: 'api-key.list' },
  { method: 'POST', pattern: ['admin', 'api-keys'], requires: 'api-keys:manage', action: 'api-key.create' },
  { method: 'DELETE', pattern: ['admin', 'api-keys', ':id'], requires: 'api-keys:manage', action: 'api-key.revoke' },
  { method: 'GET', pattern: ['admin', 'audit'], requires: 'audit:read', action: 'audit.read' },
  { method: 'GET', pattern: ['admin', 'cameras'], requires: 'catalog:manage', action: 'camera.list' },
  { method: 'POST', pattern: ['admin', 'cameras'], requires: 'catalog:manage', action: 'camera.create' },
  { method: 'PATCH', pattern: ['admin', 'cameras', ':id'], requires: 'catalog:manage', action: 'camera.update' },
  { method: 'GET', pattern: ['admin', 'sensors'], requires: 'catalog:manage', action: 'sensor.list' },
  { method: 'POST', pattern: ['admin', 'sensors'], requires: 'catalog:manage', action: 'sensor.create' },
  { method: 'PATCH', pattern: ['admin', 'sensors', ':id'], requires: 'catalog:manage', action: 'sensor.update' },
  { method: 'GET', pattern: ['admin', 'areas'], requires: 'catalog:manage', action: 'area.list' },
  { method: 'POST', pattern: ['admin', 'areas'], requires: 'catalog:manage', action: 'area.create' },
  { method: 'PATCH', pattern: ['admin', 'areas', ':id'], requires: 'catalog:manage', action: 'area.update' },
  { method: 'POST', pattern: ['admin', 'cameras', ':id', 'retire'], requires: 'catalog:manage', action: 'camera.retire' },
  { method: 'POST', pattern: ['admin', 'cameras', ':id', 'restore'], requires: 'catalog:manage', action: 'camera.restore' },
  { method: 'POST', pattern: ['admin', 'sensors', ':id', 'retire'], requires: 'catalog:manage', action: 'sensor.retire' },
  { method: 'POST', pattern: ['admin', 'sensors', ':id', 'restore'], requires: 'catalog:manage', action: 'sensor.restore' },
  { method: 'POST', pattern: ['admin', 'areas', ':id', 'retire'], requires: 'catalog:manage', action: 'area.retire' },
  { method: 'POST', pattern: ['admin', 'areas', ':id', 'restore'], requires: 'catalog:manage', action: 'area.restore' },
  { method: 'GET', pattern: ['admin', 'retirements'], requires: 'catalog:manage', action: 'retirement.list' },
  { method: 'GET', pattern: ['admin', 'rules'], requires: 'catalog:manage', action: 'rules.read' },
  { method: 'PUT', pattern: ['admin', 'rules'], requires: 'catalog:manage', action: 'rules.update' },
  { method: 'GET', pattern: ['city'], requires: 'city:read', action: 'city.read' },
  { method: 'GET', pattern: ['cases'], requires: 'city:read', action: 'case.list' },
  { method: 'GET', pattern: ['cases', ':id'], requires: 'city:read', action: 'case.detail' },
  { method: 'GET', pattern: ['snapshots', ':id'], requires: 'city:read', action: 'snapshot.read' },
  { method: 'POST', pattern: ['cases', ':id', ':action'], requires: 'incidents:act', action: 'case.act' },
  { method: 'GET', pattern: ['reports', 'incidents'], requires: 'analytics:read', action: 'report.incidents' },
  { method: 'GET', pattern: ['indicators'], requires: 'analytics:read', action: 'indicators.read' },
  { method: 'GET', pattern: ['indicators', ':id', 'ticks'], requires: 'analytics:read', action: 'indicators.read' },
  { method: 'GET', pattern: ['indicators', ':id', 'forecasts'], requires: 'analytics:read', action: 'forecasts.read' },
  { method: 'GET', pattern: ['indicators', ':id', 'warnings'], requires: 'analytics:read', action: 'indicators.warnings' },
  { method: 'GET', pattern: ['forecast-track-record'], requires: 'analytics:read', action: 'forecasts.track-record' },
  { method: 'GET', pattern: ['basemap'], requires: 'city:read', action: 'basemap.read' },
  { method: 'GET', pattern: ['sensors', 'latest'], requires: 'city:read', action: 'sensors.read' },
  { method: 'GET', pattern: ['sensors', ':id', 'series'], requires: 'city:read', action: 'sensors.read' },
  { method: 'GET', pattern: ['warnings'], requires: 'city:read', action: 'warnings.read' },
  { method: 'GET', pattern: ['anomalies'], requires: 'city:read', action: 'anomalies.read' },
  { method: 'GET', pattern: ['incidents'], requires: 'city:read', action: 'incidents.read' },
  { method: 'GET', pattern: ['incidents', ':id', 'events'], requires: 'city:read', action: 'incidents.read' },
  { method: 'GET', pattern: ['dispatches'], requires: 'city:read', action: 'dispatches.read' },
  { method: 'GET', pattern: ['stream'], requires: 'city:read', action: 'stream.open' },
  { method: 'GET', pattern: ['replay'], requires: 'city:read', action: 'replay.read' },
  { method: 'GET', pattern: ['wall', 'forecasts'], requires: 'city:read', action: 'wall.forecasts' },
];

export interface PolicyMatch {
  policy: RoutePolicy;
  segments: Record<string, string>;
}

/**
 * The policy for a method and path (segments after /api/). `allowed` lists the methods the path
 * has, for a 405's Allow header; `match` is undefined when the method is not one of them.
 */
export function findPolicy(
  method: string,
  path: readonly string[],
  table: readonly RoutePolicy[] = POLICY,
): { match: PolicyMatch | undefined; allowed: string[] } {
  const allowed: string[] = [];
  let match: PolicyMatch | undefined;
  const wanted = method === 'HEAD' ? 'GET' : method;
  for (const policy of table) {
    const segments = matchPattern(policy.pattern, path);
    if (segments === undefined) continue;
    allowed.push(policy.method);
    if (policy.method === 'GET') allowed.push('HEAD');
    if (policy.method === wanted && match === undefined) match = { policy, segments };
  }
  return { match, allowed };
}

function matchPattern(pattern: readonly string[], path: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== path.length) return undefined;
  const segments: Record<string, string> = {};
  for (let i = 0; i < path.length; i++) {
    const p = pattern[i] ?? '';
    const s = path[i] ?? '';
    if (p.startsWith(':')) segments[p.slice(1)] = s;
    else if (p !== s) return undefined;
  }
  return segments;
}

export function hasPermission(principal: Principal, permission: Permission): boolean {
  return ROLE_PERMISSIONS[principal.role].includes(permission);
}

/** Throws a 403 naming what was required and what the principal has. */
export function requirePermission(principal: Principal, permission: Permission): void {
  if (hasPermission(principal, permission)) return;
  const holders = ROLES.filter((r) => ROLE_PERMISSIONS[r].includes(permission));
  throw new DashboardError(
    'forbidden',
    `expected a principal with '${permission}' (role ${holders.join(' or ')}); got ${describePrincipal(principal)} with ${ROLE_PERMISSIONS[principal.role].join(', ')}`,
  );
}

export function describePrincipal(principal: Principal): string {
  return `'${principal.login}' (${principal.role}${principal.department_id ? `, department ${principal.department_id}` : ''})`;
}

/**
 * The fields of an incident (or one of its events) that decide who sees it. Assisting and
 * escalated-to departments see the case too, as in @cityops/incidents; records that do not carry
 * those fields (the Incident contract) are decided by the lead department alone.
 */
export interface IncidentScope {
  department_id: string;
  assist_ids?: readonly string[];
  escalated_to?: string;
}

/** A principal without a department sees every incident; a department user its department's only. */
export function canSeeIncident(principal: Principal, incident: IncidentScope): boolean {
  const dept = principal.department_id;
  if (dept === undefined || dept === '') return true;
  return incident.department_id === dept || (incident.assist_ids?.includes(dept) ?? false) || incident.escalated_to === dept;
}
