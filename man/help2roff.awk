# help2roff.awk: a program's --help text (stdin) -> its man page (roff).
#
#   awk -v prog=NAME -v section=8 -v desc="one line" -v version=0.1.0 \
#       -v date=2026-12-02 [-v extra=FILE] -f help2roff.awk < help.txt
#
# The project's --help texts share one layout (STYLE.md: man-page quality),
# which this turns into man(7) markup:
#   "Usage: PROG ARGS" (+ indented lines)  SYNOPSIS
#   prose at column 0                      filled paragraphs (DESCRIPTION)
#   "Heading:" alone on its line, before   .SH OPTIONS, COMMANDS, ENVIRONMENT,
#     indented lines                       SIGNALS, FILES, EXAMPLES; .SS for
#                                          any other heading
#   indented "ITEM  text" lines in those   .TP items, ITEM in bold (options)
#     sections                             or its first word in bold; lines
#                                          indented past an item's text stay
#                                          as they are
#   other indented lines, and Examples     as they are (.nf), 2 columns less
#   "Lead: text" at column 0 after a       .SH LEAD (e.g. "Config file:",
#     table                                "XenStore:", "Output:")
#   "Exit status: ..."                     EXIT STATUS
#   "See also: a(1), b(8), ..."            SEE ALSO, last; the sections of
#                                          `extra` (roff written alongside,
#                                          e.g. FILES) come just before it
# No line of the text is dropped: what matches no rule is kept verbatim.

