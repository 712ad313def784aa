#!/usr/bin/env node
// Runs the compiled daemon CLI (npm run build, or the bootstrap, produces dist/).
import '../dist/cli/tollgate.js';
