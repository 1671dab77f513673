import { join } from 'node:path';
import type { Clock } from '@cityops/schemas';
import { DashboardError } from '../errors.js';
import { isRole, ROLES, type Principal, type Role } from './authorize.js';
import { readJsonFile, WriteQueue, writeJsonAtomic } from './json-file.js';
import {
  DEFAULT_SCRYPT_PARAMS,
  generateOneTimePassword,
  hashPassword,
  needsRehash,
  passwordProblem,
  verifyPassword,
  type PasswordHash,
  type ScryptParams,
} from './password-hash.js';

/*
 * The accounts, in `<dataDir>/auth/users.json` (mode 0600, rewritten atomically). A handful to a
 * few thousand people per city: a JSON file read once at start is simpler and more robust than a
 * table, and keeps working when ClickHouse is down — which is exactly when the commanders must
 * still be able to log in. Accounts are disabled, never deleted: the audit trail names them.
 */

export interface UserRecord {
  login: string;
  role: Role;
  /** Set for department users: they see and act on their department's incidents only. */
  department_id?: string;
  password: PasswordHash;
  /** Set for one-time passwords (first start, new account, reset): nothing else works until it is changed. */
  must_change_password: boolean;
  disabled: boolean;
  created_at: number;
  updated_at: number;
  password_changed_at: number;
}

/** A user as the API shows it: everything but the hash. */
export type PublicUser = Omit<UserRecord, 'password'>;

interface UsersFile {
  version: 1;
  users: UserRecord[];
}

export interface UserStoreOptions {
  /** The file; usually `<dataDir>/auth/users.json` (see usersFilePath). */
  path: string;
  clock: Clock;
  /** scrypt parameters for new hashes. Default DEFAULT_SCRYPT_PARAMS (N=2^15, r=8, p=1); tests pass cheaper ones. */
  hashParams?: ScryptParams;
}

export function usersFilePath(dataDir: string): string {
  return join(dataDir, 'auth', 'users.json');
}

/** Lower-case letters, digits, '.', '_', '-'; 2–64 characters, starting with a letter or digit. */
const LOGIN_PATTERN = /^[a-z0-9][a-z0-9._-]{1,63}$/;
/** The contracts' id alphabet (department ids come from the responsibility table). */
const DEPARTMENT_PATTERN = /^[A-Za-z0-9._:@/-]{1,64}$/;

export type AuthenticateResult =
  { ok: true; user: PublicUser } | { ok: false; reason: 'unknown-login' | 'wrong-password' | 'disabled'; user?: PublicUser };

export interface NewUser {
  login: string;
  role: Role;
  department_id?: string;
  /** Omitted: a one-time password is generated and returned. */
  password?: string;
  /** Default true: whoever receives the password must choose their own at first login. */
  mustChangePassword?: boolean;
}

export interface UserChange {
  role?: Role;
  /** null removes the department (the account becomes city-wide). */
  department_id?: string | null;
  disabled?: boolean;
}

export class UserStore {
  private readonly users = new Map<string, UserRecord>();
  private readonly writes = new WriteQueue();
  private readonly options: UserStoreOptions;
  private readonly params: ScryptParams;
  /** Verified against when the login is unknown, so an unknown login costs as much as a wrong password (no user enumeration by timing). */
  private dummyHash: Promise<PasswordHash> | undefined;

  private constructor(options: UserStoreOptions) {
    this.options = options;
    this.params = options.hashParams ?? DEFAULT_SCRYPT_PARAMS;
  }

  static async open(options: UserStoreOptions): Promise<UserStore> {
    const store = new UserStore(options);
    const raw = await readJsonFile(options.path);
    if (raw !== undefined) {
      for (const user of parseUsersFile(raw, options.path)) store.users.set(user.login, user);
    }
    return store;
  }

  get size(): number {
    return this.users.size;
  }

  list(): PublicUser[] {
    return [...this.users.values()].map(toPublic).sort((a, b) => a.login.localeCompare(b.login));
  }

  get(login: string): PublicUser | undefined {
    const user = this.users.get(login);
    return user === undefined ? undefined : toPublic(user);
  }

