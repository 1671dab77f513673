import { AnalystView } from '../_components/analyst-view.js';

/** /analyst: indicators, forecasts with 95% intervals, market warnings and each model's track record (analytics:read). */
export default function AnalystPage() {
  return <AnalystView />;
}
