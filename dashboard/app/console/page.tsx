import { CommanderConsole } from '../_components/commander-console.js';

/** /console: the commander's alert inbox, case detail and actions (phone-friendly); the API refuses what the role may not do. */
export default function ConsolePage() {
  return <CommanderConsole />;
}
