; A scalar is recorded through an argument of its own kind only: a long
; parameter must never be mapped onto a pointer argument of the same size,
; nor a pointer parameter onto an integer (fitsClass in Planning.cpp). The
; tags of @swapped claim exactly that, as a pass that kept the attributes of
; arguments it retyped would leave them; both parameters are skipped, and
; the function gets the no-parameter marker. @straight is the control.
; Run by run.sh: opt -passes=kcovdf-dataflow, then FileCheck, and the stats
; line must be this one:
; STATS: functions 2, instrumented 2, skipped 0 (excluded 0, no debug info 0); args 2 (struct 0, markers 1, skipped 2); rets 2 (struct 0, skipped 0); skipped values: type-mismatch 2

target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-i128:128-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

; CHECK-LABEL: define dso_local i64 @straight(
; CHECK: store i64 %0, ptr %[[SLOT:[0-9a-z.]+]]
; CHECK-NEXT: call void @__sanitizer_cov_trace_args(i64 ptrtoint (ptr @straight to i64), i32 0, i32 8, ptr %[[SLOT]], ptr null, i32 0)
; CHECK-NEXT: store ptr %1, ptr %[[SLOT]]
; CHECK-NEXT: call void @__sanitizer_cov_trace_args(i64 ptrtoint (ptr @straight to i64), i32 1, i32 8, ptr %[[SLOT]], ptr null, i32 0)
define dso_local i64 @straight(i64 noundef "kcovdf-param"="0:0:1" %0, ptr noundef "kcovdf-param"="1:0:1" %1) #0 !dbg !9 {
  %3 = load i32, ptr %1, align 4, !dbg !19
  %4 = sext i32 %3 to i64, !dbg !19
  %5 = add nsw i64 %0, %4, !dbg !19
  ret i64 %5, !dbg !19
}

; CHECK-LABEL: define dso_local i64 @swapped(
; CHECK-NOT: store
; CHECK: call void @__sanitizer_cov_trace_args(i64 ptrtoint (ptr @swapped to i64), i32 0, i32 0, ptr null, ptr null, i32 0)
; CHECK-NOT: call void @__sanitizer_cov_trace_args
; CHECK: ret i64
define dso_local i64 @swapped(ptr noundef "kcovdf-param"="0:0:1" %0, i64 noundef "kcovdf-param"="1:0:1" %1) #0 !dbg !26 {
  %3 = load i32, ptr %0, align 4, !dbg !27
  %4 = sext i32 %3 to i64, !dbg !27
  %5 = add nsw i64 %1, %4, !dbg !27
  ret i64 %5, !dbg !27
}

attributes #0 = { nounwind "kcovdf-ret"="i64" }

!llvm.dbg.cu = !{!0}
!llvm.module.flags = !{!2, !3}

!0 = distinct !DICompileUnit(language: DW_LANG_C11, file: !1, producer: "clang", isOptimized: true, runtimeVersion: 0, emissionKind: FullDebug, splitDebugInlining: false, nameTableKind: None)
!1 = !DIFile(filename: "kind.c", directory: "/")
!2 = !{i32 7, !"Dwarf Version", i32 5}
!3 = !{i32 2, !"Debug Info Version", i32 3}
!9 = distinct !DISubprogram(name: "straight", scope: !1, file: !1, line: 1, type: !10, scopeLine: 1, flags: DIFlagPrototyped, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0, retainedNodes: !15)
!10 = !DISubroutineType(types: !11)
!11 = !{!12, !12, !13}
!12 = !DIBasicType(name: "long", size: 64, encoding: DW_ATE_signed)
!13 = !DIDerivedType(tag: DW_TAG_pointer_type, baseType: !14, size: 64)
!14 = !DIBasicType(name: "int", size: 32, encoding: DW_ATE_signed)
!15 = !{!16, !17}
!16 = !DILocalVariable(name: "a", arg: 1, scope: !9, file: !1, line: 1, type: !12)
!17 = !DILocalVariable(name: "p", arg: 2, scope: !9, file: !1, line: 1, type: !13)
!19 = !DILocation(line: 1, column: 1, scope: !9)
!26 = distinct !DISubprogram(name: "swapped", scope: !1, file: !1, line: 2, type: !10, scopeLine: 2, flags: DIFlagPrototyped, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0, retainedNodes: !28)
!27 = !DILocation(line: 2, column: 1, scope: !26)
!28 = !{!29, !30}
!29 = !DILocalVariable(name: "a", arg: 1, scope: !26, file: !1, line: 2, type: !12)
!30 = !DILocalVariable(name: "p", arg: 2, scope: !26, file: !1, line: 2, type: !13)
