/* The store's runs side against a real SQLite file: a delivery is planned
 * exactly once, duplicate runs for one commit are folded, forced plans
 * (replay, recovery) insert anyway, saves land in order, and the reads the
 * API and recovery use filter right. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paved/error.h"
#include "paved/store.h"

struct fixture {
    char f_dir[64];
    paved_store *f_st;
    struct paved_store_plan *f_plan; /* the last plan back from the store */
    int f_done;
};

static void
on_stored(const struct paved_store_done *done, void *arg)
{
    struct fixture *f = arg;

    assert_int_equal(done->sd_result, 0);
    f->f_done++;
}

static void
on_plan(struct paved_store_plan *plan, void *arg)
{
    struct fixture *f = arg;

    paved_store_plan_free(f->f_plan);
    f->f_plan = plan;
    f->f_done++;
}

static void
wait_done(struct fixture *f, int want)
{
    struct pollfd pfd;

    while (f->f_done < want) {
        pfd.fd = paved_store_notify_fd(f->f_st);
        pfd.events = POLLIN;
        assert_true(poll(&pfd, 1, 10000) > 0);
        paved_store_complete(f->f_st);
    }
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct paved_store_opts so;

    assert_non_null(f);
    snprintf(f->f_dir, sizeof(f->f_dir), "/tmp/paved-runs-XXXXXX");
    assert_non_null(mkdtemp(f->f_dir));
    memset(&so, 0, sizeof(so));
    so.so_spec = "sqlite";
    so.so_data_dir = f->f_dir;
    if (paved_store_open(&f->f_st, &so) < 0)
        fail_msg("open: %s", paved_error_last());
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];

    paved_store_plan_free(f->f_plan);
    paved_store_close(f->f_st);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->f_dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static int64_t
store_delivery(struct fixture *f, const char *id)
{
    struct paved_delivery *d = calloc(1, sizeof(*d));
    struct paved_delivery **list = NULL;
    size_t n = 0;
    int64_t seq;

    d->dl_forge = strdup("github");
    d->dl_id = strdup(id);
    d->dl_event = strdup("push");
    d->dl_kind = strdup("push");
    d->dl_status = strdup("queued");
    d->dl_received_ms = 1764219662123LL;
    d->dl_event_json = strdup("{\"forge\":\"github\",\"kind\":\"push\"}");
    d->dl_payload = (unsigned char *)strdup("{}");
    d->dl_payload_len = 2;
    assert_int_equal(paved_store_submit(f->f_st, d, on_stored, f), 0);
    wait_done(f, f->f_done + 1);
    assert_int_equal(paved_store_delivery_list(&list, &n, f->f_st, 1, 0, 0), 0);
    assert_int_equal(n, 1);
    seq = list[0]->dl_seq;
    paved_delivery_list_free(list, n);
    return seq;
}

static struct paved_run *
run(const char *pipeline, const char *sha, const char *env)
{
    struct paved_run *r = calloc(1, sizeof(*r));

    r->ru_pipeline = strdup(pipeline);
    r->ru_repo = strdup("acme/shop");
    r->ru_ref = strdup("refs/heads/main");
    r->ru_sha = strdup(sha);
    r->ru_kind = strdup(env != NULL ? "push" : "pull_request");
    r->ru_env = env != NULL ? strdup(env) : NULL;
    r->ru_group = strdup("acme/shop/refs/heads/main/service");
    r->ru_event_json = strdup("{}");
    r->ru_state = PAVED_RUN_QUEUED;
    r->ru_attempt = 1;
    r->ru_created_ms = 1764219662000LL;
    return r;
}

static struct paved_store_plan *
plan_of(int64_t seq, int force, struct paved_run *a, struct paved_run *b)
{
    struct paved_store_plan *p = calloc(1, sizeof(*p));

    p->pp_delivery_seq = seq;
    p->pp_force = force;
    p->pp_runs = calloc(2, sizeof(*p->pp_runs));
    p->pp_runs[p->pp_nruns++] = a;
    if (b != NULL)
        p->pp_runs[p->pp_nruns++] = b;
    return p;
}

static void
submit(struct fixture *f, struct paved_store_plan *p)
{
    assert_int_equal(paved_store_plan(f->f_st, p, on_plan, f), 0);
    wait_done(f, f->f_done + 1);
}

