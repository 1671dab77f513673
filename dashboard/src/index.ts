export { createDashboardServer, type DashboardServer, type DashboardServerOptions } from './dashboard-server.js';
export { DashboardError, type DashboardErrorCode } from './errors.js';
export type * from './api-types.js';
export type * from './live-protocol.js';
