/*
 * NAME
 *	config_write - the example file and the man page, from the key table
 * SYNOPSIS
 *	#include "config.h"
 *
 *	void config_write_example(FILE *out)
 *	void config_write_manpage(FILE *out, const char *version)
 * DESCRIPTION
 *	config_write_example() prints conf/mxbypass-milter.conf: every key
 *	with its line of documentation and its default, commented out, under
 *	the headings of the table. config_write_manpage() prints
 *	mxbypass-milter.conf(5) from the same rows.
 *
 *	Only genconf (and the configuration fuzzer) call these; the daemon
 *	does not, and a static library leaves this module out of it.
 */

#include "autoconfig.h"

/* System. */
#include <stddef.h>
#include <stdio.h>

/* This program. */
#include "config.h"
#include "config_table.h"

/* config_write_example - the example file, made from the table */
void config_write_example(FILE *out)
{
	fprintf(out,
		"# mxbypass-milter.conf - configuration of mxbypass-milter(8)\n"
		"#\n"
		"# \"Key value\" per line; keys are case-insensitive; '#' starts a comment.\n"
		"# Lists are separated by commas and/or spaces. Durations are seconds\n"
		"# (suffixes s, m, h, d, w allowed) unless the key says milliseconds.\n"
		"# Every key is shown with its default, commented out.\n"
		"#\n"
		"# This file is generated from the key table: make conf-update.\n");
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];

		if (k->type == KT_SECTION) {
			fprintf(out, "\n## %s\n", k->name);
			continue;
		}
		fprintf(out, "\n# %s: %s.\n", k->name, k->doc);
		if (k->def != NULL)
			fprintf(out, "#%s %s\n", k->name, k->def);
		else
			fprintf(out, "# Default: none. Example:\n#%s %s\n", k->name, k->example);
	}
}

/* roff - text for a man page: backslashes doubled up, no line starting
 * with a control character */
static void roff(FILE *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", out);
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-')
			fputs("\\-", out);
		else
			fputc(*s, out);
	}
}

/* config_write_manpage - mxbypass-milter.conf(5), made from the table */
void config_write_manpage(FILE *out, const char *version)
{
	fprintf(out,
		".\\\" Generated from the key table of milter/config.c: do not edit.\n"
		".TH MXBYPASS-MILTER.CONF 5 \"\" \"mxbypass-milter %s\" \"File Formats\"\n"
		".SH NAME\n"
		"mxbypass-milter.conf \\- configuration of mxbypass-milter\n"
		".SH SYNOPSIS\n"
		".B /etc/mxbypass-milter.conf\n"
		".SH DESCRIPTION\n"
		"One setting per line:\n"
		".IR \"Key value\" .\n"
		"Keys are case-insensitive.\n"
		"A\n"
		".B #\n"
		"at the start of a line, or after white space, starts a comment.\n"
		"Lists are separated by commas and/or spaces.\n"
		"Durations are seconds (suffixes s, m, h, d, w allowed) unless the key\n"
		"says milliseconds.\n"
		"An unknown key, a bad or out-of-range value, a bad network or a key given\n"
		"twice is an error that names the file and the line;\n"
		".B mxbypass-milter -n\n"
		"prints every such error and exits 1.\n"
		".PP\n"
		"The configuration is read at start-up and again on SIGHUP; a file with\n"
		"any error is not taken, and the running configuration stays.\n"
		"Socket, UserID, UMask, PidFile and the shared-state keys take effect at\n"
		"the next start only.\n"
		"Connections that are open finish with the configuration they started\n"
		"with.\n", version);
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];

		if (k->type == KT_SECTION) {
			fprintf(out, ".SH ");
			for (const char *c = k->name; *c != '\0'; c++)
				fputc(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c, out);
			fputc('\n', out);
			continue;
		}
		fprintf(out, ".TP\n.B %s\n", k->name);
		roff(out, k->doc);
		fprintf(out, ".\n.br\n");
		if (k->def != NULL) {
			fprintf(out, "Default: ");
			roff(out, k->def);
		} else {
			fprintf(out, "Default: none. Example: ");
			roff(out, k->example);
		}
		fputc('\n', out);
	}
	fprintf(out,
		".SH FILES\n"
		".TP\n"
		".I /etc/mxbypass-milter.conf\n"
		"The default configuration file; when it is missing, the built-in\n"
		"defaults above apply.\n"
		".SH SEE ALSO\n"
		".BR mxbypass-milter (8),\n"
		".BR postconf (5)\n");
}
