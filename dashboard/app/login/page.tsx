import { LoginForm } from '../_components/login-form.js';

/** /login: every role starts here; the wall display sends an anonymous browser here. */
export default function LoginPage() {
  return <LoginForm />;
}
