/**
 * @cityops/incidents — warnings become incidents, dispatched to the responsible department by
 * the responsibility table (权责清单), with an audit trail of every step.
 */
export { IncidentsError, type IncidentsErrorCode, type IncidentsErrorOptions, type TableIssue } from './errors.js';
export {
  ANY_AREA,
  DISPATCH_MODES,
  defaultResponsibilityTablePath,
  departmentsAsDimensions,
  loadResponsibilityTable,
  lookupResponsibility,
  readResponsibilityTableFile,
  type DepartmentEntry,
  type DispatchMode,
  type ResponsibilityMatch,
  type ResponsibilityRule,
  type ResponsibilityTable,
  type ServiceLevel,
} from './responsibility-table.js';
export {
  DEFAULT_JOIN_WINDOW_MS,
  IncidentEngine,
  MACHINE_ACTOR,
  MAX_WARNING_IDS_PER_INCIDENT,
  type ActorInput,
  type IncidentChange,
  type IncidentEngineOptions,
  type RestoreSummary,
  type WarningOutcome,
} from './incident-engine.js';
export { startIncidentWorker, type IncidentWorkerOptions } from './incident-worker.js';
export { INCIDENTS_VERSION } from './version.js';