static void
test_planned_exactly_once(void **state)
{
    struct fixture *f = *state;
    struct paved_delivery **list = NULL;
    size_t n = 0;
    int64_t seq = store_delivery(f, "d-1");

    assert_int_equal(paved_store_delivery_unplanned(&list, &n, f->f_st, 10, 0),
                     0);
    assert_int_equal(n, 1);
    assert_int_equal(list[0]->dl_planned, 0);
    paved_delivery_list_free(list, n);

    submit(f, plan_of(seq, 0, run("service", "aaaa111", "staging"),
                      run("checks", "aaaa111", "staging")));
    assert_int_equal(f->f_plan->pp_result, 0);
    assert_true(f->f_plan->pp_runs[0]->ru_id > 0);
    assert_true(f->f_plan->pp_runs[1]->ru_id > f->f_plan->pp_runs[0]->ru_id);

    /* the same delivery again (a second process, a crash in between):
     * refused, nothing inserted */
    submit(f, plan_of(seq, 0, run("service", "aaaa111", "staging"), NULL));
    assert_int_equal(f->f_plan->pp_result, PAVED_EEXISTS);
    assert_int_equal(f->f_plan->pp_runs[0]->ru_id, 0);

    assert_int_equal(paved_store_delivery_unplanned(&list, &n, f->f_st, 10, 0),
                     0);
    assert_int_equal(n, 0);
    paved_delivery_list_free(list, n);
}

static void
test_duplicates_fold(void **state)
{
    struct fixture *f = *state;
    int64_t first,
        seq1 = store_delivery(f, "d-1"), seq2 = store_delivery(f, "d-2"),
        seq3 = store_delivery(f, "d-3"), seq4 = store_delivery(f, "d-4");

    submit(f, plan_of(seq1, 0, run("service", "bbbb222", "staging"), NULL));
    first = f->f_plan->pp_runs[0]->ru_id;
    assert_true(first > 0);
    /* a redelivery under a new id, and a pull request, same commit */
    submit(f, plan_of(seq2, 0, run("service", "bbbb222", "staging"),
                      run("service", "bbbb222", NULL)));
    assert_int_equal(f->f_plan->pp_result, 0);
    assert_int_equal(f->f_plan->pp_runs[0]->ru_id, 0);
    assert_int_equal(f->f_plan->pp_runs[0]->ru_dup_of, first);
    assert_int_equal(f->f_plan->pp_runs[1]->ru_dup_of, first);
    /* a tag of that commit deploys elsewhere: a run of its own */
    submit(f, plan_of(seq3, 0, run("service", "bbbb222", "production"), NULL));
    assert_true(f->f_plan->pp_runs[0]->ru_id > first);
    assert_int_equal(f->f_plan->pp_runs[0]->ru_dup_of, 0);
    /* replay forces a new run */
    submit(f, plan_of(seq4, 1, run("service", "bbbb222", "staging"), NULL));
    assert_true(f->f_plan->pp_runs[0]->ru_id > first);
}

static void
test_saves_and_reads(void **state)
{
    struct fixture *f = *state;
    struct paved_run_filter flt;
    struct paved_run **list = NULL, *got = NULL, *r;
    struct paved_step_rec s;
    size_t n = 0;
    int64_t id, seq = store_delivery(f, "d-9");

    submit(f, plan_of(seq, 0, run("service", "cccc333", "staging"),
                      run("checks", "dddd444", "staging")));
    r = f->f_plan->pp_runs[0];
    id = r->ru_id;
    r->ru_state = PAVED_RUN_RUNNING;
    r->ru_started_ms = 1764219663000LL;
    assert_int_equal(paved_store_run_save(f->f_st, r), 0);
    memset(&s, 0, sizeof(s));
    s.sr_run = id;
    s.sr_index = 0;
    s.sr_name = "build";
    s.sr_state = PAVED_RUN_SUCCESS;
    s.sr_exit = 0;
    s.sr_attempts = 2;
    s.sr_needs = "[]";
    assert_int_equal(paved_store_step_save(f->f_st, &s), 0);
    s.sr_index = 1;
    s.sr_name = "test";
    s.sr_state = PAVED_RUN_SKIPPED;
    s.sr_reason = "needs \"build\", which ended failure";
    s.sr_needs = "[\"build\"]";
    assert_int_equal(paved_store_step_save(f->f_st, &s), 0);
    /* a probe commits after the saves: the reader sees them */
    {
        struct paved_store_plan *p = calloc(1, sizeof(*p));
        submit(f, p);
    }
    assert_int_equal(paved_store_run_get(&got, f->f_st, id), 0);
    assert_int_equal(got->ru_state, PAVED_RUN_RUNNING);
    assert_string_equal(got->ru_delivery_id, "d-9");
    assert_int_equal(got->ru_nsteps, 2);
    assert_int_equal(got->ru_steps[0].sr_attempts, 2);
    assert_string_equal(got->ru_steps[1].sr_name, "test");
    assert_int_equal(got->ru_steps[1].sr_state, PAVED_RUN_SKIPPED);
    assert_string_equal(got->ru_steps[1].sr_needs, "[\"build\"]");
    paved_run_free(got);
    assert_int_equal(paved_store_run_get(&got, f->f_st, id + 100),
                     PAVED_ENOTFOUND);

    memset(&flt, 0, sizeof(flt));
    flt.rf_state = -1;
    flt.rf_sha = "dddd";
    assert_int_equal(paved_store_run_list(&list, &n, f->f_st, &flt), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0]->ru_pipeline, "checks");
    paved_run_list_free(list, n);

    flt.rf_sha = NULL;
    flt.rf_state = PAVED_RUN_RUNNING;
    assert_int_equal(paved_store_run_list(&list, &n, f->f_st, &flt), 0);
    assert_int_equal(n, 1);
    assert_int_equal(list[0]->ru_id, id);
    paved_run_list_free(list, n);

    flt.rf_state = -1;
    flt.rf_active = 1;
    flt.rf_oldest_first = 1;
    assert_int_equal(paved_store_run_list(&list, &n, f->f_st, &flt), 0);
    assert_int_equal(n, 2);
    assert_true(list[0]->ru_id < list[1]->ru_id);
    paved_run_list_free(list, n);

    assert_string_equal(paved_run_state_name(PAVED_RUN_CANCELLED), "cancelled");
    assert_true(paved_run_state_final(PAVED_RUN_SKIPPED));
    assert_false(paved_run_state_final(PAVED_RUN_QUEUED));
}

