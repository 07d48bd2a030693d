#!/usr/bin/env node
// The tide command: runs the TypeScript CLI through tsx (local mode). Lambda runs bundled handlers instead.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../shared/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
