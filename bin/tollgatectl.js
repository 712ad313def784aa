#!/usr/bin/env node
// Runs the compiled console CLI (npm run build, or the bootstrap, produces dist/).
import '../dist/cli/tollgatectl.js';
