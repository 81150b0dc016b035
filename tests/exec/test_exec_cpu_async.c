/* SPDX-License-Identifier: MIT */
/*
 * test_exec_cpu_async.c - the executor contract on the cpu executor with
 * cfg.cpu_async: every op completes from the executor's worker thread, as
 * the cuda executor's do from its reader thread.
 */
#include "exec-test.h"

int main(void)
{
	SRunner *sr = srunner_create(et_contract_suite_async("cpu", true));
	int failed;

	srunner_add_suite(sr, et_contract_r2_suite("cpu", true));
	srunner_run_all(sr, CK_ENV); /* CK_VERBOSITY=verbose lists every test */
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
