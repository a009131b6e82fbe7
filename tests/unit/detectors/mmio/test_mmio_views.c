// SPDX-License-Identifier: GPL-2.0
/*
 * What the mmio detector shows of the streams of mmio_sim.h: an
 * interval's delta, the JSON (what is unknown says so), the metrics a
 * baseline compares and the text table.
 */
#include "mmio_sim.h"

static void interval_delta(void **state)
{
	struct mmio_setup setup = setup_for(SVM_612, true);
	struct mmio_sample a, b, out;
	struct mmio_view v;
	struct sim s;

	(void)state;
	sim_start(&s, SVM_612, true);
	kvmload_mmio(&s, SVM_612, 100, 10);
	kvmload_mmio(&s, SVM_612, 101, 2);	/* only before a */
	sim_sample(&s, &setup, &a);
	kvmload_mmio(&s, SVM_612, 100, 5);
	sim_sample(&s, &setup, &b);
	/* Read per thread, kept per address: two threads wrote each. */
	assert_int_equal(b.nrecs, 3);
	assert_int_equal(b.nwriters, 6);
	assert_int_equal(mmio_view_from(&b, 1.0, EXIT_TABLE_SVM, &v), 0);
	assert_int_equal(addr(&v, FAST_GPA)->vcpu_threads, 2);
	assert_int_equal(addr(&v, FAST_GPA)->path[MMIO_PATH_EMULATED].writes, 17);
	mmio_view_free(&v);
	assert_int_equal(mmio_sample_delta(&a, &b, &out), 0);
	assert_int_equal(out.nrecs, 3);
	assert_int_equal(mmio_view_from(&out, 1.0, EXIT_TABLE_SVM, &v), 0);
	assert_int_equal(v.writes, 15);
	assert_int_equal(v.vms[0].naddrs, 3);
	/* Thread 101, silent since a, is not one of its writers now. */
	assert_int_equal(addr(&v, FAST_GPA)->vcpu_threads, 1);
	assert_int_equal(addr(&v, FAST_GPA)->path[MMIO_PATH_EMULATED].writes, 5);
	assert_int_equal(v.exits, 15);
	assert_int_equal(v.fast_path.slow_candidate_runs, 5);
	/* Candidates are the current ones, not a difference. */
	assert_int_equal(addr(&v, FAST_GPA)->candidate, 1);
	mmio_view_free(&v);
	mmio_sample_free(&out);
	/* An entry re-created in between restarts from its own counts. */
	b.recs[0].stats.path[MMIO_PATH_EMULATED].writes = 2;
	assert_int_equal(mmio_sample_delta(&a, &b, &out), 0);
	assert_int_equal(out.recs[0].stats.path[MMIO_PATH_EMULATED].writes, 2);
	mmio_sample_free(&out);
	mmio_sample_free(&a);
	mmio_sample_free(&b);
}

/* A raw per-thread record of the mmio_stats map. */
static void thread_record(struct mmio_record *r, uint32_t tid, uint64_t gpa,
			  uint32_t reason, uint64_t writes, uint64_t other)
{
	struct mmio_path_stats *p = &r->stats.path[MMIO_PATH_EMULATED];

	memset(r, 0, sizeof(*r));
	r->key.pid = PID;
	r->key.tid = tid;
	r->key.gpa = gpa;
	r->key.vm_start = 77;
	p->writes = writes;
	p->other_reason = other;
	p->reason_set = 1;
	p->first_reason = reason;
	p->timed = writes;
	p->cost_ns = writes * 1000;
	p->max_cost_ns = writes ? 1000 + tid : 0;
	p->cost.slots[10] = writes;
	r->stats.len = 4;
}

/* The fold of threads into addresses keeps what the view said of them
 * one thread at a time: sums, the largest cost, the first thread's exit
 * reason with the others' writes as another reason. */
