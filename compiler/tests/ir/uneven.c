// A {char, long} parameter arrives as (i8, i64): both pieces are stored at
// their offsets in the zeroed slot, and the other parameters keep theirs.
// FLAGS: -O2

struct cl {
	char c;
	long l;
};

long ex_cl(int a, int b, struct cl s) { return a * 10 + b + s.c + s.l; }

// CHECK: define {{.*}}i64 @ex_cl(i32 {{[^%]*}}%[[A:[0-9]+]], i32 {{[^%]*}}%[[B:[0-9]+]], i8 %[[C:[0-9]+]], i64 %[[L:[0-9]+]])
// CHECK-NEXT: %[[SLOT:[0-9]+]] = alloca i128, align 8
// CHECK: store i32 %[[A]], ptr %[[SLOT]]
// CHECK-NEXT: call void @__sanitizer_cov_trace_args(i64 ptrtoint (ptr @ex_cl to i64), i32 0, i32 4,
// CHECK: store i32 %[[B]], ptr %[[SLOT]]
// CHECK-NEXT: call void @__sanitizer_cov_trace_args(i64 ptrtoint (ptr @ex_cl to i64), i32 1, i32 4,
// CHECK: store i128 0, ptr %[[SLOT]]
// CHECK-NEXT: store i8 %[[C]], ptr %[[SLOT]]
// CHECK-NEXT: %[[HI:[0-9a-z.]+]] = getelementptr inbounds i8, ptr %[[SLOT]], i64 8
// CHECK-NEXT: store i64 %[[L]], ptr %[[HI]]
// CHECK-NEXT: call void @__sanitizer_cov_trace_args(i64 ptrtoint (ptr @ex_cl to i64), i32 2, i32 16, ptr %[[SLOT]], ptr @__kcovdf_fields.cl, i32 2)
