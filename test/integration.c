/*
 * integration.c - the CUnit runner of the integration tests: real
 * servers on 127.0.0.1 driven by libnap and by a raw TLS client.  Each
 * test file registers its suites through init_<module>_tests().
 *
 * Environment: NAP_SRCDIR (nap-certs), NAP_BUILDDIR (nap-domain,
 * nap-ctl; the work directory test-work/integration), VALGRIND (the
 * path of valgrind: enables the run of nap-domain under it),
 * ITEST_SUITE (run only the suites whose name contains it), ITEST_DEBUG
 * (libnap's log on stderr).
 * Exit status 1 when any test, assertion or suite set-up failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "itest.h"

void	init_domain_tests(void);
void	init_store_tests(void);
void	init_platform_tests(void);
void	init_federation_tests(void);
void	init_ops_tests(void);
void	init_serverlink_tests(void);
void	init_admin_tests(void);
void	init_plugins_tests(void);

int
main(void)
{
	const char *only;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "integration: %s\n", CU_get_error_msg());
		return 1;
	}
	if (itest_init() == -1) {
		itest_fini();
		CU_cleanup_registry();
		return 1;
	}
	init_domain_tests();
	init_store_tests();
	init_platform_tests();
	init_federation_tests();
	init_ops_tests();
	init_serverlink_tests();
	init_admin_tests();
	init_plugins_tests();
	if (CU_get_error() != CUE_SUCCESS) {
		fprintf(stderr, "integration: registering tests: %s\n",
		    CU_get_error_msg());
		itest_fini();
		CU_cleanup_registry();
		return 1;
	}
	if ((only = getenv("ITEST_SUITE")) != NULL && *only != '\0') {
		CU_set_fail_on_inactive(CU_FALSE);
		for (CU_pSuite s = CU_get_registry()->pSuite; s != NULL;
		    s = s->pNext)
			if (strstr(s->pName, only) == NULL)
				CU_set_suite_active(s, CU_FALSE);
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() +
	    CU_get_number_of_tests_failed() + CU_get_number_of_suites_failed();
	itest_fini();
	CU_cleanup_registry();
	if (failed != 0)
		fprintf(stderr, "integration: FAILED; logs in %s\n",
		    itest.work);
	return failed == 0 && CU_get_error() == CUE_SUCCESS ? 0 : 1;
}
