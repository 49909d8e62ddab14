// [runs-repo-file] Issue 3, the escape hatch at run time: a repository's
// .paved.yaml, read from the checked-out commit, sets variables and (only
// where the platform pipeline is extensible) adds steps, which never get
// the pipeline's secrets; selecting another pipeline skips this one; an
// invalid file ends the run `error` with its file:line:column.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
    assertRunState, pushAndDeliver, scenario, stepOf, waitDone, waitRuns, yq,
} from './lib/runs.js';

const T = { timeout: 240_000 };

async function runFor(ctx, repo) {
    const pushed = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    const [listed] = await waitRuns(ctx.d, { sha: pushed.sha }, 1);
    return waitDone(ctx.d, listed.id);
}

test('.paved.yaml sets env and adds a step after a platform step; the ' +
    'added step gets no secrets', T, (t) => scenario(t, async (ctx) => {
    ctx.pipeline('p.yaml', `name: service
on: {push: {branches: [main]}}
extensible: true
env: {OUT: ${yq(ctx.out)}, GREETING: platform}
secrets: [TOKEN]
steps:
  - name: build
    run: |
      echo "$GREETING" > "$OUT/build-greeting"
      printf %s "\${TOKEN:-none}" | wc -c > "$OUT/build-token-len"
`);
    const repo = ctx.repo('acme/hatch');
    repo.commit({
        '.paved.yaml': `pipeline: service
env:
  GREETING: from-repo
steps:
  - name: docs
    needs: [build]
    run: |
      echo "$GREETING" > "$OUT/docs-greeting"
      echo "\${TOKEN:-none}" > "$OUT/docs-token"
`,
    }, 'add .paved.yaml');
    await ctx.start({ PAVED_SECRET_TOKEN: 'hatch-secret-value-9f3e' });
    const run = await runFor(ctx, repo);
    await assertRunState(ctx.d, run, 'success');
    assert.deepEqual(run.steps.map((s) => s.name), ['build', 'docs']);
    assert.equal(stepOf(run, 'docs').state, 'success');
    assert.deepEqual(stepOf(run, 'docs').needs, ['build']);
    const read = (f) => fs.readFileSync(path.join(ctx.out, f), 'utf8').trim();
    assert.equal(read('build-greeting'), 'from-repo');
    assert.equal(read('docs-greeting'), 'from-repo');
    // the platform step has the secret, the repository's step does not
    assert.equal(read('build-token-len'), String('hatch-secret-value-9f3e'
        .length));
    assert.equal(read('docs-token'), 'none');
}));

test('.paved.yaml selecting another pipeline skips this one; a step added ' +
    'to a pipeline that is not extensible ends the run error with ' +
    'file:line:column', T, (t) => scenario(t, async (ctx) => {
    ctx.pipeline('a.yaml', `name: alpha
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
steps:
  - name: a
    run: touch "$OUT/ran-alpha"
`);
    ctx.pipeline('b.yaml', `name: beta
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
steps:
  - name: b
    run: touch "$OUT/ran-beta"
`);
    const repo = ctx.repo('acme/select');
    repo.commit({ '.paved.yaml': 'pipeline: beta\n' }, 'select beta');
    await ctx.start();
    const pushed = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    const runs = await waitRuns(ctx.d, { sha: pushed.sha }, 2);
    const done = {};
    for (const r of runs)
        done[r.pipeline] = await waitDone(ctx.d, r.id);
    await assertRunState(ctx.d, done.beta, 'success');
    assert.equal(done.alpha.state, 'success');
    assert.match(done.alpha.reason, /^skipped: .*selects pipeline "beta"/);
    assert.ok(fs.existsSync(path.join(ctx.out, 'ran-beta')));
    assert.ok(!fs.existsSync(path.join(ctx.out, 'ran-alpha')));

    // beta is not extensible: adding a step is refused, with the place
    repo.commit({
        '.paved.yaml': `pipeline: beta
steps:
  - name: extra
    run: echo extra
`,
    }, 'try to add a step');
    const second = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    const runs2 = await waitRuns(ctx.d, { sha: second.sha }, 2);
    const beta = await waitDone(ctx.d,
        runs2.find((r) => r.pipeline === 'beta').id);
    assert.equal(beta.state, 'error');
    assert.match(beta.reason, /^invalid \.paved\.yaml: \.paved\.yaml:\d+:\d+: /);
    assert.match(beta.reason, /extensible/);
}));

test('paved.yaml (the name golden paths write) works like .paved.yaml; ' +
    'both at once end the run error naming them', T,
(t) => scenario(t, async (ctx) => {
    ctx.pipeline('a.yaml', `name: alpha
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
steps:
  - name: a
    run: touch "$OUT/ran-alpha-$GREETING"
`);
    ctx.pipeline('b.yaml', `name: beta
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
steps:
  - name: b
    run: touch "$OUT/ran-beta"
`);
    const repo = ctx.repo('acme/visible');
    repo.commit({ 'paved.yaml': 'pipeline: alpha\nenv: {GREETING: hi}\n' },
        'select alpha');
    await ctx.start();
    let pushed = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    let runs = await waitRuns(ctx.d, { sha: pushed.sha }, 2);
    const done = {};
    for (const r of runs)
        done[r.pipeline] = await waitDone(ctx.d, r.id);
    await assertRunState(ctx.d, done.alpha, 'success');
    assert.match(done.beta.reason,
        /^skipped: the repository's paved\.yaml selects pipeline "alpha"/);
    assert.ok(fs.existsSync(path.join(ctx.out, 'ran-alpha-hi')));
    assert.ok(!fs.existsSync(path.join(ctx.out, 'ran-beta')));

    // an error in it names paved.yaml, not .paved.yaml
    repo.commit({ 'paved.yaml': 'pipeline: alpha\nenv: [x]\n' }, 'broken');
    pushed = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    runs = await waitRuns(ctx.d, { sha: pushed.sha }, 2);
    let alpha = await waitDone(ctx.d,
        runs.find((r) => r.pipeline === 'alpha').id);
    assert.equal(alpha.state, 'error');
    assert.match(alpha.reason, /^invalid paved\.yaml: paved\.yaml:2:\d+: /);

    repo.commit({ 'paved.yaml': 'pipeline: alpha\n',
        '.paved.yaml': 'pipeline: beta\n' }, 'both');
    pushed = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    runs = await waitRuns(ctx.d, { sha: pushed.sha }, 2);
    alpha = await waitDone(ctx.d, runs.find((r) => r.pipeline === 'alpha').id);
    assert.equal(alpha.state, 'error');
    assert.match(alpha.reason,
        /both \.paved\.yaml and paved\.yaml exist: keep one of them/);
}));
