/*
 * fuzz_acl.c - libFuzzer target for the acl plugin's rules parser
 * (plugins/acl_rules.h, DESIGN.md §7).  Checks: a parse either fails
 * with a line within the input and a reason, or gives rules whose
 * every range is ordered and whose line numbers ascend within the
 * input; matching a few messages against them never fails.
 */
#include <stdlib.h>
#include <string.h>

#include "acl_rules.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t probe[][3] = {
		{ 0x00010001, 0x00020001, 1000 },
		{ 0x00000000, 0xFFFFFFFF, 0 },
		{ 0xFFFF0001, 0x00010000, 4294967295u },
	};
	struct acl *a = NULL;
	unsigned line = 0, lines = 1, prev = 0, at;
	char err[200] = "";

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (acl_parse((const char *)data, size, &a, &line, err,
	    sizeof(err)) == -1) {
		if (a != NULL || line == 0 || line > lines || err[0] == '\0')
			abort();
		return 0;
	}
	for (size_t i = 0; i < a->n; i++) {
		const struct acl_rule *r = &a->r[i];

		if (r->flo > r->fhi || r->tlo > r->thi || r->ylo > r->yhi ||
		    r->line <= prev || r->line > lines)
			abort();
		prev = r->line;
	}
	for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++)
		if (acl_check(a, probe[i][0], probe[i][1], probe[i][2],
		    &at) < 0 || at > lines)
			abort();
	acl_free(a);
	return 0;
}
