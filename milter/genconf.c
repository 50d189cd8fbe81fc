/*
 * NAME
 *	genconf - print the example configuration file, or its man page
 * SYNOPSIS
 *	genconf [-m]
 * DESCRIPTION
 *	conf/mxbypass-milter.conf is this program's output; a test compares
 *	the two, so the example file always matches the key table. With -m
 *	it prints mxbypass-milter.conf(5), made at build time from the same
 *	table.
 */

#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "config.h"

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "-m") == 0)
		config_write_manpage(stdout, PACKAGE_VERSION);
	else
		config_write_example(stdout);
	return ferror(stdout) ? 1 : 0;
}
