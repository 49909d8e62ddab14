// [delivery] Issue 7: `paved smoke ENV` as an operator (and later the
// delivery steps) runs it: the real binary (PAVED_BIN) against an
// environment file written here whose smoke checks point at a small Node
// HTTP server on a port chosen at run time. Covered: all checks pass
// (exit 0, the Markdown table, --json), a failing variant (exit 1, the
// messages), a retry that succeeds, {{environment}} and --var
// placeholders, usage errors (exit 2) and an unknown environment (exit 1).
// No daemon; no timed assertion.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { markFailed, pavedBin } from './lib/daemon.js';

let server;
let port;
let flakyHits = 0;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'paved-smoke-'));

before(async () => {
    server = http.createServer((req, res) => {
        if (req.url === '/healthz') {
            res.writeHead(200).end('ok');
        } else if (req.url === '/home/stage-test?v=1.2.3') {
            res.writeHead(200).end('welcome, all ok here');
        } else if (req.url === '/down') {
            res.writeHead(503).end('down');
        } else if (req.url === '/flaky') {
            flakyHits++;
            if (flakyHits === 1)
                res.writeHead(503).end('warming up');
            else
                res.writeHead(200).end('ok');
        } else {
            res.writeHead(404).end('no such page');
        }
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = server.address().port;
});

after(() => {
    server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
});

// The server answers in this process: the binary must run asynchronously.
function smoke(args) {
    return new Promise((resolve) => {
        execFile(pavedBin(), ['smoke', ...args], { timeout: 60_000 },
            (err, stdout, stderr) => {
                const code = err ? (typeof err.code === 'number' ? err.code : -1)
                    : 0;
                resolve({ code, stdout, stderr });
            });
    });
}

function writeEnv(dir, smokeYaml) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'stage-test.yaml'),
        'name: stage-test\n' +
        'driver: local\n' +
        'local:\n' +
        '  listen: 127.0.0.1:18081\n' +
        '  upstream_port: 19100\n' +
        'smoke:\n' + smokeYaml);
    return dir;
}

const row = (name, verdict, attempts, status) =>
    new RegExp(`^\\| ${name} \\| ${verdict} \\| ${attempts} \\| ${status} \\| ` +
               '\\d+ ms \\| (.*) \\|$', 'm');

test('every check passes: exit 0, the table and JSON', async (t) => {
    t.after(() => { if (t.failed) markFailed(); });
    const dir = writeEnv(path.join(tmp, 'pass'),
        '  - name: health\n' +
        `    url: http://127.0.0.1:${port}/healthz\n` +
        '    body_contains: ok\n' +
        '  - name: home\n' +
        `    url: http://127.0.0.1:${port}/home/{{environment}}?v={{version}}\n` +
        '    body_contains: all ok\n' +
        '    retries: 0\n');
    const r = await smoke(['stage-test', '--environments', dir,
        '--var', 'version=1.2.3']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^Smoke checks: all 2 passed\.\n\n/);
    assert.match(r.stdout,
        /^\| check \| result \| attempts \| status \| time \| message \|$/m);
    assert.equal(r.stdout.match(row('health', 'pass', 1, 200))[1], 'ok');
    assert.equal(r.stdout.match(row('home', 'pass', 1, 200))[1], 'ok');

    const j = await smoke(['stage-test', '--environments', dir, '--json',
        '--var=version=1.2.3']);
    assert.equal(j.code, 0, j.stderr);
    const doc = JSON.parse(j.stdout);
    assert.equal(doc.environment, 'stage-test');
    assert.equal(doc.pass, true);
    assert.deepEqual(doc.checks.map((c) => [c.name, c.pass, c.attempts,
        c.status, c.message]), [
        ['health', true, 1, 200, 'ok'],
        ['home', true, 1, 200, 'ok'],
    ]);
    for (const c of doc.checks)
        assert.equal(typeof c.elapsed_ms, 'number');

    // the same file by path
    const p = await smoke([path.join(dir, 'stage-test.yaml'), '--json',
        '--var', 'version=1.2.3']);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(JSON.parse(p.stdout).pass, true);
});

test('a failing variant: exit 1 with what was wrong', async (t) => {
    t.after(() => { if (t.failed) markFailed(); });
    flakyHits = 0;
    const dir = writeEnv(path.join(tmp, 'fail'),
        '  - name: health\n' +
        `    url: http://127.0.0.1:${port}/down\n` +
        '    retries: 1\n' +
        '  - name: home\n' +
        `    url: http://127.0.0.1:${port}/healthz\n` +
        '    body_contains: welcome\n' +
        '    retries: 0\n' +
        '  - name: flaky\n' +
        `    url: http://127.0.0.1:${port}/flaky\n` +
        '  - name: versioned\n' +
        `    url: http://127.0.0.1:${port}/v/{{version}}\n`);
    const r = await smoke(['stage-test', '--environments', dir]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^Smoke checks: 3 of 4 failed\.\n/);
    assert.equal(r.stdout.match(row('health', 'fail', 2, 503))[1],
        'expected 200, got 503 after 2 attempts');
    assert.equal(r.stdout.match(row('home', 'fail', 1, 200))[1],
        'body does not contain "welcome"');
    assert.equal(r.stdout.match(row('flaky', 'pass', 2, 200))[1],
        'ok after 2 attempts');
    assert.equal(r.stdout.match(row('versioned', 'fail', 0, '-'))[1],
        'no value for {{version}}');
    assert.equal(flakyHits, 2);

    const j = await smoke(['stage-test', '--environments', dir, '--json']);
    assert.equal(j.code, 1);
    const doc = JSON.parse(j.stdout);
    assert.equal(doc.pass, false);
    assert.deepEqual(doc.checks.map((c) => [c.name, c.pass, c.status]), [
        ['health', false, 503], ['home', false, 200], ['flaky', true, 200],
        ['versioned', false, 0],
    ]);
});

test('usage errors exit 2; an unknown environment exits 1', async (t) => {
    t.after(() => { if (t.failed) markFailed(); });
    const dir = writeEnv(path.join(tmp, 'usage'),
        '  - name: health\n' +
        `    url: http://127.0.0.1:${port}/healthz\n`);
    let r = await smoke(['--environments', dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /usage: paved smoke ENV/);
    r = await smoke(['stage-test', '--environments', dir, '--bogus']);
    assert.equal(r.code, 2);
    r = await smoke(['stage-test', '--environments', dir, '--var', 'novalue']);
    assert.equal(r.code, 2);
    r = await smoke(['stage-test', '--environments']);
    assert.equal(r.code, 2);
    r = await smoke(['production', '--environments', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no environment "production"/);
});
