#!/usr/bin/env node
// Prints native/sources.txt as a space-separated list: binding.gyp reads it through <!@(...),
// CMakeLists.txt reads the file directly, so both build systems compile the same sources.
'use strict';
const fs = require('fs');
const path = require('path');
const text = fs.readFileSync(path.join(__dirname, '..', 'native', 'sources.txt'), 'utf8');
const files = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
process.stdout.write(files.join(' ') + '\n');
