#!/usr/bin/env node
// The metad binary: registers the TypeScript loader (tsx), then runs the server's main module.
import { register } from "tsx/esm/api";
register();
await import("../src/main.ts");
