import { en } from 'zod/locales';
import { config, NEVER, type core } from 'zod/mini';

/**
 * The one door to zod: every schema in lib/ is built from this module, imported as
 * `import * as z from '../util/schema.js'`. zod/mini is the functional, tree-shakeable build of
 * zod 4 (same parsing core as classic `zod`): a bundle keeps only the schema kinds and checks it
 * uses, where classic zod puts ~440 KB into every bundle and roughly doubles a bare import's load
 * time, which the webhook's cold start pays (bench/cold-start.ts).
 *
 * Tree-shaking needs the namespace import: zod's own `z` export (`import { z } from 'zod/mini'`)
 * is a namespace object re-exported as a value, and esbuild then keeps all of zod, every locale
 * included (~430 KB). For the same reason `en` is imported by name, never read as `z.locales.en`.
 *
 * Unlike classic zod, mini sets no locale: without one every issue reads "Invalid input". English
 * is set here once, on import, before any schema parses, so config errors, 4xx answers and
 * verdict refusals keep classic zod's messages word for word.
 */
config(en());

export * from 'zod/mini';

/**
 * Fails a z.transform with a custom issue, as classic zod's `ctx.addIssue` did (mini's transform
 * context is the bare parse payload, without addIssue). Returns NEVER for the transform to return.
 */
export function failTransform(ctx: core.ParsePayload, message: string, path?: PropertyKey[]): never {
  ctx.issues.push({ code: 'custom', message, input: ctx.value, ...(path ? { path } : {}) });
  return NEVER;
}

/**
 * A schema built on its first use, for schemas only some configurations need (HEALER_CLUSTERS,
 * HEALER_ALERT_MAPPINGS, HEALER_MODEL_PRICES): zod makes every schema and check an object with
 * its methods bound, so building one costs each cold start time even when nothing parses with it.
 */
export function onFirstUse<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= build());
}