static void threads_fold_into_addresses(void **state)
{
	struct mmio_sample s = { 0 };
	const struct mmio_path_stats *p;

	(void)state;
	s.recs = calloc(4, sizeof(*s.recs));
	s.threads = calloc(1, sizeof(*s.threads));
	s.vms = calloc(1, sizeof(*s.vms));
	s.cands = calloc(1, sizeof(*s.cands));
	assert_non_null(s.recs);
	/* Map order, not sorted: tid 102 first. */
	thread_record(&s.recs[0], 102, FAST_GPA, SVM_NPF + 1, 4, 1);
	thread_record(&s.recs[1], 101, FAST_GPA, SVM_NPF, 10, 2);
	thread_record(&s.recs[2], 103, FAST_GPA, SVM_NPF, 0, 0);
	thread_record(&s.recs[3], 101, USER_GPA, SVM_NPF, 3, 0);
	s.nrecs = 4;
	assert_int_equal(mmio_sample_sort(&s), 0);
	assert_int_equal(s.nrecs, 2);
	assert_int_equal(s.recs[0].key.gpa, FAST_GPA);
	assert_int_equal(s.recs[0].key.tid, 0);
	/* 103 has a record but wrote nothing. */
	assert_int_equal(s.recs[0].writers, 2);
	assert_int_equal(s.nwriters, 3);
	p = &s.recs[0].stats.path[MMIO_PATH_EMULATED];
	assert_int_equal(p->writes, 14);
	assert_int_equal(p->first_reason, SVM_NPF);
	/* 2 of 101's, then 102's 1 and its 3 that came its own way. */
	assert_int_equal(p->other_reason, 6);
	assert_int_equal(p->max_cost_ns, 1102);
	assert_int_equal(p->cost.slots[10], 14);
	assert_int_equal(s.recs[1].writers, 1);
	assert_int_equal(s.recs[1].stats.path[MMIO_PATH_EMULATED].writes, 3);
	mmio_sample_free(&s);
}

static void empty_sample(struct mmio_sample *s)
{
	memset(s, 0, sizeof(*s));
	s->threads = calloc(1, sizeof(*s->threads));
	s->vms = calloc(1, sizeof(*s->vms));
	s->cands = calloc(1, sizeof(*s->cands));
}

/* A read comes in chunks of the map's order: folded chunk by chunk, the
 * addresses are what one fold of all gives, whatever the order. */
static void chunks_fold_as_one(void **state)
{
	struct mmio_record recs[6], chunk[6];
	struct mmio_sample whole, chunked, one_by_one;
	static const int order[] = { 4, 1, 5, 0, 3, 2 };
	size_t i;

	(void)state;
	thread_record(&recs[0], 101, FAST_GPA, SVM_NPF, 10, 2);
	thread_record(&recs[1], 102, FAST_GPA, SVM_NPF + 1, 4, 1);
	thread_record(&recs[2], 103, FAST_GPA, SVM_NPF + 1, 5, 0);
	thread_record(&recs[3], 101, USER_GPA, SVM_NPF, 3, 0);
	thread_record(&recs[4], 104, USER_GPA, SVM_NPF, 0, 0);
	thread_record(&recs[5], 102, MATCH_GPA, SVM_NPF, 7, 7);
	recs[5].stats.len = 8;
	empty_sample(&whole);
	whole.recs = malloc(sizeof(recs));
	memcpy(whole.recs, recs, sizeof(recs));
	whole.nrecs = 6;
	assert_int_equal(mmio_sample_sort(&whole), 0);
	empty_sample(&chunked);
	for (i = 0; i < 6; i++)
		chunk[i] = recs[order[i]];
	assert_int_equal(mmio_fold_records(&chunked, chunk, 2), 0);
	assert_int_equal(mmio_fold_records(&chunked, chunk + 2, 1), 0);
	assert_int_equal(mmio_fold_records(&chunked, chunk + 3, 3), 0);
	assert_int_equal(mmio_sample_sort(&chunked), 0);
	assert_int_equal(whole.nrecs, 3);
	assert_int_equal(chunked.nrecs, 3);
	assert_memory_equal(whole.recs, chunked.recs, 3 * sizeof(*whole.recs));
	assert_int_equal(chunked.nwriters, 5);
	/* 101 first: 102's and 103's writes of their own reason are others. */
	assert_int_equal(chunked.recs[0].stats.path[MMIO_PATH_EMULATED].
			 other_reason, 2 + 1 + 3 + 5);
	assert_int_equal(chunked.recs[0].writers, 3);
	assert_int_equal(chunked.recs[2].writers, 1);
	/* A record a chunk, the last first: every merge lands mid-array. */
	empty_sample(&one_by_one);
	for (i = 6; i-- > 0;) {
		chunk[0] = recs[i];
		assert_int_equal(mmio_fold_records(&one_by_one, chunk, 1), 0);
	}
	assert_int_equal(mmio_sample_sort(&one_by_one), 0);
	assert_int_equal(one_by_one.nrecs, 3);
	assert_memory_equal(whole.recs, one_by_one.recs,
			    3 * sizeof(*whole.recs));
	mmio_sample_free(&whole);
	mmio_sample_free(&chunked);
	mmio_sample_free(&one_by_one);
}

