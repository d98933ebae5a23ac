// See inline_a.cpp.
__attribute__((noinline)) inline int twice(int x) { return 2 * x; }
int in_a(int x);
