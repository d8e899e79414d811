// The linearizability checker's public surface.
export * from "./history.ts";
export * from "./model.ts";
export * from "./search.ts";
export * from "./shrink.ts";
export * from "./check.ts";
export * from "./visualize.ts";
