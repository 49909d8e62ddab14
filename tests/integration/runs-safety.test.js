// [runs-safety] Issue 3, what must never happen: event text (branch
// names such as `main;touch${IFS}/tmp/x`, a PR title `$(touch /tmp/y)`, an
// actor) executed instead of arriving as a value; a secret printed by a
// step (plain, base64, URL-encoded, split across two writes, one line of a
// multi-line secret) showing up anywhere but as `***` — stored log, API,
// CLI, the data dir, the daemon's own output. A short secret is not masked
// (it would garble text) and paved warns about it.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
    assertRunState, cli, deliver, logTexts, prPayload, pushAndDeliver,
    runLog, scenario, stepOf, waitDone, waitPlanned, waitRuns, walkFiles, yq,
} from './lib/runs.js';

const T = { timeout: 240_000 };

function dumpPipeline(ctx) {
    ctx.pipeline('dump.yaml', `name: dump
on:
  push:
  pull_request:
env: {OUT: ${yq(ctx.out)}}
steps:
  - name: values
    run: |
      printf '%s' "$PAVED_BRANCH" > "$OUT/branch-$PAVED_RUN_ID"
      printf '%s' "$PAVED_REF" > "$OUT/ref-$PAVED_RUN_ID"
      printf '%s' "$PAVED_PR_TITLE" > "$OUT/title-$PAVED_RUN_ID"
      printf '%s' "$PAVED_ACTOR" > "$OUT/actor-$PAVED_RUN_ID"
      git rev-parse HEAD > "$OUT/head-$PAVED_RUN_ID"
      echo "branch is $PAVED_BRANCH"
  - name: only-main
    if: branch == 'main'
    run: touch "$OUT/only-main-$PAVED_RUN_ID"
`);
}

const read = (ctx, name) => fs.readFileSync(path.join(ctx.out, name), 'utf8');

function noneExist(files) {
    const made = files.filter((f) => fs.existsSync(f));
    assert.deepEqual(made, [], `event text was executed: created ${made}`);
}

test('injection: hostile branch names arrive only as values; nothing ' +
    'they spell is executed', T, (t) => scenario(t, async (ctx) => {
    dumpPipeline(ctx);
    const x = (n) => path.join(ctx.tmp, `pwned-${n}`);
    const branches = [
        `main;touch\${IFS}${x('semicolon')}`,
        `x$(touch\${IFS}${x('subst')})`,
        `y\`touch\${IFS}${x('backtick')}\``,
        `z'$(touch\${IFS}${x('squote')})'"&&touch\${IFS}${x('and')}"`,
        'main\'||\'x',
    ];
    const repo = ctx.repo('acme/inject');
    await ctx.start();
    const { d } = ctx;
    const pushes = [];
    for (const [i, branch] of branches.entries()) {
        const sha = repo.commit({ 'n.txt': `${i}\n` }, `commit ${i}`);
        pushes.push({ branch, ...await pushAndDeliver(ctx, repo,
            `refs/heads/${branch}`, sha) });
    }
    for (const p of pushes) {
        await waitPlanned(d, p.delivery);
        const [listed] = await waitRuns(d, { sha: p.sha }, 1);
        const run = await waitDone(d, listed.id);
        await assertRunState(d, run, 'success');
        assert.equal(run.ref, `refs/heads/${p.branch}`);
        assert.equal(read(ctx, `branch-${run.id}`), p.branch,
            'PAVED_BRANCH did not arrive intact');
        assert.equal(read(ctx, `ref-${run.id}`), `refs/heads/${p.branch}`);
        assert.equal(read(ctx, `head-${run.id}`).trim(), p.sha);
        // `if: branch == 'main'` compares the value, never splices it
        assert.equal(stepOf(run, 'only-main').state, 'skipped',
            `branch ${JSON.stringify(p.branch)} passed "branch == 'main'"`);
        assert.ok(logTexts(await runLog(d, run.id), 'out')
            .includes(`branch is ${p.branch}`));
    }
    noneExist(['semicolon', 'subst', 'backtick', 'squote', 'and'].map(x));
}));

