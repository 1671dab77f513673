/**
 * Plain, timestamped lines on stdout: operators read them in a terminal or `journalctl`, scripts
 * grep them. One line per event, no colours when not a TTY.
 */
const tty = process.stdout.isTTY === true;
const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);

export function log(component: string, message: string): void {
  process.stdout.write(`${dim(new Date().toISOString())} ${component.padEnd(10)} ${message}\n`);
}

export function logError(component: string, message: string, error?: unknown): void {
  const detail = error instanceof Error ? `: ${error.message}` : error === undefined ? '' : `: ${JSON.stringify(error) ?? typeof error}`;
  process.stderr.write(`${new Date().toISOString()} ${component.padEnd(10)} ERROR ${message}${detail}\n`);
}