static void
on_saved(const struct paved_store_done *done, void *arg)
{
    struct fixture *f = arg;

    assert_int_equal(done->sd_result, 0);
    f->f_done++;
}

static void
save_report(struct fixture *f, const char *state, const char *desc)
{
    struct paved_outbox_item it;

    memset(&it, 0, sizeof(it));
    it.oi_forge = "github";
    it.oi_repo = "acme/shop";
    it.oi_sha = "eeee555";
    it.oi_context = "paved/service";
    it.oi_state = (char *)state;
    it.oi_description = (char *)desc;
    it.oi_run = 1;
    assert_int_equal(
        paved_store_run_save_report(f->f_st, NULL, &it, 1, on_saved, f), 0);
    wait_done(f, f->f_done + 1);
}

static struct paved_outbox_item *
only_row(struct fixture *f, const char *status)
{
    struct paved_outbox_item **list = NULL, *it;
    size_t n = 0;

    assert_int_equal(paved_store_outbox_list(&list, &n, f->f_st, status, 10),
                     0);
    assert_int_equal(n, 1);
    it = list[0];
    list[0] = NULL;
    paved_outbox_list_free(list, n);
    return it;
}

/* The newest state wins in place; a send settles only the version it
 * carried; failures and retries keep their row. */
static void
test_outbox_coalesces(void **state)
{
    struct fixture *f = *state;
    struct paved_outbox_item **due = NULL, *it, upd;
    size_t n = 0;

    save_report(f, "running", "running: 2 steps");
    save_report(f, "success", "passed in 3s");
    it = only_row(f, "pending");
    assert_string_equal(it->oi_state, "success");
    assert_int_equal(it->oi_version, 2);
    assert_int_equal(it->oi_sent_version, 0);

    /* the reporter sends version 2; meanwhile a replay makes version 3 */
    save_report(f, "running", "running: 2 steps");
    memset(&upd, 0, sizeof(upd));
    upd.oi_id = it->oi_id;
    upd.oi_sent_version = 2;
    upd.oi_status = "sent";
    assert_int_equal(paved_store_outbox_update(f->f_st, &upd, NULL, NULL), 0);
    save_report(f, "failure", "step \"test\" failed"); /* v4, flushes */
    paved_outbox_item_free(it);
    it = only_row(f, "pending");
    assert_int_equal(it->oi_version, 4);
    assert_int_equal(it->oi_sent_version, 2);
    assert_string_equal(it->oi_state, "failure");

    /* a retry later: not due now */
    upd.oi_sent_version = 4;
    upd.oi_status = "pending";
    upd.oi_attempts = 1;
    upd.oi_next_ms = 4102444800000LL; /* 2100 */
    upd.oi_last_error = "HTTP 502: bad gateway";
    assert_int_equal(paved_store_outbox_update(f->f_st, &upd, NULL, NULL), 0);
    save_report(f, "failure", "step \"test\" failed"); /* v5: due again */
    assert_int_equal(
        paved_store_outbox_due(&due, &n, f->f_st, NULL, 1764219662000LL, 10),
        0);
    assert_int_equal(n, 1);
    assert_int_equal(due[0]->oi_attempts, 0);
    paved_outbox_list_free(due, n);

    /* refused for good, then retried by hand */
    upd.oi_sent_version = 5;
    upd.oi_status = "failed";
    upd.oi_next_ms = 0;
    upd.oi_last_error = "HTTP 422: No commit found for SHA";
    assert_int_equal(paved_store_outbox_update(f->f_st, &upd, NULL, NULL), 0);
    assert_int_equal(paved_store_outbox_retry(f->f_st, it->oi_id), 0);
    save_report(f, "failure", "step \"test\" failed"); /* v6 */
    paved_outbox_item_free(it);
    it = only_row(f, "pending");
    assert_null(it->oi_last_error);
    upd.oi_sent_version = 6;
    upd.oi_status = "sent";
    assert_int_equal(paved_store_outbox_update(f->f_st, &upd, NULL, NULL), 0);
    save_report(f, "failure", "step \"test\" failed"); /* v7 */
    paved_outbox_item_free(it);
    it = only_row(f, "pending");
    assert_int_equal(it->oi_sent_version, 6);
    paved_outbox_item_free(it);
    assert_int_equal(paved_store_outbox_get(&it, f->f_st, 999),
                     PAVED_ENOTFOUND);
}

