/*
 * exports.map.c - preprocessed (cc -E -P) into libcuda's linker version
 * script: exports.h's symbols global, everything else local. No symbol
 * version node: NVIDIA's libcuda.so.1 has none either.
 */
{
global:
#define E(sym, base, ver, mode) sym;
#define S(sym, base, ver) sym;
#include "exports.h"
local: *;
};
