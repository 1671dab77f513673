import type { Migration } from './migration.js';

/*
 * IncidentEvent grew (incidents issue 6): each lifecycle event now carries the case's state after
 * the step — revision, lead and assisting departments, severity, priority, the running SLA clock
 * and escalation level — plus the ids it concerns. The incidents role rebuilds its SLA timers from
 * these after a restart, and SLA compliance becomes a query over one table.
 *
 * ADD COLUMN … AFTER keeps the contract order with ingested_at last, as in every other table.
 * Rows written before this migration read the defaults: revision 1, no department, severity 0,
 * priority P4, no clock — i.e. "unknown", which is what they are.
 */
export const migration: Migration = {
  id: '0004_incident_event_state',
  description: 'incident_events: revision, department_id, assist_ids, severity, priority, stage, due_at, escalation_level, ref_ids',
  statements: [
    `ALTER TABLE incident_events
    ADD COLUMN IF NOT EXISTS revision UInt64 DEFAULT 1 AFTER detail,
    ADD COLUMN IF NOT EXISTS department_id LowCardinality(String) DEFAULT '' AFTER revision,
    ADD COLUMN IF NOT EXISTS assist_ids Array(String) AFTER department_id,
    ADD COLUMN IF NOT EXISTS severity Float64 DEFAULT 0 AFTER assist_ids,
    ADD COLUMN IF NOT EXISTS priority LowCardinality(String) DEFAULT 'P4' AFTER severity,
    ADD COLUMN IF NOT EXISTS stage LowCardinality(String) DEFAULT '' AFTER priority,
    ADD COLUMN IF NOT EXISTS due_at DateTime64(3, 'UTC') DEFAULT toDateTime64(0, 3, 'UTC') AFTER stage,
    ADD COLUMN IF NOT EXISTS escalation_level UInt8 DEFAULT 0 AFTER due_at,
    ADD COLUMN IF NOT EXISTS ref_ids Array(String) AFTER escalation_level`,
  ],
};
