export { createDashboardServer, type DashboardServer, type DashboardServerOptions } from './dashboard-server.js';
export { DashboardError, type DashboardErrorCode } from './errors.js';
export { DEFAULT_TILE_MAX_ZOOM, tileServerFromEnv, type TileServerConfig } from './tile-server.js';
export { openAuth, type AuthOptions, type DashboardAuth, type FirstAdmin } from './auth/auth.js';
export { ApiKeyStore, apiKeysFilePath, type ApiKeyStoreOptions, type PublicApiKey } from './auth/api-keys.js';
export { createFileAuditLog, createMemoryAuditLog, auditFilePath, type AuditLog, type AuditRecord, type AuditEntry } from './auth/audit.js';
export {
  ROLES,
  ROLE_PERMISSIONS,
  PERMISSIONS,
  POLICY,
  canSeeIncident,
  type Role,
  type Permission,
  type Principal,
} from './auth/authorize.js';
export { UserStore, usersFilePath, type PublicUser } from './auth/user-store.js';
export { DEFAULT_SCRYPT_PARAMS, type ScryptParams } from './auth/password-hash.js';
export { SESSION_COOKIE } from './auth/sessions.js';
export { CSRF_HEADER } from './auth/csrf.js';
export type { MeResponse } from './auth/auth-routes.js';
export type * from './api-types.js';
export type * from './live-protocol.js';
