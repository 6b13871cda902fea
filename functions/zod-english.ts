/**
 * English validation messages for every schema. zod/mini, unlike zod classic,
 * registers no locale by itself, and its messages would be a bare "Invalid
 * input". Every module that builds schemas imports this one first.
 *
 * The schemas use zod/mini rather than classic for the cold start: classic
 * attaches dozens of methods to every schema it builds and its import alone
 * costs a Lambda several milliseconds; mini's functions are tree-shaken to
 * what the bundle uses. Parsing is the same zod core either way.
 */
import { config } from 'zod/mini';
import { en } from 'zod/v4/locales';

config(en());
