// -kcovdf-dataflow-max-fields=3: a struct of five fields is expanded into its
// first three, by pointer and by value, in both directions; the table has
// three pairs, num_fields is 3, and the layout lists the three fields and
// says the struct has five ("capped":5). A struct of two fields and one of
// exactly three are not capped. A nested struct and an array among the first
// three stay one pair each, covering the whole member, as without a cap.
// FLAGS: -O2 -mllvm -kcovdf-dataflow-max-fields=3

struct in {
	int x, y;
};

struct five {
	long a;
	struct in nest;
	char arr[6];
	unsigned bits : 5;
	long e;
};

struct two {
	int p, q;
};

struct three {
	int u, v, w;
};

long cap_ptr(struct five *f) { return f->a + f->e; }
long cap_two(struct two *t) { return t->p + t->q; }
long cap_three(struct three *t) { return t->u + t->w; }
struct five cap_byval(struct five f)
{
	f.a++;
	return f;
}

// Tables: the first three pairs of five (a, nest, arr), all of two and three.
// CHECK-DAG: @__kcovdf_fields.five = private unnamed_addr constant [6 x i64] [i64 0, i64 8, i64 8, i64 8, i64 16, i64 6], align 8
// CHECK-DAG: @__kcovdf_fields.two = private unnamed_addr constant [4 x i64] [i64 0, i64 4, i64 4, i64 4], align 8
// CHECK-DAG: @__kcovdf_fields.three = private unnamed_addr constant [6 x i64] [i64 0, i64 4, i64 4, i64 4, i64 8, i64 4], align 8

// Layout records: capped says how many fields the struct has; a table that
// was not cut has no such key.
// CHECK-DAG: c"{\22args\22:[{\22capped\22:5,\22fields\22:[{\22name\22:\22a\22,\22off\22:0,\22size\22:8},{\22name\22:\22nest\22,\22off\22:8,\22size\22:8},{\22name\22:\22arr\22,\22off\22:16,\22size\22:6}],\22idx\22:0,\22name\22:\22f\22,\22size\22:8,\22struct\22:\22five\22,{{.*}}\22func\22:\22cap_ptr\22
// CHECK-DAG: c"{\22args\22:[{\22fields\22:[{\22name\22:\22p\22,{{[^]]*}}},{\22name\22:\22q\22,{{[^]]*}}}],\22idx\22:0,\22name\22:\22t\22,\22size\22:8,\22struct\22:\22two\22,{{.*}}\22func\22:\22cap_two\22
// CHECK-DAG: c"{\22args\22:[{\22fields\22:[{\22name\22:\22u\22,{{[^]]*}}},{\22name\22:\22v\22,{{[^]]*}}},{\22name\22:\22w\22,{{[^]]*}}}],\22idx\22:0,\22name\22:\22t\22,\22size\22:8,\22struct\22:\22three\22,{{.*}}\22func\22:\22cap_three\22
// CHECK-DAG: c"{\22args\22:[{\22capped\22:5,{{[^]]*}}\22arr\22{{[^]]*}}],\22idx\22:0,\22name\22:\22f\22,\22size\22:32,\22struct\22:\22five\22,{{.*}}\22func\22:\22cap_byval\22,{{.*}}\22ret\22:{\22capped\22:5,{{[^]]*}}\22arr\22{{[^]]*}}],\22size\22:32,\22struct\22:\22five\22

// CHECK-LABEL: define {{.*}}@cap_ptr(
// CHECK: call void @__sanitizer_cov_trace_args(i64 ptrtoint (ptr @cap_ptr to i64), i32 0, i32 8, ptr %{{[0-9a-z.]+}}, ptr @__kcovdf_fields.five, i32 3)
// CHECK-LABEL: define {{.*}}@cap_two(
// CHECK: call void @__sanitizer_cov_trace_args(i64 ptrtoint (ptr @cap_two to i64), i32 0, i32 8, ptr %{{[0-9a-z.]+}}, ptr @__kcovdf_fields.two, i32 2)
// CHECK-LABEL: define {{.*}}@cap_three(
// CHECK: call void @__sanitizer_cov_trace_args(i64 ptrtoint (ptr @cap_three to i64), i32 0, i32 8, ptr %{{[0-9a-z.]+}}, ptr @__kcovdf_fields.three, i32 3)
// CHECK-LABEL: define {{.*}}@cap_byval(
// CHECK: call void @__sanitizer_cov_trace_args(i64 ptrtoint (ptr @cap_byval to i64), i32 0, i32 32, ptr %{{[0-9a-z.]+}}, ptr @__kcovdf_fields.five, i32 3)
// CHECK: call void @__sanitizer_cov_trace_ret(i64 ptrtoint (ptr @cap_byval to i64), i32 32, ptr %{{[0-9a-z.]+}}, ptr @__kcovdf_fields.five, i32 3)