test('injection: a PR title, head branch and actor with shell syntax ' +
    'arrive only as values', T, (t) => scenario(t, async (ctx) => {
    dumpPipeline(ctx);
    const x = (n) => path.join(ctx.tmp, `pwned-${n}`);
    const title = `$(touch ${x('t1')}) \`touch ${x('t2')}\` '; touch ` +
        `${x('t3')}; ' "; touch ${x('t4')}; " $IFS \${HOME}\n` +
        `touch ${x('t5')}`;
    const head = `feat$(touch\${IFS}${x('h1')})`;
    const actor = `$(touch ${x('a1')})`;
    const repo = ctx.repo('acme/prinject');
    const base = repo.head();
    repo.checkoutBranch('topic');
    const sha = repo.commit({ 'pr.txt': 'pr\n' }, 'PR commit');
    repo.push(`refs/heads/${head}`, sha);
    repo.push('refs/pull/9/head', sha);
    await ctx.start();
    const { d } = ctx;
    const delivery = await deliver(d, 'pull_request', prPayload({
        repo: repo.fullName, number: 9, title, headRef: head, headSha: sha,
        baseRef: 'main', baseSha: base, cloneUrl: repo.fileUrl, actor }));
    await waitPlanned(d, delivery);
    const [listed] = await waitRuns(d, { sha }, 1);
    const run = await waitDone(d, listed.id);
    await assertRunState(d, run, 'success');
    assert.equal(read(ctx, `title-${run.id}`), title,
        'PAVED_PR_TITLE did not arrive intact');
    assert.equal(read(ctx, `branch-${run.id}`), head,
        'PAVED_BRANCH (PR head) did not arrive intact');
    assert.equal(read(ctx, `actor-${run.id}`), actor,
        'PAVED_ACTOR did not arrive intact');
    assert.equal(read(ctx, `head-${run.id}`).trim(), sha);
    noneExist(['t1', 't2', 't3', 't4', 't5', 'h1', 'a1'].map(x));
}));

// ------------------------------------------------------------------ secrets

const hex = (n) => crypto.randomBytes(n).toString('hex');
const b64 = (s) => Buffer.from(s).toString('base64');

// Every form of value that must not be stored or shown.
function forms(value) {
    const out = new Set([value, b64(value), b64(value).replace(/=+$/, ''),
        b64(`${value}\n`), b64(`${value}\n`).replace(/=+$/, ''),
        encodeURIComponent(value),
        encodeURIComponent(value).replace(/%[0-9A-F]{2}/g,
            (m) => m.toLowerCase())]);
    return [...out].filter((f) => f.length >= 8);
}

