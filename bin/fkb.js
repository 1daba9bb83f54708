#!/usr/bin/env node
// Runs the TypeScript CLI directly: tsx must be registered before the .ts import resolves.
import { register } from 'tsx/esm/api';

register();
await import('../harness/cli/fkb.ts');
