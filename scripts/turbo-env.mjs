// Shared by the npm scripts: no telemetry or update checks (nothing leaves the machine), and a
// local build cache only.
export const offlineEnv = {
  ...process.env,
  TURBO_TELEMETRY_DISABLED: '1',
  DO_NOT_TRACK: '1',
  NEXT_TELEMETRY_DISABLED: '1',
  TURBO_NO_UPDATE_NOTIFIER: '1',
};
