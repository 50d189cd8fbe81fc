/*
 * NAME
 *	genconf - print the example configuration file
 * DESCRIPTION
 *	conf/mxbypass-milter.conf is this program's output; a test compares
 *	the two, so the example file always matches the key table.
 */

#include "autoconfig.h"

#include <stdio.h>

#include "config.h"

int main(void)
{
	config_write_example(stdout);
	return ferror(stdout) ? 1 : 0;
}
