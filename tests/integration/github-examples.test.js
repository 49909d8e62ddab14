// Every GitHub example payload of the events paved acts on (from
// @octokit/webhooks-examples, real deliveries collected by the community),
// sent as JSON and again form-encoded, signed like GitHub signs; then the
// stored, normalized event is read back through the API and compared with
// values taken from the payload itself.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { verify } from '@octokit/webhooks-methods';
import { startDaemon, stopAndCheck, withStderr } from './lib/daemon.js';
import { assertNormalized, expectGithubLike } from './lib/expect.js';
import {
    deliveryCount, getDelivery, githubSignature, normalizedOf, postGithub,
    uuid,
} from './lib/http.js';

const require = createRequire(import.meta.url);
const index = require('@octokit/webhooks-examples');
const EVENTS = ['push', 'create', 'pull_request', 'release', 'ping'];
const SECRET = 'int-github-secret-7f3a9c';

const examples = [];
for (const ev of index) {
    if (!EVENTS.includes(ev.name))
        continue;
    ev.examples.forEach((payload, i) => examples.push({
        event: ev.name, i, payload, json: JSON.stringify(payload),
    }));
}

let d;
let posted = 0;

before(async () => {
    d = await startDaemon({ env: { PAVED_GITHUB_SECRET: SECRET } });
});
after(() => stopAndCheck(d));

test('the example set is what we think it is', () => {
    for (const ev of EVENTS) {
        const n = examples.filter((x) => x.event === ev).length;
        assert.ok(n >= 1, `no ${ev} examples in @octokit/webhooks-examples`);
    }
    // tag and branch pushes, deleted refs and several PR actions are covered
    const pushes = examples.filter((x) => x.event === 'push');
    assert.ok(pushes.some((x) => x.payload.ref.startsWith('refs/tags/')));
    assert.ok(pushes.some((x) => x.payload.ref.startsWith('refs/heads/')));
    assert.ok(pushes.some((x) => x.payload.deleted === true));
});

test('webhooks-methods signs like GitHub documents', async () => {
    // GitHub's published test vector for X-Hub-Signature-256
    const secret = "It's a Secret to Everybody";
    const payload = 'Hello, World!';
    const want = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    assert.equal(await githubSignature(secret, payload), want);
    assert.equal(await verify(secret, payload, want), true);
    assert.equal(await verify(secret, payload + ' ', want), false);
    // and the library agrees with a plain HMAC over the same bytes
    const body = examples[0].json;
    const mac = crypto.createHmac('sha256', SECRET)
        .update(Buffer.from(body, 'utf8')).digest('hex');
    assert.equal(await githubSignature(SECRET, body), `sha256=${mac}`);
});

async function checkOne(x, { encoding }) {
    let body;
    let contentType;
    if (encoding === 'json') {
        body = x.json;
        contentType = 'application/json';
    } else if (encoding === 'form') {
        body = 'payload=' + encodeURIComponent(x.json);
        contentType = 'application/x-www-form-urlencoded';
    } else {
        // what browsers and GitHub's form posts do: spaces as '+'
        body = new URLSearchParams({ payload: x.json }).toString();
        contentType = 'application/x-www-form-urlencoded';
    }
    const delivery = uuid();
    const label = `${x.event}[${x.i}] ${encoding} ${delivery}`;
    const r = await postGithub(d, {
        secret: SECRET, event: x.event, body, delivery, contentType,
    });
    posted += 1;
    if (x.event === 'ping') {
        assert.equal(r.status, 200, `${label}: ${r.status} ${r.text}`);
        assert.deepEqual(r.json, { delivery, status: 'pong' }, label);
    } else {
        assert.equal(r.status, 202, `${label}: ${r.status} ${r.text}`);
        assert.deepEqual(r.json, { delivery, status: 'queued' }, label);
    }

    const g = await getDelivery(d, delivery);
    assert.equal(g.status, 200, `${label}: GET ${g.status} ${g.text}`);
    const doc = g.json;
    assert.equal(doc.id, delivery, label);
    assert.equal(doc.forge, 'github', label);
    assert.ok(Number.isInteger(doc.seq) && doc.seq > 0, `${label}: seq ${doc.seq}`);
    assert.equal(doc.status, x.event === 'ping' ? 'ignored' : 'queued', label);
    assert.match(doc.received_at ?? '',
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, `${label}: received_at`);
    const want = expectGithubLike('github', x.event, x.payload, delivery);
    assert.equal(doc.kind, want.kind, `${label}: kind`);
    assertNormalized(normalizedOf(doc), want, label);
    // the stored payload is the JSON document, decoded from the form
    assert.deepEqual(doc.payload, x.payload, `${label}: stored payload differs`);
}

for (const encoding of ['json', 'form']) {
    describe(`every example, ${encoding}`, () => {
        for (const x of examples) {
            test(`${x.event}[${x.i}]`, () =>
                withStderr(d, () => checkOne(x, { encoding })));
        }
    });
}

test('form bodies with "+" for spaces decode to the same payload', () =>
    withStderr(d, async () => {
        const withSpaces = examples.filter((x) => x.event === 'pull_request' &&
            / /.test(x.payload.pull_request.title));
        assert.ok(withSpaces.length > 0, 'no PR title with a space');
        await checkOne(withSpaces[0], { encoding: 'form+' });
    }));

test('every delivery posted is stored exactly once', () =>
    withStderr(d, async () => {
        assert.equal(deliveryCount(d.dbPath), posted);
    }));
