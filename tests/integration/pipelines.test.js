// Pipeline definitions through the real binary: `paved lint` and the
// refusal of `paved serve` to start on an invalid pipeline (issue 3's
// "serve refuses to start with an invalid pipeline and says which").
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { pavedBin } from './lib/daemon.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = path.join(root, 'tests/fixtures/pipelines');

function run(args, env = {}) {
    return spawnSync(pavedBin(), args, {
        encoding: 'utf8', timeout: 15000,
        env: { PATH: process.env.PATH, ...env },
    });
}

test('the shipped pipelines lint clean', () => {
    const r = run(['lint', path.join(root, 'pipelines')]);
    assert.equal(r.status, 0, r.stderr);
});

test('lint names every error with file:line:column and exits 1', () => {
    const file = path.join(fixtures, 'invalid/needs-unknown.yaml');
    const r = run(['lint', file]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /needs-unknown\.yaml:9:\d+: .*"biuld".*did you mean "build"/);
    assert.match(r.stderr, /needs-unknown\.yaml:14:\d+: .*"nothing-like-it"/);
    const j = run(['lint', '--json', file]);
    assert.equal(j.status, 1);
    const doc = JSON.parse(j.stdout);
    assert.equal(doc.errors.length, 2, j.stdout);
    assert.equal(doc.errors[0].line, 9);
});

test('lint usage error exits 2', () => {
    assert.equal(run(['lint', '--bogus']).status, 2);
});

test('serve refuses to start on an invalid pipeline and says which', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'paved-pl-'));
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'paved-data-'));
    try {
        fs.copyFileSync(path.join(fixtures, 'invalid/needs-unknown.yaml'),
            path.join(dir, 'service.yaml'));
        const r = run(['serve'], {
            PAVED_LISTEN: '127.0.0.1:0', PAVED_DATA_DIR: data,
            PAVED_PIPELINES_DIR: dir,
        });
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, /service\.yaml:9:\d+: .*biuld/);
        assert.doesNotMatch(r.stderr, /msg=ready/);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
        fs.rmSync(data, { recursive: true, force: true });
    }
});
