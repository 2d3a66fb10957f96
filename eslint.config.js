// ESLint flat config: the JavaScript and typescript-eslint recommended sets, type-aware (so
// floating and misused promises, awaits of non-promises and `any` leaks are caught), over
// everything tsconfig.json type-checks: src, test, examples, bench, scripts.
// Formatting is Prettier's job (`npm run format`), not ESLint's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** node:test's describe/it return promises that the runner itself awaits. */
const nodeTestCalls = { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] };

export default tseslint.config(
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  { ignores: ['dist/', 'docs/api/', 'coverage/', 'node_modules/', '.bench-tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [nodeTestCalls] }],
      '@typescript-eslint/no-misused-promises': 'error',
      // Rejecting with a caught `unknown` or an AbortSignal's reason passes the cause on unchanged.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // async methods that satisfy a Promise-returning interface (Channel.send, open, close) need no await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // `let timer; const check = () => clearTimeout(timer); timer = setTimeout(…)` is fine.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-throw-literal': 'off',
      '@typescript-eslint/only-throw-error': 'error',
      // No shell, ever: a file name or log field must never reach /bin/sh (use execFile/spawn with an argument array).
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'node:child_process', importNames: ['exec', 'execSync'], message: 'exec runs a shell; use execFile or spawn with an argument array.' }] },
      ],
      'no-restricted-syntax': ['error', { selector: "Property[key.name='shell'][value.value=true]", message: 'shell: true runs a shell; pass an argument array instead.' }],
    },
  },
  {
    files: ['test/**'],
    rules: {
      // Tests match escape sequences on purpose, and read JSON of known shape.
      'no-control-regex': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  {
    // Type tests hold deliberate errors under @ts-expect-error.
    files: ['test/types/**'],
    rules: { '@typescript-eslint/no-unsafe-call': 'off', '@typescript-eslint/no-unsafe-return': 'off', '@typescript-eslint/no-unused-vars': 'off' },
  },
  {
    // Plain JavaScript (scripts that run before anything is compiled) has no types to check against.
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: { URL: 'readonly', process: 'readonly', console: 'readonly' } },
  },
);