static void json_says_what_is_unknown(void **state)
{
	struct mmio_view v;
	struct sim s;
	json_t *doc, *a;

	(void)state;
	sim_start(&s, SVM_612, false);
	kvmload_mmio(&s, SVM_612, 100, 3);
	build(&s, SVM_612, false, &v);
	doc = mmio_view_json(&v);
	assert_true(json_is_null(json_object_get(json_object_get(doc,
		"fast_path"), "present")));
	assert_false(json_is_true(json_object_get(doc, "candidates_known")));
	assert_true(json_is_string(json_object_get(doc, "candidates_why")));
	assert_true(json_is_null(json_object_get(json_object_get(doc, "costs"),
						 "emulated")));
	a = json_array_get(json_object_get(json_array_get(json_object_get(doc,
		"vms"), 0), "addresses"), 0);
	assert_int_equal(json_integer_value(json_object_get(a, "gpa")),
			 FAST_GPA);
	assert_true(json_is_null(json_object_get(a, "candidate")));
	assert_string_equal(json_string_value(json_object_get(a, "class")),
			    "emulated");
	assert_true(json_is_null(json_object_get(json_object_get(a,
		"emulated"), "cost_avg_ns")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(a,
		"emulated"), "insn_emulated")), 3);
	json_decref(doc);
	mmio_view_free(&v);

	sim_start(&s, SVM_612, true);
	kvmload_mmio(&s, SVM_612, 100, 3);
	build(&s, SVM_612, true, &v);
	doc = mmio_view_json(&v);
	assert_true(json_is_false(json_object_get(json_object_get(doc,
		"fast_path"), "present")));
	a = json_array_get(json_object_get(json_array_get(json_object_get(doc,
		"vms"), 0), "candidates"), 0);
	assert_int_equal(json_integer_value(a), FAST_GPA);
	json_decref(doc);
	mmio_view_free(&v);
}

static void metrics_for_the_baseline(void **state)
{
	struct metric_set set = { 0 };
	const struct metric *m;
	struct mmio_view v;
	struct sim s;

	(void)state;
	sim_start(&s, VMX, true);
	kvmload_mmio(&s, VMX, 100, 10);
	build(&s, VMX, true, &v);
	assert_int_equal(mmio_view_metrics(&v, &set), 0);
	m = metric_find(&set, "mmio.writes", "");
	assert_non_null(m);
	assert_true(m->value == 30);
	m = metric_find(&set, "mmio.fast_writes", "");
	assert_true(m->value == 10);
	assert_string_equal(m->per, "mmio.writes");
	assert_int_equal(m->better, BETTER_HIGHER);
	m = metric_find(&set, "mmio.fast_share", "");
	assert_int_equal(m->better, BETTER_HIGHER);
	m = metric_find(&set, "mmio.exits", "");
	assert_string_equal(m->per, "mmio.writes");
	assert_true(m->value == 30);
	m = metric_find(&set, "mmio.write_cost_ns", "path=fast");
	assert_non_null(m);
	assert_int_equal(m->type, METRIC_HISTOGRAM);
	assert_true(m->value == 10);
	assert_true(m->sum == 10 * 30 * US);
	m = metric_find(&set, "mmio.addr_writes",
			"vm=4242,addr=0xd0000000,path=fast");
	assert_non_null(m);
	assert_true(m->per_entity);
	assert_true(m->value == 10);
	metric_set_free(&set);
	mmio_view_free(&v);

	/* Tracepoint mode: no cost metrics rather than zeros. */
	sim_start(&s, VMX, false);
	kvmload_mmio(&s, VMX, 100, 10);
	build(&s, VMX, false, &v);
	assert_int_equal(mmio_view_metrics(&v, &set), 0);
	assert_null(metric_find(&set, "mmio.write_cost_ns", "path=fast"));
	assert_null(metric_find(&set, "mmio.fast_misses", ""));
	assert_non_null(metric_find(&set, "mmio.fast_writes", ""));
	metric_set_free(&set);
	mmio_view_free(&v);
}

static void text_table(void **state)
{
	struct mmio_view v;
	struct sim s;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	sim_start(&s, SVM_612, true);
	kvmload_mmio(&s, SVM_612, 100, 4);
	build(&s, SVM_612, true, &v);
	f = open_memstream(&buf, &len);
	mmio_view_text(f, &v, "fentry+tracepoint");
	fclose(f);
	assert_non_null(strstr(buf, "mmio: fentry+tracepoint - svm npf_interception: fast path absent (observed)"));
	assert_non_null(strstr(buf, "12 writes: fast 0, emulated 8, to VMM 4"));
	assert_non_null(strstr(buf, "0xd0000000"));
	assert_non_null(strstr(buf, "candidates (len-0 ioeventfds): 0xd0000000"));
	free(buf);
	mmio_view_free(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(interval_delta),
		cmocka_unit_test(threads_fold_into_addresses),
		cmocka_unit_test(chunks_fold_as_one),
		cmocka_unit_test(json_says_what_is_unknown),
		cmocka_unit_test(metrics_for_the_baseline),
		cmocka_unit_test(text_table),
	};

	return cmocka_run_group_tests_name("mmio views", tests, NULL, NULL);
}