function esc(s) {
	gsub(/\\/, "\\e", s)
	gsub(/-/, "\\-", s)
	if (s ~ /^[.']/)
		s = "\\&" s
	return s
}

# An item's tag: options (or a command's name) bold, placeholders italic.
function tag(s,    n, i, w, out, parts) {
	n = split(s, parts, " ")
	out = ""
	for (i = 1; i <= n; i++) {
		w = parts[i]
		if (w ~ /^-/ || (i == 1 && words))
			w = "\\fB" esc(w) "\\fR"
		else if (w ~ /^\[?[A-Z][A-Z0-9_]*\]?(\.\.\.)?,?$/)
			w = "\\fI" esc(w) "\\fR"
		else
			w = esc(w)
		out = out (i > 1 ? " " : "") w
	}
	return out
}

function indent_of(s) {
	match(s, /^ */)
	return RLENGTH
}

# Ends an open no-fill block or filled paragraph.
function close_block() {
	if (mode == "nf")
		print ".fi"
	mode = ""
}

function prose(s) {
	if (mode == "nf")
		close_block()
	if (mode != "fill") {
		print ".PP"
		mode = "fill"
	}
	print esc(s)
}

function verbatim(s) {
	if (mode != "nf") {
		if (mode == "fill")
			mode = ""
		print ".nf"
		mode = "nf"
	}
	if (indent_of(s) >= 2)
		s = substr(s, 3)
	print esc(s)
}

function heading(h,    H) {
	close_block()
	sub(/:$/, "", h)
	H = toupper(h)
	item_indent = -1
	text_col = -1
	if (H == "OPTIONS")
		had_options = 1
	if (H ~ /^(OPTIONS|COMMANDS|ENVIRONMENT|SIGNALS|FILES)$/) {
		print ".SH " H
		kind = "table"
		words = (H != "OPTIONS")
	} else if (H ~ /^EXAMPLES?( |$)/) {
		print ".SH EXAMPLES"
		kind = "examples"
		if (h ~ /\(/) {
			sub(/^[^(]*\(/, "", h)
			sub(/\)$/, "", h)
			prose(toupper(substr(h, 1, 1)) substr(h, 2) ":")
			close_block()
		}
	} else {
		print ".SS \"" esc(h) "\""
		if (h ~ /[Cc]ommands/) {
			kind = "table"
			words = 1
		} else {
			kind = "verbatim"
		}
	}
}

# One indented line of an item table.
function table_line(s,    ind, rest, t, d, p) {
	ind = indent_of(s)
	if (item_indent < 0)
		item_indent = ind
	rest = substr(s, ind + 1)
	# A new item: back at the items' column, or (options) an option
	# starting left of the text column ("      --long-only  text").
	if (ind <= item_indent ||
	    (!words && text_col > 0 && ind < text_col && rest ~ /^-/)) {
		close_block()
		# "ITEM  text": the tag ends at the first run of two spaces.
		p = index(rest, "  ")
		# "--opt ARG text" with one space: the tag is the option and
		# its placeholder.
		if (p == 0 && !words &&
		    match(rest, /^-[^ ]+( [A-Z][A-Z0-9_]*)? /) && RLENGTH < length(rest))
			p = RLENGTH
		if (p > 0) {
			t = substr(rest, 1, p - 1)
			d = substr(rest, p)
			text_col = ind + p - 1 + indent_of(d)
			sub(/^ +/, "", d)
		} else {
			t = rest
			d = ""
			text_col = -1
		}
		print ".TP"
		print tag(t)
		if (d != "")
			print esc(d)
		mode = "item"
		return
	}
	if (text_col < 0)
		text_col = ind
	if (ind > text_col) {
		# Deeper than the item's text: a list inside the item, as it is.
		if (mode != "nf") {
			print ".nf"
			mode = "nf"
		}
		print esc(substr(s, text_col + 1))
		return
	}
	if (mode == "nf") {
		print ".fi"
		mode = "item"
	}
	print esc(rest)
}

function usage_line(s,    p) {
	p = index(s, " ")
	if (p == 0)
		return "\\fB" esc(s) "\\fR"
	return "\\fB" esc(substr(s, 1, p - 1)) "\\fR " esc(substr(s, p + 1))
}

function flush_see(    n, i, parts, w, name, sect) {
	if (see == "")
		return
	sub(/^See also: */, "", see)
	sub(/\.$/, "", see)
	print ".SH \"SEE ALSO\""
	n = split(see, parts, /, */)
	for (i = 1; i <= n; i++) {
		w = parts[i]
		if (w ~ /^[A-Za-z0-9_.-]+\([0-9][a-z]*\)$/) {
			name = w
			sub(/\(.*/, "", name)
			sect = w
			sub(/^[^(]*/, "", sect)
			print ".BR " esc(name) " " sect (i < n ? "," : "")
		} else {
			print esc(w) (i < n ? "," : "")
		}
	}
}

function emit_extra(    l) {
	if (extra == "")
		return
	while ((getline l < extra) > 0)
		print l
	close(extra)
}

BEGIN {
	printf ".TH \"%s\" \"%s\" \"%s\" \"vgpu-xen %s\" \"vgpu-xen\"\n", toupper(esc(prog)),
	       section, date, version
	# Left-adjusted, no hyphenation: paths and option names stay whole.
	print ".ad l"
	print ".nh"
	print ".SH NAME"
	print esc(prog) " \\- " esc(desc)
}

{
	gsub(/\t/, "        ")
	sub(/ +$/, "")
	lines[++nlines] = $0
}

END {
	state = "start"
	kind = "desc"
	prev_blank = 1
	for (i = 1; i <= nlines; i++) {
		line = lines[i]
		next_line = (i < nlines) ? lines[i + 1] : ""
		if (state == "start") {
			if (line == "")
				continue
			if (line ~ /^[Uu]sage: /) {
				print ".SH SYNOPSIS"
				print ".nf"
				sub(/^[Uu]sage: +/, "", line)
				print usage_line(line)
				state = "usage"
				continue
			}
			state = "body"
			print ".SH DESCRIPTION"
		} else if (state == "usage") {
			if (line ~ /^ +[a-z_]/) {
				sub(/^ +/, "", line)
				print usage_line(line)
				continue
			}
			print ".fi"
			state = "body"
			print ".SH DESCRIPTION"
			if (line == "")
				continue
		}

		if (line == "") {
			if (mode == "fill")
				mode = ""
			in_see = 0
			prev_blank = 1
			continue
		}
		if (line ~ /^See also:/ || (in_see && line !~ /^ /)) {
			close_block()
			see = see (see == "" ? "" : " ") line
			in_see = 1
			continue
		}
		if (line ~ /^Exit status:/) {
			close_block()
			print ".SH \"EXIT STATUS\""
			sub(/^Exit status: */, "", line)
			kind = "desc"
			prose(line)
			prev_blank = 0
			continue
		}
		# A heading: after a blank line (a prose line ending in ':' is
		# no heading), or a standard one anywhere.
		if (line ~ /^[A-Za-z][^ ]*( [^ ]+)*:$/ && next_line ~ /^ / &&
		    (prev_blank || line ~ /^(Options|Commands|Environment|Signals|Files|Examples?)( .*)?:$/)) {
			heading(line)
			prev_blank = 0
			continue
		}
		# Options listed right after the description, with no heading.
		if (kind == "desc" && prev_blank && !had_options &&
		    line ~ /^  +-/) {
			heading("Options:")
		}
		if (line !~ /^ /) {
			if (kind == "examples") {
				verbatim("  " line)
			} else if (prev_blank && kind != "desc" &&
				   match(line, /^[A-Z][A-Za-z ]*: /) && RLENGTH <= 24) {
				close_block()
				print ".SH \"" toupper(substr(line, 1, RLENGTH - 2)) "\""
				kind = "lead"
				prose(substr(line, RLENGTH + 1))
			} else {
				if (kind == "table" || kind == "verbatim")
					close_block()
				if (kind == "table" || kind == "verbatim")
					kind = "desc"
				prose(line)
			}
		} else if (kind == "table") {
			table_line(line)
		} else {
			verbatim(line)
		}
		prev_blank = 0
	}
	if (state == "usage")
		print ".fi"
	close_block()
	emit_extra()
	flush_see()
}
