import { WallDisplay } from './_components/wall-display.js';

/** The wall display: one full-screen page, rendered in the browser from the JSON API and the live stream. */
export default function WallPage() {
  return <WallDisplay />;
}
