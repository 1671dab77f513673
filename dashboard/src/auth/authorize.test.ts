import { describe, expect, it } from 'vitest';
import { DashboardError } from '../errors.js';
import {
  canSeeIncident,
  findPolicy,
  hasPermission,
  PERMISSIONS,
  POLICY,
  requirePermission,
  ROLES,
  type Permission,
  type Role,
} from './authorize.js';

describe('policy table', () => {
  it('gives each role exactly its rights', () => {
    const matrix = Object.fromEntries(ROLES.map((r) => [r, PERMISSIONS.filter((p) => hasPermission({ login: 'x', role: r }, p))]));
    expect(matrix).toEqual({
      wall: ['city:read'],
      commander: ['city:read', 'incidents:act', 'analytics:read'],
      analyst: ['city:read', 'analytics:read'],
      admin: ['city:read', 'incidents:act', 'analytics:read', 'users:manage', 'api-keys:manage', 'audit:read', 'catalog:manage'],
    } satisfies Record<Role, Permission[]>);
  });

  it('requires a session for every route but the login, and admin rights for every /api/admin route', () => {
    expect(POLICY.filter((p) => p.requires === 'public').map((p) => p.action)).toEqual(['auth.login']);
    for (const p of POLICY.filter((x) => x.pattern[0] === 'admin')) {
      expect(['users:manage', 'api-keys:manage', 'audit:read', 'catalog:manage'], p.action).toContain(p.requires);
    }
    const keys = POLICY.map((p) => `${p.method} /${p.pattern.join('/')}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('finds a route by method and path, and the methods a path has', () => {
    expect(findPolicy('PATCH', ['admin', 'users', 'ann']).match?.segments).toEqual({ login: 'ann' });
    expect(findPolicy('HEAD', ['warnings']).match?.policy.action).toBe('warnings.read');
    expect(findPolicy('POST', ['warnings'])).toEqual({ match: undefined, allowed: ['GET', 'HEAD'] });
    expect(findPolicy('GET', ['health'])).toEqual({ match: undefined, allowed: [] });
  });

  it('refuses with a 403 that names what was required and what the principal has', () => {
    expect(() => requirePermission({ login: 'ops', role: 'admin' }, 'users:manage')).not.toThrow();
    let error: unknown;
    try {
      requirePermission({ login: 'li', role: 'commander', department_id: 'dept-traffic' }, 'users:manage');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DashboardError);
    expect((error as DashboardError).httpStatus).toBe(403);
    expect((error as DashboardError).message).toBe(
      "expected a principal with 'users:manage' (role admin); got 'li' (commander, department dept-traffic) with city:read, incidents:act, analytics:read",
    );
  });
});

describe('department scoping', () => {
  const traffic = { login: 'li', role: 'commander' as const, department_id: 'dept-traffic' };
  it('shows a department user its own, assisted and escalated incidents only', () => {
    expect(canSeeIncident(traffic, { department_id: 'dept-traffic' })).toBe(true);
    expect(canSeeIncident(traffic, { department_id: 'dept-drainage' })).toBe(false);
    expect(canSeeIncident(traffic, { department_id: '' })).toBe(false);
    expect(canSeeIncident(traffic, { department_id: 'dept-drainage', assist_ids: ['dept-traffic'] })).toBe(true);
    expect(canSeeIncident(traffic, { department_id: 'dept-drainage', escalated_to: 'dept-traffic' })).toBe(true);
  });

  it('shows a principal without a department everything', () => {
    expect(canSeeIncident({ login: 'boss', role: 'commander' }, { department_id: 'dept-drainage' })).toBe(true);
    expect(canSeeIncident({ login: 'w', role: 'wall' }, { department_id: '' })).toBe(true);
  });
});
