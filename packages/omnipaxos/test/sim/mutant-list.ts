// The bugs mutants.ts injects into a copy of the core: each a one-line textual patch of a real protocol rule.
import type { Mutant } from "./mutant-core.ts";

export const MUTANTS: Mutant[] = [];
