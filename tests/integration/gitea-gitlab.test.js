// Real Gitea and GitLab deliveries from the shared corpus (../shared/corpus),
// signed or tokened the way each forge does it, through /hooks/gitea and
// /hooks/gitlab; the normalized event is read back and compared with values
// taken from each payload file. Also one Forgejo-signed delivery and GitLab's
// Standard Webhooks signing (webhook-id/-timestamp/-signature).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sharedDir, startDaemon, stopAndCheck, withStderr } from './lib/daemon.js';
import {
    assertNormalized, expectGithubLike, expectGitlab, gitlabEventName,
} from './lib/expect.js';
import {
    deliveryCount, getDelivery, hmacHex, normalizedOf, request,
    standardWebhookSignature, uuid,
} from './lib/http.js';

const GITEA_SECRET = 'int-gitea-secret-41be';
const GITLAB_TOKEN = 'int-gitlab-token-9d02';
const corpus = path.join(sharedDir(), 'corpus');

function files(dir) {
    const full = path.join(corpus, dir);
    return fs.readdirSync(full).filter((f) => f.endsWith('.json')).sort()
        .map((f) => {
            const bytes = fs.readFileSync(path.join(full, f));
            return { file: f, bytes, payload: JSON.parse(bytes.toString('utf8')) };
        });
}

const gitea = files('gitea');
const gitlab = files('gitlab');

// push-event.json -> push, pull-request-event.json -> pull_request
const giteaEvent = (file) => file.replace(/-event\.json$/, '').replace(/-/g, '_');

let d;
let posted = 0;

before(async () => {
    d = await startDaemon({ env: {
        PAVED_GITEA_SECRET: GITEA_SECRET,
        PAVED_GITLAB_TOKEN: GITLAB_TOKEN,
    } });
});
after(() => stopAndCheck(d));

async function postGitea(body, headers) {
    return request(`${d.url}/hooks/gitea`, {
        method: 'POST', body,
        headers: { 'Content-Type': 'application/json', ...headers },
    });
}

async function postGitlab(dm, body, headers) {
    return request(`${dm.url}/hooks/gitlab`, {
        method: 'POST', body,
        headers: { 'Content-Type': 'application/json', ...headers },
    });
}

async function readBack(dm, delivery, forge, want, label, status = 'queued') {
    const g = await getDelivery(dm, delivery);
    assert.equal(g.status, 200, `${label}: GET ${g.status} ${g.text}`);
    assert.equal(g.json.id, delivery, label);
    assert.equal(g.json.forge, forge, label);
    assert.equal(g.json.kind, want.kind, `${label}: kind`);
    assert.equal(g.json.status, status, `${label}: status`);
    assertNormalized(normalizedOf(g.json), want, label);
    return g.json;
}

test('corpus is present and our Gitea signing matches its test vector', () => {
    assert.deepEqual(gitea.map((x) => giteaEvent(x.file)).sort(),
        ['create', 'delete', 'pull_request', 'push', 'release']);
    assert.equal(gitlab.length, 4);
    const create = gitea.find((x) => x.file === 'create-event.json');
    assert.equal(hmacHex('sha256', 'IsWishesWereHorsesWedAllBeEatingSteak!',
        create.bytes),
    '6f250ac7a090096574758e31bd31770eab63dfd0459404f0c18431f1c6b9024a');
});

describe('gitea corpus', () => {
    for (const x of gitea) {
        test(x.file, () => withStderr(d, async () => {
            const event = giteaEvent(x.file);
            const delivery = uuid();
            const r = await postGitea(x.bytes, {
                'X-Gitea-Event': event,
                'X-Gitea-Delivery': delivery,
                'X-Gitea-Signature': hmacHex('sha256', GITEA_SECRET, x.bytes),
            });
            posted += 1;
            assert.equal(r.status, 202, `${x.file}: ${r.status} ${r.text}`);
            assert.deepEqual(r.json, { delivery, status: 'queued' });
            const want = expectGithubLike('gitea', event, x.payload, delivery);
            const doc = await readBack(d, delivery, 'gitea', want, x.file);
            assert.deepEqual(doc.payload, x.payload);
        }));
    }

    test('forgejo: X-Forgejo-Signature only, Gitea event/delivery headers',
        () => withStderr(d, async () => {
            const x = gitea.find((f) => f.file === 'push-event.json');
            const delivery = uuid();
            const r = await postGitea(x.bytes, {
                'X-Gitea-Event': 'push',
                'X-Gitea-Delivery': delivery,
                'X-Forgejo-Signature': hmacHex('sha256', GITEA_SECRET, x.bytes),
            });
            posted += 1;
            assert.equal(r.status, 202, `${r.status} ${r.text}`);
            await readBack(d, delivery, 'gitea',
                expectGithubLike('gitea', 'push', x.payload, delivery), 'forgejo');
        }));

    test('forgejo: only X-Forgejo-* headers', () => withStderr(d, async () => {
        const x = gitea.find((f) => f.file === 'release-event.json');
        const delivery = uuid();
        const r = await postGitea(x.bytes, {
            'X-Forgejo-Event': 'release',
            'X-Forgejo-Delivery': delivery,
            'X-Forgejo-Signature': hmacHex('sha256', GITEA_SECRET, x.bytes),
        });
        posted += 1;
        assert.equal(r.status, 202, `${r.status} ${r.text}`);
        await readBack(d, delivery, 'gitea',
            expectGithubLike('gitea', 'release', x.payload, delivery),
            'forgejo-only');
    }));

    test('gitea: wrong secret and missing signature -> 401, nothing stored',
        () => withStderr(d, async () => {
            const x = gitea.find((f) => f.file === 'push-event.json');
            const n0 = deliveryCount(d.dbPath);
            const bad = await postGitea(x.bytes, {
                'X-Gitea-Event': 'push', 'X-Gitea-Delivery': uuid(),
                'X-Gitea-Signature': hmacHex('sha256', 'not-the-secret', x.bytes),
            });
            assert.equal(bad.status, 401, bad.text);
            const none = await postGitea(x.bytes, {
                'X-Gitea-Event': 'push', 'X-Gitea-Delivery': uuid(),
            });
            assert.equal(none.status, 401, none.text);
            assert.equal(deliveryCount(d.dbPath), n0);
        }));
});

