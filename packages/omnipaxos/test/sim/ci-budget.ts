// The seed budget CI runs (sim.test.ts) and within which every mutant must be caught (mutants.ts).

export const CI_SEED_FIRST = 1;
export const CI_SEED_COUNT = 500;
export const CI_STEPS = 2_000;
