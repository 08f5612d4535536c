/**
 * The healer's version, as users see it: `k8s-healer --version`, the last line of every page and
 * every audit item. Kept equal to package.json's by test/unit/version.test.ts (a constant, so the
 * Lambda bundles need not carry package.json).
 */
export const HEALER_VERSION = '0.1.0';
