import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      '.chaos/**',
      'chaos-results/**',
      'coverage/**',
      '**/*.js',
      '**/*.mjs',
      'fixtures/docker/rootfs/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-console': 'error',
    },
  },
  {
    // Command-line entry points, benchmarks and fixtures print on purpose.
    files: ['bench/**', 'scripts/**', 'src/cli/**', 'fixtures/**/cli.ts', 'test/**'],
    rules: { 'no-console': 'off' },
  },
);
