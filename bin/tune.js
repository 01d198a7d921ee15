#!/usr/bin/env node
'use strict';
// Compiled by `npm install` (the `prepare` script) from bin/tune.ts.
require('../dist/bin/tune.js');
