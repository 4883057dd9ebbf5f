/*
 * unit.c - the one CUnit runner: every test file registers its suites
 * through init_<module>_tests(); exit status 1 when any assert failed.
 */
#include <stdio.h>
#include <stdlib.h>

#include <CUnit/Basic.h>

void	init_code_tests(void);
void	init_frame_tests(void);
void	init_envelope_header_tests(void);
void	init_envelope_doc_tests(void);
void	init_envelope_valid_tests(void);
void	init_envelope_build_tests(void);
void	init_envelope_params_tests(void);
void	init_envelope_reuse_tests(void);
void	init_envelope_splice_tests(void);
void	init_config_keys_tests(void);
void	init_config_file_tests(void);
void	init_config_cli_tests(void);
void	init_config_log_tests(void);
void	init_config_daemon_tests(void);
void	init_registry_tests(void);
void	init_libnap_tests(void);
void	init_audit_tests(void);
void	init_tls_tests(void);
void	init_proto_tests(void);
void	init_plugin_rules_tests(void);

int
main(void)
{
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "unit: %s\n", CU_get_error_msg());
		return 1;
	}
	init_code_tests();
	init_frame_tests();
	init_envelope_header_tests();
	init_envelope_doc_tests();
	init_envelope_valid_tests();
	init_envelope_build_tests();
	init_envelope_params_tests();
	init_envelope_reuse_tests();
	init_envelope_splice_tests();
	init_config_keys_tests();
	init_config_file_tests();
	init_config_cli_tests();
	init_config_log_tests();
	init_config_daemon_tests();
	init_registry_tests();
	init_libnap_tests();
	init_audit_tests();
	init_tls_tests();
	init_proto_tests();
	init_plugin_rules_tests();
	if (CU_get_error() != CUE_SUCCESS) {
		fprintf(stderr, "unit: registering tests: %s\n",
		    CU_get_error_msg());
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_NORMAL);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed == 0 && CU_get_error() == CUE_SUCCESS ? 0 : 1;
}