  principalOf(user: PublicUser): Principal {
    return user.department_id === undefined
      ? { login: user.login, role: user.role }
      : { login: user.login, role: user.role, department_id: user.department_id };
  }

  /**
   * First start: when there is no account at all, creates the administrator `admin`. Without a
   * password given, it gets a random one-time password that the caller prints once; it is not
   * stored in clear anywhere and must be changed at first login. Resolves undefined when accounts
   * exist already.
   */
  async ensureFirstAdmin(
    options: { password?: string } = {},
  ): Promise<{ login: string; password: string; generated: boolean } | undefined> {
    if (this.users.size > 0) return undefined;
    const generated = options.password === undefined || options.password === '';
    const { oneTimePassword } = await this.create({
      login: 'admin',
      role: 'admin',
      ...(generated ? {} : { password: options.password }),
      // A password the operator chose for automation (CITYOPS_ADMIN_PASSWORD) is theirs already.
      mustChangePassword: generated,
    });
    return { login: 'admin', password: oneTimePassword ?? options.password ?? '', generated };
  }

  async create(input: NewUser): Promise<{ user: PublicUser; oneTimePassword?: string }> {
    const login = checkLogin(input.login);
    if (this.users.has(login)) throw new DashboardError('conflict', `expected a new login; got '${login}', which exists already`);
    const department = checkDepartment(input.role, input.department_id);
    const oneTimePassword = input.password === undefined ? generateOneTimePassword() : undefined;
    const password = input.password ?? oneTimePassword ?? '';
    if (input.password !== undefined) assertGoodPassword(password, login);
    const now = this.options.clock();
    const user: UserRecord = {
      login,
      role: input.role,
      ...(department === undefined ? {} : { department_id: department }),
      password: await hashPassword(password, this.params),
      must_change_password: input.mustChangePassword ?? true,
      disabled: false,
      created_at: now,
      updated_at: now,
      password_changed_at: now,
    };
    await this.commit(() => this.users.set(login, user));
    return oneTimePassword === undefined ? { user: toPublic(user) } : { user: toPublic(user), oneTimePassword };
  }

  /** Checks a login and password; every outcome costs one scrypt run. */
  async authenticate(login: string, password: string): Promise<AuthenticateResult> {
    const user = this.users.get(login.trim().toLowerCase());
    if (user === undefined || password.length > 4096) {
      await verifyPassword(password.slice(0, 4096), await (this.dummyHash ??= hashPassword('not a password of anybody', this.params)));
      return { ok: false, reason: 'unknown-login' };
    }
    const ok = await verifyPassword(password, user.password);
    if (!ok) return { ok: false, reason: 'wrong-password', user: toPublic(user) };
    if (user.disabled) return { ok: false, reason: 'disabled', user: toPublic(user) };
    if (needsRehash(user.password, this.params)) {
      const rehashed = await hashPassword(password, this.params);
      await this.commit(() => {
        user.password = rehashed;
      });
    }
    return { ok: true, user: toPublic(user) };
  }

  /** The user's own change: the current password is checked again (a hijacked session cannot lock the owner out). */
  async changePassword(login: string, current: string, next: string): Promise<PublicUser> {
    const user = this.mustGet(login);
    if (!(await verifyPassword(current, user.password))) {
      throw new DashboardError('forbidden', `expected the current password of '${login}' to confirm the change; got a wrong one`);
    }
    if (current === next) throw new DashboardError('bad-request', 'expected a new password different from the current one; got the same');
    assertGoodPassword(next, login);
    const hash = await hashPassword(next, this.params);
    const now = this.options.clock();
    await this.commit(() => {
      user.password = hash;
      user.must_change_password = false;
      user.password_changed_at = now;
      user.updated_at = now;
    });
    return toPublic(user);
  }

  /** An administrator's reset: a new one-time password, returned once, to be changed at next login. */
  async resetPassword(login: string): Promise<{ user: PublicUser; oneTimePassword: string }> {
    const user = this.mustGet(login);
    const oneTimePassword = generateOneTimePassword();
    const hash = await hashPassword(oneTimePassword, this.params);
    const now = this.options.clock();
    await this.commit(() => {
      user.password = hash;
      user.must_change_password = true;
      user.password_changed_at = now;
      user.updated_at = now;
    });
    return { user: toPublic(user), oneTimePassword };
  }

