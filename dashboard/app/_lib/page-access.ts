import type { MeResponse } from './auth-client.js';

/*
 * Which pages a role may open, by the permissions the server reported (GET /api/auth/me). The
 * links are shown per role for convenience; every page's data comes from routes the server
 * authorises on its own (authorize.ts), so a hand-typed URL gets the same 403 from the API.
 */

export type PageId = 'wall' | 'console' | 'analyst' | 'reports' | 'admin';

export const PAGES: readonly { id: PageId; path: string; requires: string }[] = [
  { id: 'wall', path: '/', requires: 'city:read' },
  { id: 'console', path: '/console', requires: 'incidents:act' },
  { id: 'analyst', path: '/analyst', requires: 'analytics:read' },
  { id: 'reports', path: '/reports', requires: 'analytics:read' },
  { id: 'admin', path: '/admin', requires: 'users:manage' },
];

export function canOpen(me: MeResponse, page: PageId): boolean {
  const p = PAGES.find((x) => x.id === page);
  return p !== undefined && me.permissions.includes(p.requires);
}

export function requiredPermission(page: PageId): string {
  return PAGES.find((x) => x.id === page)?.requires ?? '';
}
