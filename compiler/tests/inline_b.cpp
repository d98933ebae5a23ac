// See inline_a.cpp.
#include "inline.h"
int in_b(int x) { return twice(x) + 2; }
int main() { return in_b(1) == 4 ? 0 : 1; }