static void
save_check(struct fixture *f, int64_t run, const char *state,
           const char *annotations)
{
    struct paved_outbox_item it;

    memset(&it, 0, sizeof(it));
    it.oi_forge = "github";
    it.oi_repo = "acme/shop";
    it.oi_sha = "eeee555";
    it.oi_context = "paved/service";
    it.oi_state = (char *)state;
    it.oi_description = "d";
    it.oi_summary = "| Step | Result |";
    it.oi_text = "### test";
    it.oi_annotations = (char *)annotations;
    it.oi_run = run;
    assert_int_equal(
        paved_store_run_save_report(f->f_st, NULL, &it, 1, on_saved, f), 0);
    wait_done(f, f->f_done + 1);
}

/* A check run's id is kept whatever happened since its request (it names
 * what exists on GitHub); the count of annotations sent survives a newer
 * state only for the same run and the same annotations. */
static void
test_outbox_check_runs(void **state)
{
    struct fixture *f = *state;
    struct paved_outbox_item *it, upd;
    const char *ann = "[{\"path\":\"a\",\"start_line\":1}]";

    save_check(f, 7, "running", NULL);
    it = only_row(f, "pending");
    assert_string_equal(it->oi_summary, "| Step | Result |");
    assert_string_equal(it->oi_text, "### test");
    assert_null(it->oi_annotations);
    assert_int_equal(it->oi_check_run_id, 0);

    /* created as version 1; version 2 arrived while it was in flight */
    save_check(f, 7, "failure", ann);
    memset(&upd, 0, sizeof(upd));
    upd.oi_id = it->oi_id;
    upd.oi_sent_version = 1;
    upd.oi_status = "sent";
    upd.oi_check_run_id = 4242;
    upd.oi_check_run_of = 7;
    upd.oi_annotations_sent = 50;
    assert_int_equal(paved_store_outbox_update(f->f_st, &upd, on_saved, f), 0);
    wait_done(f, f->f_done + 1);
    paved_outbox_item_free(it);
    it = only_row(f, "pending");
    assert_int_equal(it->oi_check_run_id, 4242);
    assert_int_equal(it->oi_check_run_of, 7);
    assert_int_equal(it->oi_annotations_sent, 0); /* not version 2's */
    assert_string_equal(it->oi_annotations, ann);

    /* version 2: the first 50 annotations went; more to send */
    upd.oi_sent_version = 2;
    upd.oi_status = "pending";
    upd.oi_annotations_sent = 50;
    assert_int_equal(paved_store_outbox_update(f->f_st, &upd, on_saved, f), 0);
    wait_done(f, f->f_done + 1);
    paved_outbox_item_free(it);
    it = only_row(f, "pending");
    assert_int_equal(it->oi_annotations_sent, 50);
    assert_int_equal(it->oi_sent_version, 1); /* v1 went */

    /* the same annotations again on the same run: the count stays */
    save_check(f, 7, "failure", ann);
    paved_outbox_item_free(it);
    it = only_row(f, "pending");
    assert_int_equal(it->oi_annotations_sent, 50);
    /* another run (a replay): counted from zero, its own check run */
    save_check(f, 8, "running", ann);
    paved_outbox_item_free(it);
    it = only_row(f, "pending");
    assert_int_equal(it->oi_annotations_sent, 0);
    assert_int_equal(it->oi_check_run_of, 7);
    assert_int_equal(it->oi_run, 8);
    paved_outbox_item_free(it);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_planned_exactly_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_fold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_saves_and_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_coalesces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_check_runs, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
