// Type-aware lint: floating promises and misused promises are errors, because an unawaited
// cluster call or audit write is a silent bug in a remediation system.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.serverless/**', '.esbuild/**', 'dist/**', 'coverage/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
    },
  },
  {
    // zod only through lib/util/schema.ts (zod/mini, English messages set once): classic `zod` is not
    // tree-shaken and cost the webhook ~440 KB and much of its cold start (bench/cold-start.ts).
    ignores: ['lib/util/schema.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'zod', message: 'import * as z from lib/util/schema.js (zod/mini): classic zod is not tree-shaken.' }],
        patterns: [{ group: ['zod/*'], message: 'import * as z from lib/util/schema.js, which sets the English locale zod/mini lacks and keeps zod tree-shaken.' }],
      }],
    },
  },
  { files: ['eslint.config.js', 'scripts/*.mjs'], ...tseslint.configs.disableTypeChecked },
);
