// Shared by the npm scripts: no telemetry or update checks (nothing leaves the machine), and a
// local build cache only.
export const offlineEnv = {
  ...process.env,
  TURBO_TELEMETRY_DISABLED: '1',
  DO_NOT_TRACK: '1',
  NEXT_TELEMETRY_DISABLED: '1',
  TURBO_NO_UPDATE_NOTIFIER: '1',
  // npm warns about every config key it does not know (onnxruntime-node's install switches in
  // .npmrc among them) on each nested npm run; errors still show.
  npm_config_loglevel: 'error',
};
