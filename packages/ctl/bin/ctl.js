#!/usr/bin/env node
// The ctl binary: registers the TypeScript loader (tsx), then runs the CLI's main module.
import { register } from "tsx/esm/api";
register();
await import("../src/main.ts");
