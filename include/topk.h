/*
 * topk.h - the heaviest keys of a stream in fixed memory (space-saving).
 */
#ifndef MXB_TOPK_H
#define MXB_TOPK_H

#include <stddef.h>
#include <stdint.h>

#define TOPK_SLOTS 32		/* keys tracked at once */
#define TOPK_KEYMAX 256		/* a domain name fits */

struct topk_slot {
	uint64_t count;		/* an overestimate by at most error */
	uint64_t error;
	char key[TOPK_KEYMAX];
};

/* Zeroed memory is an empty summary. */
struct topk {
	size_t n;
	struct topk_slot slot[TOPK_SLOTS];
};

void topk_add(struct topk *t, const char *key, uint64_t count);
void topk_clear(struct topk *t);
size_t topk_merge(const struct topk *const *parts, size_t nparts, struct topk_slot *out,
		  size_t k);

#endif
