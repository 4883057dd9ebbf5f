/*
 * code.c - NAP node codes (DESIGN.md §1): 8 hex digits RRRRNNNN, compared
 * case-insensitively, written in upper case by whoever creates them.
 */
#include "envelope.h"

int
env_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
env_code_parse(const char *s, size_t n, uint32_t *out)
{
	uint32_t v = 0;
	size_t i;
	int d;

	if (n != 8)
		return -1;
	for (i = 0; i < n; i++) {
		if ((d = env_hexval((unsigned char)s[i])) < 0)
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return 0;
}

void
env_code_format(uint32_t code, char out[9])
{
	static const char hex[] = "0123456789ABCDEF";
	int i;

	for (i = 7; i >= 0; i--) {
		out[i] = hex[code & 0xf];
		code >>= 4;
	}
	out[8] = '\0';
}

bool
env_code_is_platform(uint32_t code)
{
	return code == ENV_PLATFORM_CODE;
}

bool
env_code_is_domain(uint32_t code)
{
	uint16_t r = env_code_region(code);

	return (code & 0xffff) == 0 && r != 0 && r != 0xffff;
}

bool
env_code_is_device(uint32_t code)
{
	uint16_t r = env_code_region(code);

	return (code & 0xffff) != 0 && r != 0 && r != 0xffff;
}

bool
env_code_is_reserved(uint32_t code)
{
	uint16_t r = env_code_region(code);

	return r == 0xffff || (r == 0 && code != 0);
}

int
env_u32_parse(const char *s, size_t n, uint32_t *out)
{
	uint64_t x = 0;

	if (n < 1 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (x > UINT32_MAX)
		return -1;
	*out = (uint32_t)x;
	return 0;
}
