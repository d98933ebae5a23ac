// A returned struct with a member never set is poison there: no return
// record may store it. One with every member set is recorded.
// FLAGS: -O2

struct ptrlen {
	const char *p;
	long n;
};

struct ptrlen half(long n)
{
	struct ptrlen r;

	r.n = n;
	return r;
}

struct ptrlen whole(long n) { return (struct ptrlen){ 0, n }; }

// CHECK-LABEL: define {{.*}} @half(
// CHECK-NOT: __sanitizer_cov_trace_ret
// CHECK: ret
// CHECK-LABEL: define {{.*}} @whole(
// CHECK: call void @__sanitizer_cov_trace_ret(i64 ptrtoint (ptr @whole to i64), i32 16,
