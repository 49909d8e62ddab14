// [runs-lint] Issue 3, "invalid pipelines: each validation error with its
// file:line:column", through the real binary: `paved lint` (text and
// --json, exit 1) and `paved serve` (refuses to start, names the file,
// line and column) for a needs cycle, a duplicate step name, a bad
// duration, a bad glob, and pipeline names duplicated across files.
// (pipelines.test.js already covers an unknown need with "did you mean".)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { pavedBin } from './lib/daemon.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'paved-runs-lint-'));
let failed = false;
after(() => {
    if (!failed && process.env.PAVED_INT_KEEP !== '1')
        fs.rmSync(tmp, { recursive: true, force: true });
    else
        process.stderr.write(`runs-lint: kept ${tmp}\n`);
});

function run(args, env = {}) {
    return spawnSync(pavedBin(), args, {
        encoding: 'utf8', timeout: 15_000,
        env: { PATH: process.env.PATH, ...env },
    });
}

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// name -> {yaml, line, column (line/column of the offending token), msg}
const CASES = {
    cycle: {
        yaml: `name: cyc
on: {push: {branches: [main]}}
steps:
  - name: a
    needs: [b]
    run: "true"
  - name: b
    needs: [a]
    run: "true"
`,
        // the cycle may be reported at either edge of it
        at: [[5, 13], [8, 13]],
        msg: /needs form a cycle: (a -> b -> a|b -> a -> b)/,
    },
    'duplicate-step': {
        yaml: `name: dup
on: {push: {branches: [main]}}
steps:
  - name: build
    run: make
  - name: build
    run: make again
`,
        at: [[6, 11]],
        msg: /duplicate step name "build"/,
    },
    'bad-duration': {
        yaml: `name: dur
on: {push: {branches: [main]}}
steps:
  - name: build
    run: make
    timeout: 10 minutes
`,
        at: [[6, 14]],
        msg: /timeout.*"10 minutes"/,
    },
    'zero-duration': {
        yaml: `name: zero
on: {push: {branches: [main]}}
steps:
  - name: build
    run: make
    timeout: 0s
`,
        at: [[6, 14]],
        msg: /timeout.*"0s"/,
    },
    'bad-glob': {
        yaml: `name: glob
on:
  push:
    branches: [main, "release/[0-9"]
steps:
  - name: build
    run: make
`,
        at: [[4, 22]],
        msg: /bad pattern "release\/\[0-9"/,
    },
    'bad-if': {
        yaml: `name: badif
on: {push: {branches: [main]}}
steps:
  - name: build
    run: make
    if: branch == main'
`,
        at: null, // somewhere on line 6
        line: 6,
        msg: /if/,
    },
};

for (const [name, c] of Object.entries(CASES)) {
    test(`lint and serve: ${name} reported with file:line:column`, () => {
        try {
            const dir = path.join(tmp, name);
            fs.mkdirSync(dir, { recursive: true });
            const file = path.join(dir, `${name}.yaml`);
            fs.writeFileSync(file, c.yaml);
            const where = c.at
                ? `(${c.at.map(([l, col]) => `${l}:${col}`).join('|')})`
                : `${c.line}:\\d+`;
            const re = new RegExp(`${esc(file)}:${where}: .*${c.msg.source}`);

            const r = run(['lint', file]);
            assert.equal(r.status, 1, `lint exit: ${r.stderr}`);
            assert.match(r.stderr, re);
            assert.match(r.stderr, /paved lint: \d+ errors? in 1 file/);

            const j = run(['lint', '--json', file]);
            assert.equal(j.status, 1, j.stderr);
            const doc = JSON.parse(j.stdout);
            assert.equal(doc.files, 1);
            const hit = doc.errors.find((e) => c.msg.test(e.message));
            assert.ok(hit, `--json: no matching error: ${j.stdout}`);
            assert.equal(hit.file, file);
            if (c.at) {
                assert.ok(c.at.some(([l, col]) => hit.line === l &&
                    hit.column === col), `--json position ${hit.line}:` +
                    `${hit.column}, want one of ${JSON.stringify(c.at)}`);
            } else {
                assert.equal(hit.line, c.line);
                assert.ok(hit.column > 0);
            }

            const data = path.join(tmp, `${name}-data`);
            const s = run(['serve'], { PAVED_LISTEN: '127.0.0.1:0',
                PAVED_DATA_DIR: data, PAVED_PIPELINES_DIR: dir,
                PAVED_GITHUB_SECRET: 'x' });
            assert.equal(s.status, 1, `serve exit ${s.status}: ${s.stderr}`);
            assert.doesNotMatch(s.stderr, /msg=ready/);
            assert.match(s.stderr, new RegExp(`${esc(file)}:${where}:`),
                'serve does not name file:line:column');
        } catch (e) {
            failed = true;
            throw e;
        }
    });
}

test('lint and serve: the same pipeline name in two files', () => {
    try {
        const dir = path.join(tmp, 'dup-names');
        fs.mkdirSync(dir, { recursive: true });
        const body = `name: same
on: {push: {branches: [main]}}
steps:
  - {name: a, run: "true"}
`;
        fs.writeFileSync(path.join(dir, 'a.yaml'), body);
        fs.writeFileSync(path.join(dir, 'b.yaml'), body);
        const r = run(['lint', dir]);
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, /b\.yaml:1:\d+: .*"same"/,
            'the second file is not named at the name line');
        const s = run(['serve'], { PAVED_LISTEN: '127.0.0.1:0',
            PAVED_DATA_DIR: path.join(tmp, 'dup-names-data'),
            PAVED_PIPELINES_DIR: dir, PAVED_GITHUB_SECRET: 'x' });
        assert.equal(s.status, 1, s.stderr);
        assert.match(s.stderr, /b\.yaml:1:\d+:/);
    } catch (e) {
        failed = true;
        throw e;
    }
});

test('lint: a valid pipeline using every run feature is clean', () => {
    const dir = path.join(tmp, 'ok');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'ok.yaml'), `name: ok
on:
  push: {branches: [main, "release/**"]}
  tag: {patterns: ["v*"]}
  pull_request: {branches: [main]}
env: {OUT: /tmp}
secrets: [DEPLOY_TOKEN]
concurrency: {mode: queue, max_queued: 5}
steps:
  - name: build
    run: git rev-parse HEAD
    timeout: 2s
    retries: 2
    env: {A: b}
  - name: test
    needs: [build]
    if: event == 'push' && branch == 'main'
    allow_failure: true
    run: |
      echo "$PAVED_BRANCH"
`);
    const r = run(['lint', dir]);
    assert.equal(r.status, 0, r.stderr);
});