describe('gitlab corpus', () => {
    for (const x of gitlab) {
        test(x.file, () => withStderr(d, async () => {
            const event = gitlabEventName(x.payload);
            const delivery = uuid();
            const r = await postGitlab(d, x.bytes, {
                'X-Gitlab-Event': event,
                'X-Gitlab-Event-UUID': delivery,
                'X-Gitlab-Token': GITLAB_TOKEN,
            });
            posted += 1;
            assert.equal(r.status, 202, `${x.file}: ${r.status} ${r.text}`);
            assert.deepEqual(r.json, { delivery, status: 'queued' });
            const doc = await readBack(d, delivery, 'gitlab',
                expectGitlab(event, x.payload, delivery), x.file);
            assert.deepEqual(doc.payload, x.payload);
        }));
    }

    test('gitlab: wrong and missing token -> 401, nothing stored',
        () => withStderr(d, async () => {
            const x = gitlab[0];
            const n0 = deliveryCount(d.dbPath);
            for (const tok of ['wrong-token', undefined]) {
                const h = {
                    'X-Gitlab-Event': gitlabEventName(x.payload),
                    'X-Gitlab-Event-UUID': uuid(),
                };
                if (tok)
                    h['X-Gitlab-Token'] = tok;
                const r = await postGitlab(d, x.bytes, h);
                assert.equal(r.status, 401, `token ${tok}: ${r.text}`);
            }
            assert.equal(deliveryCount(d.dbPath), n0);
        }));

    test('all corpus deliveries stored once', () => withStderr(d, async () => {
        assert.equal(deliveryCount(d.dbPath), posted);
    }));
});

describe('gitlab standard webhooks signing', () => {
    const whsec = 'whsec_' + crypto.randomBytes(32).toString('base64');
    let s;
    before(async () => {
        s = await startDaemon({ env: {
            PAVED_GITLAB_TOKEN: GITLAB_TOKEN,
            PAVED_GITLAB_SIGNING_SECRET: whsec,
            PAVED_GITLAB_SIGNATURE_TOLERANCE: '5m',
        } });
    });
    after(() => stopAndCheck(s));

    const x = gitlab.find((f) => f.file === 'push-event.json');
    const send = async ({ ts = Math.floor(Date.now() / 1000), secret = whsec,
        sigs } = {}) => {
        const delivery = uuid();
        const msgId = `msg_${uuid()}`;
        const sig = standardWebhookSignature(secret, msgId, ts, x.bytes);
        const r = await postGitlab(s, x.bytes, {
            'X-Gitlab-Event': 'Push Hook',
            'X-Gitlab-Event-UUID': delivery,
            'X-Gitlab-Token': GITLAB_TOKEN,
            'webhook-id': msgId,
            'webhook-timestamp': String(ts),
            'webhook-signature': sigs ? sigs(sig) : sig,
        });
        r.delivery = delivery;
        return r;
    };

    test('valid signature -> 202 and stored', () => withStderr(s, async () => {
        const r = await send();
        assert.equal(r.status, 202, `${r.status} ${r.text}`);
        await readBack(s, r.delivery, 'gitlab',
            expectGitlab('Push Hook', x.payload, r.delivery), 'whsec');
    }));

    test('one valid among several space-separated signatures -> 202',
        () => withStderr(s, async () => {
            const bogus = 'v1,' + crypto.randomBytes(32).toString('base64');
            const r = await send({ sigs: (good) => `${bogus} ${good}` });
            assert.equal(r.status, 202, `${r.status} ${r.text}`);
        }));

    test('timestamp one hour old / wrong key / no signature -> 401, nothing stored',
        () => withStderr(s, async () => {
            const n0 = deliveryCount(s.dbPath);
            const old = await send({ ts: Math.floor(Date.now() / 1000) - 3600 });
            assert.equal(old.status, 401, `old: ${old.status} ${old.text}`);
            const future = await send({ ts: Math.floor(Date.now() / 1000) + 3600 });
            assert.equal(future.status, 401, `future: ${future.status} ${future.text}`);
            const other = 'whsec_' + crypto.randomBytes(32).toString('base64');
            const wrong = await send({ secret: other });
            assert.equal(wrong.status, 401, `wrong key: ${wrong.status}`);
            const none = await postGitlab(s, x.bytes, {
                'X-Gitlab-Event': 'Push Hook',
                'X-Gitlab-Event-UUID': uuid(),
                'X-Gitlab-Token': GITLAB_TOKEN,
            });
            assert.equal(none.status, 401, `unsigned: ${none.status} ${none.text}`);
            assert.equal(deliveryCount(s.dbPath), n0);
        }));
});
