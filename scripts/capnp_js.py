#!/usr/bin/env python3
"""Compiles a Cap'n Proto schema to JavaScript with capnp-es at build time:
capnp_js.py NODE NODE_MODULES SCHEMA OUTPUT.js

capnp-es type-checks what it emits, which needs its package found from the working folder; so it
writes into a temporary folder that links NODE_MODULES, and the module is moved out."""
import os
import shutil
import subprocess
import sys
import tempfile

node, modules, schema, output = sys.argv[1:5]
output = os.path.abspath(output)
compiler = os.path.join(modules, 'capnp-es', 'dist', 'compiler', 'capnpc-js.mjs')
with tempfile.TemporaryDirectory() as work:
    os.symlink(os.path.abspath(modules), os.path.join(work, 'node_modules'))
    subprocess.run([node, compiler, '-ojs:' + work,
                    '--src-prefix=' + os.path.dirname(os.path.abspath(schema)),
                    os.path.abspath(schema)], check=True, stdout=subprocess.DEVNULL, cwd=work)
    name = os.path.splitext(os.path.basename(schema))[0] + '.js'
    shutil.move(os.path.join(work, name), output)
