/*
 * check.h - check mode (-t): decide for one domain as the milter would.
 */
#ifndef MXB_CHECK_H
#define MXB_CHECK_H

#include "config.h"

int check_domain(const struct config *cfg, const char *domain, const char *local_addr,
		 const char *client_addr, const char *password);

#endif
