/*
 * replay.c - a plain main() for a libFuzzer target: runs
 * LLVMFuzzerTestOneInput over every file named, or every file in every
 * directory named, so that `make check` exercises the corpora on machines
 * without clang.  Bounded: each input is read whole, up to 1 MiB.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_MAX_INPUT	(1024 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	run_file(const char *);
static int	run_dir(const char *, unsigned *);

static int
run_file(const char *path)
{
	FILE *f;
	uint8_t *buf;
	size_t n;

	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		return -1;
	}
	if ((buf = malloc(REPLAY_MAX_INPUT)) == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, REPLAY_MAX_INPUT, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

static int
run_dir(const char *dir, unsigned *count)
{
	struct dirent *e;
	struct stat st;
	char path[4096];
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		perror(dir);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(path) == -1) {
				closedir(d);
				return -1;
			}
			(*count)++;
		}
	}
	closedir(d);
	return 0;
}

int
main(int argc, char **argv)
{
	struct stat st;
	unsigned count = 0;

	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == -1) {
			perror(argv[i]);
			return 1;
		}
		if (S_ISDIR(st.st_mode) ? run_dir(argv[i], &count) :
		    run_file(argv[i]) == -1 ? -1 : (count++, 0))
			return 1;
	}
	printf("%s: %u inputs replayed, no crash\n", argv[0], count);
	return count > 0 ? 0 : 1;
}
