/**
 * @cityops/incidents — warnings become incidents, correlated into one case per real-world event,
 * weighed by severity, dispatched to the responsible department by the responsibility table
 * (权责清单), held to SLA clocks with escalation, verified and closed — with an audit trail of
 * every step, signed webhooks, a role-scoped API and analysis reports.
 */
export { IncidentsError, httpStatusOf, type IncidentsErrorCode, type IncidentsErrorOptions, type TableIssue } from './errors.js';
export {
  ANY_AREA,
  DEFAULT_CORRELATION,
  DEFAULT_VERIFICATION,
  DISPATCH_MODES,
  defaultResponsibilityTablePath,
  departmentsAsDimensions,
  dispatchModeFor,
  escalationChain,
  kindsRelated,
  loadResponsibilityTable,
  lookupResponsibility,
  onDuty,
  readResponsibilityTableFile,
  type AreaExposure,
  type CorrelationSettings,
  type DepartmentEntry,
  type DispatchMode,
  type ResponsibilityMatch,
  type ResponsibilityRule,
  type ResponsibilityTable,
  type RosterShift,
  type ServiceLevel,
  type VerificationSettings,
} from './responsibility-table.js';
export { openTableSource, type ReloadResult, type TableSource, type TableSourceOptions } from './table-source.js';
export { assessSeverity, priorityOf, type SeverityAssessment, type SeverityInput } from './severity.js';
export {
  IncidentEngine,
  MACHINE_ACTOR,
  MAX_WARNING_IDS_PER_INCIDENT,
  type ActorInput,
  type AllClearSignal,
  type CaseView,
  type EvidenceLink,
  type IncidentChange,
  type IncidentEngineOptions,
  type RestoreSummary,
  type VerificationState,
  type WarningOutcome,
} from './incident-engine.js';
export {
  API_ACTIONS,
  ROLES,
  createIncidentsApi,
  engineBackend,
  isOverdue,
  type ApiAction,
  type IncidentDetail,
  type IncidentFilter,
  type IncidentList,
  type IncidentsApi,
  type IncidentsApiOptions,
  type IncidentsBackend,
  type NoteInput,
  type Principal,
  type Role,
} from './incidents-api.js';
export {
  DEFAULT_WEBHOOK_EVENT_TYPES,
  EVENT_ID_HEADER,
  SIGNATURE_HEADER,
  createWebhookNotifier,
  signWebhook,
  verifyWebhookSignature,
  type WebhookDeadLetter,
  type WebhookEndpoint,
  type WebhookNotifier,
  type WebhookNotifierOptions,
  type WebhookPayload,
} from './webhooks.js';
export {
  buildIncidentReport,
  incidentReportToCsv,
  type CountRow,
  type IncidentReport,
  type ReportInput,
  type ReportPeriod,
  type SlaRow,
} from './reports.js';
export { startIncidentWorker, type IncidentWorkerOptions, type RunningIncidentWorker } from './incident-worker.js';
export { INCIDENTS_VERSION } from './version.js';
