import { AdminConsole } from '../_components/admin-console.js';

/** /admin: users, ingest API keys and the audit trail, for administrators (the API refuses everybody else). */
export default function AdminPage() {
  return <AdminConsole />;
}
