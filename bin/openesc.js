#!/usr/bin/env node
// The `openesc` command. Node 20 cannot run TypeScript by itself, so the sources are loaded through tsx.
import { register } from "tsx/esm/api";

register();
const { runCli } = await import("../src/cli/openesc.ts");
await runCli(process.argv);
