/**
 * Configures zod/mini once for every schema in maint; each module that builds a schema imports
 * this first (for its effect: a re-exported `z` namespace would bundle all of zod, ~450 KB more).
 * zod/mini has no messages by default ("Invalid input" for everything) and no memoizer (classic
 * zod's, which lets a YAML alias cycle be an error instead of a stack overflow).
 * `en` from zod/locales, not z.locales.en(): that one bundles every language (~300 KB).
 */
import { config, memoizer } from 'zod/mini';
import { en } from 'zod/locales';

config({ ...en(), memoizer: memoizer() });
