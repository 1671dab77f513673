/**
 * One numbered, append-only schema change. `id` sorts in apply order ("0001_…"); `statements`
 * run one by one, each idempotent (IF NOT EXISTS), so a half-applied migration can be re-run.
 */
export interface Migration {
  readonly id: string;
  readonly description: string;
  readonly statements: readonly string[];
}