test('secrets: printed plain, base64, URL-encoded, split across two ' +
    'writes or as one line of a multi-line secret, they are *** in the ' +
    'stored log, the API and the CLI, and nowhere in the data dir', T,
(t) => scenario(t, async (ctx) => {
    const token = `Tk/${hex(13)}+=Q`; // 32 bytes with URL-special chars
    assert.equal(token.length, 32);
    const line1 = `first-line-of-the-secret-${hex(6)}`;
    const line2 = `second-line-of-the-secret-${hex(6)}`;
    const multi = `${line1}\n${line2}\n`;
    fs.writeFileSync(path.join(ctx.secretsDir, 'MULTI_LINE'), multi,
        { mode: 0o600 });
    ctx.pipeline('leaky.yaml', `name: leaky
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
secrets: [DEPLOY_TOKEN, MULTI_LINE, SHORT]
steps:
  - name: leak
    run: |
      echo "plain: $DEPLOY_TOKEN"
      echo "to stderr: $DEPLOY_TOKEN" >&2
      printf '%s' "$DEPLOY_TOKEN" | base64
      echo "$DEPLOY_TOKEN" | base64
      printf '%s\\n' "$DEPLOY_TOKEN" | sed -e 's|/|%2F|g' -e 's|+|%2B|g' -e 's|=|%3D|g'
      printf 'split: %s' "\${DEPLOY_TOKEN%????????????????}"
      sleep 0.5
      printf '%s\\n' "\${DEPLOY_TOKEN#????????????????}"
      printf '%s\\n' "$MULTI_LINE" | sed -n 2p
      echo "short: cab $SHORT table"
      printf '%s' "$DEPLOY_TOKEN" | sha256sum | cut -d' ' -f1 > "$OUT/sha-token"
      printf '%s' "$MULTI_LINE" | sha256sum | cut -d' ' -f1 > "$OUT/sha-multi"
      echo "end of leak"
`);
    const repo = ctx.repo('acme/secret');
    await ctx.start({ PAVED_SECRET_DEPLOY_TOKEN: token,
        PAVED_SECRET_SHORT: 'ab' });
    const { d } = ctx;
    const pushed = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    const [listed] = await waitRuns(d, { sha: pushed.sha }, 1);
    const run = await waitDone(d, listed.id);
    await assertRunState(d, run, 'success');

    // the step really had the values
    const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');
    assert.equal(read(ctx, 'sha-token').trim(), sha(token),
        'the step did not get DEPLOY_TOKEN from PAVED_SECRET_DEPLOY_TOKEN');
    assert.ok([sha(multi), sha(multi.replace(/\n$/, ''))]
        .includes(read(ctx, 'sha-multi').trim()),
    'the step did not get MULTI_LINE from <secrets_dir>/MULTI_LINE');

    // what the API shows
    const log = await runLog(d, run.id);
    const out = logTexts(log, 'out');
    const err = logTexts(log, 'err');
    for (const want of ['plain: ***', '***', 'split: ***', 'end of leak'])
        assert.ok(out.includes(want), `no line ${JSON.stringify(want)} in ` +
            `the log:\n${log}`);
    assert.ok(err.includes('to stderr: ***'), `stderr not masked:\n${log}`);
    // base64 (two forms), URL-encoded, line 2 of MULTI_LINE: all ***
    assert.ok(out.filter((x) => x === '***').length >= 4,
        `expected at least four lines that are only ***:\n${log}`);
    assert.ok(out.includes('short: cab ab table'),
        `a short secret garbled unrelated text:\n${log}`);
    const stepLog = await runLog(d, run.id, { step: 'leak' });
    const cliLog = cli(d, ['logs', String(run.id)]);
    assert.equal(cliLog.status, 0, cliLog.stderr);
    assert.ok(cliLog.stdout.includes('plain: ***'), cliLog.stdout);

    const secrets = [...forms(token), line1, line2];
    const leaks = [];
    const scan = (where, text) => {
        for (const s of secrets) {
            if (text.includes(s))
                leaks.push(`${where} holds ${JSON.stringify(s)}`);
        }
    };
    scan('GET /log', log);
    scan('GET /log?step=leak', stepLog);
    scan('paved logs', cliLog.stdout + cliLog.stderr);
    scan('GET /runs/{id}', JSON.stringify(await (await fetch(
        `${d.url}/api/v1/runs/${run.id}`)).text()));
    scan('daemon stderr/stdout', d.stderr() + d.stdout());
    for (const f of walkFiles(d.dataDir))
        scan(f, fs.readFileSync(f).toString('latin1'));
    assert.deepEqual(leaks, [], 'secret values stored or shown unmasked');

    // paved warns that SHORT is too short to be masked
    const warned = /SHORT/.test(d.stderr()) || /SHORT/.test(log.split('\n')
        .filter((l) => / paved /.test(l)).join('\n'));
    assert.ok(warned, 'no warning that secret SHORT is too short to mask ' +
        '(looked in the daemon log and the paved lines of the run log)');
}));

test('a pipeline secret that is set nowhere: the run ends error naming ' +
    'it, and no step runs', T, (t) => scenario(t, async (ctx) => {
    ctx.pipeline('p.yaml', `name: p
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
secrets: [NOT_CONFIGURED_ANYWHERE]
steps:
  - name: s
    run: touch "$OUT/ran"
`);
    const repo = ctx.repo('acme/nosecret');
    await ctx.start();
    const pushed = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    const [listed] = await waitRuns(ctx.d, { sha: pushed.sha }, 1);
    const run = await waitDone(ctx.d, listed.id);
    await assertRunState(ctx.d, run, 'error');
    assert.match(String(run.reason), /NOT_CONFIGURED_ANYWHERE/);
    assert.ok(!fs.existsSync(path.join(ctx.out, 'ran')),
        'a step ran without its secret');
}));
