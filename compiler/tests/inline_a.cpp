// An inline function defined in two translation units: the linker keeps one
// COMDAT group, and the layout record of the other must go with its group.
#include "inline.h"
int in_a(int x) { return twice(x) + 1; }
