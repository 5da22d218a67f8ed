#!/usr/bin/env node
// Committed entry point, so that npm links the command at install time, before the
// TypeScript is built (npm run build writes dist/).
import '../dist/cli.js';
