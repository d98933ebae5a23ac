// -kcovdf-dataflow-max-fields=1: every struct expansion is its first field
// only (a bitfield keeps its bit offset and width); the layout says how
// many fields the struct has. A one-field struct is not capped.
// FLAGS: -O2 -mllvm -kcovdf-dataflow-max-fields=1

struct flags {
	unsigned lo : 3, hi : 7;
	int n;
	void *p;
};

struct one {
	long only;
};

int one_ptr(struct flags *f) { return f->lo + f->n; }
long one_single(struct one *o) { return o->only; }

// CHECK-DAG: @__kcovdf_fields.flags = private unnamed_addr constant [2 x i64] [i64 0, i64 1], align 8
// CHECK-DAG: @__kcovdf_fields.one = private unnamed_addr constant [2 x i64] [i64 0, i64 8], align 8
// CHECK-DAG: c"{\22args\22:[{\22capped\22:4,\22fields\22:[{\22bit_off\22:0,\22bits\22:3,\22name\22:\22lo\22,\22off\22:0,\22size\22:1}],\22idx\22:0,\22name\22:\22f\22,\22size\22:8,\22struct\22:\22flags\22,{{.*}}\22func\22:\22one_ptr\22
// CHECK-DAG: c"{\22args\22:[{\22fields\22:[{\22name\22:\22only\22,\22off\22:0,\22size\22:8}],\22idx\22:0,{{.*}}\22func\22:\22one_single\22

// CHECK-LABEL: define {{.*}}@one_ptr(
// CHECK: call void @__sanitizer_cov_trace_args(i64 ptrtoint (ptr @one_ptr to i64), i32 0, i32 8, ptr %{{[0-9a-z.]+}}, ptr @__kcovdf_fields.flags, i32 1)
// CHECK-LABEL: define {{.*}}@one_single(
// CHECK: call void @__sanitizer_cov_trace_args(i64 ptrtoint (ptr @one_single to i64), i32 0, i32 8, ptr %{{[0-9a-z.]+}}, ptr @__kcovdf_fields.one, i32 1)