  async update(login: string, change: UserChange): Promise<PublicUser> {
    const user = this.mustGet(login);
    const role = change.role ?? user.role;
    const department = change.department_id === undefined ? user.department_id : (change.department_id ?? undefined);
    const checkedDepartment = checkDepartment(role, department);
    const disabled = change.disabled ?? user.disabled;
    const staysAdmin = role === 'admin' && !disabled;
    if (user.role === 'admin' && !user.disabled && !staysAdmin) {
      const otherAdmins = [...this.users.values()].filter((u) => u.login !== login && u.role === 'admin' && !u.disabled).length;
      if (otherAdmins === 0) {
        throw new DashboardError(
          'conflict',
          `expected another enabled administrator to remain; '${login}' is the last one, so it cannot be disabled or given another role`,
        );
      }
    }
    await this.commit(() => {
      user.role = role;
      if (checkedDepartment === undefined) delete user.department_id;
      else user.department_id = checkedDepartment;
      user.disabled = disabled;
      user.updated_at = this.options.clock();
    });
    return toPublic(user);
  }

  private mustGet(login: string): UserRecord {
    const user = this.users.get(login);
    if (user === undefined) throw new DashboardError('not-found', `expected an existing login; got '${login.slice(0, 80)}'`);
    return user;
  }

  /** Applies a change in memory and writes the file; the write order follows the change order. */
  private commit(change: () => void): Promise<void> {
    return this.writes.run(async () => {
      change();
      const file: UsersFile = { version: 1, users: [...this.users.values()] };
      await writeJsonAtomic(this.options.path, file);
    });
  }
}

function toPublic(user: UserRecord): PublicUser {
  const rest: Partial<UserRecord> = { ...user };
  delete rest.password;
  return rest as PublicUser;
}

function checkLogin(login: string): string {
  const normalised = login.trim().toLowerCase();
  if (!LOGIN_PATTERN.test(normalised)) {
    throw new DashboardError(
      'bad-request',
      `field 'login': expected 2–64 characters of a–z, 0–9, '.', '_', '-' starting with a letter or digit; got '${login.slice(0, 80)}'`,
    );
  }
  return normalised;
}

function checkDepartment(role: Role, department: string | undefined): string | undefined {
  if (department === undefined || department === '') return undefined;
  if (role === 'admin') {
    throw new DashboardError(
      'bad-request',
      `field 'department_id': expected none for an administrator (administrators are city-wide); got '${department.slice(0, 80)}'`,
    );
  }
  if (!DEPARTMENT_PATTERN.test(department)) {
    throw new DashboardError(
      'bad-request',
      `field 'department_id': expected a department id of 1–64 characters [A-Za-z0-9._:@/-]; got '${department.slice(0, 80)}'`,
    );
  }
  return department;
}

function assertGoodPassword(password: string, login: string): void {
  const problem = passwordProblem(password, login);
  if (problem !== undefined) throw new DashboardError('bad-request', `field 'new_password': ${problem}`);
}

function parseUsersFile(raw: unknown, path: string): UserRecord[] {
  const file = raw as Partial<UsersFile> | null;
  if (file === null || typeof file !== 'object' || file.version !== 1 || !Array.isArray(file.users)) {
    throw new Error(`${path}: expected {"version": 1, "users": [...]}; got ${JSON.stringify(raw)?.slice(0, 120) ?? typeof raw}`);
  }
  return file.users.map((u, i) => {
    const ok =
      typeof u === 'object' &&
      typeof u.login === 'string' &&
      isRole(u.role) &&
      typeof u.password === 'object' &&
      u.password.algorithm === 'scrypt' &&
      typeof u.must_change_password === 'boolean' &&
      typeof u.disabled === 'boolean';
    if (!ok)
      throw new Error(
        `${path}: user ${i}: expected login, role (${ROLES.join(', ')}), scrypt password, flags; got ${JSON.stringify(u).slice(0, 200)}`,
      );
    return u;
  });
}
