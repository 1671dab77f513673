import { IncidentReportView } from '../_components/incident-report.js';

/** /reports: the daily and weekly incident analysis, with its CSV export (analysts, commanders, administrators). */
export default function ReportsPage() {
  return <IncidentReportView />;
}
