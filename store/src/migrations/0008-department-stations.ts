import type { Migration } from './migration.js';

/*
 * Department grew within v1 (dashboard issue 7): an optional station position, where its field
 * units start from, and an optional count of units, so the wall can draw stations, dispatch lines
 * and "busy / total". The fields are optional in the contract, so the columns are Nullable: a
 * department published without them reads back without them (not as a station at 0°, 0°).
 *
 * ADD COLUMN … AFTER keeps the contract order with ingested_at last, as in every other table.
 */
export const migration: Migration = {
  id: '0008_department_stations',
  description: 'departments: lon, lat (station), units',
  statements: [
    `ALTER TABLE departments
    ADD COLUMN IF NOT EXISTS lon Nullable(Float64) AFTER name_en,
    ADD COLUMN IF NOT EXISTS lat Nullable(Float64) AFTER lon,
    ADD COLUMN IF NOT EXISTS units Nullable(UInt16) AFTER lat`,
  ],
};
