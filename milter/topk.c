/*
 * NAME
 *	topk - the heaviest keys of a stream in fixed memory
 * SYNOPSIS
 *	#include "topk.h"
 * DESCRIPTION
 *	The space-saving algorithm (Metwally, Agrawal, El Abbadi 2005): a
 *	summary tracks TOPK_SLOTS keys; a key not tracked takes the slot of
 *	the smallest count and inherits that count as its possible error. A
 *	key seen more than 1/TOPK_SLOTS of the time is always tracked, and a
 *	flood of distinct keys never grows the memory.
 *
 *	topk_merge() adds up several summaries (one per counting stripe) and
 *	returns the k heaviest keys, heaviest first, ties by key.
 *
 *	Not thread-safe: each summary belongs to whoever holds its lock.
 */

#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topk.h"

/* topk_add - count a key */
void topk_add(struct topk *t, const char *key, uint64_t count)
{
	struct topk_slot *min = NULL;

	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->slot[i].key, key) == 0) {
			t->slot[i].count += count;
			return;
		}
		if (min == NULL || t->slot[i].count < min->count)
			min = &t->slot[i];
	}
	if (t->n < TOPK_SLOTS) {
		min = &t->slot[t->n++];
		min->count = min->error = 0;
	} else {
		min->error = min->count;
	}
	min->count += count;
	snprintf(min->key, sizeof(min->key), "%s", key);
}

/* topk_clear - forget everything */
void topk_clear(struct topk *t)
{
	t->n = 0;
}

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct topk_slot *)a)->key, ((const struct topk_slot *)b)->key);
}

static int by_count(const void *a, const void *b)
{
	const struct topk_slot *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->key, y->key);
}

/* topk_merge - the k heaviest keys of several summaries, heaviest first;
 * returns how many were written to out */
size_t topk_merge(const struct topk *const *parts, size_t nparts, struct topk_slot *out, size_t k)
{
	struct topk_slot *all = malloc(nparts * TOPK_SLOTS * sizeof(*all));
	size_t n = 0, m = 0;

	if (all == NULL)
		return 0;
	for (size_t p = 0; p < nparts; p++)
		for (size_t i = 0; i < parts[p]->n; i++)
			all[n++] = parts[p]->slot[i];
	qsort(all, n, sizeof(*all), by_key);
	/* one slot per key, with the counts of every summary added up */
	for (size_t i = 0; i < n; i++) {
		if (m > 0 && strcmp(all[m - 1].key, all[i].key) == 0) {
			all[m - 1].count += all[i].count;
			all[m - 1].error += all[i].error;
		} else {
			all[m++] = all[i];
		}
	}
	qsort(all, m, sizeof(*all), by_count);
	if (m > k)
		m = k;
	memcpy(out, all, m * sizeof(*all));
	free(all);
	return m;
}
