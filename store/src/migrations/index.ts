import { migration as factTables } from './0001-fact-tables.js';
import { migration as dimensionTables } from './0002-dimension-tables.js';
import { migration as rollups } from './0003-rollups.js';
import { migration as incidentEventState } from './0004-incident-event-state.js';
import { migration as warningsCleared } from './0005-warnings-cleared.js';
import { migration as snapshots } from './0006-snapshots.js';
import { migration as retirements } from './0007-retirements.js';
import { migration as departmentStations } from './0008-department-stations.js';
import type { Migration } from './migration.js';

export type { Migration } from './migration.js';

/** Every migration in apply order. Append only: never edit or reorder an applied one. */
export const MIGRATIONS: readonly Migration[] = [
  factTables,
  dimensionTables,
  rollups,
  incidentEventState,
  warningsCleared,
  snapshots,
  retirements,
  departmentStations,
];
