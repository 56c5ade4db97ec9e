#!/usr/bin/env python3
"""Checks that each folder includes only the folders below it (docs/ARCHITECTURE.md,
"Layers"), that compute/, chain/, actors/core/ and config/ include no CAF header, that the
public API's headers reach no internal header, and that the programs built over the
public API alone (the Python module, the embedding example) include nothing else. Prints
every breach as FILE:LINE and exits 1 if there was one."""
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..')

# Each folder and the project folders it may include (its own always).
below = {
    'compute': [],
    'chain': ['compute'],
    'messages': ['chain', 'compute'],
    'actors/core': ['messages', 'chain', 'compute'],
    'actors/transport': ['chain', 'compute'],
    'config': ['actors/core', 'messages', 'chain', 'compute'],
    'actors': ['actors/core', 'actors/transport', 'messages', 'chain', 'compute'],
    'actors/web': ['actors', 'actors/core', 'actors/transport', 'messages', 'chain',
                   'compute'],
    'actors/runtime': ['actors/web', 'actors', 'actors/core', 'actors/transport', 'config',
                       'messages', 'chain', 'compute'],
    'actors/api': ['actors/runtime', 'actors/web', 'actors', 'actors/core', 'actors/transport',
                   'config', 'messages', 'chain', 'compute'],
}
no_caf = ['compute', 'chain', 'actors/core', 'actors/transport', 'config']

# The public API: what embedders include. It may reach only itself and these plain value
# headers, none of which holds internal state.
public = ['actors/api/nexus.hpp']
public_allowed = re.compile(
    r'^(actors/api/[a-z_]+\.hpp|compute/errc\.hpp|compute/tensor\.hpp|messages/values\.hpp)$')

include = re.compile(r'^\s*#\s*include\s+([<"])([^>"]+)[>"]')


def folder_of(path):
    d = os.path.dirname(path)
    return d if d in below else None


def includes(path):
    with open(os.path.join(root, path), encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            m = include.match(line)
            if m:
                yield n, m.group(1), m.group(2)


def sources():
    for top in ['compute', 'chain', 'messages', 'actors', 'config']:
        for d, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if f.endswith(('.hpp', '.cpp')):
                    yield os.path.relpath(os.path.join(d, f), root)


breaches = []
for path in sorted(sources()):
    folder = folder_of(path)
    if folder is None:
        continue
    for n, kind, name in includes(path):
        if kind == '<':
            if name.startswith('caf/') and folder in no_caf and not path.endswith(
                    'tls_error_queue.cpp'):
                breaches.append(f'{path}:{n}: {folder}/ includes CAF ({name})')
            continue
        target = os.path.dirname(name)
        if target == folder or target not in below:
            continue
        if target not in below[folder]:
            breaches.append(f'{path}:{n}: {folder}/ includes {name}, a layer above it or beside it')

# Programs built over the public API alone: they include nothing of the project but it.
public_users = ['apps/python/core.cpp', 'apps/embed-example/main.cpp']
for path in public_users:
    for n, kind, name in includes(path):
        if kind == '"' and not public_allowed.match(name):
            breaches.append(f'{path}:{n}: includes {name}; it may use the public API only')

# Every header the public API reaches, transitively.
seen, todo = set(), list(public)
while todo:
    h = todo.pop()
    if h in seen or not os.path.exists(os.path.join(root, h)):
        continue
    seen.add(h)
    for n, kind, name in includes(h):
        if kind == '"':
            if not public_allowed.match(name):
                breaches.append(f'{h}:{n}: the public API reaches {name}, an internal header')
            todo.append(name)

for b in breaches:
    print(b)
print(f'{len(breaches)} breaches of the layers')
sys.exit(1 if breaches else 0)
