# decl-list.awk - lists what cuda-api/cuda.h declares, as X-macro lines for
# decl-dump.c and decl-check.c:
#   K(name)          an enum constant
#   M(name)          a macro with an integer value; P(name) a pointer value
#   T(type)          a typedef (its size is compared)
#   O(type, field)   a struct member (its offset is compared)
#   F(name)          a function prototype (declared by the other header too)
#   RB/RL/RP(base, target)
#                    a versioned-name macro: in both modes, only without and
#                    only with CUDA_API_PER_THREAD_DEFAULT_STREAM
# It relies on the layout of cuda-api/cuda.h (one declaration per line,
# typedef blocks closed by "} Name;"), which that header keeps.
BEGIN { depth = 0; kind = ""; mode = "B" }

/^#if defined\(CUDA_API_PER_THREAD_DEFAULT_STREAM\)/ { mode = "P"; next }
/^#else/ { if (mode == "P") mode = "L"; next }
/^#endif/ { mode = "B"; next }

/^#define cu[A-Za-z0-9_]+[ \t]+cu[A-Za-z0-9_]+[ \t]*$/ {
	printf "R%s(%s, %s)\n", mode, $2, $3; next
}
/^#define (CU|CUDA)_[A-Z0-9_]+[ \t]+[^ \t]/ {
	name = $2
	body = $0; sub(/^#define[ \t]+[A-Z0-9_]+[ \t]+/, "", body)
	if (body ~ /void \*|CUstream\)/) printf "P(%s)\n", name
	else printf "M(%s)\n", name
	next
}

/^CUresult CUDAAPI cu[A-Za-z0-9_]+\(/ {
	s = $0; sub(/^CUresult CUDAAPI /, "", s); sub(/\(.*/, "", s)
	printf "F(%s)\n", s; next
}

# typedef blocks
depth == 0 && /^typedef (enum|struct|union) [A-Za-z0-9_]* *\{/ {
	kind = $2; depth = 1; nf = 0; next
}
depth > 0 {
	line = $0
	opens = gsub(/\{/, "{", line); closes = gsub(/\}/, "}", line)
	if (depth == 1 && kind == "enum" && $1 ~ /^[A-Z][A-Z0-9_]*$/ && $2 == "=") {
		printf "K(%s)\n", $1
	} else if (depth == 1 && kind == "struct" && opens == 0 && closes == 0 && $0 ~ /;[ \t]*$/) {
		f = $0; sub(/[ \t]*(\[[^]]*\])?;[ \t]*$/, "", f); sub(/.*[ \t*]/, "", f)
		fields[nf++] = f
	} else if (depth == 2 && closes > 0 && kind == "struct") {
		f = $0; sub(/^[ \t]*\}[ \t]*/, "", f); sub(/;.*/, "", f)
		if (f != "") fields[nf++] = f
	}
	depth += opens - closes
	if (depth == 0) {
		t = $0; sub(/^\}[ \t]*/, "", t); sub(/;.*/, "", t)
		printf "T(%s)\n", t
		for (i = 0; i < nf; i++) printf "O(%s, %s)\n", t, fields[i]
	}
	next
}

# one-line typedefs: scalars, handles, function pointers
/^typedef .*;[ \t]*$/ {
	s = $0
	if (s ~ /\(CUDAAPI \*/) { sub(/.*\(CUDAAPI \*/, "", s); sub(/\).*/, "", s) }
	else { sub(/;[ \t]*$/, "", s); sub(/.*[ \t*]/, "", s) }
	printf "T(%s)\n", s
}
