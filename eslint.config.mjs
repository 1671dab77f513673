import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'vitest.config.ts',
      '**/node_modules/**',
      '**/dist/**',
      '**/.next/**',
      '**/out/**',
      'data/**',
      '**/*.mjs',
      '**/next-env.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // In a stream processor an unawaited promise is a lost ack or a swallowed error.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // One public entry per package: no deep imports into another package's sources.
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@cityops/*/*'], message: 'Import the package entry (@cityops/<name>), not its files.' }] },
      ],
    },
  },
);
